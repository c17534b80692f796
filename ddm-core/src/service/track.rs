//! What the service keeps of each job beyond its record, for the page's graphs and event
//! log: one point a second of its speed (in all and per connection) over the last
//! [`HISTORY_SECS`], its last [`LOG_LEN`] happenings (steals, races, replacements, retries),
//! and the same speed history for the runner as a whole. Bounded: a job's history is at
//! most 600 points, its log 200 entries, and tracks of jobs no longer listed are dropped.

use super::{Happening, Live, Logged, Point, Track, HISTORY_SECS, LOG_LEN};
use std::collections::{HashMap, VecDeque};

/// One point a second at most.
const STEP_MS: u64 = 1000;

#[derive(Debug, Default)]
pub(super) struct Tracks {
    jobs: HashMap<i64, JobTrack>,
    runner: VecDeque<Point>,
    seq: u64,
}

#[derive(Debug, Default)]
struct JobTrack {
    history: VecDeque<Point>,
    events: VecDeque<Logged>,
}

/// Push `p` unless the last point is less than a step old; keep [`HISTORY_SECS`] of them.
fn push(h: &mut VecDeque<Point>, p: Point) {
    if h.back().is_some_and(|l| p.at_ms < l.at_ms + STEP_MS) {
        return;
    }
    h.push_back(p);
    while h
        .front()
        .is_some_and(|f| f.at_ms + (HISTORY_SECS as u64) * 1000 < h.back().map_or(0, |b| b.at_ms))
    {
        h.pop_front();
    }
}

impl Tracks {
    /// A job's progress at `now_ms`.
    pub fn progress(&mut self, id: i64, live: &Live, now_ms: u64) {
        let p = Point {
            at_ms: now_ms,
            speed: live.speed,
            lanes: live.lanes.iter().map(|l| (l.id, l.speed)).collect(),
        };
        push(&mut self.jobs.entry(id).or_default().history, p);
    }

    /// A job's happening at `now_ms`.
    pub fn happened(&mut self, id: i64, what: Happening, now_ms: u64) {
        self.seq += 1;
        let ev = &mut self.jobs.entry(id).or_default().events;
        ev.push_back(Logged {
            seq: self.seq,
            at_ms: now_ms,
            what,
        });
        while ev.len() > LOG_LEN {
            ev.pop_front();
        }
    }

    /// The runner's total speed at `now_ms`.
    pub fn runner_speed(&mut self, speed: u64, now_ms: u64) {
        let p = Point {
            at_ms: now_ms,
            speed,
            lanes: Vec::new(),
        };
        push(&mut self.runner, p);
    }

    pub fn of(&self, id: i64) -> Track {
        self.jobs
            .get(&id)
            .map(|t| Track {
                history: t.history.iter().cloned().collect(),
                events: t.events.iter().cloned().collect(),
            })
            .unwrap_or_default()
    }

    pub fn runner(&self) -> Vec<Point> {
        self.runner.iter().cloned().collect()
    }

    /// Drop the tracks of jobs no longer listed.
    pub fn retain(&mut self, listed: impl Fn(i64) -> bool) {
        self.jobs.retain(|id, _| listed(*id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_a_second_for_ten_minutes() {
        let mut t = Tracks::default();
        let live = Live {
            speed: 5,
            ..Live::default()
        };
        // Five progress samples a second for 15 minutes.
        for i in 0..(15 * 60 * 5) {
            t.progress(1, &live, 1_000_000 + i * 200);
        }
        let h = t.of(1).history;
        assert!(
            (HISTORY_SECS..=HISTORY_SECS + 1).contains(&h.len()),
            "{}",
            h.len()
        );
        assert!(h.windows(2).all(|w| w[1].at_ms - w[0].at_ms == 1000));
        for i in 0..(LOG_LEN as u64 + 10) {
            t.happened(1, Happening::Replaced { from: i, speed: 1 }, 2_000_000 + i);
        }
        let ev = t.of(1).events;
        assert_eq!(ev.len(), LOG_LEN);
        assert_eq!(ev.last().map(|e| e.seq), Some(LOG_LEN as u64 + 10));
        t.retain(|id| id != 1);
        assert_eq!(t.of(1), Track::default());
    }
}

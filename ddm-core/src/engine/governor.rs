//! The connection governor: how many connections a job should have open, and which one to
//! replace. A pure state machine: the coordinator feeds it events (a refusal, speed samples)
//! with the time they happened, and reads its decisions. No sockets, no clock of its own,
//! so every policy below is unit-tested with made-up times.
//!
//! - **Start.** With `-c N` (or a host's saved recommendation) all N open at once: the first
//!   answer already told us the server works, and a batch ramp only delays the transfer.
//!   Without, ddm starts with [`ADAPTIVE_START`] and grows (below).
//! - **Grow while it pays.** After each step, once every connection has had time to show its
//!   speed, the total is compared with the step before: a step that added at least
//!   [`GROW_GAIN`] of the added connections' fair share is followed by another, up to the
//!   ceiling; a step that did not is undone and growing stops. A connection's first
//!   [`SETTLE`] is not its speed (servers such as nginx send each new request a second's
//!   worth at once; TCP starts slow): the total is the job's steady rate over the last
//!   [`STEP_WINDOW`] (measured by the coordinator), taken only once every connection has
//!   been receiving for `SETTLE + STEP_WINDOW`, so newcomers' bursts never make a step look
//!   better or the step before look better than it was.
//! - **Caps are learned fast.** A refusal (429/503, a connection closed unanswered while
//!   others work) lowers the target at once to what is working. After a quiet while the
//!   count is tried one higher, and kept only if the total grew; what was seen working at
//!   most is the host's learned cap.
//! - **Slow connections are replaced.** Once at least three connections have shown their
//!   speed, one that stays under a quarter of the median for [`SLOW_FOR`] is closed and its
//!   range reopened (a new TCP connection often takes a better path). A job replaces at most
//!   as many connections as its ceiling, so a uniformly slow server is not churned.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Connections a job starts with when the count is ddm's to choose.
pub const ADAPTIVE_START: usize = 4;
/// A growth step is kept when the total grows by at least this share of what the new
/// connections would add at the old per-connection speed.
pub const GROW_GAIN: f64 = 0.5;
/// The window the total speed is averaged over (the coordinator's `total`): long enough to
/// smooth the bursts a server gives each new request.
pub const STEP_WINDOW: Duration = Duration::from_millis(1500);
/// A connection's start that does not count as its speed: a server's burst for a new
/// request, TCP's slow start. Steps and slow connections are judged after it.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// A connection this long under a quarter of the median is replaced.
pub const SLOW_FOR: Duration = Duration::from_millis(200);
/// Judge a connection only after it has been receiving this long.
pub const JUDGE_AFTER: Duration = Duration::from_millis(100);
/// Quiet time after a refusal before one more connection is tried.
pub const RECOVER_AFTER: Duration = Duration::from_secs(3);

/// One connection's speed, as the coordinator measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnSample {
    pub worker: usize,
    /// Bytes per second (recent).
    pub speed: f64,
    /// Since its first byte of the current attempt.
    pub receiving_for: Duration,
}

/// What the governor wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Close this worker's connection and reopen its range on a new one.
    Replace(usize),
}

#[derive(Debug, Clone, Copy)]
struct Step {
    /// The count before the step, and the total speed measured with it.
    from: usize,
    base: f64,
    since: Instant,
}

#[derive(Debug)]
pub struct Governor {
    ceiling: usize,
    target: usize,
    throttled: bool,
    peak_working: usize,
    last_refusal: Option<Instant>,
    /// A growth step being measured.
    step: Option<Step>,
    /// Growing is over (a step did not pay, or the ceiling was reached).
    settled: bool,
    /// A count tried after a refusal, kept only if the total grows.
    probe: Option<Step>,
    /// Since when each worker has been slow.
    slow_since: HashMap<usize, Instant>,
    replaced: usize,
}

impl Governor {
    /// `ceiling`: most connections allowed; `adaptive`: start small and grow by measured
    /// gain (else open `ceiling` at once); `capped`: the host is known to refuse more.
    pub fn new(ceiling: usize, adaptive: bool, capped: bool, now: Instant) -> Governor {
        let ceiling = ceiling.max(1);
        let target = if adaptive {
            ADAPTIVE_START.min(ceiling)
        } else {
            ceiling
        };
        Governor {
            ceiling,
            target,
            throttled: capped,
            peak_working: 0,
            last_refusal: capped.then_some(now),
            step: adaptive.then_some(Step {
                from: 0,
                base: 0.0,
                since: now,
            }),
            settled: !adaptive || target == ceiling,
            probe: None,
            slow_since: HashMap::new(),
            replaced: 0,
        }
    }

    /// Connections the job should have open now.
    pub fn target(&self) -> usize {
        self.target
    }

    /// The server refused more (or cut connections it did not answer).
    pub fn throttled(&self) -> bool {
        self.throttled
    }

    /// A connection was refused while `working` others were receiving: take the count down
    /// to what works at once. Returns the new target when it was lowered.
    pub fn on_refusal(&mut self, now: Instant, working: usize) -> Option<usize> {
        self.last_refusal = Some(now);
        self.throttled = true;
        self.settled = true;
        self.step = None;
        self.probe = None;
        let limit = working.max(1);
        (limit < self.target).then(|| {
            self.target = limit;
            limit
        })
    }

    /// A speed sample: the total of the job, and each connection's. Grows, probes or
    /// settles the count, and says which connections to replace.
    pub fn on_sample(&mut self, now: Instant, total: f64, conns: &[ConnSample]) -> Vec<Action> {
        let working = conns.iter().filter(|c| c.speed > 0.0).count();
        self.peak_working = self.peak_working.max(working);
        self.grow(now, total, conns);
        self.recover(now, total);
        self.judge(now, conns)
    }

    /// The runner's jobs share a host whose cap is `n` (its budget shares the units): a job
    /// aims at the host's cap, whatever it had working when the cap was met, so units that
    /// other jobs free come to it.
    pub fn aim_at_shared(&mut self, n: usize) {
        if self.throttled {
            self.target = self.target.max(n.min(self.ceiling));
        }
    }

    /// The learned cap, if the server refused connections: the most seen working at once.
    pub fn learned_cap(&self) -> Option<usize> {
        self.throttled
            .then_some(self.peak_working.clamp(1, self.ceiling))
    }

    fn grow(&mut self, now: Instant, total: f64, conns: &[ConnSample]) {
        if self.settled || self.throttled {
            return;
        }
        let Some(step) = self.step else { return };
        // Measure once every connection of this step has shown its steady speed for a
        // window (the total averages the last window).
        let steady = SETTLE + STEP_WINDOW;
        let shown = conns.iter().filter(|c| c.receiving_for >= steady).count();
        if shown < self.target || now.duration_since(step.since) < steady {
            return;
        }
        if step.from > 0 {
            let per_conn = step.base / step.from as f64;
            let added = (self.target - step.from) as f64;
            if total - step.base < GROW_GAIN * added * per_conn {
                // The step did not pay: back to where it was, and stay there.
                self.target = step.from;
                self.settled = true;
                self.step = None;
                return;
            }
        }
        if self.target >= self.ceiling {
            self.settled = true;
            self.step = None;
            return;
        }
        let from = self.target;
        self.target = (self.target * 2).min(self.ceiling);
        self.step = Some(Step {
            from,
            base: total,
            since: now,
        });
    }

    /// After a quiet while without refusals, try one more connection; keep it only if the
    /// total grew.
    fn recover(&mut self, now: Instant, total: f64) {
        if !self.throttled {
            return;
        }
        if let Some(p) = self.probe {
            if now.duration_since(p.since) < RECOVER_AFTER {
                return;
            }
            self.probe = None;
            if total < p.base * (1.0 + 0.5 / p.from.max(1) as f64) {
                self.target = p.from; // no gain: the cap stands
                self.last_refusal = Some(now);
                return;
            }
        }
        let quiet = self
            .last_refusal
            .is_none_or(|t| now.duration_since(t) >= RECOVER_AFTER);
        if quiet && self.target < self.ceiling && total > 0.0 {
            self.probe = Some(Step {
                from: self.target,
                base: total,
                since: now,
            });
            self.target += 1;
        }
    }

    fn judge(&mut self, now: Instant, conns: &[ConnSample]) -> Vec<Action> {
        let judged: Vec<&ConnSample> = conns
            .iter()
            .filter(|c| c.receiving_for >= JUDGE_AFTER)
            .collect();
        self.slow_since
            .retain(|w, _| judged.iter().any(|c| c.worker == *w));
        if judged.len() < 3 || self.replaced >= self.ceiling {
            return Vec::new();
        }
        // A connection in its first second may look slow (TCP's slow start) but never makes
        // the others look slow: once some have settled, a young one counts at most as fast as
        // the fastest settled one (a server's burst for its new request is not its speed).
        let settled = judged
            .iter()
            .filter(|c| c.receiving_for >= SETTLE)
            .map(|c| c.speed)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let mut speeds: Vec<f64> = judged
            .iter()
            .map(|c| match settled {
                Some(cap) if c.receiving_for < SETTLE => c.speed.min(cap),
                _ => c.speed,
            })
            .collect();
        speeds.sort_by(|a, b| a.total_cmp(b));
        let median = speeds[speeds.len() / 2];
        let mut out = Vec::new();
        for c in judged {
            if c.speed < median / 4.0 {
                let since = *self.slow_since.entry(c.worker).or_insert(now);
                if now.duration_since(since) >= SLOW_FOR && self.replaced < self.ceiling {
                    self.slow_since.remove(&c.worker);
                    self.replaced += 1;
                    out.push(Action::Replace(c.worker));
                }
            } else {
                self.slow_since.remove(&c.worker);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn conns(speeds: &[f64], for_ms: u64) -> Vec<ConnSample> {
        speeds
            .iter()
            .enumerate()
            .map(|(worker, &speed)| ConnSample {
                worker,
                speed,
                receiving_for: Duration::from_millis(for_ms),
            })
            .collect()
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn an_explicit_count_opens_at_once() {
        let g = Governor::new(16, false, false, Instant::now());
        assert_eq!(g.target(), 16);
    }

    #[test]
    fn grows_while_each_step_pays_on_a_per_connection_throttle() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, true, false, t0);
        assert_eq!(g.target(), 4);
        // Every connection gets 4 MiB/s: doubling doubles the total.
        g.on_sample(at(t0, 2600), 16.0 * MIB, &conns(&[4.0 * MIB; 4], 2550));
        assert_eq!(g.target(), 8);
        g.on_sample(at(t0, 5200), 32.0 * MIB, &conns(&[4.0 * MIB; 8], 2550));
        assert_eq!(g.target(), 16);
        g.on_sample(at(t0, 7800), 64.0 * MIB, &conns(&[4.0 * MIB; 16], 2550));
        assert_eq!(g.target(), 16, "the ceiling");
    }

    #[test]
    fn a_step_that_adds_nothing_is_undone_and_growing_stops() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, true, false, t0);
        g.on_sample(at(t0, 2600), 100.0 * MIB, &conns(&[25.0 * MIB; 4], 2550));
        assert_eq!(g.target(), 8);
        // Eight share what four had (the link, not the server, is the limit).
        g.on_sample(at(t0, 5200), 104.0 * MIB, &conns(&[13.0 * MIB; 8], 2550));
        assert_eq!(g.target(), 4);
        g.on_sample(at(t0, 9000), 104.0 * MIB, &conns(&[26.0 * MIB; 4], 2550));
        assert_eq!(g.target(), 4, "settled");
    }

    #[test]
    fn no_decision_before_the_step_has_shown_its_speed() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, true, false, t0);
        g.on_sample(at(t0, 100), 1.0, &conns(&[4.0 * MIB; 4], 50));
        assert_eq!(g.target(), 4);
        // Nor while a connection is in its first second (a server's burst for a new
        // request is not its speed).
        g.on_sample(at(t0, 2600), 16.0 * MIB, &conns(&[4.0 * MIB; 4], 2550));
        assert_eq!(g.target(), 8);
        let mut young = conns(&[4.0 * MIB; 8], 2550);
        for c in &mut young[4..] {
            c.receiving_for = Duration::from_millis(900);
        }
        g.on_sample(at(t0, 5200), 10.0 * MIB, &young);
        assert_eq!(g.target(), 8, "not judged yet");
    }

    #[test]
    fn newcomers_bursts_make_no_old_connection_look_slow() {
        // nginx's limit_rate sends each new request a second's worth at once: for a while the
        // newcomers look ten times faster than the four that have settled.
        let t0 = Instant::now();
        let mut g = Governor::new(8, false, false, t0);
        let mut speeds = vec![0.25 * MIB; 4];
        speeds.extend([2.5 * MIB; 4]);
        let mut burst = conns(&speeds, 3000);
        for c in &mut burst[4..] {
            c.receiving_for = Duration::from_millis(300);
        }
        for ms in [0, 200, 400, 600] {
            let acts = g.on_sample(at(t0, 3000 + ms), 11.0 * MIB, &burst);
            assert!(acts.is_empty(), "{acts:?}");
        }
    }

    #[test]
    fn a_refusal_lowers_the_target_at_once_and_the_cap_is_learned() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, false, false, t0);
        g.on_sample(at(t0, 100), 24.0 * MIB, &conns(&[4.0 * MIB; 6], 100));
        assert_eq!(g.on_refusal(at(t0, 120), 6), Some(6));
        assert_eq!(g.target(), 6);
        assert_eq!(g.on_refusal(at(t0, 130), 6), None, "already there");
        assert_eq!(g.learned_cap(), Some(6));
    }

    #[test]
    fn after_a_quiet_while_one_more_is_tried_and_kept_only_on_gain() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, false, false, t0);
        g.on_refusal(t0, 6);
        let s6 = conns(&[4.0 * MIB; 6], 1000);
        g.on_sample(at(t0, 1000), 24.0 * MIB, &s6);
        assert_eq!(g.target(), 6, "not yet quiet");
        g.on_sample(at(t0, 3100), 24.0 * MIB, &s6);
        assert_eq!(g.target(), 7, "one more tried");
        // The seventh brought nothing: the cap stands.
        g.on_sample(at(t0, 6200), 24.0 * MIB, &s6);
        assert_eq!(g.target(), 6);
        // Another quiet while: tried again; this time it pays.
        g.on_sample(at(t0, 9300), 24.0 * MIB, &s6);
        assert_eq!(g.target(), 7);
        g.on_sample(at(t0, 12400), 28.0 * MIB, &conns(&[4.0 * MIB; 7], 1000));
        assert_eq!(g.target(), 8);
    }

    #[test]
    fn a_connection_far_below_its_peers_is_replaced_once_judged() {
        let t0 = Instant::now();
        let mut g = Governor::new(8, false, false, t0);
        let mut speeds = [4.0 * MIB; 8];
        speeds[3] = 0.1 * MIB;
        assert!(g
            .on_sample(at(t0, 200), 28.0 * MIB, &conns(&speeds, 200))
            .is_empty());
        let acts = g.on_sample(at(t0, 420), 28.0 * MIB, &conns(&speeds, 420));
        assert_eq!(acts, vec![Action::Replace(3)]);
        // A slow but steady connection among slow peers is left alone.
        let mut g = Governor::new(8, false, false, t0);
        let all_slow = conns(&[0.1 * MIB; 8], 1000);
        assert!(g.on_sample(at(t0, 1000), 0.8 * MIB, &all_slow).is_empty());
        assert!(g.on_sample(at(t0, 2000), 0.8 * MIB, &all_slow).is_empty());
    }

    #[test]
    fn a_job_on_a_shared_host_aims_at_the_hosts_cap() {
        let t0 = Instant::now();
        let mut g = Governor::new(16, true, false, t0);
        g.aim_at_shared(4);
        assert_eq!(g.target(), 4, "not throttled: the job's own measure");
        // Refused while it had one connection working; the host's cap is 4, shared.
        g.on_refusal(t0, 1);
        assert_eq!(g.target(), 1);
        g.aim_at_shared(4);
        assert_eq!(g.target(), 4);
        g.aim_at_shared(64);
        assert_eq!(g.target(), 16, "never above the job's ceiling");
    }

    #[test]
    fn replacements_are_bounded_per_job() {
        let t0 = Instant::now();
        let mut g = Governor::new(4, false, false, t0);
        let speeds = [4.0 * MIB, 4.0 * MIB, 4.0 * MIB, 0.01 * MIB];
        let mut n = 0;
        for i in 0..100 {
            // The replacement is slow again every time.
            g.on_sample(at(t0, i * 400), 12.0 * MIB, &conns(&speeds, 1000));
            n += g
                .on_sample(at(t0, i * 400 + 250), 12.0 * MIB, &conns(&speeds, 1000))
                .len();
        }
        assert_eq!(n, 4, "at most the ceiling's worth of replacements");
    }
}

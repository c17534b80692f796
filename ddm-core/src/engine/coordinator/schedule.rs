//! Scheduling of workers: which idle connection gets which range, how many connections may
//! be open (ramp-up, caps, the global budget), and where to steal from.

use super::Crew;
use super::{Coordinator, Role, Slot};
use crate::budget::Permit;
use crate::engine::governor::{Action, ConnSample};
use crate::engine::split::{carve, shares, steal_point, MIN_GAIN_SECS, MIN_STEAL};
use crate::engine::Happening;
use crate::transfer::{Expect, WorkerId};
use crate::transfer::{Keep, Mode, Segment, Task};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A request window lasts at least this many round trips (the gap between two windows of a
/// connection is one round trip: at most ~2% of its time).
const WINDOW_TRIPS: f64 = 50.0;
/// The most a race fetches again (it is held in memory until it wins).
const RACE_MAX: u64 = 4 << 20;
/// The most a race may be expected to fetch twice: what the slow owner still delivers while
/// the race runs (the race's copy of those bytes is dropped). Beyond it a steal is cheaper.
const RACE_DUPLICATE: f64 = 256.0 * 1024.0;
/// A request window lasts at least this long at the connection's speed: every request
/// costs something (a round trip, the server's think time, a log line, on some servers a new
/// connection), so a connection asks seldom: half a second of transfer at the least (the
/// whole segment on a fast link; a few windows where connections are slow, for uncut steals).
const WINDOW_SECS: f64 = 0.5;
/// Least time a steal that cuts a response (from an owner that is no straggler) must save.
const CUT_GAIN_SECS: f64 = 0.5;
/// Windows are never smaller than this.
const MIN_WINDOW: u64 = 1 << 20;
/// Per-connection speed assumed before any is measured (bytes/s): optimistic, so windows err
/// on the large side.
const ASSUMED_SPEED: f64 = 100e6;

impl Coordinator<'_> {
    /// Give work to connections, up to the target count; those left without work go back
    /// to the runner's pool.
    pub(super) fn assign(&mut self) {
        let now = Instant::now();
        self.crew.wake(now);
        self.fill(now);
        self.release_idle();
        self.release_units();
    }

    fn fill(&mut self, now: Instant) {
        if std::mem::take(&mut self.plan.rebalance_due) {
            self.rebalance();
        }
        if self.awaits_link() {
            return; // new requests wait for the link being resolved again, or a fresh one
        }
        self.issue_checks(now);
        self.check_probe();
        // Resting workers still count: a new connection now would exceed the server's cap.
        // While a probe asks whether ranges work, it and the first stream are all.
        let limit = match self.proof.is_probing() {
            true => self.gov.target().min(2),
            false => self.gov.target(),
        };
        while self.crew.busy + self.crew.cooling.len() < limit {
            // The fastest source with a free connection unit (other jobs use the budget too).
            let Some((src, permit)) = self.take_source() else {
                return;
            };
            // 1. An unassigned segment whose retry time has come (a segment kept for the
            // connection that carries the one before it goes to that connection only).
            let next = self.crew.idle.last().copied();
            let ready = self
                .plan
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.worker.is_none() && s.not_before <= now)
                .filter(|(_, s)| s.kept_for().is_none() || s.kept_for() == next.map(WorkerId))
                // A raced slot's bytes go only to trusted sources (a race is never undone).
                .filter(|(_, s)| !s.is_raced() || self.sources[src].trusted())
                .min_by_key(|(_, s)| s.seg.span().pos)
                .map(|(i, _)| i);
            let i = match ready {
                Some(i) => i,
                // An unproven mirror steals nothing (`sources.rs`).
                None if !self.sources[src].trusted() => {
                    self.crew.held.push((src, permit));
                    return;
                }
                None if self.proof.is_probing() => {
                    self.crew.held.push((src, permit));
                    return;
                }
                None => match self.steal(src) {
                    Some(i) => i,
                    None => {
                        self.crew.held.push((src, permit)); // taken for nothing: back with the others
                        return;
                    }
                },
            };
            self.give_task(i, src, permit, now);
        }
    }

    /// Send slot `i`'s segment to an idle worker, asking `src`.
    pub(super) fn give_task(&mut self, i: usize, src: usize, permit: Permit, now: Instant) {
        let w = self.idle_worker();
        let source = &self.sources[src];
        let url = if src == 0 {
            self.p.url.clone()
        } else {
            source.url.clone()
        };
        // A stream without ranges starts over from 0 and keeps nothing of before: a new
        // version is taken whole, but never a length that contradicts the size stated with
        // the same validators (`sink.rs`). The job's URL's answers are checked against the
        // job's validators, a mirror's against those its first answer pinned.
        let expect = Expect {
            size: self.p.size,
            etag: self.p.etag.clone().filter(|_| src == 0),
            last_modified: self.p.last_modified.clone().filter(|_| src == 0),
        };
        let (io, reports, seg) = (
            self.io.clone(),
            self.tx.clone(),
            self.plan.slots[i].seg.clone(),
        );
        let task = match self.p.mode {
            Mode::Range => {
                let window = if self.plan.slots[i].is_plain() {
                    self.window()
                } else {
                    u64::MAX
                };
                Task::range(io, reports, Crew::id(w), seg, url, window, expect)
            }
            _ => Task::whole(io, reports, Crew::id(w), seg, url, expect),
        }
        .keeping(match &self.plan.slots[i].role {
            Role::Plain | Role::Kept(_) | Role::Raced => Keep::Write,
            Role::Race(seg) => Keep::Race(seg.clone()),
            Role::Check(_) => Keep::Sample,
        })
        .pinned((src != 0).then(|| source.pin.clone()));
        let url_gen = self.relink.url_gen;
        let slot = &mut self.plan.slots[i];
        slot.seg.resume();
        slot.worker = Some(WorkerId(w));
        slot.source = src;
        slot.url_gen = url_gen;
        slot.attempt_start = slot.seg.span().claimed;
        slot.last_pos = slot.seg.span().claimed;
        slot.last_sample = now;
        slot.speed = 0.0;
        slot.receiving_since = None;
        self.sources[src].busy += 1;
        self.crew.start(w, src, permit, task);
    }

    /// The server allows fewer connections than there are segments waiting: re-cut the work
    /// no connection has started so that the allowed connections finish together (each gets
    /// a share of the whole less what it still has in hand), instead of leaving a last round
    /// of a few segments and idle connections stealing under a cap.
    pub(super) fn rebalance(&mut self) {
        if self.p.mode != Mode::Range {
            return;
        }
        let untouched =
            |s: &Slot| s.worker.is_none() && s.seg.span().pos == s.seg.origin && s.is_plain();
        let mut runs: Vec<std::ops::Range<u64>> = self
            .plan
            .slots
            .iter()
            .filter(|s| untouched(s))
            .map(|s| s.seg.origin..s.seg.span().end)
            .collect();
        if runs.len() <= 1 {
            return;
        }
        runs.sort_by_key(|r| r.start);
        let mut merged: Vec<std::ops::Range<u64>> = Vec::new();
        for r in runs {
            match merged.last_mut() {
                Some(m) if m.end == r.start => m.end = r.end,
                _ => merged.push(r),
            }
        }
        let in_hand: Vec<u64> = self
            .plan
            .slots
            .iter()
            .filter(|s| s.worker.is_some())
            .map(|s| s.remaining())
            .collect();
        let sizes = shares(&merged, &in_hand, self.gov.target().max(1));
        self.plan.slots.retain(|s| !untouched(s));
        for r in carve(&merged, &sizes) {
            self.plan
                .slots
                .push(Slot::new(Segment::new(r.start, r.end)));
        }
    }

    /// Hand the job's idle connections to the runner's pool (the next request, of this job or
    /// another on the host, reuses them). On a server that refused connections, those beyond
    /// the lowered target are closed instead: it counts idle keep-alive sockets too.
    pub(super) fn release_idle(&mut self) {
        let room = self
            .gov
            .target()
            .max(1)
            .saturating_sub(self.crew.busy + self.crew.cooling.len());
        let throttled = self.gov.throttled();
        self.crew
            .release_idle(&self.ctl.pool, self.origin.as_ref(), throttled, room);
    }

    /// A worker for the next request: one of the job's own idle ones, else one from the
    /// runner's pool (its connection may be open), else a new one.
    pub(super) fn idle_worker(&mut self) -> usize {
        self.crew.checkout(&self.ctl.pool, self.origin.as_ref())
    }

    /// Split the active segment with the most bytes left, for a request to `src`; returns
    /// the new slot's index.
    pub(super) fn steal(&mut self, src: usize) -> Option<usize> {
        if self.p.mode != Mode::Range {
            return None;
        }
        // The thief is the idle worker `assign` will use next: judge it by its own last
        // speed, else by the connections running now.
        let thief_speed = self
            .crew
            .idle
            .last()
            .and_then(|&w| self.crew.worker_speed.get(w).copied())
            .filter(|&v| v > 0.0)
            .unwrap_or_else(|| self.typical_speed());
        let (vi, _) = self
            .plan
            .slots
            .iter()
            .enumerate()
            // Only from connections that are receiving: splitting an attempt that has not
            // produced a byte yet (it may be refused) would just multiply failing requests.
            // Never from a race or a segment being raced.
            .filter(|(_, s)| s.is_receiving() && matches!(s.role, Role::Plain | Role::Kept(_)))
            .max_by_key(|(_, s)| s.remaining())?;
        let victim = &self.plan.slots[vi];
        let span = victim.seg.span();
        // From what the owner has received (`claimed`), not just written: its buffered bytes
        // are taken already.
        let ttfb = self.typical_ttfb();
        let mut at = steal_point(span.claimed, span.end, victim.speed, thief_speed, ttfb)?;
        // Inside the owner's current request the steal cuts its response; from where that
        // request ends it cuts nothing: take from there when that still pays.
        let asked = victim.seg.asked();
        if at < asked && asked < span.end {
            let owner = (asked - span.claimed) as f64 / victim.speed;
            let thief = ttfb + (span.end - asked) as f64 / thief_speed;
            let alone = (span.end - span.claimed) as f64 / victim.speed;
            if span.end - asked >= MIN_STEAL && alone - owner.max(thief) >= MIN_GAIN_SECS {
                at = asked;
            }
        }
        // The last slow range: a steal would cut the owner inside the request it is reading.
        // Race it instead (a second request for the same tail, into memory): whichever
        // finishes first wins, the loser stops, no byte is written twice. What the owner
        // delivers while the race runs is fetched twice, so only when that is little (a
        // straggler far slower than the thief, not a source a few times slower) and the race
        // saves time worth having.
        let straggler = thief_speed > 4.0 * victim.speed;
        let remaining = span.end - span.claimed;
        let duplicate = remaining as f64 * victim.speed / thief_speed;
        let saves = remaining as f64 / victim.speed - (ttfb + remaining as f64 / thief_speed);
        // A race's bytes are never undone: only between trusted sources (`verify.rs`).
        let trusted = self.sources[src].trusted() && self.sources[victim.source].trusted();
        if at < asked
            && trusted
            && straggler
            && remaining <= RACE_MAX
            && duplicate <= RACE_DUPLICATE
            && saves >= MIN_GAIN_SECS
        {
            let seg = victim.seg.clone();
            // Kept for its worker or not, it is worked now: being raced is what matters.
            self.plan.slots[vi].role = Role::Raced;
            self.stats.races += 1;
            tracing::debug!(from = span.claimed, to = span.end, "race a slow tail");
            self.happened(Happening::Race {
                from: span.claimed,
                to: span.end,
            });
            let mut slot = Slot::new(Segment::new(span.claimed, span.end));
            slot.role = Role::Race(seg);
            self.plan.slots.push(slot);
            return Some(self.plan.slots.len() - 1);
        }
        // A steal inside the owner's request cuts its response: what the server had sent past
        // the cut (socket buffers, megabytes on a fast link) is wasted, and the connection is
        // lost. Worth it against a straggler; from a peer not much slower than the thief,
        // only for a real gain.
        if at < asked && !straggler {
            let owner = (at - span.claimed) as f64 / victim.speed;
            let thief = ttfb + (span.end - at) as f64 / thief_speed;
            let alone = remaining as f64 / victim.speed;
            if alone - owner.max(thief) < CUT_GAIN_SECS {
                return None;
            }
        }
        let old_end = victim.seg.cut(at)?;
        tracing::debug!(from = span.claimed, at, old_end, "steal");
        let from = self.plan.slots[vi].seg.origin;
        self.happened(Happening::Steal {
            from,
            at,
            end: old_end,
        });
        self.plan.slots.push(Slot::new(Segment::new(at, old_end)));
        Some(self.plan.slots.len() - 1)
    }

    /// How much one request asks for. Short windows let a steal take what lies past the
    /// owner's current request without cutting its response (what a cut connection had in
    /// flight, megabytes of socket buffers on a fast link, is sent for nothing); but each
    /// window costs a request, so a window lasts at least [`WINDOW_SECS`] and at least
    /// [`WINDOW_TRIPS`] round trips at the connection's speed (at an assumed 100 MB/s until
    /// speeds are measured): the whole segment on a fast link or where the server thinks
    /// before each answer, a few windows per segment where connections are slow (where
    /// steals pay). The round trip is the least wait any range request saw from going out
    /// to its answer (queueing on a busy machine only adds to it); before one is timed, a
    /// request asks for its whole segment. The result is also
    /// published in [`JobIo::window`](crate::transfer::JobIo::window) for running segments.
    pub(super) fn window(&self) -> u64 {
        if self.p.mode != Mode::Range {
            return u64::MAX;
        }
        let rtt = match self.io.wait_ns.load(Ordering::Relaxed) {
            // No range answer timed yet (the first request asked for the whole file): what a
            // window would cost is unknown, so a request asks for the whole segment.
            u64::MAX => return u64::MAX,
            ns => ns as f64 * 1e-9,
        };
        if rtt <= 0.0 {
            return u64::MAX; // no round trip measured: one request per segment
        }
        let speed = match self.typical_speed() {
            v if v > 0.0 => v,
            _ => ASSUMED_SPEED,
        };
        let w = ((speed * (rtt * WINDOW_TRIPS).max(WINDOW_SECS)) as u64).max(MIN_WINDOW);
        if self.io.window.swap(w, Ordering::Relaxed) != w {
            tracing::trace!(rtt_ms = rtt * 1e3, speed, window = w, "request window");
        }
        w
    }

    /// Median time to first byte seen so far, in seconds (0 when none yet).
    pub(super) fn typical_ttfb(&self) -> f64 {
        let mut v: Vec<f64> = self.stats.ttfb.iter().map(|d| d.as_secs_f64()).collect();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// Median speed of the active connections (what an idle one may expect).
    pub(super) fn typical_speed(&self) -> f64 {
        let mut v: Vec<f64> = self
            .plan
            .slots
            .iter()
            .filter(|s| s.worker.is_some() && s.speed > 0.0)
            .map(|s| s.speed)
            .collect();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// Measure each connection's speed and let the governor judge: grow, settle, or replace
    /// a connection far below its peers.
    pub(super) fn sample_speeds(&mut self) {
        self.window();
        let now = Instant::now();
        let mut started = Vec::new();
        for s in &mut self.plan.slots {
            if s.worker.is_none() {
                s.receiving_since = None;
                continue;
            }
            let dt = now.duration_since(s.last_sample).as_secs_f64();
            if dt < 0.05 {
                continue;
            }
            // Received, not written: writes land in 256 KiB batches, which on a slow
            // connection would read as seconds of zero speed.
            let pos = s.seg.span().claimed;
            if s.receiving_since.is_none() && pos > s.attempt_start {
                s.receiving_since = Some(s.last_sample);
                if !s.counted {
                    s.counted = true;
                    started.extend(self.sources[s.source].origin.clone());
                }
            }
            let inst = pos.saturating_sub(s.last_pos) as f64 / dt;
            s.speed = if s.speed == 0.0 {
                inst
            } else {
                0.6 * s.speed + 0.4 * inst
            };
            s.last_pos = pos;
            s.last_sample = now;
        }
        for o in started {
            self.ctl.connections.receiving(&o, true);
        }
        let conns: Vec<ConnSample> = self
            .plan
            .slots
            .iter()
            .filter(|s| !matches!(s.role, Role::Check(_)))
            .filter_map(|s| {
                Some(ConnSample {
                    worker: s.worker?.index(),
                    speed: s.speed,
                    receiving_for: now.duration_since(s.receiving_since?),
                })
            })
            .collect();
        // The job's steady rate over the last window: received bytes, not a sum of
        // smoothed samples that a burst inflates.
        let total = self
            .recent_rate(crate::engine::governor::STEP_WINDOW)
            .unwrap_or_else(|| conns.iter().map(|c| c.speed).sum());
        let before = self.gov.target();
        if let Some(cap) = self
            .origin
            .as_ref()
            .and_then(|o| self.ctl.connections.host_cap(o))
        {
            self.gov.aim_at_shared(cap);
        }
        let actions = self.gov.on_sample(now, total, &conns);
        if self.gov.target() != before {
            tracing::debug!(
                job = self.p.job_id,
                total,
                "connections {before} -> {}",
                self.gov.target()
            );
        }
        for action in actions {
            match action {
                Action::Replace(w) => {
                    if let Some(s) = self
                        .plan
                        .slots
                        .iter()
                        .find(|s| s.worker == Some(WorkerId(w)))
                    {
                        tracing::debug!(worker = w, speed = s.speed, "replacing a slow connection");
                        self.stats.replaced += 1;
                        s.seg.abandon();
                        let (from, speed) = (s.seg.span().claimed, s.speed as u64);
                        self.happened(Happening::Replaced { from, speed });
                    }
                }
            }
        }
    }
}

//! Scheduling of workers: which idle connection gets which range, how many connections may
//! be open (ramp-up, caps, the global budget), and where to steal from.

use super::{Coordinator, Slot};
use crate::engine::split::steal_point;
use crate::transfer::{Mode, Segment, Task};
use std::time::{Duration, Instant};

/// Connections opened at once when a transfer starts, and added per RAMP_EVERY after.
const RAMP_BATCH: usize = 4;
const RAMP_EVERY: Duration = Duration::from_millis(25);
/// After this long without a refusal, one more connection is tried.
const RECOVER_AFTER: Duration = Duration::from_secs(3);

impl Coordinator<'_> {
    /// Give work to idle connections, up to the target count.
    pub(super) fn assign(&mut self) {
        let now = Instant::now();
        let (ready, resting): (Vec<_>, Vec<_>) =
            self.cooling.drain(..).partition(|(_, until)| *until <= now);
        self.idle.extend(ready.into_iter().map(|(w, _)| w));
        self.cooling = resting;
        if self.throttled {
            self.retire_excess();
        }
        if self.resolving.is_some() {
            return; // new requests wait for the link being resolved again
        }
        // Resting workers still count: a new connection now would exceed the server's cap.
        let limit = self.target.min(self.ramp_limit());
        while self.busy + self.cooling.len() < limit {
            if !self.ctl.connections.try_take() {
                return; // other jobs use the global budget: wait for a unit
            }
            // 1. An unassigned segment whose retry time has come.
            let ready = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.worker.is_none() && s.not_before <= now)
                .min_by_key(|(_, s)| s.seg.span().pos)
                .map(|(i, _)| i);
            let i = match ready {
                Some(i) => i,
                None => match self.steal() {
                    Some(i) => i,
                    None => {
                        self.ctl.connections.give();
                        return;
                    }
                },
            };
            let w = self.idle_worker();
            let task = Task {
                io: self.io.clone(),
                reports: self.tx.clone(),
                worker: w,
                seg: self.slots[i].seg.clone(),
                url: self.p.url.clone(),
                mode: self.p.mode,
                size: self.p.size,
                etag: self.p.etag.clone(),
                last_modified: self.p.last_modified.clone(),
            };
            let url_gen = self.url_gen;
            let slot = &mut self.slots[i];
            slot.worker = Some(w);
            slot.url_gen = url_gen;
            slot.attempt_start = slot.seg.span().claimed;
            slot.last_pos = slot.seg.span().claimed;
            slot.last_sample = now;
            self.busy += 1;
            if let Some(h) = &self.workers[w] {
                h.give(task);
            }
        }
    }

    /// Connections may open in small batches (servers ban clients that open many at once): RAMP_BATCH at
    /// first, RAMP_BATCH more every RAMP_EVERY, unless the server has refused one already.
    pub(super) fn ramp_limit(&self) -> usize {
        if self.throttled {
            return self.target;
        }
        let steps = (self.started.elapsed().as_millis() / RAMP_EVERY.as_millis()) as usize;
        RAMP_BATCH.saturating_mul(steps + 1)
    }

    /// Close idle connections beyond the target: a server that caps open connections counts
    /// idle keep-alive sockets too.
    pub(super) fn retire_excess(&mut self) {
        let alive = self.workers.iter().filter(|w| w.is_some()).count();
        let mut excess = alive.saturating_sub(self.target.max(1));
        while excess > 0 {
            let Some(w) = self.idle.pop() else { break };
            if let Some(h) = self.workers[w].take() {
                h.finish(); // its handle, and so its connection, is dropped
            }
            excess -= 1;
        }
    }

    pub(super) fn idle_worker(&mut self) -> usize {
        if let Some(w) = self.idle.pop() {
            return w;
        }
        let id = self.workers.len();
        self.worker_speed.push(0.0);
        self.workers
            .push(Some(self.ctl.pool.checkout(self.origin.as_ref())));
        id
    }

    /// Split the active segment with the most bytes left; returns the new slot's index.
    pub(super) fn steal(&mut self) -> Option<usize> {
        if self.p.mode != Mode::Range {
            return None;
        }
        // The thief is the idle worker `assign` will use next: judge it by its own last
        // speed, else by the connections running now.
        let thief_speed = self
            .idle
            .last()
            .and_then(|&w| self.worker_speed.get(w).copied())
            .filter(|&v| v > 0.0)
            .unwrap_or_else(|| self.typical_speed());
        let (vi, _) = self
            .slots
            .iter()
            .enumerate()
            // Only from connections that are receiving: splitting an attempt that has not
            // produced a byte yet (it may be refused) would just multiply failing requests.
            .filter(|(_, s)| s.is_receiving())
            .max_by_key(|(_, s)| s.remaining())?;
        let victim = &self.slots[vi];
        let span = victim.seg.span();
        // From what the owner has received (`claimed`), not just written: its buffered bytes
        // are taken already.
        let ttfb = self.typical_ttfb();
        let at = steal_point(span.claimed, span.end, victim.speed, thief_speed, ttfb)?;
        let old_end = victim.seg.cut(at)?;
        tracing::debug!(from = span.claimed, at, old_end, "steal");
        self.slots.push(Slot::new(Segment::new(at, old_end)));
        Some(self.slots.len() - 1)
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

    pub(super) fn sample_speeds(&mut self) {
        let now = Instant::now();
        let receiving = self.slots.iter().filter(|s| s.is_receiving()).count();
        self.peak_receiving = self.peak_receiving.max(receiving);
        // Climb back towards what was seen working (a refusal during churn may have pushed
        // the count below it), never beyond: above that the server said no.
        if let Some(t) = self.last_refusal {
            if t.elapsed() >= RECOVER_AFTER
                && self.target < self.peak_receiving.min(self.p.connections)
            {
                self.target += 1;
                self.last_refusal = Some(now);
            }
        }
        for s in &mut self.slots {
            if s.worker.is_none() {
                continue;
            }
            let dt = now.duration_since(s.last_sample).as_secs_f64();
            if dt < 0.1 {
                continue;
            }
            // Received, not written: writes land in 256 KiB batches, which on a slow
            // connection would read as seconds of zero speed.
            let pos = s.seg.span().claimed;
            let inst = pos.saturating_sub(s.last_pos) as f64 / dt;
            s.speed = if s.speed == 0.0 {
                inst
            } else {
                0.6 * s.speed + 0.4 * inst
            };
            s.last_pos = pos;
            s.last_sample = now;
        }
    }
}

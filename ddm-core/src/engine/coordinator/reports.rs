//! Worker reports: a finished, stopped or failed segment frees its connection, counts its
//! bytes as written, ends a race, and hands a failure to the failure policy; at the end,
//! every worker is stopped and given back to the runner's pool.

use super::{Coordinator, Role, Stop, COOL_DOWN, CUT_REST};
use crate::engine::Happening;
use crate::retry::Failure;
use crate::transfer::{Done, Mode, Outcome, Report};
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Coordinator<'_> {
    /// Handle worker reports: the first waits up to one tick.
    pub(super) fn drain_reports(&mut self) -> Option<Stop> {
        let mut first = true;
        loop {
            let r = if first {
                first = false;
                match self.rx.recv_timeout(self.tick()) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => return None,
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
            } else {
                match self.rx.try_recv() {
                    Ok(r) => r,
                    Err(_) => return None,
                }
            };
            // Heads come only from a job's first request, which `first` handles.
            let Report::Done(r) = r else { continue };
            if let Some(stop) = self.on_report(r) {
                return Some(stop);
            }
        }
    }

    fn on_report(&mut self, r: Done) -> Option<Stop> {
        if let Some(t) = r.ttfb {
            self.stats.ttfb.push(t);
        }
        let src = self.crew.source_of(r.worker);
        self.source_report(src, r.bytes, r.elapsed.as_secs_f64());
        if r.bytes >= 64 * 1024 {
            let secs = r.elapsed.as_secs_f64().max(1e-3);
            if let Some(v) = self.crew.worker_speed.get_mut(r.worker.index()) {
                *v = r.bytes as f64 / secs;
            }
        }
        // A connection we cut rests a moment before its unit serves another request: the
        // server counts it as open until it notices the close (a host that caps connections
        // would refuse the next one meanwhile, and a share of the host would be exceeded).
        if r.cut {
            let rest = if self.gov.throttled() {
                COOL_DOWN
            } else {
                CUT_REST
            };
            self.crew
                .cooling
                .push((r.worker.index(), Instant::now() + rest));
        } else {
            self.crew.idle.push(r.worker.index());
        }
        // A 200 to a range before any 206: the server serves no ranges after all.
        if self.judge_ranges(&r) {
            let _ = self.settle(&r);
            self.one_stream();
            return None;
        }
        let (i, f) = self.settle(&r)?;
        self.on_failure(i, f, r.bytes)
    }

    /// Account for a report: the connection is free again and a finished segment's bytes
    /// count as written. Returns the slot and failure still to act on, if any.
    fn settle(&mut self, r: &Done) -> Option<(usize, Failure)> {
        self.crew.busy -= 1;
        if let Some(i) = self.plan.slot_of(r.worker) {
            self.uncount(i);
        }
        for s in &mut self.plan.slots {
            if s.kept_for() == Some(r.worker) {
                s.role = Role::Plain;
            }
        }
        let failed = self.settle_slot(r);
        let src = self.crew.source_of(r.worker);
        self.give_source(r.worker.index(), src);
        failed
    }

    /// The slot side of [`Self::settle`]: the segment the report ends.
    fn settle_slot(&mut self, r: &Done) -> Option<(usize, Failure)> {
        let i = self.plan.slot_of(r.worker)?;
        self.plan.slots[i].worker = None;
        if let Role::Check(m) = self.plan.slots[i].role {
            // A check of a mirror: compared with the file, never written, never the job's
            // failure.
            let slot = self.plan.slots.swap_remove(i);
            let at = slot.seg.origin..slot.seg.span().end;
            self.check_done(m, slot.source, at, &r.outcome, r.sample.as_ref());
            return None;
        }
        let src = self.plan.slots[i].source;
        if !self.sources[src].trusted() {
            let dropped = self.sources[src].dropped;
            self.taint_attempt(i);
            if dropped && self.plan.slots[i].is_plain() {
                return None; // its bytes are fetched again; its failure is nobody's now
            }
        }
        if let Role::Race(raced) = &self.plan.slots[i].role {
            let raced = raced.clone();
            // A race ends once, won or not: the raced segment may be raced again later.
            let race = self.plan.slots.swap_remove(i);
            if let Some(v) = self
                .plan
                .slots
                .iter_mut()
                .find(|s| Arc::ptr_eq(&s.seg, &raced))
            {
                if v.is_raced() {
                    v.role = Role::Plain;
                }
            }
            let won = match (&r.outcome, &r.won) {
                (Outcome::Finished, Some(won)) => {
                    tracing::debug!(from = won.start, to = won.end, "race won");
                    self.stats.races_won += 1;
                    self.plan.written.insert(won.clone());
                    true
                }
                _ => false,
            };
            let (from, to) = (race.seg.origin, race.seg.span().end);
            self.happened(Happening::RaceEnded { from, to, won });
            return None;
        }
        let span = self.plan.slots[i].seg.span();
        match &r.outcome {
            // A stream that stopped at a cut taken back since (`proof.rs`) is not the whole
            // file: it starts again from byte 0.
            Outcome::Finished
                if self.p.mode == Mode::Whole && span.pos < span.end && span.end != u64::MAX =>
            {
                let seg = crate::transfer::Segment::new(0, span.end);
                self.plan.slots[i] = super::Slot::new(seg);
                None
            }
            Outcome::Finished => {
                let slot = self.plan.slots.swap_remove(i);
                if self.p.mode == Mode::Whole {
                    self.stream_len = Some(span.pos);
                }
                self.plan.written.insert(slot.seg.origin..span.pos);
                None
            }
            Outcome::Stopped => None,
            Outcome::Failed(f) => Some((i, f.clone())),
        }
    }

    /// Slot `i`'s attempt no longer receives: the host's count in the budget goes down.
    pub(super) fn uncount(&mut self, i: usize) {
        let s = &mut self.plan.slots[i];
        if std::mem::take(&mut s.counted) {
            if let Some(o) = self.sources[s.source].origin.as_ref() {
                self.ctl.connections.receiving(o, false);
            }
        }
    }

    /// Stop every transfer, wait for the workers and give them back to the pool (with their
    /// open connections, for the next job), then their units to the budget.
    pub(super) fn shutdown(&mut self) {
        self.io.cancel.store(true, Ordering::Relaxed);
        self.relink.ended.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.crew.busy > 0 && Instant::now() < deadline {
            match self.rx.recv_timeout(Duration::from_millis(200)) {
                // Only accounting now: nothing new is scheduled.
                Ok(Report::Done(r)) => {
                    let _ = self.settle(&r);
                }
                Ok(Report::Head(_)) | Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.crew.disband(&self.ctl.pool, self.origin.as_ref());
        // Workers that did not report in time are gone now (finish waits for them): the
        // units of their requests go back too, or the runner would lose them for good.
        let mut unreported = Vec::new();
        for i in 0..self.plan.slots.len() {
            self.uncount(i);
            if let Some(w) = self.plan.slots[i].worker.take() {
                unreported.push((w, self.plan.slots[i].source));
            }
        }
        for (w, src) in unreported {
            self.crew.busy = self.crew.busy.saturating_sub(1);
            self.give_source(w.index(), src);
        }
        self.release_units();
    }
}

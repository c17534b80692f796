//! Every source proves it serves the same file before its bytes count.
//!
//! The job's URL (or the mirror that answered the first request) is the reference: its
//! first answer fixed the size and validators. Validators prove nothing across independent
//! servers (a mirror without them, or with another ETag, may serve the same bytes; one with
//! the same size may serve other bytes), so every mirror is checked by its bytes, whatever
//! its validators say. A mirror works at once, but what it writes before it is proven is
//! *tainted*: not counted in a checkpoint (never durable), not counted as done. As soon as
//! it has written [`CHECK`] bytes (or all it will), a trusted source is asked for the same
//! bytes (a check: held in memory, never written; allowed beyond the job's connection
//! target, within the budget) and they are compared with the file. Equal: the mirror is
//! proven, its bytes count, and its own validators hold for its later answers. Different:
//! it is dropped with a note naming the bytes, everything it wrote is fetched again from the
//! others, and its running requests are stopped. A mirror dropped for any other reason
//! before it was proven loses what it wrote the same way.

use super::{Coordinator, Role, Slot};
use crate::budget::Permit;
use crate::engine::Event;
use crate::model::redact_url;
use crate::transfer::{Outcome, Sample, Segment};
use std::ops::Range;
use std::time::{Duration, Instant};

/// The most bytes a check compares.
const CHECK: u64 = 64 * 1024;
/// Checks of one mirror that may fail (its trusted source busy or failing) before the mirror
/// is given up: its bytes cannot be vouched for.
const CHECK_TRIES: u32 = 5;

/// Whether a source's bytes count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Trust {
    /// It answered the job's first request: the others are compared with it.
    Reference,
    /// Not compared yet: what it writes is tainted.
    Unproven,
    /// These bytes of it matched the file's, from a trusted source.
    Proven(Range<u64>),
}

impl Coordinator<'_> {
    /// The bytes an attempt of an unproven source wrote: not durable and not done until the
    /// source is proven. The slot keeps only what is left after them (a retry may go to
    /// another source, whose bytes must not be mixed up with these).
    pub(super) fn taint_attempt(&mut self, i: usize) {
        let slot = &self.plan.slots[i];
        let src = slot.source;
        if self.sources[src].trusted() || !slot.is_plain() {
            return;
        }
        let span = slot.seg.span();
        let mine = slot.attempt_start..span.pos;
        if self.sources[src].dropped {
            // Refuted or dropped unproven: its bytes are fetched again, the rest is kept.
            self.plan.written.insert(slot.seg.origin..mine.start);
            self.plan.slots[i].seg = Segment::new(mine.start, span.end);
            return;
        }
        if mine.is_empty() {
            return;
        }
        self.sources[src].taint.insert(mine.clone());
        self.plan.written.insert(slot.seg.origin..mine.end);
        if span.pos < span.end {
            self.plan.slots[i].seg = Segment::new(mine.end, span.end);
        }
    }

    /// What must not be counted as written yet: the taint of unproven sources and what
    /// their running attempts wrote so far.
    pub(super) fn tainted(&self) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = self
            .sources
            .iter()
            .filter(|s| !s.trusted())
            .flat_map(|s| s.taint.ranges().iter().cloned())
            .collect();
        for s in &self.plan.slots {
            if s.worker.is_some() && s.is_plain() && !self.sources[s.source].trusted() {
                out.push(s.attempt_start..s.seg.span().pos);
            }
        }
        out.retain(|r| !r.is_empty());
        out.sort_by_key(|r| r.start);
        out
    }

    /// Some unproven bytes still wait for their check (the download cannot end yet).
    pub(super) fn unproven_bytes(&self) -> bool {
        self.sources
            .iter()
            .any(|s| !s.trusted() && !s.dropped && s.taint.total() > 0)
    }

    /// The bytes of mirror `m` to check: the last [`CHECK`] bytes of the longest run it
    /// wrote (finished or still growing), when it has written that many or will write no
    /// more for now.
    fn check_window(&self, m: usize) -> Option<Range<u64>> {
        let src = &self.sources[m];
        if src.trusted() || src.dropped || src.check_after > Instant::now() {
            return None;
        }
        let checking = self
            .plan
            .slots
            .iter()
            .any(|s| matches!(s.role, Role::Check(k) if k == m));
        if checking {
            return None;
        }
        let live = self
            .plan
            .slots
            .iter()
            .filter(|s| s.worker.is_some() && s.is_plain() && s.source == m)
            .map(|s| s.attempt_start..s.seg.span().pos);
        let busy = self
            .plan
            .slots
            .iter()
            .any(|s| s.worker.is_some() && s.source == m);
        let run = src
            .taint
            .ranges()
            .iter()
            .cloned()
            .chain(live)
            .max_by_key(|r| r.end - r.start)?;
        let len = run.end - run.start;
        if len == 0 || (len < CHECK && busy) {
            return None;
        }
        Some(run.end - len.min(CHECK)..run.end)
    }

    /// Send the checks that are due, each to a trusted source with a free connection unit
    /// (beyond the job's connection target: a check is one short request).
    pub(super) fn issue_checks(&mut self, now: Instant) {
        for m in 0..self.sources.len() {
            let Some(at) = self.check_window(m) else {
                continue;
            };
            let Some((src, permit)) = self.take_trusted() else {
                return;
            };
            let mut slot = Slot::new(Segment::new(at.start, at.end));
            slot.role = Role::Check(m);
            self.plan.slots.push(slot);
            let i = self.plan.slots.len() - 1;
            self.give_task(i, src, permit, now);
        }
    }

    /// A connection unit for a trusted source (the fastest first), if one is free.
    fn take_trusted(&mut self) -> Option<(usize, Permit)> {
        let mut trusted: Vec<usize> = (0..self.sources.len())
            .filter(|&s| self.sources[s].trusted() && !self.sources[s].dropped)
            .collect();
        trusted.sort_by(|a, b| self.sources[*b].speed.total_cmp(&self.sources[*a].speed));
        trusted
            .into_iter()
            .find_map(|s| self.take_unit(s).map(|p| (s, p)))
    }

    /// A check of mirror `m` by trusted source `by` ended: compare what `by` sent with what
    /// the mirror wrote. A failed check is tried again later; it is never the job's failure.
    pub(super) fn check_done(
        &mut self,
        m: usize,
        by: usize,
        at: Range<u64>,
        outcome: &Outcome,
        sample: Option<&Sample>,
    ) {
        if self.sources[m].trusted() || self.sources[m].dropped {
            return;
        }
        match (outcome, sample) {
            (Outcome::Finished, Some(got)) => self.compare(m, by, at, got),
            (Outcome::Failed(f), _) => {
                self.stats.errors += 1;
                tracing::info!(job = self.p.job_id, "check of bytes {at:?}: {f}");
                self.check_later(m, &f.to_string());
            }
            _ => self.check_later(m, "the check was stopped"),
        }
    }

    /// Try again later; after [`CHECK_TRIES`] the mirror is given up.
    fn check_later(&mut self, m: usize, why: &str) {
        let s = &mut self.sources[m];
        s.checks_failed += 1;
        if s.checks_failed >= CHECK_TRIES {
            self.drop_source(m, &format!("its bytes could not be checked: {why}"));
            return;
        }
        s.check_after = Instant::now() + Duration::from_secs(u64::from(s.checks_failed));
    }

    fn compare(&mut self, m: usize, by: usize, at: Range<u64>, trusted: &Sample) {
        let mut ours = vec![0u8; (at.end - at.start) as usize];
        let read = match self.io.file() {
            Some(f) => f.read_at(&mut ours, at.start).map_err(|e| e.to_string()),
            None => Err("no file".to_string()),
        };
        if let Err(e) = read {
            tracing::warn!(job = self.p.job_id, "cannot read bytes {at:?} back: {e}");
            self.check_later(m, &e);
            return;
        }
        let span = format!("bytes {}-{}", at.start, at.end - 1);
        let etag = |s: usize| match s {
            0 => self.p.etag.clone(),
            _ => self.sources[s].pin.get().and_then(|v| v.0.clone()),
        };
        let etags = match (&etag(by), &etag(m)) {
            (Some(a), Some(b)) if !crate::identity::etags_match(a, b) => {
                format!("; its ETag {b} is not {a}")
            }
            (Some(_), None) => "; it has no ETag".to_string(),
            _ => String::new(),
        };
        let trusted_url = redact_url(&self.sources[by].url);
        if ours != trusted.bytes {
            let why = format!("its {span} differ from {trusted_url}'s{etags}: another file");
            self.drop_source(m, &why);
            return;
        }
        let url = redact_url(&self.sources[m].url);
        self.obs.event(Event::Note(format!(
            "mirror {url} verified: its {span} match {trusted_url}'s{etags}"
        )));
        let s = &mut self.sources[m];
        s.trust = Trust::Proven(at);
        s.taint = Default::default();
    }

    /// Everything unproven source `m` wrote is fetched again, and its running requests stop.
    pub(super) fn discard(&mut self, m: usize) {
        let taint = std::mem::take(&mut self.sources[m].taint);
        for r in taint.ranges() {
            tracing::info!(job = self.p.job_id, "fetching bytes {r:?} again");
            self.plan.written.remove(r.clone());
            self.plan
                .slots
                .push(Slot::new(Segment::new(r.start, r.end)));
        }
        for s in &self.plan.slots {
            if s.worker.is_some() && s.source == m {
                s.seg.abandon();
            }
        }
    }
}

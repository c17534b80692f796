//! Ranges probable, until proven: a job's first request asks for the file without a Range
//! header (a range answer costs an object store think time a plain GET does not), and the
//! answer's `Accept-Ranges: bytes` only makes ranges probable. The plan is made as if they
//! work: the first stream is cut at its share and the other connections ask for ranges.
//! Their answers are checked before a byte is written (`sink/check.rs`), so the first 206
//! with the right Content-Range proves ranges; until then a 200 to a range request, or a 206
//! that is not the range asked, means the server does not serve them after all (as a first
//! range request's unusable 206 always meant). Then every other request goes, the cut is taken
//! back and the first stream goes on alone to the end (or, if it already stopped at its
//! share, one stream starts again from byte 0): the file comes in one stream, as from a
//! server without ranges. Once proven, a 200 to a range is what it always was (the file
//! changed, or an invalid answer).
//!
//! A plain answer that does not say (no `Accept-Ranges` at all) is asked first: the first
//! stream is cut where the file's last [`PROBE_LEN`] bytes begin and one connection asks for
//! those (a range the stream would reach last). Its 206 proves ranges, and only then is the
//! work cut for the other connections (the first stream keeps its share from where it is);
//! a 200 means one stream, the cut taken back. A server without ranges so costs one
//! request answered 200 and dropped, where it used to cost none; one that serves them
//! without saying keeps its connections and its resume. Files under [`PROBE_MIN`] and
//! one-connection jobs are not asked: one stream (`prepare.rs`).

use super::{Coordinator, Slot};
use crate::engine::coverage::Coverage;
use crate::engine::governor::Governor;
use crate::engine::{Event, Note};
use crate::transfer::{Done, Mode, Segment};
use std::sync::Arc;
use std::time::Instant;

/// What a job's first answer said of ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeProof {
    /// A 206 (or ranges are not used at all).
    Proven,
    /// A 200 to a plain request, with `Accept-Ranges: bytes`.
    Offered,
    /// A 200 to a plain request, without `Accept-Ranges`.
    Unsaid,
}

/// The least file size for which a server that does not say whether it serves ranges is
/// asked (one range request, `PROBE_LEN` bytes).
pub const PROBE_MIN: u64 = 8 << 20;
/// What the probing range asks for: the file's last bytes.
pub(super) const PROBE_LEN: u64 = 64 << 10;

/// Whether the job's ranges are proven; while they are not, the first answer's stream (cut
/// at its share for the others), if it goes on.
#[derive(Default)]
pub(super) enum Proof {
    /// Proven by a 206 (or ranges are not used at all).
    #[default]
    Proven,
    /// Only probable: the other connections' first 206 proves them.
    Probable(Option<Arc<Segment>>),
    /// Unsaid: only the probing range is out; the work is cut for the others once it is
    /// proven.
    Probing(Arc<Segment>),
}

impl Proof {
    /// What the first answer said (`kind`), for a job planned with ranges (`ranged`) that
    /// may open `connections`, whose first stream (`first`) goes on: proven; offered, so
    /// probable; or unsaid, so asked with one range first when a second connection may
    /// open (and probable otherwise: nothing else will ask).
    pub(super) fn of(
        kind: RangeProof,
        ranged: bool,
        connections: usize,
        first: Option<Arc<Segment>>,
    ) -> Proof {
        match (kind, first) {
            (RangeProof::Proven, _) => Proof::Proven,
            _ if !ranged => Proof::Proven,
            (RangeProof::Unsaid, Some(f)) if connections > 1 => Proof::Probing(f),
            (_, first) => Proof::Probable(first),
        }
    }
    /// Only the probing range may be out (no other connection, no steal).
    pub(super) fn is_probing(&self) -> bool {
        matches!(self, Proof::Probing(_))
    }
    fn pending(&self) -> bool {
        !matches!(self, Proof::Proven)
    }
    /// The first answer's stream, while ranges are not proven.
    fn first(&self) -> Option<&Arc<Segment>> {
        match self {
            Proof::Proven => None,
            Proof::Probable(f) => f.as_ref(),
            Proof::Probing(f) => Some(f),
        }
    }
    fn is_first(&self, seg: &Arc<Segment>) -> bool {
        self.first().is_some_and(|f| Arc::ptr_eq(f, seg))
    }
}

impl Coordinator<'_> {
    /// Slot `s` asks the job's URL for a range (not the first answer's stream): a byte it
    /// received passed a 206's check.
    fn asks_a_range(&self, s: &Slot) -> bool {
        s.source == 0 && s.is_plain() && !self.proof.is_first(&s.seg)
    }

    /// A range request to the job's URL has received bytes (its 206 passed the check): the
    /// ranges are proven. `r`, a report about to be settled, counts too.
    fn ranges_seen(&self, r: Option<&Done>) -> bool {
        let by_report = r.is_some_and(|r| {
            r.bytes > 0
                && self
                    .plan
                    .slot_of(r.worker)
                    .is_some_and(|i| self.asks_a_range(&self.plan.slots[i]))
        });
        by_report
            || self
                .plan
                .slots
                .iter()
                .any(|s| self.asks_a_range(s) && s.is_receiving())
    }

    /// Before a report is settled: does it prove ranges, or refute them? True when it
    /// refutes them (a 200 or an unusable 206 to a range request of the job's URL before any
    /// good 206): the caller settles it and goes on with one stream ([`Self::one_stream`]).
    pub(super) fn judge_ranges(&mut self, r: &Done) -> bool {
        if !self.proof.pending() {
            return false;
        }
        if self.ranges_seen(Some(r)) {
            self.ranges_proven();
            return false;
        }
        let src = self
            .plan
            .slot_of(r.worker)
            .map_or(0, |i| self.plan.slots[i].source);
        r.range_unusable && src == 0
    }

    /// Between reports: has the probing range received bytes (its 206 passed)?
    pub(super) fn check_probe(&mut self) {
        if self.proof.is_probing() && self.ranges_seen(None) {
            self.ranges_proven();
        }
    }

    /// A 206 proved ranges. After a probe, the work is cut for the other connections now:
    /// the first stream keeps a share of what lies between it and the probed tail, from
    /// where it is, and the rest is cut into unstarted segments.
    fn ranges_proven(&mut self) {
        tracing::debug!(job = self.p.job_id, "ranges proven by a 206");
        let Proof::Probing(first) = std::mem::take(&mut self.proof) else {
            return;
        };
        let opening = self.gov.target().max(2);
        let Some(seg) = Some(first).filter(|f| {
            self.plan
                .slots
                .iter()
                .any(|s| Arc::ptr_eq(&s.seg, f) && s.worker.is_some())
        }) else {
            return; // the first stream ended: the others take their work by stealing
        };
        let span = seg.span();
        let rest = span.end.saturating_sub(span.claimed);
        let share = (rest / opening as u64).max(crate::engine::split::MIN_TAKE);
        let at = span.claimed.saturating_add(share);
        if let Some(old_end) = seg.cut(at) {
            let parts = crate::engine::split::initial_segments(
                std::slice::from_ref(&(at..old_end)),
                opening - 1,
            );
            for r in parts {
                self.plan
                    .slots
                    .push(Slot::new(Segment::new(r.start, r.end)));
            }
        }
    }

    /// The server answered a range request with the whole file (or an unusable 206) before
    /// any good 206: it serves no ranges. Every other request goes; the first stream's cut
    /// is taken back, or one stream starts again from byte 0. (A retry of the first segment
    /// as a range still under way ends as any attempt does: a stream that finished short of
    /// its end starts again from byte 0, `reports.rs`.)
    pub(super) fn one_stream(&mut self) {
        let offered = !self.proof.is_probing();
        let first = self.proof.first().cloned();
        self.proof = Proof::Proven;
        tracing::info!(
            job = self.p.job_id,
            "a range request was answered with the whole file or an unusable 206: one stream"
        );
        self.obs.event(Event::Said(Note::RangesIgnored { offered }));
        let is_first = |s: &Slot| first.as_ref().is_some_and(|f| Arc::ptr_eq(f, &s.seg));
        for i in 0..self.plan.slots.len() {
            if !is_first(&self.plan.slots[i]) {
                self.uncount(i);
                self.plan.slots[i].seg.abandon();
            }
        }
        self.plan.slots.retain(|s| is_first(s));
        self.p.mode = Mode::Whole;
        self.plan.pieces = None;
        self.plan.written = Coverage::default();
        self.gov = Governor::new(1, false, self.p.capped, Instant::now());
        let end = self.p.size.unwrap_or(u64::MAX);
        match self.plan.slots.first_mut() {
            // Still streaming: it goes on to the end.
            Some(s) if s.worker.is_some() => s.seg.extend(end),
            // Waiting to be asked again (as a range): one stream from 0 instead.
            Some(s) => *s = Slot::new(Segment::new(0, end)),
            // It ended at its share: one stream from 0.
            None => self.plan.slots.push(Slot::new(Segment::new(0, end))),
        }
    }
}

//! A slot: one piece of the job's work (a segment) and who works it: its worker, the
//! source asked, attempts and retry time, its speed, and its role (part of the file, kept
//! for a worker or raced, the race of another slot's tail, the check of a mirror: one at a
//! time). The coordinator's [`Plan`] is its slots, with the pieces and the ranges written:
//! steals and races cut and add slots (`schedule.rs`), checkpoints read it (`progress.rs`).

use crate::engine::coverage::Coverage;
use crate::pieces::PieceMap;
use crate::transfer::{Segment, WorkerId};
use std::sync::Arc;
use std::time::Instant;

/// The work of the job: what is cut into slots and what is written.
pub(super) struct Plan {
    /// The file's pieces (None: a stream without ranges); their bitmap is what a checkpoint
    /// commits.
    pub(super) pieces: Option<PieceMap>,
    /// Ranges written and confirmed (whole pieces and the partial ranges kept).
    pub(super) written: Coverage,
    pub(super) slots: Vec<Slot>,
    /// The target was lowered: spread the unstarted work over the allowed connections.
    pub(super) rebalance_due: bool,
}

impl Plan {
    /// The slot worker `w` works, if any.
    pub(super) fn slot_of(&self, w: WorkerId) -> Option<usize> {
        self.slots.iter().position(|s| s.worker == Some(w))
    }
}

pub(super) struct Slot {
    pub(super) seg: Arc<Segment>,
    pub(super) worker: Option<WorkerId>,
    /// The source (index into `sources`) of the current or last attempt.
    pub(super) source: usize,
    /// Which URL generation the current attempt used (see `reresolve`).
    pub(super) url_gen: u32,
    /// Where the current attempt started (bytes past it mean the connection is receiving).
    pub(super) attempt_start: u64,
    pub(super) attempts: u32,
    pub(super) not_before: Instant,
    pub(super) speed: f64,
    pub(super) last_pos: u64,
    pub(super) last_sample: Instant,
    /// When the current attempt's first bytes were seen (by the speed sampler).
    pub(super) receiving_since: Option<Instant>,
    /// What the slot's bytes are for.
    pub(super) role: Role,
    /// Its attempt is counted as receiving from its host in the budget.
    pub(super) counted: bool,
}

/// What a slot's segment is for.
pub(super) enum Role {
    /// Part of the file: its bytes are written.
    Plain,
    /// Part of the file kept for this worker (it carries the segment just before):
    /// contiguous work on one connection, no steal needed to even out the first answer's
    /// short window. Plain once that worker's request ends.
    Kept(WorkerId),
    /// Part of the file whose tail a race is running for (`Race` of this segment): never
    /// stolen from, never raced again, and its bytes go only to trusted sources (a race is
    /// never undone). Plain once that race ends.
    Raced,
    /// A race of that (slow) segment's tail: a hedged request (`schedule.rs`).
    Race(Arc<Segment>),
    /// A check of that mirror (not trusted yet): a trusted source's copy of bytes the
    /// mirror wrote, held in memory and compared with the file (`verify.rs`).
    Check(usize),
}

impl Slot {
    pub(super) fn new(seg: Arc<Segment>) -> Slot {
        let now = Instant::now();
        let pos = seg.span().claimed;
        Slot {
            seg,
            worker: None,
            source: 0,
            url_gen: 0,
            attempt_start: 0,
            attempts: 0,
            not_before: now,
            speed: 0.0,
            last_pos: pos,
            last_sample: now,
            receiving_since: None,
            role: Role::Plain,
            counted: false,
        }
    }
    /// The worker this slot is kept for, if any.
    pub(super) fn kept_for(&self) -> Option<WorkerId> {
        match self.role {
            Role::Kept(w) => Some(w),
            _ => None,
        }
    }
    /// Part of the file (plain, kept or raced): its bytes are written.
    pub(super) fn is_plain(&self) -> bool {
        matches!(self.role, Role::Plain | Role::Kept(_) | Role::Raced)
    }
    /// A race for this slot's tail is running.
    pub(super) fn is_raced(&self) -> bool {
        matches!(self.role, Role::Raced)
    }
    /// Bytes not yet received (what a steal can still take).
    pub(super) fn remaining(&self) -> u64 {
        let s = self.seg.span();
        s.end.saturating_sub(s.claimed)
    }
    /// A connection works this slot and has received bytes in its current attempt.
    pub(super) fn is_receiving(&self) -> bool {
        self.worker.is_some() && self.seg.span().claimed > self.attempt_start
    }
}

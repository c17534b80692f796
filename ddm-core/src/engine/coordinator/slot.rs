//! A slot: one piece of the job's work (a segment) and who works it: its worker, the
//! source asked, attempts and retry time, its speed, and its role (part of the file, the
//! race of another slot's tail, the check of a mirror). The coordinator's plan is its slots.

use crate::transfer::{Segment, WorkerId};
use std::sync::Arc;
use std::time::Instant;

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
    /// Kept for this worker (it carries the segment just before): contiguous work on one
    /// connection, no steal needed to even out the first answer's short window.
    pub(super) kept_for: Option<WorkerId>,
    /// What the slot's bytes are for.
    pub(super) role: Role,
    /// Its attempt is counted as receiving from its host in the budget.
    pub(super) counted: bool,
    /// A race for this slot's tail is running.
    pub(super) raced: bool,
}

/// What a slot's segment is for.
pub(super) enum Role {
    /// Part of the file: its bytes are written.
    Plain,
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
            kept_for: None,
            role: Role::Plain,
            counted: false,
            raced: false,
        }
    }
    pub(super) fn is_plain(&self) -> bool {
        matches!(self.role, Role::Plain)
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

//! A segment: the byte range one worker fills, shared between that worker (which moves
//! `pos` and `claimed` as bytes arrive and are written) and the coordinator (which may lower
//! `end` at any time past `claimed`: a steal), behind one small lock.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A contiguous byte range being filled by one worker: `origin..end`, written up to `pos`.
/// `claimed` (≥ pos) also counts bytes the worker has received and buffered but not yet
/// written. The coordinator may lower `end` to anywhere past `claimed` at any time (work
/// stealing); the worker stops there.
#[derive(Debug)]
pub struct Segment {
    pub origin: u64,
    pub(super) span: Mutex<Span>,
    /// Where the current request's range ends (the worker asks for the segment in windows):
    /// a steal at or past it cuts nothing. `u64::MAX` when unknown.
    asked: AtomicU64,
    /// Set to make the worker drop this attempt (and its connection) at once.
    abandoned: AtomicBool,
    /// The current attempt's time to its first body byte, in microseconds (`u64::MAX`: none
    /// yet), for display.
    ttfb_us: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub pos: u64,
    pub claimed: u64,
    pub end: u64,
}

impl Segment {
    pub fn new(origin: u64, end: u64) -> Arc<Segment> {
        Arc::new(Segment {
            origin,
            span: Mutex::new(Span {
                pos: origin,
                claimed: origin,
                end,
            }),
            abandoned: AtomicBool::new(false),
            asked: AtomicU64::new(u64::MAX),
            ttfb_us: AtomicU64::new(u64::MAX),
        })
    }
    /// The end of the range the current request asked for.
    pub fn asked(&self) -> u64 {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub(super) fn set_asked(&self, end: u64) {
        self.asked.store(end, std::sync::atomic::Ordering::Relaxed)
    }
    /// Drop the current attempt (its connection is closed); the range stays to be done.
    pub fn abandon(&self) {
        self.abandoned
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    /// A new attempt may work this segment.
    pub fn resume(&self) {
        self.abandoned
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.ttfb_us
            .store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
    }
    /// The current attempt's time to its first body byte, once it came.
    pub fn ttfb(&self) -> Option<Duration> {
        match self.ttfb_us.load(std::sync::atomic::Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }
    pub(super) fn set_ttfb(&self, t: Duration) {
        let us = u64::try_from(t.as_micros()).unwrap_or(u64::MAX - 1);
        self.ttfb_us.store(us, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn abandoned(&self) -> bool {
        self.abandoned.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn span(&self) -> Span {
        *self.lock_span()
    }
    /// The numbers, to change them. One rule for everyone who takes the lock (coordinator and
    /// workers): a holder that panicked left consistent numbers (each field is written whole),
    /// so its poison is ignored, and one panic never makes every later attempt on the segment
    /// panic too.
    pub(crate) fn lock_span(&self) -> std::sync::MutexGuard<'_, Span> {
        self.span.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Move `end` back up to `to` (a cut taken back: the server turned out to serve no
    /// ranges, so the stream that was cut for the others goes on alone). The worker goes on
    /// if it has not stopped at the old end yet; if it has, its attempt ends as finished
    /// short of `end`, which the coordinator reads as "start again".
    pub fn extend(&self, to: u64) {
        let mut s = self.lock_span();
        if to > s.end {
            s.end = to;
        }
    }
    /// Move `end` down to `at` if nothing at or past `at` is received yet. Returns the old end.
    pub fn cut(&self, at: u64) -> Option<u64> {
        let mut s = self.lock_span();
        if at <= s.claimed || at >= s.end {
            return None;
        }
        let old = s.end;
        s.end = at;
        Some(old)
    }
}

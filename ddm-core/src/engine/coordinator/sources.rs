//! Sources of one download: the job's URL (source 0, the reference: its first answer fixed
//! the size and validators every other answer is checked against) and its mirrors
//! (`--mirror`). Each new request goes to the source whose connections are measured fastest
//! (a source not measured yet is tried first), within its host's share of the connection
//! budget.
//!
//! A mirror's bytes count only once it has proven it serves the same file (`verify.rs`).
//! A mirror that serves another size, answers with a final error or keeps failing without
//! delivering is dropped with a note, and its ranges go to the others; the job's URL is
//! dropped too when it fails for good while a trusted mirror still serves the file.

use super::verify::Trust;
use super::{Coordinator, Stop};
use crate::budget::Permit;
use crate::engine::coverage::Coverage;
use crate::engine::Event;
use crate::engine::Note;
use crate::model::{redact_url, Origin};
use crate::retry::{self, Failure};
use crate::transfer::Pin;
use std::time::Instant;

/// Failed attempts in a row, without a byte delivered, that drop a mirror.
const STRIKES: u32 = 3;

pub(super) struct Source {
    pub url: String,
    pub origin: Option<Origin>,
    pub dropped: bool,
    /// Per-connection speed of its recent attempts (bytes/s, smoothed); 0 = not measured.
    pub speed: f64,
    /// Connections working on it now.
    pub busy: usize,
    pub strikes: u32,
    /// Body bytes it delivered.
    pub bytes: u64,
    pub trust: Trust,
    /// A mirror's validators, pinned by its first answer: all its answers must carry them.
    pub pin: Pin,
    /// What it wrote while not proven yet: not durable, not counted, fetched again if it
    /// is refuted.
    pub taint: Coverage,
    /// No new check of its bytes before this (after one failed for a passing reason).
    pub check_after: Instant,
    pub checks_failed: u32,
}

impl Source {
    pub fn new(url: &str, trust: Trust) -> Source {
        Source {
            url: url.to_string(),
            origin: Origin::parse(url),
            dropped: false,
            speed: 0.0,
            busy: 0,
            strikes: 0,
            bytes: 0,
            trust,
            pin: Pin::default(),
            taint: Coverage::default(),
            check_after: Instant::now(),
            checks_failed: 0,
        }
    }

    /// Its bytes may go into the file.
    pub fn trusted(&self) -> bool {
        matches!(self.trust, Trust::Reference | Trust::Proven(_))
    }
}

/// Does this failure mean the source cannot serve this file at all?
fn fatal(f: &Failure) -> bool {
    match f {
        Failure::Changed(_)
        | Failure::InvalidResponse(_)
        | Failure::Tls(_)
        | Failure::Resolve
        | Failure::Proxy(_) => true,
        Failure::Http { .. } => !retry::is_retryable(f),
        _ => false,
    }
}

impl Coordinator<'_> {
    fn alive(&self) -> usize {
        self.sources.iter().filter(|s| !s.dropped).count()
    }

    /// What a source's connections deliver each: measured now, else from its last attempts.
    fn source_speed(&self, src: usize) -> Option<f64> {
        let live: Vec<f64> = self
            .plan
            .slots
            .iter()
            .filter(|s| s.source == src && s.worker.is_some() && s.speed > 0.0)
            .map(|s| s.speed)
            .collect();
        if !live.is_empty() {
            return Some(live.iter().sum::<f64>() / live.len() as f64);
        }
        let s = &self.sources[src];
        (s.speed > 0.0).then_some(s.speed)
    }

    /// A source may get a request: one not dropped (a dropped one only when all are, and
    /// only if it was trusted: its failures then run their course). A mirror not proven yet
    /// takes only work nobody has started, and none once a request of it has ended with
    /// bytes that wait for their check: it steals nothing, so a fast mirror serving another
    /// file costs little before it is found out.
    fn ready(&self, s: usize, unstarted: bool) -> bool {
        let src = &self.sources[s];
        if src.dropped {
            return self.alive() == 0 && src.trusted();
        }
        src.trusted() || (unstarted && src.taint.total() == 0)
    }

    /// Take a connection unit for the best source that has one free; returns the source.
    pub(super) fn take_source(&mut self) -> Option<(usize, Permit)> {
        let ranged = self.p.mode == crate::transfer::Mode::Range && self.p.limit.is_none();
        let now = Instant::now();
        let unstarted = self
            .plan
            .slots
            .iter()
            .any(|s| s.worker.is_none() && s.not_before <= now && s.kept_for().is_none());
        let mut order: Vec<(usize, f64)> = (0..if ranged { self.sources.len() } else { 1 })
            .filter(|&s| self.ready(s, unstarted))
            .map(|s| {
                let rank = match self.source_speed(s) {
                    Some(v) => v,
                    // Not measured and not tried: try it first.
                    None if self.sources[s].busy == 0 => f64::INFINITY,
                    None => -1.0,
                };
                (s, rank)
            })
            .collect();
        order.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(self.sources[a.0].busy.cmp(&self.sources[b.0].busy))
                .then(a.0.cmp(&b.0))
        });
        order
            .into_iter()
            .find_map(|(s, _)| self.take_unit(s).map(|p| (s, p)))
    }

    /// A connection unit for source `s`: one this job holds back (see `give_source`) first,
    /// else a free one of the budget.
    pub(super) fn take_unit(&mut self, s: usize) -> Option<Permit> {
        if let Some(p) = self.crew.take_held(s) {
            return Some(p);
        }
        self.ctl
            .connections
            .try_permit(self.sources[s].origin.as_ref())
    }

    /// A request on `src` ended. Its connection unit is held until the job's idle
    /// connections are back in the runner's pool ([`Self::release_units`]).
    pub(super) fn give_source(&mut self, worker: usize, src: usize) {
        let s = &mut self.sources[src];
        s.busy = s.busy.saturating_sub(1);
        self.crew.hold(worker, src);
    }

    /// Give the held units back to the budget. Called once the job's idle connections are in
    /// the runner's pool: whoever takes a unit next (this job or another on the host) finds a
    /// connection that is open already, so a host never sees more open connections than its
    /// share, idle ones included.
    pub(super) fn release_units(&mut self) {
        self.crew.release_units();
    }

    /// Account for one attempt on `src`.
    pub(super) fn source_report(&mut self, src: usize, bytes: u64, secs: f64) {
        let s = &mut self.sources[src];
        s.bytes += bytes;
        if bytes >= 64 * 1024 {
            let v = bytes as f64 / secs.max(1e-3);
            s.speed = if s.speed == 0.0 {
                v
            } else {
                0.5 * s.speed + 0.5 * v
            };
            s.strikes = 0;
        }
    }

    /// A failure on a source while others remain: drop the source if it cannot serve the
    /// file, and give the range to the others at once. `Some(_)` when handled here.
    pub(super) fn source_failed(
        &mut self,
        i: usize,
        f: &Failure,
        bytes: u64,
    ) -> Option<Option<Stop>> {
        let src = self.plan.slots[i].source;
        if self.sources.len() < 2 {
            return None;
        }
        if self.sources[src].dropped && self.alive() > 0 {
            // An attempt still running when its source was dropped.
            self.plan.slots[i].not_before = Instant::now();
            return Some(None);
        }
        // Dropped only while another source that is trusted goes on.
        let others = (0..self.sources.len())
            .any(|k| k != src && !self.sources[k].dropped && self.sources[k].trusted());
        if !others {
            return None;
        }
        if bytes == 0 {
            self.sources[src].strikes += 1;
        }
        // The job's URL answering 403/410/3xx is an expired or moved link: resolved again,
        // not dropped.
        let relink = src == 0
            && matches!(
                f,
                Failure::Http {
                    status: 300..=399 | 400 | 403 | 410,
                    ..
                }
            );
        let hopeless = fatal(f) || (src != 0 && self.sources[src].strikes >= STRIKES);
        if relink || !hopeless {
            return None;
        }
        self.drop_source(src, &f.to_string());
        self.plan.slots[i].not_before = Instant::now();
        self.plan.slots[i].attempts = 0;
        Some(None)
    }

    /// Drop a source for good, saying why. What it wrote unproven is fetched again.
    pub(super) fn drop_source(&mut self, src: usize, why: &str) {
        self.sources[src].dropped = true;
        if !self.sources[src].trusted() {
            self.discard(src);
        }
        let left = self.alive();
        self.obs.event(Event::Said(Note::SourceDropped {
            url: self.sources[src].url.clone(),
            job_url: src == 0,
            why: why.to_string(),
            left,
        }));
    }

    /// How much each source delivered, for the end of a download with mirrors.
    pub(super) fn source_summary(&self) -> Option<String> {
        if self.sources.len() < 2 || self.p.mode != crate::transfer::Mode::Range {
            return None;
        }
        let origin = |s: &Source| {
            s.origin
                .as_ref()
                .map_or(s.url.clone(), |o| format!("{}:{}", o.host, o.port))
        };
        let names: Vec<String> = self.sources.iter().map(origin).collect();
        let parts: Vec<String> = self
            .sources
            .iter()
            .zip(&names)
            .map(|(s, name)| {
                // Sources on one host are told apart by their URL.
                let shared = names.iter().filter(|n| *n == name).count() > 1;
                let host = if shared {
                    redact_url(&s.url)
                } else {
                    name.clone()
                };
                let how = match (&s.trust, s.dropped) {
                    (_, true) => " (dropped)".to_string(),
                    (Trust::Reference, _) => " (first answer)".to_string(),
                    (Trust::Proven(r), _) => {
                        format!(" (verified: bytes {}-{} compared)", r.start, r.end - 1)
                    }
                    _ => " (not verified, unused)".to_string(),
                };
                format!("{host} {}{how}", mib(s.bytes))
            })
            .collect();
        Some(format!("received from: {}", parts.join(", ")))
    }
}

fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
}

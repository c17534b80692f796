//! Failure policy of the coordinator: retry through the classifier and the job's budget,
//! lower the connection count when the server refuses more, and resolve the original URL
//! again when a signed download link expires or the file moved (a 3xx to a range request).
//!
//! An attempt that broke after moving at least a piece's worth of bytes made durable
//! progress: it is retried at once without spending the budget. Any other attempt counts,
//! including one that moved a few bytes and one of a stream without ranges (which starts over
//! from zero, keeping nothing): so a server that always cuts the connection early ends the
//! job after `max_attempts`, instead of being asked again forever.

use super::{Coordinator, Slot, Stop};
use crate::engine::Event;
use crate::engine::Note;
use crate::identity::{self, Identity, Verdict};
use crate::jobs::storage_error;
use crate::model::{ErrorKind, JobError};
use crate::retry::{self, Decision, Failure};
use crate::transfer::{Mode, Segment};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// What a probe of the original URL answers.
type Probed = Result<crate::resolver::RemoteInfo, crate::resolver::ProbeError>;

/// A resolution of the original URL: running off the loop, or waiting to be tried again.
pub(super) struct Resolution {
    /// The probe's answer, while one runs.
    answer: Option<Receiver<Probed>>,
    /// When to probe again, after a failure that may pass.
    again_at: Instant,
    /// Probes that failed so far.
    failures: u32,
}

/// The job error for a failure that is final (not worth retrying).
pub(crate) fn final_error(f: &Failure) -> JobError {
    match f {
        Failure::Storage(e) => storage_error(e),
        Failure::Changed(m) => JobError::new(ErrorKind::RemoteChanged, m.clone()),
        Failure::Other(m) if m.starts_with("internal error") => {
            JobError::new(ErrorKind::Internal, m.clone())
        }
        f => JobError::new(retry::error_kind(f, ErrorKind::Transfer), f.to_string()),
    }
}

impl Coordinator<'_> {
    pub(super) fn on_failure(&mut self, i: usize, f: Failure, bytes: u64) -> Option<Stop> {
        let span = self.plan.slots[i].seg.span();
        tracing::info!(
            job = self.p.job_id,
            "range {}-{}: {f} (after {bytes} bytes)",
            span.pos,
            span.end.saturating_sub(1)
        );
        self.stats.errors += 1;
        if f == Failure::Timeout {
            self.stats.stalls += 1;
        }
        // Without ranges nothing of a broken stream is kept: no attempt makes progress.
        let unit = self
            .plan
            .pieces
            .as_ref()
            .map_or(u64::MAX, |p| p.piece_size());
        let progressed = bytes >= unit;
        if progressed {
            self.plan.slots[i].attempts = 0; // it made progress: not a stuck range
        }
        if self.p.mode == Mode::Whole {
            // Without ranges a stream can only start over (its failures still count).
            let end = self.p.limit.unwrap_or(u64::MAX);
            let attempts = self.plan.slots[i].attempts;
            self.plan.slots[i] = Slot::new(Segment::new(0, end));
            self.plan.slots[i].attempts = attempts;
        }
        // With mirrors, a source that cannot serve the file is dropped and the range goes on
        // from the others.
        if let Some(handled) = self.source_failed(i, &f, bytes) {
            return handled;
        }
        // Expired signed links answer 403 or 410 (some providers 400); a moved file answers
        // a redirect, which transfers never follow themselves.
        if let Failure::Http {
            status: 300..=399 | 400 | 403 | 410,
            ..
        } = f
        {
            if self.plan.slots[i].url_gen < self.relink.url_gen {
                // This attempt used a link that was already replaced: just go again.
                self.plan.slots[i].not_before = Instant::now();
                return None;
            }
            if self.awaits_link() {
                // The link is being resolved again, or a fresh one awaited: wait for it.
                self.plan.slots[i].not_before = Instant::now() + Duration::from_secs(3600);
                self.relink
                    .awaiting_url
                    .push(self.plan.slots[i].seg.clone());
                return None;
            }
            let received = self.io.received.load(Ordering::Relaxed);
            let progressed = self.relink.reresolved_at.is_none_or(|at| received > at);
            let moved = matches!(
                f,
                Failure::Http {
                    status: 300..=399,
                    ..
                }
            );
            // Each new resolution needs progress since the last one: never a loop.
            if (moved || self.p.first_url != self.p.url) && progressed {
                self.relink.reresolved_at = Some(received);
                return self.reresolve(i);
            }
            // Refused after progress, with no way to resolve it again (a presigned link given
            // directly): it expired. The job waits for a fresh link (`link.rs`).
            if !moved && self.may_wait_for_link() {
                self.plan.slots[i].not_before = Instant::now() + Duration::from_secs(3600);
                self.relink
                    .awaiting_url
                    .push(self.plan.slots[i].seg.clone());
                return self.wait_for_link(format!(
                    "the download link was refused ({f}) after {} of the file arrived: it \
                     probably expired",
                    self.has_arrived()
                ));
            }
        }
        // A cap shows as 429/503, or as connections closed before any answer while others work.
        let refused = retry::is_throttle(&f)
            || (bytes == 0
                && self.crew.busy > 0
                && matches!(
                    f,
                    Failure::Reset | Failure::Partial | Failure::ConnectRefused
                ));
        if refused {
            self.refused(i, &f); // caps.rs
        }
        // A connection that delivered real progress and then broke is a flaky network, not
        // a stuck range: go again at once, without spending the job's retry budget.
        if progressed && matches!(f, Failure::Partial | Failure::Reset | Failure::Timeout) {
            self.plan.slots[i].not_before = Instant::now();
            return None;
        }
        self.plan.slots[i].attempts += 1;
        let jitter = self.next_jitter();
        match retry::decide(
            &f,
            self.plan.slots[i].attempts,
            &self.policy,
            jitter,
            std::time::SystemTime::now(),
        ) {
            Decision::Retry(d) if self.budget.take_for(&f, Instant::now()) => {
                self.plan.slots[i].not_before = Instant::now() + d;
                let (from, attempt) = (span.pos, self.plan.slots[i].attempts);
                self.happened(crate::engine::Happening::Retry {
                    from,
                    attempt,
                    delay_ms: d.as_millis() as u64,
                    why: f.to_string(),
                });
                None
            }
            Decision::Retry(_) => Some(Stop::Failed(JobError::new(
                ErrorKind::GaveUp,
                format!(
                    "gave up after {} retries (retry_budget); last error: {f}; progress kept",
                    self.p.cfg.retry_budget
                ),
            ))),
            Decision::GiveUp if retry::is_retryable(&f) => {
                let short = if bytes > 0 && self.p.mode == Mode::Whole {
                    " (the server has no ranges, so each attempt started over)"
                } else {
                    ""
                };
                Some(Stop::Failed(JobError::new(
                    ErrorKind::GaveUp,
                    format!(
                        "gave up after {} failed attempts on one range{short}; last error: \
                         {f}; progress kept",
                        self.plan.slots[i].attempts
                    ),
                )))
            }
            Decision::GiveUp => Some(Stop::Failed(final_error(&f))),
        }
    }

    /// A 403/410 after a redirect (the signed URL probably expired) or a redirect: resolve the
    /// original URL again, on a thread of its own (the loop goes on: pause and Ctrl-C still
    /// act); `resolved` continues only if it is the same file.
    fn reresolve(&mut self, i: usize) -> Option<Stop> {
        // Until the answer, this range waits.
        self.plan.slots[i].not_before = Instant::now() + Duration::from_secs(3600);
        self.relink
            .awaiting_url
            .push(self.plan.slots[i].seg.clone());
        if self.relink.resolving.is_some() {
            return None;
        }
        self.obs
            .event(Event::Said(Note::Relinking { saved: false }));
        self.relink.resolving = Some(Resolution {
            answer: Some(self.spawn_probe()),
            again_at: Instant::now(),
            failures: 0,
        });
        None
    }

    /// Probe the original URL on a thread of its own, with a unit of the budget and a worker
    /// of the pool like any request (`engine/reprobe.rs`). The job's options decide per hop
    /// which headers may go (credentials stay on the origin the user gave).
    fn spawn_probe(&self) -> Receiver<Probed> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (url, opts) = (self.p.first_url.clone(), self.io.opts.clone());
        let (ctl, stop) = (self.ctl.clone(), self.relink.ended.clone());
        std::thread::spawn(move || {
            let _ = tx.send(crate::engine::reprobe::probe(&ctl, &url, &opts, &stop));
        });
        rx
    }

    /// Look for the answer of a resolution running off the loop (or start the next try of
    /// one that failed for a passing reason, once its wait is over).
    pub(super) fn resolved(&mut self) -> Option<Stop> {
        let r = self.relink.resolving.as_mut()?;
        let Some(rx) = &r.answer else {
            if Instant::now() >= r.again_at {
                let rx = self.spawn_probe();
                self.relink.resolving.as_mut()?.answer = Some(rx);
            }
            return None;
        };
        let answer = match rx.try_recv() {
            Ok(a) => a,
            Err(std::sync::mpsc::TryRecvError::Empty) => return None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Err(crate::resolver::ProbeError {
                url: self.p.first_url.clone(),
                failure: Failure::Other("internal error: the resolution thread died".into()),
            }),
        };
        let info = match answer {
            Ok(info) => info,
            Err(e) => return self.resolution_failed(e),
        };
        self.relink.resolving = None;
        // The same source as the one that served the bytes: trusted on its size when no
        // validator can be compared (`identity`), as on resume.
        let known = Identity {
            size: self.p.size,
            etag: self.p.etag.as_deref(),
            last_modified: self.p.last_modified.as_deref(),
        };
        if let Verdict::Differs(d) = identity::compare(&known, &Identity::of_info(&info)) {
            return Some(Stop::Failed(JobError::new(
                ErrorKind::RemoteChanged,
                format!(
                    "the original URL now leads to a different file ({}); partial data kept",
                    d.join(", ")
                ),
            )));
        }
        // Its answers are checked against (and `If-Range` carries) what this link gives: a
        // validator it no longer gives would make every conditional range answer the whole
        // file.
        self.p.etag = info.etag.clone();
        self.p.last_modified = info.last_modified.clone();
        self.p.url = info.final_url.clone();
        self.sources[0].url = info.final_url.clone();
        self.relink.url_gen += 1;
        self.record.moved(&info.final_url);
        self.release_awaiting();
        None
    }

    /// A resolution failed. A passing failure (a reset, a timeout, a 503) is tried again after
    /// the usual backoff, spending the job's retry budget like any range; a final one, or the
    /// attempts used up, ends the job with its progress kept.
    fn resolution_failed(&mut self, e: crate::resolver::ProbeError) -> Option<Stop> {
        let failures = self.relink.resolving.as_ref().map_or(0, |r| r.failures) + 1;
        let final_failure = !retry::is_retryable(&e.failure);
        let jitter = self.next_jitter();
        let now = std::time::SystemTime::now();
        let decision = retry::decide(&e.failure, failures, &self.policy, jitter, now);
        if let Decision::Retry(d) = decision {
            if self.budget.take() {
                tracing::info!(
                    job = self.p.job_id,
                    "resolving again failed: {e}; retry in {d:?}"
                );
                self.relink.resolving = Some(Resolution {
                    answer: None,
                    again_at: Instant::now() + d,
                    failures,
                });
                return None;
            }
        }
        self.relink.resolving = None;
        let tries = if failures > 1 {
            format!(" ({failures} tries)")
        } else {
            String::new()
        };
        // The original URL refuses too (or is gone): only a fresh link can help.
        if final_failure && self.may_wait_for_link() {
            return self.wait_for_link(format!(
                "the download link expired and resolving the original URL again failed: {e}"
            ));
        }
        Some(Stop::Failed(JobError::new(
            ErrorKind::Probe,
            format!("the link expired or moved and resolving it again failed{tries}: {e}; progress kept"),
        )))
    }

    fn next_jitter(&mut self) -> f64 {
        // xorshift64: jitter only needs to de-synchronise retries.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

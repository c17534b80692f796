//! A job's first request: one round trip to the first byte. It asks for a range from the
//! first byte the job is missing (following redirects), or, for a job with nothing yet and
//! no rate limit, for the file without a Range header (on an object store a range answer
//! costs the server think time a plain GET does not; the plain answer's `Accept-Ranges`
//! makes ranges probable, proven by the next connection's 206: `coordinator/proof.rs`). Its head tells everything a separate
//! probe used to: the final URL, size, whether ranges work, validators and name. Its body is
//! not thrown away: once `prepare` has the file ready, it flows into it.
//!
//! A 416 to `bytes=0-…` that names no length (RangeHTTPServer and S3-likes answer so for an
//! empty file) is not a failure yet: the file is asked for once more without a range, and
//! that answer is the head (an empty 200 is an empty file; anything else is a server
//! without ranges).
//!
//! Failures before a usable head are retried like a probe (a few attempts, backoff,
//! `Retry-After`); a captured link that expired (403/410) is resolved again from the
//! capture's first URL; a link refused (400/403/410) for good on a job that has progress
//! expired, and the job waits for a fresh one (`linkwait.rs`). The waits are cut into short
//! slices, so pause, remove and Ctrl-C act within a fraction of a second.

use super::{Control, Event, Note, Observer};
use crate::budget::Permit;
use crate::model::{ErrorKind, JobError, Origin};
use crate::retry::{self, Decision, Failure};
use crate::store::Job;
use crate::transfer::WorkerHandle;
use crate::transfer::{FirstHead, JobIo, Mode, Outcome, Reply, Report, Segment, Task};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the first response's worker is asked for when nothing is known yet: a window from
/// the start. A small file comes whole in this one request; a large one's first window ends
/// cleanly, so the connection carries that worker's next range (a window reaching to the end
/// of a large file would have to be cut as soon as other connections take parts of it).
pub const FIRST_WINDOW: u64 = 1 << 20;

/// How often waits look at pause, remove and Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// Why the first request did not produce a head to use.
pub enum NoHead {
    /// Paused, removed or interrupted meanwhile.
    Stopped(super::coordinator::Stop),
    Failed(JobError),
    /// The job has progress and its link is refused (it expired): why.
    Expired(String),
}

/// A usable head, with the worker waiting for the answer (`Reply::Go` or `Reply::Abort`).
pub struct Opened {
    pub worker: WorkerHandle,
    /// The connection's unit of the budget, taken from the first host's share (it moves to
    /// the host the redirects led to once the job takes the answer).
    pub permit: Permit,
    pub head: FirstHead,
    /// The span asked for.
    pub asked: (u64, u64),
    /// The URL asked: the job's, or a mirror's when the job's could not answer.
    pub source: String,
    /// Asked without a Range header from the start (not after a 416).
    pub plain: bool,
}

/// The request context shared with the coordinator that follows.
pub struct Channel<'a> {
    pub tx: &'a Sender<Report>,
    pub rx: &'a Receiver<Report>,
}

/// What the first request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `Range: bytes=START-(END-1)` (open-ended when END is `u64::MAX`).
    Range(u64, u64),
    /// The file, without a Range header (a job with nothing yet).
    Plain,
}

/// Send the first request and wait for a usable head. `control` says whether the job must
/// stop (pause, remove, Ctrl-C).
#[allow(clippy::too_many_arguments)]
pub fn open(
    job: &Job,
    io: &Arc<JobIo>,
    ctl: &Control,
    ch: &Channel<'_>,
    asked: Ask,
    max_attempts: u32,
    obs: &mut dyn Observer,
    control: &mut dyn FnMut() -> Option<super::coordinator::Stop>,
) -> Result<Opened, NoHead> {
    let policy = retry::Policy {
        max_attempts: max_attempts.min(4),
        ..Default::default()
    };
    let mut url = job.url.clone();
    // Set once the range was refused by a 416 naming no length: the URL that answered it
    // (asked again without a range) and the redirects that led there.
    let mut whole: Option<(String, Vec<String>)> = None;
    let mut attempt = 0;
    // When the job's URL cannot answer, its mirrors are asked in turn.
    let mut fallbacks = job.settings.mirrors.iter().peekable();
    loop {
        let origin = Origin::parse(&url);
        // A connection from the budget and the first host's share; it moves to the host the
        // redirects lead to once the head says which.
        let permit = loop {
            if let Some(p) = ctl.connections.permit_within(origin.as_ref(), POLL) {
                break p;
            }
            if let Some(stop) = control() {
                return Err(NoHead::Stopped(stop));
            }
        };
        let worker = ctl.pool.checkout(origin.as_ref());
        let (ask, mode, span) = match (&whole, asked) {
            (Some((at, _)), _) => (at.clone(), Mode::FirstWhole, (0, u64::MAX)),
            (None, Ask::Plain) => (url.clone(), Mode::FirstWhole, (0, u64::MAX)),
            (None, Ask::Range(start, end)) => (url.clone(), Mode::First, (start, end)),
        };
        let seg = Segment::new(span.0, span.1);
        let task = match mode {
            Mode::FirstWhole => Task::first_whole(io.clone(), ch.tx.clone(), ask, seg),
            _ => Task::first(io.clone(), ch.tx.clone(), ask, seg),
        };
        worker.give(task);
        let failure = match wait(ch.rx, control, io) {
            Waited::Head(mut head) if usable(&head) => {
                if let Some((_, before)) = &whole {
                    head.redirects.splice(0..0, before.iter().cloned());
                }
                return Ok(Opened {
                    worker,
                    permit,
                    head,
                    asked: span,
                    source: url,
                    plain: whole.is_none() && asked == Ask::Plain,
                });
            }
            Waited::Head(head)
                if whole.is_none()
                    && mode == Mode::First
                    && span.0 == 0
                    && refused_without_length(&head) =>
            {
                // Empty, or no ranges: ask the URL that answered once more, without a range.
                tracing::info!(
                    job = job.id,
                    "416 without a length to bytes=0-: asking again without a range"
                );
                worker.reply(Reply::Abort);
                let _ = wait_done(ch.rx);
                ctl.hand_back(worker, origin.clone(), permit);
                whole = Some((head.url.clone(), head.redirects.clone()));
                continue;
            }
            Waited::Head(head) => {
                worker.reply(Reply::Abort);
                let _ = wait_done(ch.rx);
                io.opts.explain(head.head.failure(), &head.url)
            }
            Waited::Done(Outcome::Failed(f)) => f,
            Waited::Done(_) => Failure::Other("the first request ended without an answer".into()),
            Waited::Stop(stop) => {
                io.cancel.store(true, Ordering::Relaxed);
                let _ = wait_done(ch.rx);
                io.cancel.store(false, Ordering::Relaxed);
                ctl.hand_back(worker, origin.clone(), permit);
                return Err(NoHead::Stopped(stop));
            }
        };
        ctl.hand_back(worker, origin.clone(), permit);
        attempt += 1;
        // A captured (signed) URL that expired: start again from the chain's beginning.
        if let (
            Failure::Http {
                status: 403 | 410, ..
            },
            Some(first),
        ) = (&failure, &job.settings.origin_url)
        {
            if url != *first {
                obs.event(Event::Said(Note::Relinking { saved: true }));
                url = first.clone();
                whole = None;
                attempt = 0;
                continue;
            }
        }
        // With a mirror to ask, only a busy server (429/503) is waited for.
        let decision = if fallbacks.peek().is_some() && !retry::is_throttle(&failure) {
            Decision::GiveUp
        } else {
            retry::decide(
                &failure,
                attempt,
                &policy,
                0.5,
                std::time::SystemTime::now(),
            )
        };
        match decision {
            Decision::Retry(d) => {
                obs.event(Event::Said(Note::Retrying {
                    delay: d,
                    why: failure.to_string(),
                }));
                let until = Instant::now() + d;
                while Instant::now() < until {
                    if let Some(stop) = control() {
                        return Err(NoHead::Stopped(stop));
                    }
                    std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
                }
            }
            Decision::GiveUp => {
                if let Some(m) = fallbacks.next() {
                    obs.event(Event::Said(Note::TryingMirror {
                        failed: url.clone(),
                        why: failure.to_string(),
                        mirror: m.clone(),
                    }));
                    url = m.clone();
                    whole = None;
                    attempt = 0;
                    continue;
                }
                if job.bytes_done > 0
                    && matches!(
                        failure,
                        Failure::Http {
                            status: 400 | 403 | 410,
                            ..
                        }
                    )
                {
                    return Err(NoHead::Expired(format!(
                        "the download link was refused ({failure}) when the download went on: \
                         it probably expired"
                    )));
                }
                let msg = match &failure {
                    Failure::Proxy(m) => m.clone(),
                    f => format!("{}: {f}", crate::model::redact_url(&url)),
                };
                let kind = retry::error_kind(&failure, ErrorKind::Probe);
                return Err(NoHead::Failed(JobError::new(kind, msg)));
            }
        }
    }
}

/// A head is usable when it is a success, or a 416 that names the file's length.
pub(super) fn usable(h: &FirstHead) -> bool {
    (200..300).contains(&h.head.status)
        || (h.head.status == 416
            && h.head
                .get("content-range")
                .is_some_and(|v| v.trim().starts_with("bytes */")))
}

/// A 416 that does not say how long the file is (no `Content-Range: bytes */LEN`).
fn refused_without_length(h: &FirstHead) -> bool {
    h.head.status == 416
        && !h
            .head
            .get("content-range")
            .is_some_and(|v| v.trim().starts_with("bytes */"))
}

enum Waited {
    Head(FirstHead),
    Done(Outcome),
    Stop(super::coordinator::Stop),
}

fn wait(
    rx: &Receiver<Report>,
    control: &mut dyn FnMut() -> Option<super::coordinator::Stop>,
    io: &JobIo,
) -> Waited {
    let mut last = Instant::now();
    loop {
        match rx.recv_timeout(POLL) {
            Ok(Report::Head(h)) => return Waited::Head(h),
            Ok(Report::Done(d)) => return Waited::Done(d.outcome),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Waited::Done(Outcome::Failed(Failure::Other(
                    "internal error: the worker went away".into(),
                )))
            }
        }
        if last.elapsed() >= POLL {
            last = Instant::now();
            if io.cancel.load(Ordering::Relaxed) {
                continue;
            }
            if let Some(stop) = control() {
                return Waited::Stop(stop);
            }
        }
    }
}

/// Wait for the worker's end-of-attempt report (after an abort or a cancel).
pub(super) fn wait_done(rx: &Receiver<Report>) -> Option<Outcome> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Report::Done(d)) => return Some(d.outcome),
            Ok(Report::Head(_)) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
    None
}

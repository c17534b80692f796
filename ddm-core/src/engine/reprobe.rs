//! Resolving a job's original URL again (its signed link expired, the file moved) like any
//! other request of the job: a unit from the runner's connection budget for that URL's host
//! and a worker from the runner's pool (an open connection when there is one), never a
//! connection of its own beside them. It asks what a job's first request asks (`GET` of the
//! first byte, redirects followed hop by hop with the headers each origin may get) and reads
//! the answer's head only: the worker is told to drop the body and goes back to the pool, its
//! unit to the budget.
//!
//! It runs on a thread of its own (the job's loop goes on, so pause and Ctrl-C still act) and
//! gives up at once when the job stops.

use super::first::{usable, wait_done};
use super::Control;
use crate::http::HttpOptions;
use crate::model::Origin;
use crate::resolver::{self, Answered, ProbeError, RemoteInfo};
use crate::retry::Failure;
use crate::transfer::{JobIo, Outcome, Reply, Report, Segment, Task};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often waits look at the job's stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Ask `url` for its first byte through the runner's budget and pool; `stop` is the job's
/// cancel flag.
pub(crate) fn probe(
    ctl: &Control,
    url: &str,
    opts: &HttpOptions,
    stop: &AtomicBool,
) -> Result<RemoteInfo, ProbeError> {
    let err = |failure| ProbeError {
        url: url.to_string(),
        failure,
    };
    let stopped = || err(Failure::Other("the job stopped".into()));
    let origin = Origin::parse(url);
    let permit = loop {
        if let Some(p) = ctl.connections.permit_within(origin.as_ref(), POLL) {
            break p;
        }
        if stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
    };
    let worker = ctl.pool.checkout(origin.as_ref());
    let io = Arc::new(JobIo::new(opts.clone(), None));
    let (tx, rx) = std::sync::mpsc::channel();
    worker.give(Task::first(
        io.clone(),
        tx,
        url.to_string(),
        Segment::new(0, 1),
    ));
    let answer = loop {
        match rx.recv_timeout(POLL) {
            Ok(Report::Head(h)) => {
                // Only the head is wanted: the body (one byte) is dropped.
                worker.reply(Reply::Abort);
                let _ = wait_done(&rx);
                let last = Origin::parse(&h.url);
                let answer = if usable(&h) {
                    let a = Answered {
                        url,
                        head: &h.head,
                        final_url: &h.url,
                        redirects: h.redirects.clone(),
                        start: 0,
                        asked_whole: false,
                    };
                    resolver::interpret(a, None, Vec::new()).map_err(err)
                } else {
                    Err(err(opts.explain(h.head.failure(), &h.url)))
                };
                break (answer, last);
            }
            Ok(Report::Done(d)) => {
                let f = match d.outcome {
                    Outcome::Failed(f) => f,
                    _ => Failure::Other("the request ended without an answer".into()),
                };
                break (Err(err(f)), origin.clone());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::Relaxed) {
                    io.cancel.store(true, Ordering::Relaxed);
                    let _ = wait_done(&rx);
                    break (Err(stopped()), origin.clone());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let f = Failure::Other("internal error: the worker went away".into());
                break (Err(err(f)), origin.clone());
            }
        }
    };
    ctl.hand_back(worker, answer.1, permit);
    answer.0
}

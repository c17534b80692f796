//! The two waits that block a worker *inside* a curl callback, named so that they stay
//! visible: a transport that drives many transfers from one thread (curl-multi) cannot
//! block there, and would pause the transfer instead (`CURL_WRITEFUNC_PAUSE`) and resume it
//! when the wait is over. Everything else a worker does in a callback returns at once.
//!
//! 1. [`rate_gate`]: the job's and the runner's rate limits, in the write callback, before
//!    bytes are taken in.
//! 2. [`go_ahead`]: a job's first request, in the header callback, once its head is
//!    complete: the coordinator reads the head, reserves the file and answers with a
//!    [`Reply`] before a byte of the body is read.

use crate::transfer::{JobIo, Reply};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// How often the go-ahead wait looks at the job's cancel flag.
const POLL: Duration = Duration::from_millis(200);

/// Wait until the job's rate limits allow `n` more bytes (no wait without a limit).
pub(super) fn rate_gate(io: &JobIo, n: u64) {
    if let Some(gate) = &io.rate {
        gate.take(n);
    }
}

/// Wait for the coordinator's answer to a first head; None when the job was cancelled or the
/// coordinator went away before it answered.
pub(super) fn go_ahead(replies: &Receiver<Reply>, io: &JobIo) -> Option<Reply> {
    loop {
        match replies.recv_timeout(POLL) {
            Ok(r) => return Some(r),
            Err(RecvTimeoutError::Timeout) if !io.cancel.load(Ordering::Relaxed) => {}
            Err(_) => return None,
        }
    }
}

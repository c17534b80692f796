//! A worker's curl callbacks and what they keep: the request's [`Phase`] (head to check,
//! body, redirect, stopped, failed: one at a time), writes at offsets in 256 KiB batches, the
//! stall clock, request windows and races; the login state is `auth`, the two waits they
//! block in are `waits`. The attempt around them (request setup, redirects, how it ended) is
//! in `attempt`.

mod attempt;
mod auth;
mod check;
mod race;
mod waits;
pub(super) use attempt::run_task;
pub(crate) use check::length_disagrees;

use super::{FirstHead, Keep, Mode, Outcome, Reply, Report, Sample, Span, Task};
use crate::http::{self, Head};
use crate::retry::Failure;
use curl::easy::{Handler, WriteError};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Bytes a worker collects before one `pwrite` (curl hands over ~8-16 KiB at a time).
const WRITE_BATCH: usize = 256 * 1024;
/// When a steal moved our end to within this many bytes of the end we asked for, the rest
/// of the response is read and dropped instead of closing the connection (a new one costs a
/// handshake, and on a WAN a slow start).
pub const DISCARD_LIMIT: u64 = 256 * 1024;
/// ... and when this connection reads that tail within this time.
const DRAIN_SECS: f64 = 0.05;
/// Longest body of a redirect or an error answer that is read (to keep the connection).
const SMALL_BODY: u64 = 64 * 1024;

/// How our side ended an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The segment's end was reached (a steal moved it, or the server sent more than asked):
    /// what came is kept, the attempt finished.
    End,
    /// The job was cancelled, the segment abandoned, a race lost or a first answer aborted.
    Cancel,
}

/// Where the current request stands: one phase at a time, so a redirect never has its body
/// written, a stopped attempt is never also failed, and no byte is written before its head
/// was checked.
#[derive(Debug, PartialEq)]
enum Phase {
    /// The answer's head is not checked yet: nothing of its body has been written.
    Head,
    /// The head was checked (or the coordinator took a first head): its body is written.
    Body,
    /// A job's first request: the redirect to follow once its (small) body is read.
    Redirect(String),
    /// Our side ended the attempt.
    Stopped(Stop),
    /// The attempt failed (a head refused, a write, a stall); a failure outranks a stop.
    Failed(Failure),
}

/// curl's callbacks for one worker: validates the head, writes at offsets.
pub(super) struct Sink {
    replies: Receiver<Reply>,
    task: Option<Task>,
    head: Head,
    phase: Phase,
    start_pos: u64,
    /// The end this attempt asked the server for (a steal may lower the segment's end later).
    req_end: u64,
    written: u64,
    /// Received bytes not yet written; they start at the segment's `pos`.
    buf: Vec<u8>,
    first_byte: Option<Instant>,
    /// When the last body byte (or the attempt's start) was seen: the stall clock.
    last_data: Instant,
    /// First mode: the URL of this hop and the hops so far.
    url: String,
    redirects: Vec<String>,
    /// Bytes read and dropped (a redirect's body, the tail past a stolen end).
    dropped: u64,
    started: Instant,
    /// When the current request went out (curl's debug callback), until its answer begins.
    sent: Option<Instant>,
    /// The range a won race wrote (see [`Keep::Race`]).
    pub(super) won: Option<std::ops::Range<u64>>,
    /// A sample that arrived whole (see [`Keep::Sample`]).
    pub(super) sample: Option<Sample>,
    /// The attempt was a range request answered unusably (see `Done::range_unusable`).
    pub(super) range_unusable: bool,
    /// The login: what the current request carries, the challenges it got.
    auth: auth::Auth,
}

impl Sink {
    pub(super) fn new(replies: Receiver<Reply>) -> Self {
        Sink {
            replies,
            task: None,
            head: Head::default(),
            phase: Phase::Head,
            start_pos: 0,
            req_end: 0,
            written: 0,
            buf: Vec::with_capacity(WRITE_BATCH),
            first_byte: None,
            last_data: Instant::now(),
            url: String::new(),
            redirects: Vec::new(),
            dropped: 0,
            started: Instant::now(),
            sent: None,
            won: None,
            sample: None,
            range_unusable: false,
            auth: auth::Auth::default(),
        }
    }

    /// The request ended with a 401 asking for Digest to the Basic sent first (https), a
    /// head nobody was shown (`challenged`): ask again answering the challenge. Once per
    /// handle and login.
    pub(super) fn ask_again_for_digest(&mut self) -> bool {
        if matches!(self.phase, Phase::Stopped(_)) || !self.auth.turns_to_digest(&self.head) {
            return false;
        }
        self.head = Head::default();
        self.dropped = 0;
        true
    }

    /// The current head is a login challenge libcurl answers itself ([`auth::Auth::challenged`]).
    fn challenged(&self) -> bool {
        self.auth.challenged(&self.head)
    }

    pub(super) fn written(&self) -> u64 {
        self.written
    }

    pub(super) fn ttfb(&self, start: Instant) -> Option<Duration> {
        self.first_byte.map(|t| t.duration_since(start))
    }

    /// The reply channel, for a new sink after a panic.
    pub(super) fn take_replies(&mut self) -> Receiver<Reply> {
        let (_, dead) = std::sync::mpsc::channel();
        std::mem::replace(&mut self.replies, dead)
    }

    /// Our side ends the attempt (a failure already recorded stays the outcome).
    fn stop(&mut self, stop: Stop) {
        if !matches!(self.phase, Phase::Failed(_)) {
            self.phase = Phase::Stopped(stop);
        }
    }

    /// The attempt failed.
    fn fail(&mut self, f: Failure) {
        self.phase = Phase::Failed(f);
    }

    /// The redirect this answer asks to follow, if it is one; the next hop's head is
    /// checked afresh.
    fn take_hop(&mut self) -> Option<String> {
        match std::mem::replace(&mut self.phase, Phase::Head) {
            Phase::Redirect(loc) => Some(loc),
            other => {
                self.phase = other;
                None
            }
        }
    }

    fn task(&self) -> &Task {
        self.task.as_ref().expect("task set")
    }

    /// Write the buffered bytes at the segment's `pos`, then advance `pos`.
    fn flush(&mut self) -> Result<(), Failure> {
        if self.buf.is_empty() || self.holding() {
            return Ok(());
        }
        let task = self.task.as_ref().expect("task set");
        let pos = task.seg.span().pos; // only this worker moves pos
        let file = task
            .io
            .file()
            .ok_or_else(|| Failure::Other("internal error: no file to write into".into()))?;
        let res = file.write_at(&self.buf, pos);
        let n = self.buf.len() as u64;
        self.buf.clear();
        res.map_err(Failure::Storage)?;
        task.seg.lock_span().pos += n;
        self.written += n;
        Ok(())
    }

    fn start(&mut self, task: Task, span: Span) {
        self.req_end = match task.mode {
            // A plain request is answered with the whole file: to its size, when known.
            Mode::Whole => task.expect.size.unwrap_or(u64::MAX),
            Mode::FirstWhole => u64::MAX,
            Mode::Range => window_end(span.pos, span.end, task.window),
            Mode::First => span.end,
        };
        task.seg.set_asked(self.req_end);
        self.task = Some(task);
        self.head = Head::default();
        self.phase = Phase::Head;
        self.start_pos = span.pos;
        self.written = 0;
        self.buf.clear();
        self.first_byte = None;
        self.last_data = Instant::now();
        self.dropped = 0;
        self.sent = None;
        self.won = None;
        self.sample = None;
        self.range_unusable = false;
    }

    /// The transfer ended normally: did it deliver the whole segment?
    fn after_body(&mut self) -> Outcome {
        if self.phase == Phase::Head {
            if let Err(f) = self.check_head() {
                return Outcome::Failed(f);
            }
        }
        let task = self.task();
        let span = task.seg.span();
        if span.pos >= span.end {
            return Outcome::Finished;
        }
        if span.end == u64::MAX && task.mode == Mode::Whole {
            // The stream ends where the server ends it, at the length it stated (curl holds
            // a Content-Length) or, without one, at the size an earlier answer stated.
            let stated = self.head.content_length().or(task.expect.size);
            return match stated {
                Some(n) if n != span.pos => Outcome::Failed(Failure::InvalidResponse(format!(
                    "the server said the file is {n} bytes but sent {}",
                    span.pos
                ))),
                _ => Outcome::Finished,
            };
        }
        Outcome::Failed(Failure::Partial)
    }

    /// Our end was moved to within a short distance of what we asked for, that this
    /// connection reads in a few tens of milliseconds: read the rest and drop it, keeping
    /// the connection (a new one costs a handshake, and on a WAN a slow start).
    fn drains_tail(&self, span: &Span) -> bool {
        if span.end >= self.req_end || self.req_end == u64::MAX {
            return false;
        }
        let tail = self.req_end - span.end;
        let speed = match self.first_byte {
            Some(t) => self.written as f64 / t.elapsed().as_secs_f64().max(1e-3),
            None => 0.0,
        };
        tail <= DISCARD_LIMIT && tail as f64 <= speed * DRAIN_SECS
    }

    /// A window of a range ended cleanly and the segment goes on: write what came and set up
    /// the next request on the same connection. False when the attempt is over.
    fn next_window(&mut self, res: &Result<(), curl::Error>) -> bool {
        let Some(task) = &self.task else { return false };
        if res.is_err()
            || !matches!(task.keep, Keep::Write)
            || task.mode != Mode::Range
            || self.phase != Phase::Body
        {
            return false;
        }
        if let Err(f) = self.flush() {
            self.fail(f);
            return false;
        }
        let task = self.task();
        let span = task.seg.span();
        // The answer ended where it asked, or where its Content-Range said (a server that
        // caps each answer: short but complete, progress, asked on from there).
        let promised = self.head.content_range().map(|cr| cr.last + 1);
        if (span.pos != self.req_end && Some(span.pos) != promised) || span.pos >= span.end {
            return false;
        }
        let window = task.io.window.load(Ordering::Relaxed).max(1);
        let seg = task.seg.clone();
        self.start_pos = span.pos;
        self.req_end = window_end(span.pos, span.end, window);
        seg.set_asked(self.req_end);
        self.head = Head::default();
        self.phase = Phase::Head;
        self.last_data = Instant::now();
        true
    }

    /// First mode: the head is complete. Hand it to the coordinator and wait for its answer
    /// ([`waits::go_ahead`]).
    fn first_head(&mut self) -> bool {
        let task = self.task().clone();
        let report = Report::Head(FirstHead {
            worker: task.worker,
            head: self.head.clone(),
            url: self.url.clone(),
            redirects: self.redirects.clone(),
            started: self.started,
            arrived: Instant::now(),
        });
        if task.reports.send(report).is_err() {
            self.stop(Stop::Cancel);
            return false;
        }
        match waits::go_ahead(&self.replies, &task.io) {
            Some(Reply::Go(t)) => {
                let span = t.seg.span();
                self.req_end = match t.mode {
                    // The answer carries the whole file: to its size, when known (a cut
                    // below it ends the response; reaching it ends nothing).
                    Mode::Whole => t.expect.size.unwrap_or(u64::MAX),
                    _ => span.end,
                };
                t.seg.set_asked(self.req_end);
                self.start_pos = span.pos;
                self.task = Some(t);
                self.phase = Phase::Body;
                true
            }
            Some(Reply::Abort) => {
                self.stop(Stop::Cancel);
                // A small answer (an error page) is read to keep the connection.
                self.head.content_length().is_some_and(|n| n <= SMALL_BODY)
            }
            None => {
                self.stop(Stop::Cancel);
                false
            }
        }
    }
}

impl Handler for Sink {
    /// Only the moment a request goes out is taken from curl's debug stream (verbose mode
    /// routes it here; nothing is printed).
    fn debug(&mut self, kind: curl::easy::InfoType, _data: &[u8]) {
        if matches!(kind, curl::easy::InfoType::HeaderOut) {
            self.sent = Some(Instant::now());
        }
    }

    fn header(&mut self, data: &[u8]) -> bool {
        // What a range request waits for its answer (an object store thinks before each
        // range answer, not before a plain GET's): request windows are sized by it.
        if let (Some(sent), Some(task)) = (self.sent.take(), &self.task) {
            let ns = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
            let wait = match task.ranged() {
                true => &task.io.wait_ns,
                false => &task.io.plain_wait_ns,
            };
            wait.fetch_min(ns, Ordering::Relaxed);
        }
        let was_complete = self.head.complete;
        self.head.feed(data);
        if !self.head.complete {
            return true;
        }
        if !was_complete {
            self.auth.head_complete(&self.head);
        }
        if self.phase != Phase::Head || self.challenged() {
            return true;
        }
        if !self.task().mode.is_first() {
            return true;
        }
        if http::is_redirect(self.head.status) {
            // 1xx heads (100 Continue) are not final either; a redirect is followed after
            // its (small) body is read.
            if let Some(loc) = self.head.get("location") {
                self.phase = Phase::Redirect(loc.trim().to_string());
            }
            return true;
        }
        if self.head.status < 200 {
            return true;
        }
        self.first_head()
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        let drop = matches!(
            self.phase,
            Phase::Redirect(_) | Phase::Stopped(Stop::Cancel)
        );
        if drop || self.challenged() {
            // A redirect's or a login challenge's body, or an aborted first answer drained.
            self.dropped += data.len() as u64;
            return Ok(if self.dropped > SMALL_BODY {
                0
            } else {
                data.len()
            });
        }
        match self.phase {
            Phase::Head => {
                if let Err(f) = self.check_head() {
                    self.fail(f);
                    return Ok(0);
                }
                self.phase = Phase::Body;
            }
            Phase::Body => {}
            // The attempt is over: curl ends the transfer.
            _ => return Ok(0),
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
            self.task().seg.set_ttfb(self.started.elapsed());
        }
        let task = self.task.as_ref().expect("task set");
        if task.io.cancel.load(Ordering::Relaxed) || task.seg.abandoned() || self.race_lost() {
            self.stop(Stop::Cancel);
            return Ok(0);
        }
        let (n, drain) = {
            let mut span = task.seg.lock_span();
            let room = span.end.saturating_sub(span.claimed);
            let n = (data.len() as u64).min(room) as usize;
            span.claimed += n as u64;
            (n, n < data.len() && self.drains_tail(&span))
        };
        waits::rate_gate(&task.io, n as u64);
        self.buf.extend_from_slice(&data[..n]);
        self.last_data = Instant::now();
        task.io.received.fetch_add(n as u64, Ordering::Relaxed);
        if self.buf.len() >= WRITE_BATCH {
            if let Err(f) = self.flush() {
                self.fail(f);
                return Ok(0);
            }
        }
        if n < data.len() {
            if drain {
                // Read to the end we asked for and drop it; the connection stays usable.
                self.dropped += (data.len() - n) as u64;
                return Ok(data.len());
            }
            // Our end moved (work stealing) or the server sent more than asked: stop here.
            self.stop(Stop::End);
        }
        Ok(n)
    }

    fn progress(&mut self, _dltotal: f64, _dlnow: f64, _ultotal: f64, _ulnow: f64) -> bool {
        let Some(task) = &self.task else {
            return true;
        };
        if task.io.cancel.load(Ordering::Relaxed) || task.seg.abandoned() || self.race_lost() {
            self.stop(Stop::Cancel);
            return false;
        }
        if self.phase != Phase::Body {
            // Before the head is checked, curl's connect timeout is in charge; a redirect's
            // body has no end of ours to watch, and an attempt that ended has nothing left.
            return true;
        }
        // Our own stall clock: curl's low-speed check averages over several seconds, so a
        // burst followed by silence would be waited on well past the stall timeout.
        if self.last_data.elapsed() > task.io.opts.stall_timeout {
            self.fail(Failure::Timeout);
            return false;
        }
        // A steal may have moved our end to where we already are: stop without waiting for
        // more data, unless the rest of what we asked for is short enough to drain. A range
        // that simply reached the end it asked for is left to finish (keep-alive).
        let s = task.seg.span();
        if s.claimed >= s.end && s.end < self.req_end && !self.drains_tail(&s) {
            self.stop(Stop::End);
            return false;
        }
        true
    }
}

/// Where a request for the rest of a segment (`pos..end`) ends with this window: after the
/// window, or at the segment's end when less than a quarter window would be left (a request
/// of its own for a sliver costs a round trip, and a steal would not take it).
pub(crate) fn window_end(pos: u64, end: u64, window: u64) -> u64 {
    let window = window.max(1);
    let stop = pos.saturating_add(window);
    if stop >= end || end - stop < window / 4 {
        end
    } else {
        stop
    }
}

#[cfg(test)]
mod window_tests {
    use super::window_end;

    #[test]
    fn a_window_never_leaves_a_sliver_behind() {
        const MIB: u64 = 1 << 20;
        // A 1.5 MiB segment with a window 50 KiB short of it: one request, not two.
        assert_eq!(window_end(0, 1_572_864, 1_520_635), 1_572_864);
        // A quarter window or more left: the window as asked.
        assert_eq!(window_end(0, 5 * MIB / 4, MIB), MIB);
        assert_eq!(window_end(MIB, 3 * MIB, MIB), 2 * MIB);
        // Past the end, or a whole segment (u64::MAX): the segment's end.
        assert_eq!(window_end(7, 9, MIB), 9);
        assert_eq!(window_end(u64::MAX - 2, u64::MAX, u64::MAX), u64::MAX);
        // A zero window still asks for something.
        assert_eq!(window_end(0, 10, 0), 1);
    }
}

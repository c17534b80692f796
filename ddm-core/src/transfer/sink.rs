//! A worker's curl callbacks and what they keep: the head check, writes at offsets in 256 KiB
//! batches, the stall clock, request windows and races; the two waits they block in are
//! `waits`. The attempt around them (request setup, redirects, how it ended) is in
//! `attempt`.

mod attempt;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    End,
    Cancel,
}

/// curl's callbacks for one worker: validates the head, writes at offsets.
pub(super) struct Sink {
    replies: Receiver<Reply>,
    task: Option<Task>,
    head: Head,
    checked: bool,
    start_pos: u64,
    /// The end this attempt asked the server for (a steal may lower the segment's end later).
    req_end: u64,
    written: u64,
    stop: Option<Stop>,
    error: Option<Failure>,
    /// Received bytes not yet written; they start at the segment's `pos`.
    buf: Vec<u8>,
    first_byte: Option<Instant>,
    /// When the last body byte (or the attempt's start) was seen: the stall clock.
    last_data: Instant,
    /// First mode: the URL of this hop, the hops so far, and the redirect to follow.
    url: String,
    redirects: Vec<String>,
    next_hop: Option<String>,
    /// Bytes read and dropped (a redirect's body, the tail past a stolen end).
    dropped: u64,
    started: Instant,
    /// When the current request went out (curl's debug callback), until its answer begins.
    sent: Option<Instant>,
    /// The range a won race wrote (see [`Keep::Race`]).
    pub(super) won: Option<std::ops::Range<u64>>,
    /// A sample that arrived whole (see [`Keep::Sample`]).
    pub(super) sample: Option<Sample>,
    /// The current request carries a login: its first 401 is a challenge libcurl answers.
    auth: bool,
    /// 401 heads received for the current request.
    challenges: u32,
    /// The origin whose login this handle last carried.
    login: Option<String>,
    /// That origin asked for Digest: its challenges are answered, Basic is not sent first.
    pub(super) negotiating: bool,
    /// The current request sent Basic first (https, not negotiating).
    basic_first: bool,
}

impl Sink {
    pub(super) fn new(replies: Receiver<Reply>) -> Self {
        Sink {
            replies,
            task: None,
            head: Head::default(),
            checked: false,
            start_pos: 0,
            req_end: 0,
            written: 0,
            stop: None,
            error: None,
            buf: Vec::with_capacity(WRITE_BATCH),
            first_byte: None,
            last_data: Instant::now(),
            url: String::new(),
            redirects: Vec::new(),
            next_hop: None,
            dropped: 0,
            started: Instant::now(),
            sent: None,
            won: None,
            sample: None,
            auth: false,
            challenges: 0,
            login: None,
            negotiating: false,
            basic_first: false,
        }
    }

    /// A request is about to go out (the first, a redirect hop, the next window, a login
    /// asked again), carrying a login or not, and with it Basic first (no Digest yet).
    pub(super) fn request(&mut self, login: http::Login) {
        self.auth = login.sent;
        self.basic_first = login.basic_first;
        self.challenges = 0;
    }

    /// The handle logs in to `origin` now (None: no login): true when it last logged in
    /// elsewhere, so libcurl's auth state (the picked scheme, Digest's nonce) must be reset.
    pub(super) fn login_changes(&mut self, origin: Option<String>) -> bool {
        let changed = self.login.is_some() && self.login != origin;
        if changed {
            self.negotiating = false;
        }
        if origin.is_some() || changed {
            self.login = origin;
        }
        changed
    }

    /// The request ended with a 401 asking for Digest to the Basic sent first (https), a
    /// head nobody was shown (`challenged`): ask again answering the challenge. Once per
    /// handle and login.
    pub(super) fn ask_again_for_digest(&mut self) -> bool {
        if !self.basic_first
            || !self.challenged()
            || self.stop.is_some()
            || !http::login::wants_digest(&self.head)
        {
            return false;
        }
        self.negotiating = true;
        self.head = Head::default();
        self.dropped = 0;
        true
    }

    /// The current head is a login challenge libcurl answers itself on this request (the
    /// first 401 while credentials are set): not the answer, and its body is dropped. If
    /// libcurl does not answer it (no scheme it may use), the transfer ends with it and it
    /// is the failure.
    fn challenged(&self) -> bool {
        self.auth && self.head.status == 401 && self.challenges == 1
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
            Mode::Whole | Mode::FirstWhole => u64::MAX,
            Mode::Range => window_end(span.pos, span.end, task.window),
            Mode::First => span.end,
        };
        task.seg.set_asked(self.req_end);
        self.task = Some(task);
        self.head = Head::default();
        self.checked = false;
        self.start_pos = span.pos;
        self.written = 0;
        self.stop = None;
        self.error = None;
        self.buf.clear();
        self.first_byte = None;
        self.last_data = Instant::now();
        self.next_hop = None;
        self.dropped = 0;
        self.sent = None;
        self.won = None;
        self.sample = None;
    }

    /// The transfer ended normally: did it deliver the whole segment?
    fn after_body(&mut self) -> Outcome {
        if !self.checked {
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
            || !self.checked
            || self.stop.is_some()
            || self.error.is_some()
        {
            return false;
        }
        if let Err(f) = self.flush() {
            self.error = Some(f);
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
        self.checked = false;
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
            self.stop = Some(Stop::Cancel);
            return false;
        }
        match waits::go_ahead(&self.replies, &task.io) {
            Some(Reply::Go(t)) => {
                let span = t.seg.span();
                self.req_end = match t.mode {
                    Mode::Whole => u64::MAX,
                    _ => span.end,
                };
                t.seg.set_asked(self.req_end);
                self.start_pos = span.pos;
                self.task = Some(t);
                self.checked = true;
                true
            }
            Some(Reply::Abort) => {
                self.stop = Some(Stop::Cancel);
                // A small answer (an error page) is read to keep the connection.
                self.head.content_length().is_some_and(|n| n <= SMALL_BODY)
            }
            None => {
                self.stop = Some(Stop::Cancel);
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
        if let (Some(sent), Some(task)) = (self.sent.take(), &self.task) {
            let ns = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
            task.io.wait_ns.fetch_min(ns, Ordering::Relaxed);
        }
        let was_complete = self.head.complete;
        self.head.feed(data);
        if !self.head.complete {
            return true;
        }
        if !was_complete && self.head.status == 401 {
            self.challenges += 1;
        }
        if self.checked || self.stop.is_some() || self.challenged() {
            return true;
        }
        if !self.task().mode.is_first() {
            return true;
        }
        if http::is_redirect(self.head.status) {
            // 1xx heads (100 Continue) are not final either; a redirect is followed after
            // its (small) body is read.
            if let Some(loc) = self.head.get("location") {
                self.next_hop = Some(loc.trim().to_string());
            }
            return true;
        }
        if self.head.status < 200 {
            return true;
        }
        self.first_head()
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        if self.next_hop.is_some() || self.stop == Some(Stop::Cancel) || self.challenged() {
            // A redirect's or a login challenge's body, or an aborted first answer drained.
            self.dropped += data.len() as u64;
            return Ok(if self.dropped > SMALL_BODY {
                0
            } else {
                data.len()
            });
        }
        if !self.checked {
            if let Err(f) = self.check_head() {
                self.error = Some(f);
                return Ok(0);
            }
            self.checked = true;
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
            self.task().seg.set_ttfb(self.started.elapsed());
        }
        let task = self.task.as_ref().expect("task set");
        if task.io.cancel.load(Ordering::Relaxed) || task.seg.abandoned() || self.race_lost() {
            self.stop = Some(Stop::Cancel);
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
                self.error = Some(f);
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
            self.stop = Some(Stop::End);
        }
        Ok(n)
    }

    fn progress(&mut self, _dltotal: f64, _dlnow: f64, _ultotal: f64, _ulnow: f64) -> bool {
        let Some(task) = &self.task else {
            return true;
        };
        if task.io.cancel.load(Ordering::Relaxed) || task.seg.abandoned() || self.race_lost() {
            self.stop = Some(Stop::Cancel);
            return false;
        }
        // Our own stall clock: curl's low-speed check averages over several seconds, so a
        // burst followed by silence would be waited on well past the stall timeout. Before
        // the response head arrives, curl's connect timeout is in charge.
        if self.checked && self.last_data.elapsed() > task.io.opts.stall_timeout {
            self.error = Some(Failure::Timeout);
            return false;
        }
        // A steal may have moved our end to where we already are: stop without waiting for
        // more data, unless the rest of what we asked for is short enough to drain. A range
        // that simply reached the end it asked for is left to finish (keep-alive).
        if self.checked {
            let s = task.seg.span();
            if s.claimed >= s.end && s.end < self.req_end && !self.drains_tail(&s) {
                self.stop = Some(Stop::End);
                return false;
            }
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

//! Transfer workers: threads that each own one libcurl handle (so the connection is kept
//! alive across the ranges they are given) and only move bytes.
//!
//! A worker gets a `Task` (a `Segment` plus how to request it), writes the body at its offset
//! in the `.part` file as it arrives, and reports an `Outcome`. It makes no policy decisions:
//! retries, splitting and checkpoints belong to the coordinator (engine).
//!
//! Before the first byte of a response is written, its head is checked: a
//! ranged request needs a 206 whose Content-Range starts exactly at the requested offset,
//! ends no later than asked and whose total is the known size; no content encoding; the
//! ETag, when both sides have one, must be the job's. A 200 to a range request is never
//! written. A short 206 is fine: what came is written, the rest stays missing.

use crate::http::{self, Head, HttpOptions};
use crate::retry::Failure;
use crate::storage::PartFile;
use curl::easy::{Easy2, Handler, WriteError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A contiguous byte range being filled by one worker: `origin..end`, written up to `pos`.
/// `claimed` (≥ pos) also counts bytes the worker has received and buffered but not yet
/// written. The coordinator may lower `end` to anywhere past `claimed` at any time (work
/// stealing); the worker stops there.
#[derive(Debug)]
pub struct Segment {
    pub origin: u64,
    span: Mutex<Span>,
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
        })
    }
    pub fn span(&self) -> Span {
        // A worker that panicked while holding the lock left consistent numbers (each field
        // is written whole): the coordinator keeps reading them.
        *self.span.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Move `end` down to `at` if nothing at or past `at` is received yet. Returns the old end.
    pub fn cut(&self, at: u64) -> Option<u64> {
        let mut s = self.span.lock().unwrap();
        if at <= s.claimed || at >= s.end {
            return None;
        }
        let old = s.end;
        s.end = at;
        Some(old)
    }
}

/// What a worker is asked to do.
#[derive(Debug, Clone)]
pub struct Task {
    pub seg: Arc<Segment>,
    pub url: String,
    /// Send a Range header (false: one plain GET of the whole body from offset 0).
    pub ranged: bool,
    /// The file's known size (Content-Range total / Content-Length must match).
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Bytes per second for this connection (the job's rate limit shared out); None = no cap.
    pub max_speed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The segment reached its end (possibly lowered by a steal).
    Finished,
    /// Cancelled by the coordinator (pause, stop).
    Stopped,
    /// The attempt failed; the segment keeps what was written.
    Failed(Failure),
}

#[derive(Debug)]
pub struct Report {
    pub worker: usize,
    pub outcome: Outcome,
    /// Body bytes written by this attempt.
    pub bytes: u64,
    pub elapsed: Duration,
    /// Time from the start of the attempt to its first body byte.
    pub ttfb: Option<Duration>,
    /// The response was cut short on our side (the segment's end moved): the server may
    /// still count it as in flight for a moment.
    pub cut: bool,
}

/// Shared, read-only context of all workers of one job.
#[derive(Debug)]
pub struct Shared {
    pub opts: HttpOptions,
    pub file: PartFile,
    /// Set to stop every transfer promptly.
    pub cancel: AtomicBool,
    /// Body bytes written by all workers (for speed display).
    pub received: AtomicU64,
}

#[derive(Debug)]
pub struct WorkerHandle {
    pub id: usize,
    tx: Sender<Task>,
    join: JoinHandle<()>,
}

impl WorkerHandle {
    pub fn spawn(id: usize, shared: Arc<Shared>, reports: Sender<Report>) -> WorkerHandle {
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        let join = std::thread::Builder::new()
            .name(format!("ddm-worker-{id}"))
            .spawn(move || worker_loop(id, shared, rx, reports))
            .expect("spawn worker thread");
        WorkerHandle { id, tx, join }
    }
    pub fn give(&self, t: Task) -> bool {
        self.tx.send(t).is_ok()
    }
    /// Close the task channel and wait for the thread.
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.join.join();
    }
}

fn worker_loop(id: usize, shared: Arc<Shared>, rx: Receiver<Task>, reports: Sender<Report>) {
    let mut easy = new_handle(&shared);
    while let Ok(task) = rx.recv() {
        let start = Instant::now();
        let seg = task.seg.clone();
        // A panic must not leave the coordinator waiting for a report that never comes: it
        // becomes this range's failure, and the handle (possibly mid-transfer) is replaced.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = run_task(&mut easy, &shared.opts, &task);
            (
                r,
                easy.get_ref().first_byte.map(|t| t.duration_since(start)),
            )
        }));
        let ((outcome, bytes, cut), ttfb) = match run {
            Ok(r) => r,
            Err(_) => {
                let written = easy.get_ref().written;
                easy = new_handle(&shared);
                let msg = "internal error: a transfer worker panicked";
                tracing::error!(worker = id, from = seg.origin, "{msg}");
                let failed = Outcome::Failed(Failure::Other(msg.into()));
                ((failed, written, false), None)
            }
        };
        if reports
            .send(Report {
                worker: id,
                outcome,
                bytes,
                elapsed: start.elapsed(),
                ttfb,
                cut,
            })
            .is_err()
        {
            break;
        }
    }
}

/// One handle per worker: it keeps its connections alive from one range to the next.
fn new_handle(shared: &Arc<Shared>) -> Easy2<Sink> {
    Easy2::new(Sink::new(shared.clone()))
}

fn run_task(easy: &mut Easy2<Sink>, opts: &HttpOptions, task: &Task) -> (Outcome, u64, bool) {
    let span = task.seg.span();
    if span.pos >= span.end {
        return (Outcome::Finished, 0, false);
    }
    easy.get_mut().start(task.clone(), span);
    let setup = (|| -> Result<(), curl::Error> {
        let extra: Vec<String> = match (&task.etag, task.ranged) {
            // If-Range only with a strong validator: weak ETags are not allowed there.
            (Some(e), true) if !e.starts_with("W/") => vec![format!("If-Range: {e}")],
            _ => vec![],
        };
        http::configure(easy, opts)?;
        http::target(easy, opts, &task.url, &extra)?;
        easy.max_recv_speed(task.max_speed.unwrap_or(0))?;
        if task.ranged {
            let last = if span.end == u64::MAX {
                String::new()
            } else {
                (span.end - 1).to_string()
            };
            easy.range(&format!("{}-{last}", span.pos))?;
        } else {
            easy.range("")?;
        }
        Ok(())
    })();
    if let Err(e) = setup {
        return (
            Outcome::Failed(Failure::Other(format!("request setup: {e}"))),
            0,
            false,
        );
    }
    let res = easy.perform();
    let curl_failure = res.as_ref().err().map(|e| http::classify_with(e, easy));
    let sink = easy.get_mut();
    if let Err(f) = sink.flush() {
        sink.error = Some(f);
    }
    let written = sink.written;
    let cut = sink.stop == Some(Stop::End) && curl_failure.is_some();
    let outcome = match (curl_failure, sink.stop.take(), sink.error.take()) {
        (_, _, Some(f)) => Outcome::Failed(f),
        (_, Some(Stop::End), _) => Outcome::Finished,
        (_, Some(Stop::Cancel), _) => Outcome::Stopped,
        (None, None, None) => sink.after_body(),
        (Some(f), None, None) => {
            if !sink.checked && sink.head.status >= 300 {
                Outcome::Failed(sink.head.failure())
            } else {
                Outcome::Failed(f)
            }
        }
    };
    sink.task = None;
    (outcome, written, cut)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    End,
    Cancel,
}

/// curl's callbacks for one worker: validates the head, writes at offsets.
struct Sink {
    shared: Arc<Shared>,
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
}

fn changed(what: String) -> Failure {
    Failure::Changed(format!(
        "the remote file changed during the download ({what}); nothing was spliced"
    ))
}

/// Bytes a worker collects before one `pwrite` (curl hands over ~8-16 KiB at a time).
const WRITE_BATCH: usize = 256 * 1024;

impl Sink {
    fn new(shared: Arc<Shared>) -> Self {
        Sink {
            shared,
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
        }
    }

    /// Write the buffered bytes at the segment's `pos`, then advance `pos`.
    fn flush(&mut self) -> Result<(), Failure> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let task = self.task.as_ref().expect("task set");
        let pos = task.seg.span().pos; // only this worker moves pos
        let res = self.shared.file.write_at(&self.buf, pos);
        let n = self.buf.len() as u64;
        self.buf.clear();
        res.map_err(Failure::Storage)?;
        task.seg.span.lock().unwrap().pos += n;
        self.written += n;
        Ok(())
    }

    fn start(&mut self, task: Task, span: Span) {
        self.task = Some(task);
        self.req_end = span.end;
        self.head = Head::default();
        self.checked = false;
        self.start_pos = span.pos;
        self.written = 0;
        self.stop = None;
        self.error = None;
        self.buf.clear();
        self.first_byte = None;
        self.last_data = Instant::now();
    }

    /// Check the response head before the first body byte is written.
    fn check_head(&self) -> Result<(), Failure> {
        let task = self.task.as_ref().expect("task set");
        let h = &self.head;
        if h.status == 416 && task.ranged {
            // Our range lies inside the file we know: the file must have shrunk.
            if let Some(total) = h
                .get("content-range")
                .and_then(|v| v.trim().strip_prefix("bytes */"))
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                if Some(total) != task.size {
                    return Err(changed(format!(
                        "its size went from {} to {total} bytes",
                        task.size.unwrap_or(0)
                    )));
                }
            }
        }
        if !(200..300).contains(&h.status) {
            return Err(h.failure());
        }
        if let (Some(enc), true) = (h.encoded(), task.ranged) {
            // Ranges of a compressed body cannot be decoded independently.
            return Err(Failure::InvalidResponse(format!(
                "the server sent a {enc}-encoded range although identity was asked"
            )));
        }
        if let (Some(want), Some(got)) = (&task.etag, h.get("etag")) {
            if want != got {
                return Err(changed(format!("ETag {want} became {got}")));
            }
        }
        if let (Some(want), Some(got)) = (&task.last_modified, h.get("last-modified")) {
            if want != got {
                return Err(changed(format!("Last-Modified {want} became {got}")));
            }
        }
        // A different total length means a different file, whatever else the answer says.
        let total = h.content_range().and_then(|c| c.total).or_else(|| {
            // 416 carries `Content-Range: bytes */LEN`.
            let v = h.get("content-range")?.trim().strip_prefix("bytes */")?;
            v.trim().parse().ok()
        });
        if let (Some(size), Some(total)) = (task.size, total) {
            if size != total {
                return Err(changed(format!(
                    "its size went from {size} to {total} bytes"
                )));
            }
        }
        if task.ranged {
            if h.status != 206 {
                return Err(if task.etag.is_some() && h.status == 200 {
                    Failure::Changed(
                        "the server answered a range request with the whole file (200): the remote \
                         file changed or ranges were turned off"
                            .into(),
                    )
                } else {
                    Failure::InvalidResponse(format!(
                        "expected 206 Partial Content for a range request, got {}",
                        h.status
                    ))
                });
            }
            let cr = h.content_range().ok_or_else(|| {
                Failure::InvalidResponse(format!(
                    "unusable Content-Range {:?}",
                    h.get("content-range").unwrap_or("(missing)")
                ))
            })?;
            let end = self.req_end;
            if cr.first != self.start_pos || cr.last >= end || cr.total != task.size {
                return Err(Failure::InvalidResponse(format!(
                    "asked for bytes {}-{} of {:?}, the server sent {}-{}/{:?}",
                    self.start_pos,
                    end.saturating_sub(1),
                    task.size,
                    cr.first,
                    cr.last,
                    cr.total
                )));
            }
        } else {
            if self.start_pos != 0 {
                return Err(Failure::InvalidResponse(
                    "a whole-file request must start at offset 0".into(),
                ));
            }
            if let (Some(size), Some(len)) = (task.size, h.content_length()) {
                if size != len {
                    return Err(Failure::Changed(format!(
                        "the remote file changed: it was {size} bytes, now {len}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The transfer ended normally: did it deliver the whole segment?
    fn after_body(&mut self) -> Outcome {
        let task = self.task.as_ref().expect("task set");
        if !self.checked {
            if let Err(f) = self.check_head() {
                return Outcome::Failed(f);
            }
        }
        let span = task.seg.span();
        if span.pos >= span.end {
            return Outcome::Finished;
        }
        if span.end == u64::MAX && !task.ranged {
            // Unknown length: the stream ends where the server ends it.
            return Outcome::Finished;
        }
        Outcome::Failed(Failure::Partial)
    }
}

impl Handler for Sink {
    fn header(&mut self, data: &[u8]) -> bool {
        self.head.feed(data);
        true
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        if !self.checked {
            if let Err(f) = self.check_head() {
                self.error = Some(f);
                return Ok(0);
            }
            self.checked = true;
            self.first_byte = Some(Instant::now());
        }
        if self.shared.cancel.load(Ordering::Relaxed) {
            self.stop = Some(Stop::Cancel);
            return Ok(0);
        }
        let task = self.task.as_ref().expect("task set");
        let n = {
            let mut span = task.seg.span.lock().unwrap();
            let room = span.end.saturating_sub(span.claimed);
            let n = (data.len() as u64).min(room) as usize;
            span.claimed += n as u64;
            n
        };
        self.buf.extend_from_slice(&data[..n]);
        self.last_data = Instant::now();
        self.shared.received.fetch_add(n as u64, Ordering::Relaxed);
        if self.buf.len() >= WRITE_BATCH {
            if let Err(f) = self.flush() {
                self.error = Some(f);
                return Ok(0);
            }
        }
        if n < data.len() {
            // Our end moved (work stealing) or the server sent more than asked: stop here.
            self.stop = Some(Stop::End);
        }
        Ok(n)
    }

    fn progress(&mut self, _dltotal: f64, _dlnow: f64, _ultotal: f64, _ulnow: f64) -> bool {
        if self.shared.cancel.load(Ordering::Relaxed) {
            self.stop = Some(Stop::Cancel);
            return false;
        }
        // Our own stall clock: curl's low-speed check averages over several seconds, so a
        // burst followed by silence would be waited on well past the stall timeout. Before
        // the response head arrives, curl's connect timeout is in charge.
        if self.checked && self.last_data.elapsed() > self.shared.opts.stall_timeout {
            self.error = Some(Failure::Timeout);
            return false;
        }
        // A steal may have moved our end to where we already are: stop without waiting for data.
        if let Some(t) = &self.task {
            let s = t.seg.span();
            if self.checked && s.claimed >= s.end {
                self.stop = Some(Stop::End);
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-shot HTTP server answering every request with a 206 for `0-99/100`.
    fn range_server() -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let mut resp = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-99/100\r\n\
                    Content-Length: 100\r\nConnection: close\r\n\r\n"
                    .to_vec();
                resp.extend_from_slice(&[7u8; 100]);
                let _ = s.write_all(&resp);
            }
        });
        format!("http://127.0.0.1:{port}/f")
    }

    #[test]
    fn a_worker_that_panics_reports_the_range_as_failed_and_keeps_working() {
        let t = tempfile::tempdir().unwrap();
        let file = PartFile::create_new(&t.path().join("p.bin")).unwrap();
        let shared = Arc::new(Shared {
            opts: HttpOptions::from_config(&crate::config::Config::default(), vec![], false),
            file,
            cancel: AtomicBool::new(false),
            received: AtomicU64::new(0),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let w = WorkerHandle::spawn(0, shared, tx);
        let url = range_server();
        // A segment whose lock is poisoned makes the worker panic inside curl's callback.
        let bad = Segment::new(0, 100);
        let b2 = bad.clone();
        let _ = std::thread::spawn(move || {
            let _g = b2.span.lock().unwrap();
            panic!("poison the segment (expected in this test)");
        })
        .join();
        let task = |seg: Arc<Segment>| Task {
            seg,
            url: url.clone(),
            ranged: true,
            size: Some(100),
            etag: None,
            last_modified: None,
            max_speed: None,
        };
        assert!(w.give(task(bad)));
        let r = rx.recv_timeout(Duration::from_secs(10)).expect("a report");
        assert!(
            matches!(&r.outcome, Outcome::Failed(Failure::Other(m)) if m.contains("panicked")),
            "{:?}",
            r.outcome
        );
        // The same worker goes on with the next range.
        let good = Segment::new(0, 100);
        assert!(w.give(task(good.clone())));
        let r = rx.recv_timeout(Duration::from_secs(10)).expect("a report");
        assert_eq!(r.outcome, Outcome::Finished);
        assert_eq!(good.span().pos, 100);
        w.finish();
    }

    #[test]
    fn cut_only_moves_end_into_unwritten_part() {
        let s = Segment::new(100, 1000);
        assert_eq!(s.cut(500), Some(1000));
        assert_eq!(
            s.span(),
            Span {
                pos: 100,
                claimed: 100,
                end: 500
            }
        );
        assert_eq!(s.cut(100), None, "cannot cut at or before pos");
        assert_eq!(s.cut(600), None, "cannot extend");
        {
            let mut sp = s.span.lock().unwrap();
            sp.pos = 200;
            sp.claimed = 300; // received, not yet written
        }
        assert_eq!(s.cut(250), None, "cannot cut into buffered bytes");
        assert_eq!(s.cut(400), Some(500));
    }
}

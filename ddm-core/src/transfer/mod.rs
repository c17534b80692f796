//! Transfer workers: threads that each own one libcurl handle, so its connections are kept
//! alive from one range to the next, and from one job to the next (the runner's [`Pool`]).
//! Workers only move bytes.
//!
//! A worker gets a [`Task`]: a [`Segment`] of a job's file, the URL, how to ask (the job's
//! first request, a range, or the whole body) and where to report. It writes the body at its
//! offset in the job's `.part` file as it arrives and reports a [`Done`]. It makes no policy
//! decisions: retries, splitting, checkpoints and naming belong to the coordinator.
//!
//! The first request of a job ([`Mode::First`]) asks for a range from the first byte the job
//! is missing, following redirects hop by hop (each hop with the headers its origin may get).
//! When its head arrives the worker reports it ([`Report::Head`]) and waits for a [`Reply`]:
//! the coordinator reads size, range support, validators and name from it, reserves the file,
//! and lets the body flow into it (`Go`), so the first data arrives in one round trip, or
//! ends the response (`Abort`).
//!
//! Every other response is checked before its first byte is written (`sink.rs`): a ranged
//! request needs a 206 whose Content-Range starts exactly at the requested offset, ends no
//! later than asked and whose total is the known size; no content encoding; the validators,
//! when both sides have one, must be the job's. A 200 to a range request is never written. A
//! short 206 is fine: what came is written, the rest stays missing.
//!
//! A worker blocks inside curl's callbacks in two places only, both in `sink/waits.rs`: the
//! rate gate before bytes are taken in, and a first request's wait for the coordinator's
//! [`Reply`]. A transport driving many transfers from one thread would pause the transfer
//! there instead; requests are set up through `http::setup::request` and redirects followed
//! through `http::redirect::follow`, as the resolver does.

mod pool;
mod segment;
mod sink;

pub use pool::Pool;
pub use segment::{Segment, Span};
pub(crate) use sink::length_disagrees;

use crate::http::{Head, HttpOptions};
use crate::retry::Failure;
use crate::storage::PartFile;
use curl::easy::Easy2;
use sink::Sink;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What all transfers of one job share.
#[derive(Debug)]
pub struct JobIo {
    pub opts: HttpOptions,
    /// The `.part` file, set once the name is reserved (after the first head, for a new job).
    file: OnceLock<PartFile>,
    /// Set to stop every transfer of the job promptly.
    pub cancel: AtomicBool,
    /// Body bytes received by all workers (for speed display and checkpoint cadence).
    pub received: AtomicU64,
    /// The job's share of the rate limits, if any.
    pub rate: Option<Arc<crate::rate::Gate>>,
    /// The least wait any range request of the job saw between being sent and the first
    /// byte of its answer, in nanoseconds (`u64::MAX`: none yet): the round trip that each
    /// request window costs, without connection set-up (a plain GET's wait does not count:
    /// an object store answers it at once but thinks before every range answer).
    pub wait_ns: AtomicU64,
    /// The same for requests without a Range header (a job's plain first request): what a
    /// range answer costs the server beyond it is `wait_ns - plain_wait_ns`.
    pub plain_wait_ns: AtomicU64,
    /// What the next window of a ranged segment asks for (see [`Task::window`]), kept current
    /// by the coordinator as waits and speeds are measured.
    pub window: AtomicU64,
}

impl JobIo {
    pub fn new(opts: HttpOptions, rate: Option<Arc<crate::rate::Gate>>) -> Self {
        JobIo {
            opts,
            file: OnceLock::new(),
            cancel: AtomicBool::new(false),
            received: AtomicU64::new(0),
            rate,
            wait_ns: AtomicU64::new(u64::MAX),
            plain_wait_ns: AtomicU64::new(u64::MAX),
            window: AtomicU64::new(u64::MAX),
        }
    }
    /// Give the job its file (once).
    pub fn set_file(&self, f: PartFile) {
        let _ = self.file.set(f);
    }
    /// The job's file; None before the first head decided it.
    pub fn file(&self) -> Option<&PartFile> {
        self.file.get()
    }
    /// Take the file back when no worker holds the job any more.
    pub fn into_file(self) -> Option<PartFile> {
        self.file.into_inner()
    }
}

/// How a task asks for its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The job's first request: a range from the segment's start (open-ended when the end is
    /// unknown), redirects followed, the head reported before a byte is written.
    First,
    /// The job's first request asked again without a Range header, after the server refused
    /// `bytes=0-…` with a 416 that names no length (an empty file on RangeHTTPServer or an
    /// S3-like store); otherwise as [`Mode::First`].
    FirstWhole,
    /// `Range: bytes=pos-(end-1)` of a known file.
    Range,
    /// The whole body, from offset 0 (a server without ranges).
    Whole,
}

/// The coordinator's name for one of a job's workers, echoed in its reports: an index into
/// the job's crew. A job's first request always runs on [`WorkerId::FIRST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub usize);

impl WorkerId {
    /// The worker of a job's first request (and of a relink probe, alone on its channel).
    pub const FIRST: WorkerId = WorkerId(0);

    pub fn index(self) -> usize {
        self.0
    }
}

impl std::fmt::Display for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What every answer of a task must agree with: the file as the job knows it. Empty for a
/// job's first request (its answer tells them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The file's size (Content-Range total / Content-Length must match).
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a worker is asked to do. Built by [`Task::first`], [`Task::first_whole`],
/// [`Task::range`] and [`Task::whole`].
#[derive(Debug, Clone)]
pub struct Task {
    pub io: Arc<JobIo>,
    pub reports: Sender<Report>,
    /// The coordinator's name for this worker, echoed in its reports.
    pub worker: WorkerId,
    pub seg: Arc<Segment>,
    pub url: String,
    pub mode: Mode,
    /// The most the task's first request asks for: a segment is fetched in windows on one
    /// connection, so a steal past the current window cuts no response (`u64::MAX`: the whole
    /// segment in one request). Later windows take [`JobIo::window`] as it is then.
    pub window: u64,
    /// What becomes of the bytes received.
    pub keep: Keep,
    /// What the answers must agree with.
    pub expect: Expect,
    /// A source whose validators are not known beforehand (a mirror): the first answer to
    /// arrive on any of its tasks pins its ETag and Last-Modified, and every later answer
    /// must carry the same (checked like `etag` and `last_modified`).
    pub pin: Option<Pin>,
}

/// The validators (ETag, Last-Modified) a source's first answer gave.
pub type Pin = Arc<OnceLock<(Option<String>, Option<String>)>>;

impl Mode {
    /// A job's first request: redirects followed, the head reported before a byte is written.
    pub fn is_first(self) -> bool {
        matches!(self, Mode::First | Mode::FirstWhole)
    }
    /// The request carries a Range header.
    pub fn ranged(self) -> bool {
        matches!(self, Mode::First | Mode::Range)
    }
}

impl Task {
    fn new(
        io: Arc<JobIo>,
        reports: Sender<Report>,
        worker: WorkerId,
        seg: Arc<Segment>,
        url: String,
        mode: Mode,
    ) -> Task {
        Task {
            io,
            reports,
            worker,
            seg,
            url,
            mode,
            window: u64::MAX,
            keep: Keep::Write,
            expect: Expect::default(),
            pin: None,
        }
    }

    /// A job's first request for `seg` (open-ended when its end is `u64::MAX`): nothing is
    /// expected yet, its head is reported before a byte is written.
    pub fn first(io: Arc<JobIo>, reports: Sender<Report>, url: String, seg: Arc<Segment>) -> Task {
        Task::new(io, reports, WorkerId::FIRST, seg, url, Mode::First)
    }

    /// A job's first request asked again without a Range header ([`Mode::FirstWhole`]).
    pub fn first_whole(
        io: Arc<JobIo>,
        reports: Sender<Report>,
        url: String,
        seg: Arc<Segment>,
    ) -> Task {
        Task::new(io, reports, WorkerId::FIRST, seg, url, Mode::FirstWhole)
    }

    /// `seg` of a file with ranges, asked in windows of `window` bytes on one connection.
    pub fn range(
        io: Arc<JobIo>,
        reports: Sender<Report>,
        worker: WorkerId,
        seg: Arc<Segment>,
        url: String,
        window: u64,
        expect: Expect,
    ) -> Task {
        Task {
            window,
            expect,
            ..Task::new(io, reports, worker, seg, url, Mode::Range)
        }
    }

    /// The whole body from offset 0 (a server without ranges).
    pub fn whole(
        io: Arc<JobIo>,
        reports: Sender<Report>,
        worker: WorkerId,
        seg: Arc<Segment>,
        url: String,
        expect: Expect,
    ) -> Task {
        Task {
            expect,
            ..Task::new(io, reports, worker, seg, url, Mode::Whole)
        }
    }

    /// The bytes go elsewhere than the file (a race, a sample).
    pub fn keeping(self, keep: Keep) -> Task {
        Task { keep, ..self }
    }

    /// The source's validators are pinned by its first answer (a mirror).
    pub fn pinned(self, pin: Option<Pin>) -> Task {
        Task { pin, ..self }
    }

    fn ranged(&self) -> bool {
        self.mode.ranged()
    }
}

/// What a task does with the bytes it receives.
#[derive(Debug, Clone, Default)]
pub enum Keep {
    /// Write them at their offset in the job's file.
    #[default]
    Write,
    /// A race (hedged request): this task fetches the tail of that slow segment again, into
    /// memory, from where it stood; whichever finishes first wins. If this one does, the slow
    /// one is stopped where it is and this one writes only the bytes past that point; if the
    /// slow one does, this one drops what it has. No byte is written twice.
    Race(Arc<Segment>),
    /// A sample from a source not trusted yet (a mirror): held in memory, never written, and
    /// handed back whole in [`Done::sample`] for the coordinator to compare with the file.
    Sample,
}

/// The bytes of a [`Keep::Sample`] task and the validators its answer carried.
#[derive(Debug, Clone)]
pub struct Sample {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The segment reached its end (possibly lowered by a steal).
    Finished,
    /// Cancelled by the coordinator (pause, stop, or an aborted first response).
    Stopped,
    /// The attempt failed; the segment keeps what was written.
    Failed(Failure),
}

/// How one attempt ended.
#[derive(Debug)]
pub struct Done {
    pub worker: WorkerId,
    pub outcome: Outcome,
    /// Body bytes written by this attempt.
    pub bytes: u64,
    pub elapsed: Duration,
    /// Time from the start of the attempt to its first body byte.
    pub ttfb: Option<Duration>,
    /// The response was cut short on our side (the segment's end moved): the server may
    /// still count it as in flight for a moment, and the connection is gone.
    pub cut: bool,
    /// A race this task won: the bytes it wrote (the rest of the raced segment).
    pub won: Option<std::ops::Range<u64>>,
    /// A sample task that arrived whole: its bytes.
    pub sample: Option<Sample>,
    /// A range request answered with a 200 (the server ignored the range) or with a 206
    /// that is not the range asked (an invalid answer): nothing of it was written.
    pub range_unusable: bool,
}

/// What the head of a job's first response said.
#[derive(Debug, Clone)]
pub struct FirstHead {
    pub worker: WorkerId,
    pub head: Head,
    /// The URL that answered (after redirects).
    pub url: String,
    /// The URLs redirected from, in order.
    pub redirects: Vec<String>,
    /// When the request was sent, and when its head came (a first round-trip time).
    pub started: Instant,
    pub arrived: Instant,
}

#[derive(Debug)]
pub enum Report {
    /// The head of a [`Mode::First`] response; the worker waits for a [`Reply`].
    Head(FirstHead),
    Done(Done),
}

/// The coordinator's answer to a [`Report::Head`].
#[derive(Debug, Clone)]
pub enum Reply {
    /// Write the body into `task`'s segment (its file is set): the validators and size it
    /// carries are what later responses are checked against.
    Go(Task),
    /// Do not use this response.
    Abort,
}

#[derive(Debug)]
pub struct WorkerHandle {
    pub id: usize,
    tx: Sender<Task>,
    reply: Sender<Reply>,
    join: JoinHandle<()>,
}

impl WorkerHandle {
    pub fn spawn(id: usize) -> WorkerHandle {
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        let (reply, replies) = std::sync::mpsc::channel::<Reply>();
        let join = std::thread::Builder::new()
            .name(format!("ddm-worker-{id}"))
            .spawn(move || worker_loop(rx, replies))
            .expect("spawn worker thread");
        WorkerHandle {
            id,
            tx,
            reply,
            join,
        }
    }
    pub fn give(&self, t: Task) -> bool {
        self.tx.send(t).is_ok()
    }
    /// Answer the head this worker reported.
    pub fn reply(&self, r: Reply) {
        let _ = self.reply.send(r);
    }
    /// Close the task channel and wait for the thread (its handle and connections go).
    pub fn finish(self) {
        drop(self.tx);
        drop(self.reply);
        let _ = self.join.join();
    }
}

fn worker_loop(rx: Receiver<Task>, replies: Receiver<Reply>) {
    let mut easy = Easy2::new(Sink::new(replies));
    while let Ok(task) = rx.recv() {
        let start = Instant::now();
        let (reports, worker, origin) = (task.reports.clone(), task.worker, task.seg.origin);
        // A panic must not leave the coordinator waiting for a report that never comes: it
        // becomes this range's failure, and the handle (possibly mid-transfer) is replaced.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(test)]
            tests::panic_if_asked(&task);
            let r = sink::run_task(&mut easy, task);
            (r, easy.get_ref().ttfb(start))
        }));
        let won = easy.get_mut().won.take();
        let sample = easy.get_mut().sample.take();
        let range_unusable = std::mem::take(&mut easy.get_mut().range_unusable);
        let ((outcome, bytes, cut), ttfb) = match run {
            Ok(r) => r,
            Err(_) => {
                let written = easy.get_ref().written();
                let replies = easy.get_mut().take_replies();
                easy = Easy2::new(Sink::new(replies));
                let msg = "internal error: a transfer worker panicked";
                tracing::error!(worker = worker.index(), from = origin, "{msg}");
                let failed = Outcome::Failed(Failure::Other(msg.into()));
                ((failed, written, false), None)
            }
        };
        let _ = reports.send(Report::Done(Done {
            worker,
            outcome,
            bytes,
            elapsed: start.elapsed(),
            ttfb,
            cut,
            won,
            sample,
            range_unusable,
        }));
    }
}

#[cfg(test)]
mod tests;

//! The download engine: one job from "claimed" to done, failed, paused or interrupted.
//!
//! `run_job` = prepare (probe, safe-resume check, name, `.part`) → coordinator (transfer
//! with workers, checkpoints, stealing, retries) → finalize (completeness from the bitmap,
//! fsync, atomic rename) and records the final state in the store.
//!
//! The end of a job is idempotent: finishing records `done` together with the final name in
//! one statement, and a job whose file is already in place (a crash or a pause between the
//! rename and that write) is recognised by `prepare` and recorded as done, never downloaded
//! again.

pub mod checksum;
mod coordinator;
mod coverage;
mod finish;
mod first;
mod governor;
mod linkwait;
mod measure;
mod prepare;
mod record;
mod reprobe;
mod split;

pub use coordinator::Stats;
pub use first::FIRST_WINDOW;
pub use measure::{measure, Measurement};
pub use prepare::{ceiling, ceilings, http_for, job_http};

use crate::config::Config;
use crate::jobs::{self, storage_error, store_error};
use crate::model::{ErrorKind, JobError};
use crate::rate::{Bucket, Gate};
use crate::store::{JobState, Store};
use crate::transfer::{Expect, WorkerId};
use crate::transfer::{JobIo, Mode, Pool, Reply, Segment, Task};
use coordinator::{Adopted, Coordinator, Params, Stop};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the engine shares with the world outside one job: the Ctrl-C flag, the global
/// connection budget, the pool of workers (and their open connections) and the global rate
/// limit, all shared by the jobs a runner works at once.
#[derive(Debug, Clone)]
pub struct Control {
    pub interrupt: Arc<AtomicBool>,
    pub connections: Arc<crate::budget::ConnectionBudget>,
    pub pool: Arc<Pool>,
    pub rate: Arc<Bucket>,
    /// Bumped by a command given in this process (`ddm serve`: pause, remove, a rate, a new
    /// link): running jobs read the store at once instead of at their next poll.
    pub nudged: Arc<std::sync::atomic::AtomicU64>,
}

impl Control {
    /// Tell running jobs that the store holds a command for one of them.
    pub fn nudge(&self) {
        self.nudged
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// The one way to build a runner's services, used by every verb that downloads (`run`,
    /// `get`, `bench`, `demo`): the budget holds the config's `max_total_connections` and
    /// `max_connections_per_host`, the global bucket its `max_rate`. (There is no unlimited
    /// default: a verb that forgot the caps once opened 32 connections to a host allowed 8.)
    pub fn from_config(cfg: &Config, interrupt: Arc<AtomicBool>) -> Self {
        Control {
            interrupt,
            connections: Arc::new(crate::budget::ConnectionBudget::with_host_limit(
                cfg.max_total_connections as usize,
                cfg.max_connections_per_host as usize,
            )),
            pool: Arc::default(),
            rate: Bucket::new(cfg.max_rate),
            nudged: Arc::default(),
        }
    }

    /// A worker's work for a job is over: its connection goes back to the pool first, then
    /// the unit it held to the budget (the permit drops), so a job waiting for that unit
    /// finds the connection open instead of opening another.
    pub(crate) fn hand_back(
        &self,
        worker: crate::transfer::WorkerHandle,
        last: Option<crate::model::Origin>,
        unit: crate::budget::Permit,
    ) {
        self.pool.checkin(worker, last);
        drop(unit);
    }
}

/// A progress sample, emitted about five times a second.
#[derive(Debug, Clone)]
pub struct Progress {
    pub job: i64,
    pub name: String,
    pub size: Option<u64>,
    /// Bytes written so far (including not yet durable ones).
    pub bytes: u64,
    /// Bytes per second over a sliding window of a few seconds.
    pub speed: f64,
    /// Connections transferring now.
    pub connections: usize,
    /// The most the job may have open now (grown while it pays, lowered by a refusal; one
    /// without ranges): the ceiling, shown apart from what is open.
    pub max_connections: usize,
    pub elapsed: Duration,
    /// One per open connection: what it works and how fast.
    pub lanes: Vec<Lane>,
}

/// One open connection of a running job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The connection (the job's worker number): the same from one range to the next.
    pub id: usize,
    /// The source it asks (the job's URL or a mirror), credentials redacted.
    pub url: String,
    /// The range it works: `from..to`, received up to `pos`.
    pub from: u64,
    pub to: u64,
    pub pos: u64,
    /// Bytes per second.
    pub speed: u64,
    /// Time from its current request going out to the first byte of the answer, in
    /// milliseconds (None until that byte came).
    pub ttfb_ms: Option<u64>,
}

/// What the coordinator did with a job's connections, as it happens (the page's event log).
/// Byte offsets are into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    /// An idle connection took `at..end`, the back of the range a busy one works from `from`.
    Steal { from: u64, at: u64, end: u64 },
    /// A second request races a slow connection for the tail `from..to` (held in memory;
    /// whichever finishes first wins, no byte is written twice).
    Race { from: u64, to: u64 },
    /// A race ended: the second request won (its bytes were written), or the owner did.
    RaceEnded { from: u64, to: u64, won: bool },
    /// A connection far slower than its peers was closed; its range goes on with another.
    Replaced { from: u64, speed: u64 },
    /// A request failed; its range is asked again after `delay_ms`.
    Retry {
        from: u64,
        attempt: u32,
        delay_ms: u64,
        why: String,
    },
}

/// Where a job's connection count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountSource {
    /// `-c N`.
    Flag,
    /// `ddm bench --save` for the host.
    Bench,
    /// The config's `connections`, grown by measured gain.
    Adaptive,
    /// The server supports no ranges: one stream.
    NoRanges,
}

impl CountSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CountSource::Flag => "-c",
            CountSource::Bench => "bench --save",
            CountSource::Adaptive => "grown while it pays",
            CountSource::NoRanges => "no ranges",
        }
    }
}

#[derive(Debug)]
pub enum Event<'a> {
    Started {
        job: i64,
        name: &'a str,
        size: Option<u64>,
        /// The most connections the job may open (none is open yet beyond the first), and
        /// where that number came from.
        connections: usize,
        source: CountSource,
        ranged: bool,
        /// The URLs redirected from, and the protocol that answered (`HTTP/1.1`, `HTTP/2`).
        redirects: &'a [String],
        protocol: &'a str,
    },
    Progress(&'a Progress),
    Note(String),
    /// The job's download link was refused and cannot be resolved again: it waits for a
    /// fresh one (`Some(why)`), or a fresh one came and it goes on (`None`).
    Waiting(Option<&'a str>),
    /// A steal, race, replacement or retry (about the job's connections).
    Happened(Happening),
}

pub trait Observer {
    fn event(&mut self, e: Event<'_>);
}

/// Discards events.
#[derive(Debug, Default)]
pub struct NoObserver;
impl Observer for NoObserver {
    fn event(&mut self, _e: Event<'_>) {}
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        path: PathBuf,
        size: u64,
        /// Bytes received in this run (a resumed job had the rest already).
        moved: u64,
        elapsed: Duration,
    },
    Paused,
    Removed,
    /// Ctrl-C: the job went back to the queue, resumable.
    Interrupted,
    /// The job's link expired and no fresh one came within `link_wait_secs` (or Ctrl-C came
    /// while it waited): it rests waiting for one, its progress kept.
    Waiting(String),
    Failed(JobError),
}

/// Run a job that the caller has claimed (state `running`); the final state is stored.
/// A store write that fails is the job's failure (kind `store` or `no-space`), never only a
/// log line.
pub fn run_job(
    store: &mut Store,
    job_id: i64,
    cfg: &Config,
    ctl: &Control,
    obs: &mut dyn Observer,
) -> Outcome {
    let started = Instant::now();
    // A pass ends early only when the job was given a new link that the pass could not take
    // in place: the next one starts from the first request with it.
    let outcome = loop {
        match store.get(job_id) {
            Ok(job) => match run_inner(store, &job, cfg, ctl, obs, started) {
                Pass::Ended(o) => break o,
                Pass::Again => continue,
            },
            Err(e) => break Outcome::Failed(store_error(e)),
        }
    };
    if matches!(outcome, Outcome::Failed(_) | Outcome::Interrupted) {
        // Still ours (running): a job that got no data gives its reserved space back.
        jobs::drop_unused_part(store, job_id);
    }
    let state = match &outcome {
        // Recorded together with the final name by `Store::complete`.
        Outcome::Done { .. } => None,
        // Already recorded by whoever asked.
        Outcome::Paused | Outcome::Removed => None,
        Outcome::Interrupted => Some(JobState::Queued),
        Outcome::Waiting(why) => Some(JobState::Waiting(why.clone())),
        Outcome::Failed(e) => Some(JobState::Failed(e.clone())),
    };
    if let Some(s) = state {
        // Only if nobody paused or removed it meanwhile.
        if let Err(e) = store.end_run(job_id, &s) {
            tracing::error!("cannot record job {job_id} state: {e}");
            if !matches!(outcome, Outcome::Failed(_)) {
                return Outcome::Failed(store_error(e));
            }
        }
    }
    outcome
}

/// How one pass of a run ended.
enum Pass {
    Ended(Outcome),
    /// The job was given a new link this pass could not take in place: start again with it.
    Again,
}

impl From<Outcome> for Pass {
    fn from(o: Outcome) -> Self {
        Pass::Ended(o)
    }
}

fn run_inner(
    store: &mut Store,
    job: &crate::store::Job,
    cfg: &Config,
    ctl: &Control,
    obs: &mut dyn Observer,
    started: Instant,
) -> Pass {
    // The job's directory, open for the whole run: everything happens relative to it, and a
    // directory that is not the one the job started in is refused before any request.
    let dir = match jobs::open_dir(job) {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(e).into(),
    };
    if job.dir_id.is_none() && job.part_id.is_some() {
        // A job recorded before directory identities were kept adopts this one.
        if let Ok(id) = dir.id() {
            let _ = store.adopt_dir(job.id, id);
        }
    }
    if let Some(f) = prepare::finished(job, &dir) {
        obs.event(Event::Note(format!(
            "{} is already complete (finished before ddm could record it)",
            f.path.display()
        )));
        return finish::record_done(store, job.id, f.path, f.size, 0, started).into();
    }
    let cancel = Arc::new(AtomicBool::new(false));
    if let Ok(g) = store.global_rate() {
        ctl.rate.set_rate(g.unwrap_or(cfg.max_rate));
    }
    let gate = Arc::new(Gate {
        job: Bucket::new(job.settings.rate_limit),
        global: ctl.rate.clone(),
        cancel: cancel.clone(),
    });
    let opts = match prepare::job_http(job, cfg) {
        Ok(o) => o,
        Err(e) => return Outcome::Failed(e).into(),
    };
    let io = Arc::new(JobIo::new(opts, Some(gate.clone())));
    let (tx, rx) = std::sync::mpsc::channel();
    let ch = first::Channel { tx: &tx, rx: &rx };
    // The run's time and speed limits hold from its first request on.
    let mut deadline = coordinator::deadline::Deadline::new(
        coordinator::deadline::Limits::of(&job.settings, cfg),
        started,
    );
    let mut control = || {
        record::poll_stop(Some(&*store), job.id, ctl).or_else(|| {
            let received = io.received.load(std::sync::atomic::Ordering::Relaxed);
            deadline.check(Instant::now(), received).map(Stop::Failed)
        })
    };
    let opened = match first::open(
        job,
        &io,
        ctl,
        &ch,
        prepare::first_span(job, prepare::single_connection(store, job, cfg)),
        cfg.max_attempts,
        obs,
        &mut control,
    ) {
        Ok(o) => o,
        Err(first::NoHead::Stopped(stop)) => return stopped(stop),
        Err(first::NoHead::Failed(e)) => return Outcome::Failed(e).into(),
        // Refused on a job with progress: wait for a fresh link, then start again with it.
        Err(first::NoHead::Expired(why)) => {
            return match linkwait::for_link(store, job, cfg, ctl, obs, &why) {
                Ok(()) => Pass::Again,
                Err(o) => o.into(),
            }
        }
    };
    let prep = match prepare::from_head(store, job, &dir, cfg, obs, &opened) {
        Ok(p) => p,
        Err(e) => {
            opened.worker.reply(Reply::Abort);
            let _ = first::wait_done(&rx);
            ctl.hand_back(opened.worker, None, opened.permit);
            return Outcome::Failed(e).into();
        }
    };
    let ranged = prep.pieces.is_some();
    let size = prep.info.size;
    io.set_file(prep.file);
    let url = prep.info.final_url.clone();
    let origin = crate::model::Origin::parse(&url);
    if let (Some(o), Some(cap)) = (&origin, prep.host_cap) {
        // The host refuses more than this: all jobs on it share that many (its cap, not this
        // job's own count: a job with `-c 2` does not hold the others to 2).
        ctl.connections.cap_host(o, cap);
    }
    // The first answer's body flows on into its segment, or the answer is dropped.
    let adopted = match prep.first {
        Some((start, end, mode)) => {
            let seg = Segment::new(start, end);
            let expect = Expect {
                size,
                etag: prep.info.etag.clone(),
                last_modified: prep.info.last_modified.clone(),
            };
            let (first, to) = (WorkerId::FIRST, tx.clone());
            // The rest of the first answer: asked as one window (it is under way already).
            opened.worker.reply(Reply::Go(match mode {
                Mode::Range => Task::range(
                    io.clone(),
                    to,
                    first,
                    seg.clone(),
                    url.clone(),
                    u64::MAX,
                    expect,
                ),
                _ => Task::whole(io.clone(), to, first, seg.clone(), url.clone(), expect),
            }));
            let mut permit = opened.permit;
            permit.rehome(origin.as_ref());
            Some(Adopted {
                worker: opened.worker,
                seg,
                permit,
            })
        }
        None => {
            opened.worker.reply(Reply::Abort);
            let _ = first::wait_done(&rx);
            ctl.hand_back(opened.worker, origin.clone(), opened.permit);
            None
        }
    };
    let protocol = opened.head.head.version.clone();
    if let Some(p) = io.opts.proxy_for(&url) {
        tracing::info!(
            job = job.id,
            "through proxy {}",
            crate::model::redact_url(&p)
        );
    }
    obs.event(Event::Started {
        job: job.id,
        name: &prep.name,
        size,
        connections: prep.connections,
        source: prep.source,
        ranged,
        redirects: &opened.head.redirects,
        protocol: &protocol,
    });
    if let Some(asked) = prep.lowered_from {
        obs.event(Event::Note(format!(
            "{asked} connections asked for, {} at most: max_connections_per_host in the \
             config caps what all jobs together open to one host",
            prep.connections
        )));
    }
    let params = Params {
        job_id: job.id,
        name: prep.name.clone(),
        url,
        first_url: job
            .settings
            .origin_url
            .clone()
            .unwrap_or_else(|| job.url.clone()),
        mode: if ranged { Mode::Range } else { Mode::Whole },
        size,
        etag: prep.info.etag.clone(),
        last_modified: prep.info.last_modified.clone(),
        // Sources besides the one that answered first (a mirror, when the job's URL did not).
        mirrors: job
            .settings
            .mirrors
            .iter()
            .filter(|m| **m != opened.source)
            .cloned()
            .collect(),
        connections: prep.connections,
        adaptive: prep.adaptive,
        capped: prep.capped,
        limit: None,
        partial: prep.partial.clone(),
        deadline,
        relink: Some(coordinator::Relink {
            wait: Duration::from_secs(cfg.link_wait_secs),
            url: job.url.clone(),
            settings: job.settings.clone(),
        }),
        cfg,
    };
    let mut rec = record::JobRecord {
        store: &mut *store,
        job: job.id,
        max_rate: cfg.max_rate,
        link_gen: job.link_gen,
    };
    let mut coord = Coordinator::new(
        params,
        &mut rec,
        ctl,
        obs,
        io.clone(),
        (tx, rx),
        prep.pieces,
        adopted,
    );
    // The first answer's wait is the first round-trip measurement (request windows use it).
    coord
        .stats
        .ttfb
        .push(opened.head.arrived.duration_since(opened.head.started));
    let stop = coord.run();
    let learned = coord.learned_cap();
    let complete = coord.pieces.as_ref().map(|p| p.all_done());
    let stream_len = coord.stream_len;
    drop(coord);
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(own) = learned {
        // What the host allows is what all jobs on it had working when it refused (the cap
        // the budget learned while they shared it), not this job's share of it.
        let shared = origin.as_ref().and_then(|o| ctl.connections.host_cap(o));
        let cap = shared.map_or(own, |h| h.max(own));
        let _ = store.set_host_cap(&prep.host, cap as u32);
        if let Some(o) = &origin {
            ctl.connections.cap_host(o, cap);
        }
    }
    match stop {
        Stop::Complete => {}
        other => return stopped(other),
    }
    // Done means every piece is done: decided from the bitmap, never from "all workers
    // exited" (failed ranges may have been in flight while the queue looked empty).
    if complete == Some(false) {
        return Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: transfers ended but pieces are missing",
        ))
        .into();
    }
    let moved = io.received.load(std::sync::atomic::Ordering::Relaxed);
    let Ok(io) = Arc::try_unwrap(io) else {
        return Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: workers still hold the file",
        ))
        .into();
    };
    let Some(file) = io.into_file() else {
        return Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: no file",
        ))
        .into();
    };
    // A ranged file is the size every answer confirmed; a stream without ranges is as long
    // as it went, which the worker held to the length its answer (or, without one, the
    // first answer) stated.
    let size = match (ranged, size, stream_len) {
        (true, Some(s), _) => s,
        (_, _, Some(n)) => {
            if let Err(e) = file.set_len(n) {
                return Outcome::Failed(storage_error(&e)).into();
            }
            n
        }
        (_, s, None) => s.unwrap_or(0),
    };
    finish::finish(store, job, &file, &prep.name, size, moved, started, obs).into()
}

/// How a pass that stopped before completing ends.
fn stopped(stop: Stop) -> Pass {
    Pass::Ended(match stop {
        Stop::Paused => Outcome::Paused,
        Stop::Removed => Outcome::Removed,
        Stop::Interrupted => Outcome::Interrupted,
        Stop::Waiting(why) => Outcome::Waiting(why),
        Stop::Relink => return Pass::Again,
        Stop::Failed(e) => Outcome::Failed(e),
        Stop::Complete => Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: completed without a transfer",
        )),
    })
}

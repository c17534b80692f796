//! The download engine: one job from "claimed" to done, failed, paused or interrupted.
//!
//! `run_job` runs passes of a job (`job.rs`: first request → prepare → adopt → transfer →
//! verify → finalize, each phase a function taking the value the one before returned) and
//! records the final state in the store. A pass ends early only for a new link it could not
//! take in place; the next pass starts from the first request with it.
//!
//! The end of a job is idempotent: finishing records `done` together with the final name in
//! one statement, and a job whose file is already in place (a crash or a pause between the
//! rename and that write) is recognised by `prepare` and recorded as done, never downloaded
//! again.

mod ceiling;
pub mod checksum;
mod coordinator;
mod coverage;
mod finish;
mod first;
mod governor;
mod job;
mod linkwait;
mod measure;
mod note;
mod prepare;
mod record;
mod reprobe;
mod split;

pub use ceiling::{ceiling, ceilings, Ceilings};
pub use coordinator::Stats;
pub use first::FIRST_WINDOW;
pub use measure::{measure, Measurement};
pub use note::Note;
pub use prepare::{http_for, job_http};

use crate::config::Config;
use crate::jobs::{self, store_error};
use crate::model::JobError;
use crate::rate::Bucket;
use crate::store::{JobState, Store};
use crate::transfer::Pool;
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
    /// The `connections` of the routing rule that routed the job.
    Rule,
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
            CountSource::Rule => "its routing rule",
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
    /// A typed note (`note.rs`): its kind, its fields, and the sentence the terminal prints.
    Said(Note),
    /// A note no type names yet, as free text.
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
            Ok(job) => match job::run_pass(store, &job, cfg, ctl, obs, started) {
                job::Pass::Ended(o) => break o,
                job::Pass::Again => continue,
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

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
mod measure;
mod prepare;
mod split;

pub use coordinator::Stats;
pub use measure::{measure, Measurement};
pub use prepare::{changes, job_http};

use crate::config::Config;
use crate::jobs::{storage_error, store_error};
use crate::model::{ErrorKind, JobError};
use crate::storage::{part_path, taken, PartFile};
use crate::store::{JobState, Store};
use crate::transfer::Shared;
use coordinator::{Coordinator, Params, Stop};
use prepare::Ready;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the engine shares with the world outside one job: the Ctrl-C flag and the global
/// connection budget (shared by all jobs a runner works at once).
#[derive(Debug, Default, Clone)]
pub struct Control {
    pub interrupt: Arc<AtomicBool>,
    pub connections: Arc<crate::budget::ConnectionBudget>,
}

impl Control {
    pub fn new(interrupt: Arc<AtomicBool>) -> Self {
        Control {
            interrupt,
            connections: Arc::default(),
        }
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
    pub elapsed: Duration,
}

#[derive(Debug)]
pub enum Event<'a> {
    Started {
        job: i64,
        name: &'a str,
        size: Option<u64>,
        connections: usize,
        ranged: bool,
    },
    Progress(&'a Progress),
    Note(String),
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
        elapsed: Duration,
    },
    Paused,
    Removed,
    /// Ctrl-C: the job went back to the queue, resumable.
    Interrupted,
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
    let outcome = match store.get(job_id) {
        Ok(job) => run_inner(store, &job, cfg, ctl, obs, started),
        Err(e) => Outcome::Failed(store_error(e)),
    };
    let state = match &outcome {
        // Recorded together with the final name by `Store::complete`.
        Outcome::Done { .. } => None,
        // Already recorded by whoever asked.
        Outcome::Paused | Outcome::Removed => None,
        Outcome::Interrupted => Some(JobState::Queued),
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

fn run_inner(
    store: &mut Store,
    job: &crate::store::Job,
    cfg: &Config,
    ctl: &Control,
    obs: &mut dyn Observer,
    started: Instant,
) -> Outcome {
    let prep = match prepare::prepare(store, job, cfg, obs) {
        Ok(Ready::Transfer(p)) => *p,
        Ok(Ready::Finished { path, size }) => {
            return record_done(store, job.id, path, size, started);
        }
        Err(e) => return Outcome::Failed(e),
    };
    let ranged = prep.pieces.is_some();
    obs.event(Event::Started {
        job: job.id,
        name: &prep.name,
        size: prep.info.size,
        connections: prep.connections,
        ranged,
    });
    let shared = Arc::new(Shared {
        opts: prep.http.clone(),
        file: prep.file,
        cancel: AtomicBool::new(false),
        received: AtomicU64::new(0),
    });
    let params = Params {
        job_id: job.id,
        name: prep.name.clone(),
        url: prep.info.final_url.clone(),
        first_url: job
            .settings
            .origin_url
            .clone()
            .unwrap_or_else(|| job.url.clone()),
        ranged,
        size: prep.info.size,
        etag: prep.info.etag.clone(),
        last_modified: prep.info.last_modified.clone(),
        connections: prep.connections,
        capped: prep.capped,
        rate_limit: job.settings.rate_limit,
        limit: None,
        cfg,
    };
    let mut coord = Coordinator::new(
        params,
        Some(&mut *store),
        ctl,
        obs,
        shared.clone(),
        prep.pieces,
    );
    let stop = coord.run();
    let learned = coord.learned_cap();
    let complete = coord.pieces.as_ref().map(|p| p.all_done());
    let stream_len = coord.stream_len;
    drop(coord);
    if let Some(cap) = learned {
        let _ = store.set_host_cap(&prep.host, cap as u32);
    }
    match stop {
        Stop::Complete => {}
        Stop::Paused => return Outcome::Paused,
        Stop::Removed => return Outcome::Removed,
        Stop::Interrupted => return Outcome::Interrupted,
        Stop::Failed(e) => return Outcome::Failed(e),
    }
    // Done means every piece is done: decided from the bitmap, never from "all workers
    // exited" (failed ranges may have been in flight while the queue looked empty).
    if complete == Some(false) {
        return Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: transfers ended but pieces are missing",
        ));
    }
    let size = match (prep.info.size, stream_len) {
        (Some(s), _) => s,
        (None, Some(n)) => {
            if let Err(e) = shared.file.set_len(n) {
                return Outcome::Failed(storage_error(&e));
            }
            n
        }
        (None, None) => 0,
    };
    let Ok(shared) = Arc::try_unwrap(shared) else {
        return Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: workers still hold the file",
        ));
    };
    if let Some(expected) = &job.settings.checksum {
        obs.event(Event::Note("verifying the checksum".into()));
        if let Err(e) = checksum::verify(shared.file.path(), expected) {
            return Outcome::Failed(JobError::new(
                ErrorKind::Checksum,
                format!(
                    "{e}; the data is kept as {} and nothing was renamed",
                    shared.file.path().display()
                ),
            ));
        }
    }
    let dest = match finalize(&shared.file, &prep.dest, &prep.name, job, obs) {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(e),
    };
    record_done(store, job.id, dest, size, started)
}

/// Rename the finished `.part` into place. An existing file at the destination (or a
/// symlink, even dangling) is never replaced unless the job may overwrite: the download then
/// gets the next free name.
fn finalize(
    file: &PartFile,
    dest: &Path,
    name: &str,
    job: &crate::store::Job,
    obs: &mut dyn Observer,
) -> Result<PathBuf, JobError> {
    let mut dest = dest.to_path_buf();
    let mut tried = std::collections::HashSet::new();
    loop {
        match file.finalize(&dest, job.settings.overwrite) {
            Ok(()) => return Ok(dest),
            Err(e) if e.kind == std::io::ErrorKind::AlreadyExists && tried.len() < 100 => {
                tried.insert(dest.clone());
                let dir = &job.dest_dir;
                let next = crate::filename::unique_name(name, |c| {
                    let p = dir.join(c);
                    tried.contains(&p) || taken(&p) || taken(&part_path(&p))
                });
                obs.event(Event::Note(format!(
                    "{} appeared meanwhile; saving as {next}",
                    dest.display()
                )));
                dest = dir.join(next);
            }
            Err(e) => return Err(storage_error(&e)),
        }
    }
}

/// The file is in place: the job is done, in one store write.
fn record_done(store: &mut Store, id: i64, path: PathBuf, size: u64, started: Instant) -> Outcome {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Err(e) = store.complete(id, &name, size) {
        let mut err = store_error(e);
        err.message = format!(
            "{} is complete, but the job database could not record it: {}",
            path.display(),
            err.message
        );
        return Outcome::Failed(err);
    }
    Outcome::Done {
        path,
        size,
        elapsed: started.elapsed(),
    }
}

//! The download engine: one job from "claimed" to done, failed, paused or interrupted.
//!
//! `run_job` = prepare (probe, safe-resume check, name, `.part`) → coordinator (transfer
//! with workers, checkpoints, stealing, retries) → finalize (completeness from the bitmap,
//! fsync, atomic rename) and records the final state in the store.

pub mod checksum;
mod coordinator;
mod coverage;
mod measure;
mod prepare;
mod split;

pub use coordinator::Stats;
pub use measure::{measure, Measurement};
pub use prepare::changes;

use crate::config::Config;
use crate::store::{JobState, Store};
use crate::transfer::Shared;
use coordinator::{Coordinator, Params, Stop};
use std::path::PathBuf;
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
    Failed(String),
}

/// Run a job that the caller has claimed (state `running`); the final state is stored.
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
        Err(e) => Outcome::Failed(e.to_string()),
    };
    let state = match &outcome {
        Outcome::Done { .. } => Some(JobState::Done),
        Outcome::Paused | Outcome::Removed => None, // already recorded by whoever asked
        Outcome::Interrupted => Some(JobState::Queued),
        Outcome::Failed(e) => Some(JobState::Failed { error: e.clone() }),
    };
    if let Some(s) = state {
        // Only if the row still exists and nobody paused/removed it meanwhile.
        if matches!(store.state(job_id), Ok(Some(JobState::Running))) {
            if let Err(e) = store.set_state(job_id, &s) {
                tracing::error!("cannot record job {job_id} state: {e}");
            }
        }
    }
    outcome
}

/// A failure whose message names this job in its `ddm resume ID` hint.
fn failed(msg: &str, id: i64) -> Outcome {
    Outcome::Failed(msg.replace("ddm resume ID", &format!("ddm resume {id}")))
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
        Ok(p) => p,
        Err(e) => return failed(&e, job.id),
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
        Stop::Failed(e) => return failed(&e, job.id),
    }
    // Done means every piece is done (engine.md 2).
    if complete == Some(false) {
        return Outcome::Failed(
            "internal error: transfers ended but pieces are missing; `ddm resume` continues".into(),
        );
    }
    let size = match (prep.info.size, stream_len) {
        (Some(s), _) => s,
        (None, Some(n)) => {
            if let Err(e) = shared.file.set_len(n) {
                return Outcome::Failed(e.to_string());
            }
            n
        }
        (None, None) => 0,
    };
    let Ok(shared) = Arc::try_unwrap(shared) else {
        return Outcome::Failed("internal error: workers still hold the file".into());
    };
    if let Some(expected) = &job.settings.checksum {
        obs.event(Event::Note("verifying the checksum".into()));
        if let Err(e) = checksum::verify(shared.file.path(), expected) {
            return Outcome::Failed(format!(
                "{e}; the data is kept as {} and nothing was renamed; check the checksum, or \
                 `ddm resume {} --restart` to download again",
                shared.file.path().display(),
                job.id
            ));
        }
    }
    let mut dest = prep.dest.clone();
    if dest.exists() && !job.settings.overwrite {
        // Someone created the file meanwhile: never overwrite it.
        let dir = job.dest_dir.clone();
        let name = crate::filename::unique_name(&prep.name, |c| {
            let p = dir.join(c);
            p.exists() || crate::storage::part_path(&p).exists()
        });
        obs.event(Event::Note(format!(
            "{} appeared meanwhile; saving as {name}",
            dest.display()
        )));
        dest = dir.join(&name);
    }
    if let Err(e) = shared.file.finalize(&dest) {
        return Outcome::Failed(e.to_string());
    }
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned());
    if let Err(e) = store.finish(job.id, name.as_deref().unwrap_or_default(), size) {
        tracing::error!("job {}: cannot record completion: {e}", job.id);
    }
    Outcome::Done {
        path: dest,
        size,
        elapsed: started.elapsed(),
    }
}

//! The job runner behind `ddm run`: claims queued jobs (oldest first) and works up to
//! `max_active_jobs` of them at once, each on its own thread with its own store connection,
//! all sharing the global connection budget. It returns when no queued job is left and none
//! is running, or after Ctrl-C once every running job has checkpointed.

use crate::config::Config;
use crate::engine::{run_job, Control, Observer, Outcome};
use crate::store::{Result, Store};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

/// How a runner shows jobs (implemented by the CLI).
pub trait Reporter: Sync {
    /// An observer for one job's events (called on the job's thread).
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_>;
    /// A job ended.
    fn finished(&self, job: i64, outcome: &Outcome);
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub ran: usize,
    pub done: usize,
    pub failed: usize,
    /// A job failed because a disk (the destination or the job database's) is full.
    pub no_space: bool,
    pub interrupted: bool,
}

/// Work the queue of the database at `db` (the caller holds the runner lock).
pub fn run_queue(
    db: &Path,
    cfg: &Config,
    ctl: &Control,
    reporter: &dyn Reporter,
) -> Result<Summary> {
    let mut store = Store::open(db)?;
    let max = cfg.max_active_jobs.max(1) as usize;
    let (tx, rx) = channel::<(i64, Outcome)>();
    let mut summary = Summary::default();
    let mut active = 0usize;
    // A store that cannot be written stops the claiming; running jobs still end normally.
    let mut store_failure = None;
    std::thread::scope(|scope| {
        loop {
            let stopping = ctl.interrupt.load(Ordering::Relaxed)
                || summary.interrupted
                || store_failure.is_some();
            while !stopping && active < max {
                let job = match store.claim_next() {
                    Ok(Some(job)) => job,
                    Ok(None) => break,
                    Err(e) => {
                        store_failure = Some(e);
                        break;
                    }
                };
                active += 1;
                summary.ran += 1;
                let tx = tx.clone();
                scope.spawn(move || {
                    let outcome = match Store::open(db) {
                        Ok(mut st) => {
                            let mut obs = reporter.observer(job.id);
                            run_job(&mut st, job.id, cfg, ctl, obs.as_mut())
                        }
                        Err(e) => Outcome::Failed(crate::jobs::store_error(e)),
                    };
                    let _ = tx.send((job.id, outcome));
                });
            }
            if active == 0 {
                return;
            }
            // Wake up now and then: jobs queued meanwhile (`ddm add`) start without waiting
            // for a running job to end.
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok((id, outcome)) => {
                    active -= 1;
                    match &outcome {
                        Outcome::Done { .. } => summary.done += 1,
                        Outcome::Failed(e) => {
                            summary.failed += 1;
                            summary.no_space |= e.kind == crate::model::ErrorKind::NoSpace;
                        }
                        Outcome::Interrupted => summary.interrupted = true,
                        Outcome::Paused | Outcome::Removed => {}
                    }
                    reporter.finished(id, &outcome);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    });
    if let Some(e) = store_failure {
        return Err(e);
    }
    summary.interrupted |= ctl.interrupt.load(Ordering::Relaxed);
    Ok(summary)
}

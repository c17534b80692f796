//! The long-lived runner behind `ddm serve`: the runner (`runner::run_queue`, which stays up
//! when the queue is empty), an in-memory view of the jobs that fronts read (`table.rs`),
//! and what the commands need (`commands.rs` implements [`Jobs`] on it: they are recorded in
//! the store like the CLI's and handed to running jobs at once, `Control::nudge`). Other processes keep working beside it: `ddm add`,
//! `pause`, `status` see and change the same store, and the view follows within half a
//! second.

use super::places::Places;
use super::table::Table;
use super::track::Tracks;
use super::watch::Tee;
use super::{Globals, Notice, ServiceError};
use crate::config::Config;
use crate::engine::Control;
use crate::runner::{run_queue, Reporter, Scope, Summary};
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How often the view is read again from the store (for what other processes changed).
const REFRESH: Duration = Duration::from_millis(500);
/// How long a pause or remove waits for the runner to stop the job (a checkpoint, then the
/// end of its run) before it answers anyway.
const STOP_WAIT: Duration = Duration::from_secs(3);

pub struct Service {
    pub(super) db: PathBuf,
    pub(super) cfg: Config,
    pub(super) ctl: Control,
    pub(super) places: Places,
    pub(super) table: RwLock<Table>,
    /// Speed histories and logs of happenings (`track.rs`).
    pub(super) tracks: Mutex<Tracks>,
    /// The service's own store connection, for commands and refreshes.
    pub(super) store: Mutex<Store>,
    pub(super) subscribers: Mutex<Vec<Sender<Notice>>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) max_active: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

pub(super) fn failed(e: StoreError) -> ServiceError {
    let je = crate::jobs::store_error(e);
    ServiceError::Failed {
        kind: je.kind,
        message: je.message,
    }
}

pub(super) fn store_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::NotFound(id) => ServiceError::NotFound(id),
        StoreError::NotQueued(id) => ServiceError::State(format!(
            "job {id} is not in the queue (only queued or paused jobs move)"
        )),
        e => failed(e),
    }
}

impl Service {
    pub fn new(
        db: &Path,
        cfg: Config,
        ctl: Control,
        places: Places,
    ) -> Result<Arc<Service>, StoreError> {
        let store = Store::open(db)?;
        let max_active = Arc::new(AtomicUsize::new(cfg.max_active_jobs as usize));
        let svc = Arc::new(Service {
            db: db.to_path_buf(),
            cfg,
            ctl,
            places,
            table: RwLock::new(Table::default()),
            tracks: Mutex::default(),
            store: Mutex::new(store),
            subscribers: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
            max_active,
        });
        svc.refresh();
        Ok(svc)
    }

    /// Work the queue until [`Jobs::shutdown`] (or Ctrl-C through the control's interrupt);
    /// `shown` reports jobs to the console too.
    pub fn run(&self, shown: &dyn Reporter) -> crate::store::Result<Summary> {
        let reporter = Tee { svc: self, shown };
        std::thread::scope(|s| {
            s.spawn(|| {
                while !self.stopping() {
                    std::thread::sleep(REFRESH);
                    self.refresh();
                    self.sample();
                }
            });
            let scope = Scope::Service {
                stop: self.stop.clone(),
                max_active: self.max_active.clone(),
            };
            let out = run_queue(&self.db, &self.cfg, &self.ctl, &reporter, scope);
            self.stop.store(true, Ordering::Relaxed);
            out
        })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.ctl.interrupt.load(Ordering::Relaxed)
    }

    /// A point of the runner's speed history; tracks of jobs no longer listed dropped.
    fn sample(&self) {
        let (speed, listed) = {
            let t = self.table.read().unwrap_or_else(|e| e.into_inner());
            let mut g = Globals::default();
            t.counts(&mut g);
            (g.speed, t.ids())
        };
        let mut tracks = self.tracks.lock().unwrap_or_else(|e| e.into_inner());
        tracks.runner_speed(speed, super::watch::now_ms());
        tracks.retain(|id| listed.contains(&id));
    }

    /// Tell every subscriber.
    pub(super) fn tell(&self, notices: &[Notice]) {
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|tx| notices.iter().all(|n| tx.send(*n).is_ok()));
    }

    /// Read the store again; send the notices of what changed.
    pub fn refresh(&self) {
        let read = {
            let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            store.list().and_then(|j| Ok((j, store.queue_order()?)))
        };
        let (jobs, order) = match read {
            Ok(r) => r,
            Err(e) => {
                // A busy or failing store never fails a front's call: the view stays as it was.
                tracing::warn!("service: cannot read the job store: {e}");
                return;
            }
        };
        let notices = self
            .table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .refresh(jobs, order);
        if !notices.is_empty() {
            self.tell(&notices);
        }
    }

    /// A command changed the store: running jobs look at once, the view follows.
    pub(super) fn changed(&self) {
        self.ctl.nudge();
        self.refresh();
    }

    /// Wait (a little) until the runner has stopped these jobs, so that what a front reads
    /// after a pause or a remove no longer moves.
    pub(super) fn until_stopped(&self, ids: &[i64]) {
        let deadline = std::time::Instant::now() + STOP_WAIT;
        while std::time::Instant::now() < deadline {
            let live = {
                let t = self.table.read().unwrap_or_else(|e| e.into_inner());
                ids.iter().any(|&id| t.is_live(id))
            };
            if !live {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.refresh();
    }

    pub(super) fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, ServiceError> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut store).map_err(store_err)
    }

    pub(super) fn job_of(&self, id: i64) -> Result<crate::store::Job, ServiceError> {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or(ServiceError::NotFound(id))
    }
}

//! Hooks: commands from `[hooks]` in config.toml (`on_start`, `on_complete`, `on_error`,
//! `on_queue_empty`) run for every verb that downloads (`get`, `run`, `serve`: they all go
//! through `runner::run_queue`, which wraps its reporter in [`Hooked`]).
//!
//! Invariants:
//! - Off the download path. A job's thread and the runner only put a message on a channel;
//!   one dispatcher thread reads the job from the store and starts the command, a watcher
//!   thread per command waits for it (`exec.rs`). Nothing a hook does delays a job or a claim.
//! - Bounded. Every command is killed (its process group) at `timeout_secs`; a runner that
//!   ends waits for the hooks still running, so at most that long, and kills them at once when
//!   it was interrupted (Ctrl-C, `aria2.shutdown`): no hook outlives its limit unwatched.
//! - Never fatal, never secret. A command that cannot start or fails is a log line; the
//!   description (`describe.rs`) carries no password, header, cookie or credential.
//! - Config only: nothing else (flag, job setting, RPC option) names a command.

mod config;
mod describe;
mod exec;
mod report;

pub use config::{Command, Hook, HooksConfig, MAX_TIMEOUT_SECS};
pub use describe::{gid, Counts, Facts};
pub(crate) use report::Hooked;

use crate::store::Store;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

enum Fire {
    Job { hook: Hook, id: i64, facts: Facts },
    QueueEmpty(Counts, SystemTime),
}

/// A runner's hooks: started with the runner, finished when it ends.
pub struct Hooks {
    cfg: HooksConfig,
    tx: Mutex<Option<Sender<Fire>>>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    live: Arc<exec::Live>,
}

impl Hooks {
    /// Hooks for a runner of the job database `db`; `runner` is the verb (`get`, `run`,
    /// `serve`) the descriptions name. No thread starts when no hook is set.
    pub fn start(cfg: &HooksConfig, db: &Path, runner: &'static str) -> Hooks {
        let live = Arc::new(exec::Live::default());
        let mut hooks = Hooks {
            cfg: cfg.clone(),
            tx: Mutex::new(None),
            dispatcher: Mutex::new(None),
            live: live.clone(),
        };
        if !cfg.any() {
            return hooks;
        }
        let (tx, rx) = channel::<Fire>();
        let cfg = cfg.clone();
        let db = db.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("ddm-hooks".into())
            .spawn(move || dispatch(rx.into_iter(), &cfg, &db, runner, &live));
        match spawned {
            Ok(h) => {
                hooks.tx = Mutex::new(Some(tx));
                hooks.dispatcher = Mutex::new(Some(h));
            }
            Err(e) => tracing::warn!("hooks: cannot start their thread ({e}): none will run"),
        }
        hooks
    }

    fn send(&self, hook: Hook, msg: Fire) {
        if self.cfg.command(hook).is_none() {
            return;
        }
        if let Some(tx) = &*self.tx.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = tx.send(msg);
        }
    }

    /// Run `hook` for job `id` (returns at once).
    pub fn fire(&self, hook: Hook, id: i64, facts: Facts) {
        self.send(hook, Fire::Job { hook, id, facts });
    }

    /// Run `on_queue_empty` (returns at once).
    pub fn queue_empty(&self, counts: Counts) {
        self.send(
            Hook::QueueEmpty,
            Fire::QueueEmpty(counts, SystemTime::now()),
        );
    }

    /// The runner ends: no more hooks; wait for those running (each ends or is killed at its
    /// limit), or kill them at once once `interrupt` is set. `say` tells the user when the
    /// wait lasts.
    pub fn finish(&self, interrupt: &AtomicBool, say: &dyn Fn(&str)) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let dispatcher = self
            .dispatcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(dispatcher) = dispatcher else {
            return;
        };
        let _ = dispatcher.join();
        let limit = Duration::from_secs(self.cfg.timeout_secs) + exec::STOP_GRACE;
        let begin = Instant::now();
        let mut said = false;
        loop {
            if interrupt.load(Ordering::Relaxed) || begin.elapsed() > limit {
                self.live.kill.store(true, Ordering::Relaxed);
            }
            let left = self.live.wait(Duration::from_millis(100));
            if left == 0 || begin.elapsed() > limit + exec::STOP_GRACE {
                return;
            }
            if !said && begin.elapsed() >= Duration::from_secs(1) {
                said = true;
                say(&format!(
                    "waiting for {left} hook{} to end (killed {} s after it started: [hooks] \
                     timeout_secs; Ctrl-C kills {} now)",
                    if left == 1 { "" } else { "s" },
                    self.cfg.timeout_secs,
                    if left == 1 { "it" } else { "them" },
                ));
            }
        }
    }
}

/// The dispatcher: each event read out (the job from the store), its command started.
fn dispatch(
    rx: impl Iterator<Item = Fire>,
    cfg: &HooksConfig,
    db: &Path,
    runner: &'static str,
    live: &Arc<exec::Live>,
) {
    let timeout = Duration::from_secs(cfg.timeout_secs);
    let mut store: Option<Store> = None;
    for msg in rx {
        let (hook, what, description) = match msg {
            Fire::Job { hook, id, facts } => {
                if store.is_none() {
                    store = Store::open(db)
                        .map_err(|e| tracing::warn!("hooks: cannot read the job store: {e}"))
                        .ok();
                }
                let job = store.as_ref().and_then(|s| s.get(id).ok());
                let d = describe::job(hook, runner, id, job.as_ref(), &facts);
                (hook, format!("{} (job {id})", hook.key()), d)
            }
            Fire::QueueEmpty(counts, at) => (
                Hook::QueueEmpty,
                format!("{} ({runner})", Hook::QueueEmpty.key()),
                describe::queue_empty(runner, &counts, at),
            ),
        };
        if let Some(argv) = cfg.command(hook) {
            exec::start(live, what, argv, description, timeout);
        }
    }
}

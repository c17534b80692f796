//! `ddm.onUpdate`: the page's live feed, batched. One thread reads the service's notices
//! (`Changed`, `Progress` about five a second per running job, `Happened`, and the state
//! notices) and, every [`EVERY`] at most, builds one [`Batch`] of what changed: the jobs
//! (as the queue shows them; a removed or forgotten one as gone), the open connections of
//! each job that made progress, the new happenings of each job, and the runner. Each
//! WebSocket session that asked (`ddm.subscribe`) turns a batch into one message: every job
//! in it, and the lanes and happenings of the one job the page has open. So a page gets at
//! most five messages a second however many jobs and connections there are; while no
//! session listens, batches are not built.

use crate::gid::Gids;
use crate::shape;
use ddm_core::service::{Jobs, Notice};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// The least time between two batches.
pub(crate) const EVERY: Duration = Duration::from_millis(200);

/// What changed since the last batch.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Jobs that changed, as the queue shows them.
    pub jobs: Vec<Value>,
    /// GIDs of jobs no longer listed.
    pub gone: Vec<String>,
    /// Per job id: its lanes and completion map.
    pub connections: HashMap<i64, Value>,
    /// Per job id: its new happenings.
    pub events: HashMap<i64, Vec<Value>>,
    pub runner: Value,
}

impl Batch {
    /// The `ddm.onUpdate` message for a session that has `open` open.
    pub(crate) fn message(&self, open: Option<i64>) -> String {
        let mut update = json!({
            "jobs": self.jobs,
            "gone": self.gone,
            "runner": self.runner,
        });
        if let Some(id) = open {
            if let Some(c) = self.connections.get(&id) {
                update["connections"] = c.clone();
            }
            if let Some(e) = self.events.get(&id) {
                update["events"] = json!(e);
                update["eventsOf"] = json!(id);
            }
        }
        json!({"jsonrpc": "2.0", "method": "ddm.onUpdate", "params": [update]}).to_string()
    }
}

#[derive(Default)]
struct Dirty {
    jobs: BTreeSet<i64>,
    progress: BTreeSet<i64>,
    happened: BTreeSet<i64>,
}

/// Start the thread; it stops within [`EVERY`] of `stop`.
pub(crate) fn pump(
    jobs: Arc<dyn Jobs>,
    gids: Arc<Gids>,
    to: broadcast::Sender<Arc<Batch>>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let from = jobs.subscribe();
    std::thread::Builder::new()
        .name("rpc-updates".into())
        .spawn(move || {
            let mut dirty = Dirty::default();
            let mut seen: HashMap<i64, u64> = HashMap::new();
            let mut next = Instant::now() + EVERY;
            while !stop.load(Ordering::Relaxed) {
                match from.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Ok(n) => {
                        match n {
                            Notice::Progress(id) => {
                                dirty.progress.insert(id);
                                dirty.jobs.insert(id)
                            }
                            Notice::Happened(id) => dirty.happened.insert(id),
                            Notice::Started(id)
                            | Notice::Paused(id)
                            | Notice::Stopped(id)
                            | Notice::Complete(id)
                            | Notice::Error(id)
                            | Notice::Changed(id) => dirty.jobs.insert(id),
                        };
                        if Instant::now() < next {
                            continue;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                next = Instant::now() + EVERY;
                let d = std::mem::take(&mut dirty);
                if to.receiver_count() == 0 || d.jobs.len() + d.happened.len() == 0 {
                    continue;
                }
                let _ = to.send(Arc::new(build(jobs.as_ref(), &gids, d, &mut seen)));
            }
        })
}

fn build(jobs: &dyn Jobs, gids: &Gids, d: Dirty, seen: &mut HashMap<i64, u64>) -> Batch {
    let mut b = Batch::default();
    for id in d.jobs {
        match jobs.job(id) {
            Some(v) => {
                b.jobs.push(shape::job(&v, gids));
                if d.progress.contains(&id) {
                    b.connections.insert(id, shape::connections(&v, gids));
                }
            }
            None => {
                b.gone.push(gids.shown(id));
                seen.remove(&id);
            }
        }
    }
    for id in d.happened {
        let Some(t) = jobs.track(id) else { continue };
        let last = seen.get(&id).copied().unwrap_or(0);
        let new: Vec<Value> = t
            .events
            .iter()
            .filter(|e| e.seq > last)
            .map(shape::event)
            .collect();
        if let Some(e) = t.events.last() {
            seen.insert(id, e.seq);
        }
        if !new.is_empty() {
            b.events.insert(id, new);
        }
    }
    b.runner = shape::runner(&jobs.runner(), &jobs.globals(), false);
    b
}

//! The worker pool of one runner (or one `ddm get`): idle workers keep their curl handle and
//! with it their open connections, so a job's next range, and the next job on the same host,
//! reuse a connection instead of opening one (no new TCP or TLS handshake).
//!
//! A coordinator checks a worker out for its job (preferring one whose last request went to
//! the same origin) and checks it back in when the job no longer needs it.

use super::WorkerHandle;
use crate::model::Origin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Idle workers kept at most; more are closed (with their connections).
const MAX_IDLE: usize = 64;
/// An idle connection older than this is probably closed by the server already.
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);

struct Idle {
    worker: WorkerHandle,
    origin: Option<Origin>,
    since: Instant,
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<Idle>>,
    next_id: AtomicUsize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.idle.lock().map(|v| v.len()).unwrap_or(0))
            .finish()
    }
}

impl Pool {
    /// A worker for a request to `origin`: an idle one that talked to it last (its connection
    /// may still be open), else any idle one, else a new one.
    pub fn checkout(&self, origin: Option<&Origin>) -> WorkerHandle {
        let mut stale = Vec::new();
        let found = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let (old, keep): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|i| i.since.elapsed() > MAX_IDLE_AGE);
            *idle = keep;
            stale.extend(old.into_iter().map(|i| i.worker));
            let same = idle.iter().rposition(|i| i.origin.as_ref() == origin);
            let at = same.or(idle.len().checked_sub(1));
            at.map(|i| idle.remove(i).worker)
        };
        for w in stale {
            w.finish();
        }
        found.unwrap_or_else(|| WorkerHandle::spawn(self.next_id.fetch_add(1, Ordering::Relaxed)))
    }

    /// Return a worker whose last request went to `origin`.
    pub fn checkin(&self, worker: WorkerHandle, origin: Option<Origin>) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.push(Idle {
            worker,
            origin,
            since: Instant::now(),
        });
        if idle.len() > MAX_IDLE {
            let oldest = idle.remove(0);
            drop(idle);
            oldest.worker.finish();
        }
    }

    /// Idle workers now.
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for i in idle {
            i.worker.finish();
        }
    }
}

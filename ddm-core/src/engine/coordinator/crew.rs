//! The crew: a job's workers and what the coordinator knows of each (its speed, the source
//! its request went to, the budget unit that request holds), which are idle or resting, and
//! the units of ended requests held until the idle workers are back in the runner's pool.
//! Worker numbers ([`WorkerId`]) index it.

use crate::budget::Permit;
use crate::model::Origin;
use crate::transfer::{Pool, Task, WorkerHandle, WorkerId};
use std::time::Instant;

pub(super) struct Crew {
    pub(super) workers: Vec<Option<WorkerHandle>>,
    pub(super) idle: Vec<usize>,
    /// Average speed of each worker's last attempt that moved data (bytes/s; 0 = unknown).
    pub(super) worker_speed: Vec<f64>,
    /// The source each worker's current or last attempt went to.
    pub(super) worker_source: Vec<usize>,
    /// The unit of the budget each worker's request under way holds.
    pub(super) units: Vec<Option<Permit>>,
    /// Workers whose last response we cut short, resting until the server has let go of it;
    /// each keeps its unit of the budget meanwhile (the server still counts the connection).
    pub(super) cooling: Vec<(usize, Instant)>,
    /// Connection units (by source) of requests that ended, held until the job's idle
    /// connections are back in the runner's pool; dropped then.
    pub(super) held: Vec<(usize, Permit)>,
    /// Workers with a request under way.
    pub(super) busy: usize,
}

impl Crew {
    /// The crew at the start: the first answer's worker, if it goes on, working source 0.
    pub(super) fn new(
        workers: Vec<Option<WorkerHandle>>,
        units: Vec<Option<Permit>>,
        busy: usize,
    ) -> Crew {
        Crew {
            worker_speed: vec![0.0; workers.len()],
            worker_source: vec![0; workers.len()],
            workers,
            idle: Vec::new(),
            units,
            cooling: Vec::new(),
            held: Vec::new(),
            busy,
        }
    }

    /// Resting workers whose time has come are idle again.
    pub(super) fn wake(&mut self, now: Instant) {
        let (ready, resting): (Vec<_>, Vec<_>) =
            self.cooling.drain(..).partition(|(_, until)| *until <= now);
        self.cooling = resting;
        for (w, _) in ready {
            self.hold(w, self.worker_source[w]);
            self.idle.push(w);
        }
    }

    /// A worker for the next request: one of the job's own idle ones, else one from the
    /// runner's pool (its connection may be open), else a new one.
    pub(super) fn checkout(&mut self, pool: &Pool, origin: Option<&Origin>) -> usize {
        if let Some(w) = self.idle.pop() {
            return w;
        }
        let id = self.workers.len();
        self.worker_speed.push(0.0);
        self.worker_source.push(0);
        self.units.push(None);
        self.workers.push(Some(pool.checkout(origin)));
        id
    }

    /// The source worker `w`'s current or last request went to (0, the job's URL, if none).
    pub(super) fn source_of(&self, w: WorkerId) -> usize {
        self.worker_source.get(w.index()).copied().unwrap_or(0)
    }

    /// Worker `w` starts `task` on source `src`, holding `permit`.
    pub(super) fn start(&mut self, w: usize, src: usize, permit: Permit, task: Task) {
        self.busy += 1;
        self.worker_source[w] = src;
        self.units[w] = Some(permit);
        if let Some(h) = &self.workers[w] {
            h.give(task);
        }
    }

    /// Worker `w`'s request on `src` ended: its unit is held until the idle workers are
    /// back in the pool ([`Crew::release_units`]).
    pub(super) fn hold(&mut self, w: usize, src: usize) {
        if self.cooling.iter().any(|(c, _)| *c == w) {
            return; // it keeps its unit while it rests (see `wake`)
        }
        if let Some(p) = self.units.get_mut(w).and_then(Option::take) {
            self.held.push((src, p));
        }
    }

    /// A held unit for `src`, if there is one.
    pub(super) fn take_held(&mut self, src: usize) -> Option<Permit> {
        let k = self.held.iter().position(|(h, _)| *h == src)?;
        Some(self.held.swap_remove(k).1)
    }

    /// Units held for `src`.
    pub(super) fn held_for(&self, src: usize) -> usize {
        self.held.iter().filter(|(h, _)| *h == src).count()
    }

    /// Give the held units back to the budget (each permit gives its unit back as it drops).
    pub(super) fn release_units(&mut self) {
        self.held.clear();
    }

    /// Hand the idle workers to the runner's pool, keeping at most `room` of them open when
    /// the server refused connections (`throttled`): the others are closed.
    pub(super) fn release_idle(
        &mut self,
        pool: &Pool,
        origin: Option<&Origin>,
        throttled: bool,
        mut room: usize,
    ) {
        for w in std::mem::take(&mut self.idle) {
            let Some(h) = self.workers.get_mut(w).and_then(Option::take) else {
                continue;
            };
            if throttled && room == 0 {
                h.finish(); // its handle, and so its connection, is dropped
            } else {
                room = room.saturating_sub(1);
                pool.checkin(h, origin.cloned());
            }
        }
    }

    /// The job is over: every worker goes back to the pool (or, when some never reported,
    /// is finished: its handle may be mid-transfer).
    pub(super) fn disband(&mut self, pool: &Pool, origin: Option<&Origin>) {
        self.cooling.clear();
        for w in self.workers.iter_mut().filter_map(Option::take) {
            if self.busy == 0 {
                pool.checkin(w, origin.cloned());
            } else {
                w.finish();
            }
        }
    }

    /// The id of worker number `w`.
    pub(super) fn id(w: usize) -> WorkerId {
        WorkerId(w)
    }
}

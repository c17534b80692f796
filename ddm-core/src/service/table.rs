//! The service's in-memory view of the jobs: the store's records (refreshed from the store,
//! which stays the durable truth, so jobs added or paused from another terminal appear),
//! what the runner knows live of the jobs it works, and removed jobs kept listed until
//! purged. Notices come from one place: the difference between two refreshes, whatever
//! caused it (a front, another terminal, the network).

use super::{Globals, JobView, Live, Notice};
use crate::store::{Job, StateKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Debug, Default)]
pub(super) struct Table {
    jobs: BTreeMap<i64, Arc<Job>>,
    live: HashMap<i64, Live>,
    /// Removed jobs, as they were last seen.
    removed: BTreeMap<i64, Arc<Job>>,
    /// The queue (queued, paused, waiting jobs) in claim order.
    order: Vec<i64>,
    /// Each queued job's place in `order` (a view looks its place up, never searches).
    place: HashMap<i64, usize>,
    /// Jobs that ended (done, failed, removed) since the service started.
    pub stopped_total: usize,
    loaded: bool,
}

/// A job's state as fronts see it (`waiting` also while its runner holds it).
fn shown(j: &Job) -> StateKind {
    j.shown()
}

impl Table {
    /// Take in the store's jobs and queue order; the notices of what changed since the last
    /// refresh (none on the first).
    pub fn refresh(&mut self, jobs: Vec<Job>, order: Vec<i64>) -> Vec<Notice> {
        let mut notices = Vec::new();
        // A record the store did not change stays the same `Arc`: fronts may keep what they
        // wrote from it (`ddm-rpc`'s list answers) as long as it is.
        let new: BTreeMap<i64, Arc<Job>> = jobs
            .into_iter()
            .map(|j| match self.jobs.get(&j.id) {
                Some(old) if **old == j => (j.id, old.clone()),
                _ => (j.id, Arc::new(j)),
            })
            .collect();
        if self.loaded {
            for (id, j) in &new {
                let moved =
                    self.order.iter().position(|q| q == id) != order.iter().position(|q| q == id);
                // A record the store did not change is the same `Arc`.
                if moved || !self.jobs.get(id).is_some_and(|old| Arc::ptr_eq(old, j)) {
                    notices.push(Notice::Changed(*id));
                }
                let before = self.jobs.get(id).map(|j| shown(j));
                let now = shown(j);
                if before == Some(now) {
                    continue;
                }
                let n = match now {
                    StateKind::Running => Some(Notice::Started(*id)),
                    StateKind::Paused | StateKind::Waiting => Some(Notice::Paused(*id)),
                    StateKind::Done => Some(Notice::Complete(*id)),
                    StateKind::Failed => Some(Notice::Error(*id)),
                    StateKind::Queued => None,
                };
                if matches!(now, StateKind::Done | StateKind::Failed) {
                    self.stopped_total += 1;
                }
                notices.extend(n);
            }
            for (id, j) in &self.jobs {
                if !new.contains_key(id) {
                    notices.push(Notice::Stopped(*id));
                    self.stopped_total += 1;
                    self.removed.insert(*id, j.clone());
                }
            }
        }
        self.jobs = new;
        self.place = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        self.order = order;
        self.loaded = true;
        notices
    }

    pub fn set_live(&mut self, id: i64, live: Live) {
        self.live.insert(id, live);
    }

    pub fn end_live(&mut self, id: i64) {
        self.live.remove(&id);
    }

    /// The runner still works the job (it has not reported its end).
    pub fn is_live(&self, id: i64) -> bool {
        self.live.contains_key(&id)
    }

    /// Forget a removed job, or a finished or failed one (true when it was listed so).
    pub fn forget(&mut self, id: i64) -> bool {
        self.removed.remove(&id).is_some()
    }

    /// Every job listed (in the store or removed and kept).
    pub fn ids(&self) -> std::collections::HashSet<i64> {
        self.jobs
            .keys()
            .chain(self.removed.keys())
            .copied()
            .collect()
    }

    pub fn get(&self, id: i64) -> Option<&Job> {
        self.jobs.get(&id).map(|j| &**j)
    }

    /// Ids of the finished and failed jobs in the store.
    pub fn ended(&self) -> Vec<i64> {
        self.jobs
            .values()
            .filter(|j| matches!(shown(j), StateKind::Done | StateKind::Failed))
            .map(|j| j.id)
            .collect()
    }

    pub fn purge_removed(&mut self) {
        self.removed.clear();
    }

    fn view(&self, j: &Arc<Job>, removed: bool) -> JobView {
        JobView {
            position: self.place.get(&j.id).copied().unwrap_or(0),
            live: self.live.get(&j.id).cloned(),
            removed,
            job: j.clone(),
        }
    }

    pub fn view_of(&self, id: i64) -> Option<JobView> {
        match (self.jobs.get(&id), self.removed.get(&id)) {
            (Some(j), _) => Some(self.view(j, false)),
            (None, Some(j)) => Some(self.view(j, true)),
            _ => None,
        }
    }

    /// Every job: running ones, then the queue in claim order, then finished and failed
    /// ones, then removed ones.
    pub fn views(&self) -> Vec<JobView> {
        let running = self
            .jobs
            .values()
            .filter(|j| shown(j) == StateKind::Running);
        let queue = self.order.iter().filter_map(|id| self.jobs.get(id));
        let ended = self
            .jobs
            .values()
            .filter(|j| !self.place.contains_key(&j.id) && shown(j) != StateKind::Running);
        running
            .chain(queue)
            .chain(ended)
            .map(|j| self.view(j, false))
            .chain(self.removed.values().map(|j| self.view(j, true)))
            .collect()
    }

    /// The counts and speed of [`Globals`] (the caller fills in the rest).
    pub fn counts(&self, g: &mut Globals) {
        g.speed = self.live.values().map(|l| l.speed).sum();
        g.active = self
            .jobs
            .values()
            .filter(|j| shown(j) == StateKind::Running)
            .count();
        g.waiting = self.order.len();
        g.stopped = self.ended().len() + self.removed.len();
        g.stopped_total = self.stopped_total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobSettings, JobState, NewJob, Store};

    #[test]
    fn notices_come_from_what_changed() {
        let mut s = Store::open_in_memory().unwrap();
        let new = |u: &str| NewJob {
            url: u.into(),
            dest_dir: "/tmp".into(),
            file_name: None,
            settings: JobSettings::default(),
            queue: Default::default(),
        };
        let ids = s.add_many(&[new("http://h/a"), new("http://h/b")]).unwrap();
        let mut t = Table::default();
        assert!(t
            .refresh(s.list().unwrap(), s.queue_order().unwrap())
            .is_empty());
        s.claim_next().unwrap();
        s.pause(&[ids[1]]).unwrap();
        let n = t.refresh(s.list().unwrap(), s.queue_order().unwrap());
        let states = |n: Vec<Notice>| -> Vec<Notice> {
            n.into_iter()
                .filter(|n| !matches!(n, Notice::Changed(_)))
                .collect()
        };
        assert!(n.contains(&Notice::Changed(ids[0])) && n.contains(&Notice::Changed(ids[1])));
        assert_eq!(
            states(n),
            vec![Notice::Started(ids[0]), Notice::Paused(ids[1])]
        );
        s.end_run(ids[0], &JobState::Done).unwrap();
        s.remove(ids[1]).unwrap();
        let n = t.refresh(s.list().unwrap(), s.queue_order().unwrap());
        assert_eq!(
            states(n),
            vec![Notice::Complete(ids[0]), Notice::Stopped(ids[1])]
        );
        // The removed job stays listed until forgotten.
        let v = t.views();
        assert_eq!(v.len(), 2);
        assert!(v[1].removed && v[1].job.id == ids[1]);
        let mut g = Globals::default();
        t.counts(&mut g);
        assert_eq!(
            (g.active, g.waiting, g.stopped, g.stopped_total),
            (0, 0, 2, 2)
        );
        assert!(t.forget(ids[1]));
        assert_eq!(t.views().len(), 1);
    }
}

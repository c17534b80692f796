//! Where a running transfer's durable state goes, behind a trait so the coordinator does not
//! know the store: checkpoints (the bitmap, once the data under it is fdatasync'ed), a moved
//! download URL, that the job waits for a fresh link, and what the outside world asks (pause,
//! remove, rate limits, a new link). `ddm get` and `ddm run` record into the job store;
//! `ddm bench` records nothing.

use super::coordinator::Stop;
use super::Control;
use crate::jobs::store_error;
use crate::model::JobError;
use crate::store::{JobState, Link, Store};
use std::sync::atomic::Ordering;

/// What the world outside asks of a running job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asked {
    pub stop: Option<Stop>,
    /// The job's rate limit now (`ddm limit ID`), when known.
    pub job_rate: Option<Option<u64>>,
    /// The global rate limit now (`ddm limit --global`, else the config), when known.
    pub global_rate: Option<Option<u64>>,
    /// A new link the job was given since the last look (`set-url`, `get`/`add`).
    pub link: Option<Link>,
}

pub trait Checkpointer {
    /// Commit durable progress: the bitmap, the bytes it claims, the current speed and open
    /// connections.
    fn save(
        &mut self,
        bitmap: &[u8],
        partial: &[std::ops::Range<u64>],
        done: u64,
        speed: Option<u64>,
        conns: Option<u32>,
    ) -> Result<(), JobError>;
    /// The download URL moved (a signed link resolved again).
    fn moved(&mut self, final_url: &str);
    /// The job waits for a fresh link (`Some(why)`), or no longer does.
    fn waiting(&mut self, why: Option<&str>);
    /// Pause, remove, Ctrl-C and rate limits.
    fn asked(&mut self, ctl: &Control) -> Asked;
}

/// Records nothing, and only Ctrl-C stops (`ddm bench`).
#[derive(Debug, Default)]
pub struct NoRecord;

impl Checkpointer for NoRecord {
    fn save(
        &mut self,
        _: &[u8],
        _: &[std::ops::Range<u64>],
        _: u64,
        _: Option<u64>,
        _: Option<u32>,
    ) -> Result<(), JobError> {
        Ok(())
    }
    fn moved(&mut self, _: &str) {}
    fn waiting(&mut self, _: Option<&str>) {}
    fn asked(&mut self, ctl: &Control) -> Asked {
        Asked {
            stop: ctl
                .interrupt
                .load(Ordering::Relaxed)
                .then_some(Stop::Interrupted),
            ..Asked::default()
        }
    }
}

/// A job in the store.
#[derive(Debug)]
pub struct JobRecord<'a> {
    pub store: &'a mut Store,
    pub job: i64,
    /// `max_rate` from the config, for when `ddm limit --global` set nothing.
    pub max_rate: Option<u64>,
    /// The job's `link_gen` as last seen: a new link moves it.
    pub link_gen: i64,
}

/// Must the job stop: Ctrl-C, or a pause or remove recorded in the store (by another
/// terminal)?
pub fn poll_stop(store: Option<&Store>, job: i64, ctl: &Control) -> Option<Stop> {
    polled(store, job, ctl).0
}

/// [`poll_stop`], with the state it read (None when it read none: Ctrl-C, no store, or a
/// store error).
fn polled(store: Option<&Store>, job: i64, ctl: &Control) -> (Option<Stop>, Option<JobState>) {
    if ctl.interrupt.load(Ordering::Relaxed) {
        return (Some(Stop::Interrupted), None);
    }
    let Some(store) = store else {
        return (None, None);
    };
    let st = store.state(job);
    tracing::trace!(job, ?st, "control");
    match st {
        Ok(Some(JobState::Paused)) => (Some(Stop::Paused), Some(JobState::Paused)),
        Ok(None) => (Some(Stop::Removed), None),
        Ok(Some(st)) => (None, Some(st)),
        Err(e) => {
            tracing::warn!("cannot read job state: {e}");
            (None, None)
        }
    }
}

impl Checkpointer for JobRecord<'_> {
    fn save(
        &mut self,
        bitmap: &[u8],
        partial: &[std::ops::Range<u64>],
        done: u64,
        speed: Option<u64>,
        conns: Option<u32>,
    ) -> Result<(), JobError> {
        self.store
            .checkpoint(self.job, bitmap, partial, done, speed, conns)
            .map_err(store_error)
    }
    fn moved(&mut self, final_url: &str) {
        let _ = self.store.set_final_url(self.job, final_url);
    }
    fn waiting(&mut self, why: Option<&str>) {
        if let Err(e) = self.store.set_waiting(self.job, why) {
            tracing::warn!("cannot record that job {} waits for a link: {e}", self.job);
        }
    }
    fn asked(&mut self, ctl: &Control) -> Asked {
        let link = match self.store.new_link(self.job, self.link_gen) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cannot read job {}'s link: {e}", self.job);
                None
            }
        };
        if let Some(l) = &link {
            self.link_gen = l.gen;
        }
        let (stop, state) = polled(Some(self.store), self.job, ctl);
        // Paused and resumed before this run noticed the pause: the job is queued again
        // while this run goes on. It is this run's again (the runner claims no job whose run
        // has not ended), and `status` says so.
        if let Some(JobState::Queued) = state {
            if let Err(e) = self.store.take_back(self.job) {
                tracing::warn!("cannot mark job {} running again: {e}", self.job);
            }
        }
        Asked {
            link,
            stop,
            job_rate: self.store.job_rate(self.job).ok(),
            global_rate: self
                .store
                .global_rate()
                .ok()
                .map(|g| g.unwrap_or(self.max_rate)),
        }
    }
}

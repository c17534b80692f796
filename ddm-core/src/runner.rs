//! The job runner behind `ddm run` and `ddm get`: claims queued jobs (oldest first) and works
//! them at once, each on its own thread with its own store connection, all sharing the
//! connection budget, the worker pool (open connections go from one job to the next) and the
//! global rate limit. How many run at once comes from the budget: a new job starts while a
//! connection is free (counting the jobs still opening their first one), so a queue of small
//! files runs many at a time and a few large ones share the budget; `max_active_jobs` can cap
//! it. `ddm run` works the whole queue; `ddm get` works its own job and the jobs queued while
//! it holds the data directory (so a job `ddm add`ed meanwhile is never left waiting for a
//! runner that will not come). It returns when no such job is left and none is running (a job
//! waiting for a fresh link is still its runner's, up to `link_wait_secs`), or after Ctrl-C
//! once every running job has checkpointed. The config's hooks (`hooks`) run for every job it
//! works and when its queue empties, whichever verb runs it, off its threads.

use crate::budget::Ticket;
use crate::config::Config;
use crate::engine::{run_job, Control, Event, Observer, Outcome};
use crate::hooks::{Counts, Hooked, Hooks};
use crate::model::ErrorKind;
use crate::store::{QueueMark, Result, Store};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How a runner shows jobs (implemented by the CLI).
pub trait Reporter: Sync {
    /// An observer for one job's events (called on the job's thread).
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_>;
    /// A job ended.
    fn finished(&self, job: i64, outcome: &Outcome);
    /// A line about the runner itself (e.g. that it waits for its hooks); none by default.
    fn say(&self, _msg: &str) {}
}

/// What a runner did, for the summary it ends with.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub ran: usize,
    pub done: usize,
    pub failed: usize,
    /// Jobs that rest waiting for a fresh link (theirs expired; none came in time).
    pub waiting: usize,
    /// Paused or removed from another terminal while they ran.
    pub stopped: usize,
    /// Body bytes the jobs that finished received in this run.
    pub received: u64,
    /// The failed jobs and why, in the order they ended.
    pub failures: Vec<(i64, crate::model::JobError)>,
    /// A job failed because a disk (the destination or the job database's) is full.
    pub no_space: bool,
    pub interrupted: bool,
}

/// A job's observer while it starts: once it transfers (it holds its first connection), or
/// waits for a fresh link (it holds none), the unit promised to it is no longer counted
/// apart. A job waiting for a fresh link is counted in `waiting`: it takes no place among
/// `max_active_jobs`.
struct Starting<'a> {
    inner: Box<dyn Observer + Send + 'a>,
    ticket: Ticket<'a>,
    waiting: &'a AtomicUsize,
    waits: bool,
}

impl Observer for Starting<'_> {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Started { .. } => self.ticket.redeem(),
            Event::Waiting(why) => {
                self.ticket.redeem();
                if why.is_some() != self.waits {
                    self.waits = why.is_some();
                    match self.waits {
                        true => self.waiting.fetch_add(1, Ordering::AcqRel),
                        false => self.waiting.fetch_sub(1, Ordering::AcqRel),
                    };
                }
            }
            _ => {}
        }
        self.inner.event(e);
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        if self.waits {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Which queued jobs a runner works.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every queued job (`ddm run`).
    All,
    /// `ddm get`: its own job (claimed by the caller) first, then the jobs queued after the
    /// mark, taken when it started (added, resumed or handed to it meanwhile).
    Foreground { job: i64, after: QueueMark },
    /// `ddm serve`: every queued job, and it stays up when the queue is empty until `stop`
    /// is set; `max_active` (0: the budget decides) can change while it runs.
    Service {
        stop: Arc<AtomicBool>,
        max_active: Arc<AtomicUsize>,
    },
}

impl Scope {
    /// The verb that runs this scope, as hooks name it.
    pub fn verb(&self) -> &'static str {
        match self {
            Scope::All => "run",
            Scope::Foreground { .. } => "get",
            Scope::Service { .. } => "serve",
        }
    }
}

/// Which verb a runner works for, where it matters after the scope was taken apart.
#[derive(Debug, Clone, Copy)]
enum Kind {
    All,
    Other,
}

/// Fail the queued jobs whose dependency failed or was removed, and say so.
fn fail_orphans(store: &mut Store, reporter: &dyn Reporter, summary: &mut Summary) -> Result<()> {
    for id in store.fail_orphans()? {
        let Some(e) = store.state(id)?.and_then(|s| s.error().cloned()) else {
            continue;
        };
        summary.ran += 1;
        summary.failed += 1;
        summary.failures.push((id, e.clone()));
        reporter.finished(id, &Outcome::Failed(e));
    }
    Ok(())
}

/// What a runner did since `then` (an earlier copy of its summary), for `on_queue_empty`.
fn since(now: &Summary, then: &Summary) -> Counts {
    Counts {
        ran: now.ran - then.ran,
        done: now.done - then.done,
        failed: now.failed - then.failed,
        waiting: now.waiting - then.waiting,
        stopped: now.stopped - then.stopped,
        received: now.received - then.received,
    }
}

/// Work the queue of the database at `db` (the caller holds the runner lock). The hooks of
/// `cfg` run for its jobs and when its queue empties (`serve`: each time it goes idle after
/// work; `run`, `get`: once, when they end because no job is left); before it returns it
/// waits for hooks still running (each is killed at its time limit; at once after Ctrl-C).
pub fn run_queue(
    db: &Path,
    cfg: &Config,
    ctl: &Control,
    reporter: &dyn Reporter,
    scope: Scope,
) -> Result<Summary> {
    let hooks = Hooks::start(&cfg.hooks, db, scope.verb());
    let hooked = Hooked::new(reporter, &hooks, &ctl.interrupt);
    let out = work(db, cfg, ctl, &hooked, scope, &hooks);
    hooks.finish(&ctl.interrupt, &|m| reporter.say(m));
    out
}

fn work(
    db: &Path,
    cfg: &Config,
    ctl: &Control,
    reporter: &dyn Reporter,
    scope: Scope,
    hooks: &Hooks,
) -> Result<Summary> {
    let mut store = Store::open(db)?;
    let max_of = |n: usize| match n {
        0 => usize::MAX,
        n => n,
    };
    let max_cfg = max_of(cfg.max_active_jobs as usize);
    let (service_stop, live_max) = match &scope {
        Scope::Service { stop, max_active } => (Some(stop.clone()), Some(max_active.clone())),
        _ => (None, None),
    };
    let (tx, rx) = channel::<(i64, Outcome)>();
    let mut summary = Summary::default();
    // The summary when the service last went idle (`on_queue_empty` tells what ran since).
    let mut at_idle = Summary::default();
    let mut active = 0usize;
    // The jobs whose runs have not ended yet: none is claimed again before (a job paused and
    // resumed at once is queued again while its run is still stopping).
    let mut running: Vec<i64> = Vec::new();
    // Of those, jobs waiting for a fresh link (they hold no connection).
    let waiting = AtomicUsize::new(0);
    // A store that cannot be written stops the claiming; running jobs still end normally.
    let mut store_failure = None;
    // Store connections of jobs that ended, for the next jobs: opening one reads the schema
    // and its statement cache starts empty, a cost a queue of small files paid per job.
    let connections: std::sync::Mutex<Vec<Store>> = std::sync::Mutex::new(Vec::new());
    // The start time `run` last said it waits for.
    let mut told_start: Option<(i64, i64)> = None;
    let scope_kind = match scope {
        Scope::All => Kind::All,
        _ => Kind::Other,
    };
    // The foreground job, claimed already, goes first whatever the budget says.
    let (mut own, mark) = match scope {
        Scope::All | Scope::Service { .. } => (None, None),
        Scope::Foreground { job, after } => (Some(job), Some(after)),
    };
    // `keep_finished`: for the runners of the whole queue, not `get`'s.
    let mut keeper = crate::keep::Keeper::new(match scope {
        Scope::Foreground { .. } => None,
        _ => cfg.keep_finished,
    });
    // The schedule: caps for every verb, holds for the runners of the whole queue.
    let mut schedule =
        crate::schedule::Follower::new(&cfg.schedule, !matches!(scope, Scope::Foreground { .. }));
    // `run` said it waits for a hold to end.
    let mut told_hold = false;
    std::thread::scope(|threads| {
        loop {
            if store_failure.is_none() {
                match keeper.tick(&mut store) {
                    Ok(f) if f.total() > 0 => reporter.say(&crate::keep::said(&f, cfg)),
                    Ok(_) => {}
                    Err(e) => store_failure = Some(e),
                }
                match schedule.tick(&mut store, ctl) {
                    Ok(Some(said)) => reporter.say(&said),
                    Ok(None) => {}
                    Err(e) => store_failure = Some(e),
                }
            }
            let holding = schedule.holding();
            let max = live_max
                .as_ref()
                .map_or(max_cfg, |m| max_of(m.load(Ordering::Relaxed)));
            let stopping = ctl.interrupt.load(Ordering::Relaxed)
                || service_stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed))
                || summary.interrupted
                || store_failure.is_some();
            // No queued job could be claimed this round (none, or none may start yet).
            let mut drained = false;
            while !stopping
                && (own.is_some() || !holding)
                && (own.is_some()
                    || active - waiting.load(Ordering::Acquire).min(active) < max
                        && (active == 0 || ctl.connections.free() > 0))
            {
                let job = match own.take() {
                    Some(id) => id,
                    None => match store.claim_next_after(mark, &running) {
                        Ok(Some(job)) => job.id,
                        Ok(None) => {
                            drained = true;
                            break;
                        }
                        Err(e) => {
                            store_failure = Some(e);
                            break;
                        }
                    },
                };
                active += 1;
                running.push(job);
                summary.ran += 1;
                let tx = tx.clone();
                let ticket = ctl.connections.ticket();
                let connections = &connections;
                let waiting = &waiting;
                threads.spawn(move || {
                    let reused = connections.lock().ok().and_then(|mut c| c.pop());
                    let outcome = match reused.map_or_else(|| Store::open(db), Ok) {
                        Ok(mut st) => {
                            let mut obs = Starting {
                                inner: reporter.observer(job),
                                ticket,
                                waiting,
                                waits: false,
                            };
                            let outcome = run_job(&mut st, job, cfg, ctl, &mut obs);
                            // A connection that failed a write is not handed on.
                            let store_failed = matches!(&outcome, Outcome::Failed(e)
                                if matches!(e.kind, ErrorKind::Store | ErrorKind::NoSpace));
                            if !store_failed {
                                if let Ok(mut c) = connections.lock() {
                                    c.push(st);
                                }
                            }
                            outcome
                        }
                        Err(e) => Outcome::Failed(crate::jobs::store_error(e)),
                    };
                    let _ = tx.send((job, outcome));
                });
            }
            // Jobs whose dependency failed or went can never start: they fail, said like
            // any other failure (`run` and `serve`; `get` leaves the queue it found alone).
            if drained && !stopping && mark.is_none() {
                if let Err(e) = fail_orphans(&mut store, reporter, &mut summary) {
                    store_failure = Some(e);
                }
            }
            // A service stays up with nothing to do until told to stop (`shutdown`) or
            // interrupted (Ctrl-C, SIGTERM): then it ends once its jobs have checkpointed.
            let serving = service_stop
                .as_ref()
                .is_some_and(|s| !s.load(Ordering::Relaxed))
                && !ctl.interrupt.load(Ordering::Relaxed);
            // `run` also stays up for a queued job whose start time (`--at`) is ahead.
            let later = if active == 0 && !serving && !stopping && matches!(scope_kind, Kind::All) {
                match store.next_start() {
                    Ok(next) => next,
                    Err(e) => {
                        store_failure = Some(e);
                        None
                    }
                }
            } else {
                None
            };
            // `run` also stays up while the schedule holds a queue that has jobs.
            let held_up = if active == 0 && !serving && !stopping && holding && later.is_none() {
                match store.any_held_or_queued() {
                    Ok(any) => any,
                    Err(e) => {
                        store_failure = Some(e);
                        false
                    }
                }
            } else {
                false
            };
            if active == 0 && !serving && later.is_none() && !held_up {
                return;
            }
            if held_up && !told_hold {
                told_hold = true;
                reporter.say(
                    "waiting: the schedule holds the queue (`ddm schedule` says until when); \
                     Ctrl-C stops (the queue is kept)",
                );
            }
            told_hold &= holding;
            if let Some((id, at)) = later.filter(|n| Some(*n) != told_start) {
                told_start = Some((id, at));
                reporter.say(&format!(
                    "waiting: job {id} starts at {} (in {}); Ctrl-C stops (the queue is kept)",
                    crate::clock::format(at),
                    crate::clock::span(at - crate::clock::now())
                ));
            }
            if active == 0 && !stopping && summary.ran > at_idle.ran {
                hooks.queue_empty(since(&summary, &at_idle));
                at_idle = summary.clone();
            }
            // Wake up now and then: jobs queued meanwhile (`ddm add`) start without waiting
            // for a running job to end.
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok((id, outcome)) => {
                    active -= 1;
                    if let Some(i) = running.iter().position(|&r| r == id) {
                        running.swap_remove(i);
                    }
                    match &outcome {
                        Outcome::Done { moved, .. } => {
                            summary.done += 1;
                            summary.received += moved;
                        }
                        Outcome::Failed(e) => {
                            summary.failed += 1;
                            summary.failures.push((id, e.clone()));
                            summary.no_space |= e.kind == ErrorKind::NoSpace;
                        }
                        Outcome::Interrupted => summary.interrupted = true,
                        Outcome::Waiting(_) => summary.waiting += 1,
                        Outcome::Paused | Outcome::Removed => summary.stopped += 1,
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
    // `run` and `get` end because their queue is empty (not when stopped).
    if service_stop.is_none() && !summary.interrupted && summary.ran > 0 {
        hooks.queue_empty(since(&summary, &Summary::default()));
    }
    Ok(summary)
}

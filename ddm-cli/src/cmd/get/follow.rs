//! Following a job that another process (a `ddm run`) works: its progress and its end, read
//! from the store, shown like a job of our own.

use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::observe::Display;
use ddm_core::engine::{Control, CountSource, Event, Observer, Outcome, Progress};
use ddm_core::store::JobState;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How following ended.
pub enum Followed {
    /// The job ended (or we stopped following); exit with this code.
    Ended(Code),
    /// No runner works the data directory any more, and the job is not finished.
    RunnerGone,
}

const POLL: Duration = Duration::from_millis(200);

pub fn follow(ctx: &mut Ctx, id: i64, ctl: &Control, display: &Display) -> CliResult<Followed> {
    let mut view = display.job(id);
    let started = Instant::now();
    let mut shown = false;
    // The runner holds the job waiting for a fresh link (said once, and when it ends).
    let mut waiting = false;
    // A runner that just took the job may still hold it as `queued` for a moment.
    let mut gone_since: Option<Instant> = None;
    loop {
        if ctl.interrupt.load(Ordering::Relaxed) {
            view.event(Event::Note(format!(
                "stopped following job {id}; the runner goes on with it (`ddm status {id}`)"
            )));
            return Ok(Followed::Ended(Code::Interrupted));
        }
        let job = match ctx.store.get(id) {
            Ok(j) => j,
            Err(ddm_core::store::StoreError::NotFound(_)) => {
                drop(view);
                display.finished(id, &Outcome::Removed);
                return Ok(Followed::Ended(Code::Stopped));
            }
            Err(e) => return Err(store(e)),
        };
        let runner = ddm_core::lock::holder_alive(&ctx.paths.lock_file());
        match &job.state {
            JobState::Done => {
                drop(view);
                let outcome = Outcome::Done {
                    path: job.path().unwrap_or_default(),
                    size: job.size.unwrap_or(job.bytes_done),
                    moved: job.size.unwrap_or(job.bytes_done),
                    elapsed: started.elapsed(),
                };
                display.finished(id, &outcome);
                return Ok(Followed::Ended(Code::Ok));
            }
            JobState::Failed(e) => {
                drop(view);
                let code = crate::exit::failed(e);
                display.finished(id, &Outcome::Failed(e.clone()));
                return Ok(Followed::Ended(code));
            }
            JobState::Paused => {
                drop(view);
                display.finished(id, &Outcome::Paused);
                return Ok(Followed::Ended(Code::Stopped));
            }
            JobState::Waiting(why) => {
                drop(view);
                display.finished(id, &Outcome::Waiting(why.clone()));
                return Ok(Followed::Ended(Code::Waiting));
            }
            JobState::Queued | JobState::Running if !runner => {
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_millis(500) {
                    return Ok(Followed::RunnerGone);
                }
            }
            JobState::Queued => gone_since = None,
            JobState::Running => {
                gone_since = None;
                if waiting != job.waiting.is_some() {
                    waiting = job.waiting.is_some();
                    view.event(Event::Waiting(job.waiting.as_deref()));
                }
                let name = job.file_name.clone().unwrap_or_else(|| job.url.clone());
                // The runner's own numbers: the connections it has open (checkpointed with
                // the progress) and the most it may open for this job.
                let max = ddm_core::engine::ceiling(&ctx.store, &job, &ctx.config).unwrap_or(1);
                if !shown {
                    shown = true;
                    view.event(Event::Started {
                        job: id,
                        name: &name,
                        size: job.size,
                        connections: max,
                        source: match job.settings.connections {
                            Some(_) if job.settings.connections_from_rule => CountSource::Rule,
                            Some(_) => CountSource::Flag,
                            None => CountSource::Adaptive,
                        },
                        ranged: job.ranges.unwrap_or(false),
                        redirects: &[],
                        protocol: "",
                    });
                }
                let p = Progress {
                    job: id,
                    name,
                    size: job.size,
                    bytes: job.bytes_done,
                    speed: job.speed.unwrap_or(0) as f64,
                    connections: job.conns.unwrap_or(0) as usize,
                    max_connections: max,
                    elapsed: started.elapsed(),
                    lanes: Vec::new(),
                };
                view.event(Event::Progress(&p));
            }
        }
        std::thread::sleep(POLL);
    }
}

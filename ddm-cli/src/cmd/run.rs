//! `ddm run`: work the queue until no queued job remains.

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, CliError, CliResult, Code};
use crate::observe::Display;
use ddm_core::engine::Control;
use ddm_core::lock::{LockError, RunnerLock};
use ddm_core::runner::run_queue;

/// Download queued jobs until none is left, then exit (0 if every job it ran finished, 1 if
/// one failed, 5 if a disk was full, 7 if one waits for a fresh link: its own expired and
/// none came within `link_wait_secs`, during which the runner stays up for a `set-url`). Jobs run at once while connections are free (config
/// `max_total_connections`, `max_connections_per_host`, `max_active_jobs`), sharing them and
/// their open connections; jobs added meanwhile are picked up. Jobs a crashed runner left
/// `running` are queued again first. One runner per data directory. It ends with a summary:
/// jobs done and failed (each failure with its error and what to do), bytes received, time.
///
/// Example: ddm run   |   ddm run --json > events.ndjson
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Progress as NDJSON events on stdout.
    #[arg(long)]
    pub json: bool,
}

/// After queueing work: when no runner works this data directory, say how to start one.
pub fn say_if_no_runner(ctx: &Ctx, g: &Global) {
    if !g.quiet && !ddm_core::lock::holder_alive(&ctx.paths.lock_file()) {
        eprintln!("note: no runner is working the queue: start `ddm run`");
    }
}

pub fn lock(ctx: &Ctx) -> CliResult<RunnerLock> {
    RunnerLock::acquire(&ctx.paths.lock_file()).map_err(|e| match e {
        LockError::Held { .. } => CliError::new(Code::Busy, e),
        LockError::Io { .. } => CliError::new(Code::Env, e),
    })
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    let _lock = lock(&ctx)?;
    let ctl = Control::from_config(&ctx.config, crate::signals::install());
    let display = Display::new(a.json, g.quiet, g.verbose);
    let started = std::time::Instant::now();
    let recovered = ctx.store.recover_running().map_err(store)?;
    if recovered > 0 {
        tracing::warn!("{recovered} job(s) left running by a previous runner were queued again");
    }
    let summary = run_queue(
        &ctx.paths.db_file(),
        &ctx.config,
        &ctl,
        &display,
        ddm_core::runner::Scope::All,
    )
    .map_err(store)?;
    if summary.ran == 0 && !g.quiet && !a.json {
        eprintln!("nothing queued (add jobs with `ddm add URL`)");
    } else if summary.ran > 0 {
        display.summary(&summary, started.elapsed());
    }
    Ok(if summary.interrupted {
        Code::Interrupted
    } else if summary.no_space {
        Code::NoSpace
    } else if summary.failed > 0 {
        Code::Failed
    } else if summary.waiting > 0 {
        Code::Waiting
    } else {
        Code::Ok
    })
}

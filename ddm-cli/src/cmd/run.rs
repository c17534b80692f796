//! `ddm run`: work the queue until no queued job remains.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliError, CliResult, Code};
use crate::observe::Display;
use ddm_core::engine::{run_job, Control, Outcome};
use ddm_core::lock::{LockError, RunnerLock};

/// Download queued jobs one after another until none is left, then exit (0 if every job it
/// ran finished, 1 if one failed). Jobs a crashed runner left `running` are queued again
/// first. One runner per data directory.
///
/// Example: ddm run   |   ddm run --json > events.ndjson
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Progress as NDJSON events on stdout.
    #[arg(long)]
    pub json: bool,
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
    let ctl = Control {
        interrupt: crate::signals::install(),
    };
    let mut display = Display::new(a.json, g.quiet);
    let recovered = ctx.store.recover_running().map_err(store)?;
    if recovered > 0 {
        tracing::warn!("{recovered} job(s) left running by a previous runner were queued again");
    }
    let (mut ran, mut failed) = (0, 0);
    while let Some(job) = ctx.store.claim_next().map_err(store)? {
        ran += 1;
        let outcome = run_job(&mut ctx.store, job.id, &ctx.config, &ctl, &mut display);
        display.finished(job.id, &outcome);
        match outcome {
            Outcome::Failed(_) => failed += 1,
            Outcome::Interrupted => return Ok(Code::Interrupted),
            _ => {}
        }
    }
    if ran == 0 && !g.quiet && !a.json {
        eprintln!("nothing queued (add jobs with `ddm add URL`)");
    }
    Ok(if failed > 0 { Code::Failed } else { Code::Ok })
}

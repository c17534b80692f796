//! `ddm get`: add one job and run it in the foreground; the same `get` after an
//! interruption continues that job instead of starting a new one, and so does a `get` of a
//! fresh link for the file of a stopped job (`relink`); after it finished (its file still in
//! place) it says so and asks nothing. `-o NAME` naming a file that exists is refused unless
//! `--overwrite` (`jobs::continue_or_add` decides).

use super::jobopts::{parse_urls, JobOpts};
use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{added, store, CliError, CliResult, Code};
use crate::observe::Display;
use crate::ui;
use ddm_core::engine::{Control, Outcome};
use ddm_core::jobs::{self, GetPlan};
use ddm_core::lock::{LockError, RunnerLock};
use ddm_core::relink;
use ddm_core::runner::{run_queue, Scope};

mod follow;
mod foreground;

/// Download one URL now, with a live progress bar. Running the same command again after an
/// interruption continues where it stopped; so does a fresh link for the file of a stopped
/// job (paused, failed, or waiting because its link expired: same directory and name, same
/// size and validators), which that job then continues. After it finished (the file still in
/// place, as it left it) it says so and downloads nothing (--overwrite: a fresh copy). -o
/// NAME naming an existing file is refused unless --overwrite. When a `ddm run` works the
/// same data directory, the job is handed to it and its progress followed here (same bar,
/// same exit code). While it runs, `get` is that directory's runner: jobs queued meanwhile
/// (`ddm add`, `ddm resume`) run here too, and it exits once they are over; jobs queued
/// before it started are left to `ddm run`. When the link expires mid-way, `get` waits for a
/// fresh one (`ddm set-url ID URL` from another terminal; up to `link_wait_secs`). Exit 0
/// when the file is in place, 6 when it was paused or removed from another terminal, 7 when
/// it waits for a fresh link.
///
/// Example: ddm get https://example.org/big.iso -o big.iso --connections 16
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An http or https URL.
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub opts: JobOpts,
    /// Progress as NDJSON events on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let url = parse_urls(std::slice::from_ref(&a.url))?.remove(0);
    let mut new = a.opts.to_job(&url, false)?;
    let mut ctx = Ctx::open(g)?;
    // A routing rule decided by the URL applies now; one on the name or type, with the
    // first answer.
    ddm_core::jobs::route::at_add(&ctx.config.rule, &mut new).map_err(crate::exit::usage)?;
    let ctl = Control::from_config(&ctx.config, crate::signals::install());
    let display = Display::new(a.json, g.quiet, g.verbose);
    let talk = !g.quiet && !a.json;
    loop {
        let lock = match RunnerLock::acquire(&ctx.paths.lock_file()) {
            Ok(lock) => lock,
            Err(LockError::Held { pid, .. }) => {
                // A runner works this data directory: hand the job to it and follow it.
                let Some(id) = add_or_continue(&mut ctx, &new, talk, &display)? else {
                    return Ok(Code::Ok);
                };
                ctx.store.resume(&[id]).map_err(store)?;
                if talk {
                    eprintln!(
                        "a runner (pid {pid}) is working this data directory: job {id} is queued \
                         for it; following its progress (Ctrl-C stops following, the download \
                         goes on)"
                    );
                }
                match follow::follow(&mut ctx, id, &ctl, &display)? {
                    follow::Followed::Ended(code) => return Ok(code),
                    // The runner ended before it took our job: run it here.
                    follow::Followed::RunnerGone => continue,
                }
            }
            Err(e @ LockError::Io { .. }) => return Err(CliError::new(Code::Env, e)),
        };
        ctx.store.recover_running().map_err(store)?;
        let Some(id) = add_or_continue(&mut ctx, &new, talk, &display)? else {
            return Ok(Code::Ok);
        };
        ctx.store.claim(id).map_err(store)?;
        // From here on, jobs queued meanwhile are this runner's too.
        let after = ctx.store.queue_mark().map_err(store)?;
        let fg = foreground::Foreground::new(&display, id, talk);
        let scope = Scope::Foreground { job: id, after };
        let summary = run_queue(&ctx.paths.db_file(), &ctx.config, &ctl, &fg, scope);
        drop(lock);
        let outcome = match (fg.outcome(), summary) {
            (Some(o), _) => o,
            (None, Err(e)) => return Err(store(e)),
            (None, Ok(_)) => Outcome::Interrupted,
        };
        return Ok(match &outcome {
            Outcome::Done { .. } => Code::Ok,
            Outcome::Interrupted => Code::Interrupted,
            // Paused or removed from another terminal: the file is not there.
            Outcome::Paused | Outcome::Removed => Code::Stopped,
            // Ctrl-C while it waited: interrupted, as any Ctrl-C.
            Outcome::Waiting(_) if ctl.interrupt.load(std::sync::atomic::Ordering::Relaxed) => {
                Code::Interrupted
            }
            Outcome::Waiting(_) => Code::Waiting,
            Outcome::Failed(e) => crate::exit::failed(e),
        });
    }
}

/// The unfinished job for the same URL and destination, the stopped job whose file a fresh
/// link serves, or a new one; says which. None: the same download is done and its file in
/// place (said): nothing to run.
fn add_or_continue(
    ctx: &mut Ctx,
    new: &ddm_core::store::NewJob,
    talk: bool,
    display: &Display,
) -> CliResult<Option<i64>> {
    if let Some((job, proof)) =
        relink::continue_with(&mut ctx.store, new, &ctx.config).map_err(store)?
    {
        if talk {
            eprintln!("{}", super::add::continuing(&job, &proof));
        }
        return Ok(Some(job.id));
    }
    let (id, existing) = match jobs::continue_or_add(&mut ctx.store, new).map_err(added)? {
        GetPlan::Run(id, existing) => (id, existing),
        GetPlan::Done(job, path) => {
            display.already_done(job.id, &path, job.size.unwrap_or(0));
            return Ok(None);
        }
    };
    if let (Some(job), true) = (existing, talk) {
        if job.bytes_done > 0 {
            let of = job
                .size
                .map(|s| format!(" of {}", ui::bytes(s)))
                .unwrap_or_default();
            eprintln!(
                "continuing job {id}: {}{of} done",
                ui::bytes(job.bytes_done)
            );
        }
    }
    Ok(Some(id))
}

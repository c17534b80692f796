//! `ddm get`: add one job and run it in the foreground; the same `get` after an
//! interruption continues that job instead of starting a new one.

use super::jobopts::{parse_urls, JobOpts};
use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::observe::Display;
use ddm_core::engine::{run_job, Control, Outcome};
use ddm_core::jobs;

/// Download one URL now, with a live progress bar. Running the same command again after an
/// interruption continues where it stopped.
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
    let new = a.opts.to_job(&url, false)?;
    let mut ctx = Ctx::open(g)?;
    let _lock = super::run::lock(&ctx)?;
    let ctl = Control::new(crate::signals::install());
    let display = Display::new(a.json, g.quiet);
    ctx.store.recover_running().map_err(store)?;
    let (id, existing) = jobs::continue_or_add(&mut ctx.store, &new).map_err(store)?;
    if let Some(job) = existing {
        if job.bytes_done > 0 && !g.quiet && !a.json {
            eprintln!(
                "continuing job {id} ({} bytes already done)",
                job.bytes_done
            );
        }
    }
    ctx.store.claim(id).map_err(store)?;
    let outcome = run_job(&mut ctx.store, id, &ctx.config, &ctl, &mut display.job(id));
    display.finished(id, &outcome);
    Ok(match &outcome {
        Outcome::Done { .. } => Code::Ok,
        Outcome::Interrupted => Code::Interrupted,
        Outcome::Paused | Outcome::Removed => Code::Ok,
        Outcome::Failed(e) => crate::exit::failed(e),
    })
}

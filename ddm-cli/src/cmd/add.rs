//! `ddm add`: queue downloads (offline; the server is first contacted when the job runs).

use super::jobopts::{parse_urls, JobOpts};
use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{added, store, CliResult, Code};
use crate::ui::{self, outln};
use ddm_core::model::redact_url;

/// Queue one or more downloads and print their ids. Does not touch the network.
///
/// Example: ddm add https://example.org/big.iso -d ~/Downloads --connections 16
#[derive(Debug, clap::Args)]
pub struct Args {
    /// http or https URLs.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    #[command(flatten)]
    pub opts: JobOpts,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let urls = parse_urls(&a.urls)?;
    let jobs = urls
        .iter()
        .map(|u| a.opts.to_job(u, urls.len() > 1))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ctx = Ctx::open(g)?;
    // The same URL already waiting (or running) in the queue is probably a mistake: say so.
    let queued: std::collections::HashMap<String, i64> = ctx
        .store
        .list()
        .map_err(store)?
        .into_iter()
        .filter(|j| !j.state.is_done())
        .map(|j| (j.url, j.id))
        .collect();
    // All or none: one transaction, and the ids are printed only once it is committed.
    let ids = ddm_core::jobs::add(&mut ctx.store, &jobs).map_err(added)?;
    if !g.quiet {
        for job in &jobs {
            if let Some(other) = queued.get(&job.url) {
                eprintln!(
                    "note: {} is already queued as job {other}",
                    ui::clean(&redact_url(&job.url))
                );
            }
        }
    }
    for (id, job) in ids.iter().zip(&jobs) {
        tracing::info!(id, url = %redact_url(&job.url), "queued");
    }
    for id in ids {
        outln!("{id}");
    }
    super::run::say_if_no_runner(&ctx, g);
    Ok(Code::Ok)
}

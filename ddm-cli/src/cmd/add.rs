//! `ddm add`: queue downloads (offline; the server is first contacted when the job runs).

use super::input_list;
use super::jobopts::{parse_urls, JobOpts};
use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::ui::{self, outln};
use ddm_core::model::redact_url;

/// Queue one or more downloads and print their ids. Does not touch the network. All or
/// none: a bad URL or option anywhere queues nothing.
///
/// `-i FILE` (or `-i -` for stdin) reads downloads from a list in aria2's input-file format:
/// a URL per line, other URLs of the same file (mirrors) after TABs on that line, and
/// indented `key=value` lines after it for that download alone: `out=NAME`, `dir=DIR`,
/// `header=K: V` (repeatable), `checksum=sha-256=HEX`, `split=N` (connections). `#` starts a
/// comment. Any other option is refused with its line number. The flags given here apply to
/// every download of the list.
///
/// Example: ddm add https://example.org/big.iso -d ~/Downloads --connections 16
///          ddm add -i urls.txt   |   grep iso links.txt | ddm add -i -
#[derive(Debug, clap::Args)]
pub struct Args {
    /// http or https URLs.
    #[arg(required_unless_present = "input", value_name = "URL")]
    pub urls: Vec<String>,
    /// Read downloads from FILE (`-`: stdin), aria2's input-file format (see above).
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub opts: JobOpts,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let urls = parse_urls(&a.urls)?;
    if a.input.is_some() {
        // One file's flags cannot go to every download of a list.
        let one_file = [
            (a.opts.output.is_some(), "-o/--output"),
            (a.opts.checksum.is_some(), "--checksum"),
            (!a.opts.mirrors.is_empty(), "--mirror"),
        ];
        if let Some((_, flag)) = one_file.iter().find(|(given, _)| *given) {
            return Err(crate::exit::usage(format!(
                "{flag} names one file but -i gives a list of downloads; put it in the list \
                 (out=, checksum=, or the mirrors after a TAB on the URL's line)"
            )));
        }
    }
    let listed = match &a.input {
        Some(f) => input_list::jobs(f, &a.opts)?,
        None => Vec::new(),
    };
    let many = urls.len() + listed.len() > 1;
    let mut jobs = urls
        .iter()
        .map(|u| a.opts.to_job(u, many))
        .collect::<Result<Vec<_>, _>>()?;
    jobs.extend(listed);
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
    let ids = ctx.store.add_many(&jobs).map_err(store)?;
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

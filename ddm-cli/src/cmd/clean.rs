//! `ddm clean`: forget finished jobs, keeping their files.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::ui::outln;
use ddm_core::store::Forget;

/// Forget finished jobs: done and failed ones (or only `--done`, only `--failed`), all of
/// them or those that finished more than `--older-than` ago. Only the list changes: every
/// file stays where it is, a failed job's partial `NAME.part` too (`ddm remove --failed`
/// deletes those instead). A finished job that a queued job waits for (`--after`) is kept.
/// Config `keep_finished` makes `ddm run` and `ddm serve` do this on their own.
///
/// Example: ddm clean   |   ddm clean --done --older-than 7d   |   ddm clean --failed
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Finished (done) jobs.
    #[arg(long)]
    pub done: bool,
    /// Failed jobs.
    #[arg(long)]
    pub failed: bool,
    /// Only jobs that finished more than AGE ago: a number and a unit, 90s, 30m, 12h, 7d, 2w.
    #[arg(long, value_name = "AGE", value_parser = ddm_core::keep::parse_age)]
    pub older_than: Option<u64>,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    // Neither flag: both kinds.
    let both = !a.done && !a.failed;
    let f = Forget {
        done: a.done || both,
        failed: a.failed || both,
        before: a.older_than.map(ddm_core::store::ago),
        keep_newest: None,
    };
    let got = ctx.store.forget_finished(&f).map_err(store)?;
    let which = match (f.done, f.failed) {
        (true, true) => "finished",
        (true, false) => "done",
        _ => "failed",
    };
    let age = a
        .older_than
        .map(|s| format!(" older than {}", ddm_core::clock::span(s as i64)))
        .unwrap_or_default();
    if got.total() == 0 {
        outln!("no {which} jobs{age} to forget");
        return Ok(Code::Ok);
    }
    let n = got.total();
    let split = match (f.done && f.failed, got.done, got.failed) {
        (true, d, f) if d > 0 && f > 0 => format!(" ({d} done, {f} failed)"),
        _ => String::new(),
    };
    let s = if n == 1 { "" } else { "s" };
    outln!("forgot {n} {which} job{s}{age}{split}; their files stay");
    if got.partial > 0 {
        eprintln!(
            "note: {} of the failed jobs left a partial NAME.part in place; \
             `ddm remove --failed` deletes those with the job",
            got.partial
        );
    }
    Ok(Code::Ok)
}

//! `ddm remove`: forget jobs (and their partial data; `--delete-file` also the finished file).

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, CliResult, Code};
use crate::ui::{clean, outln};
use ddm_core::jobs;
use ddm_core::store::{StateKind, StoreError};

/// Remove jobs from the list. The `.part` files they created are deleted (never a file ddm
/// did not create); a finished file stays unless `--delete-file` is given. A runner working a
/// removed job stops it within a second. `--failed`, `--done` and `--all` pick the jobs by
/// state (with ids too, all of them).
///
/// Example: ddm remove 3 --delete-file   |   ddm remove --done   |   ddm remove --failed
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Job ids (see `ddm status`).
    #[arg(
        value_name = "ID",
        required_unless_present_any = ["failed", "done", "all"]
    )]
    pub ids: Vec<i64>,
    /// Every failed job.
    #[arg(long)]
    pub failed: bool,
    /// Every finished job (its file stays, unless --delete-file).
    #[arg(long)]
    pub done: bool,
    /// Every job, whatever its state (running ones stop within a second).
    #[arg(long)]
    pub all: bool,
    /// Also delete the downloaded file.
    #[arg(long)]
    pub delete_file: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    for &id in &a.ids {
        ctx.store.get(id).map_err(store)?; // all ids must exist before anything is removed
    }
    let mut ids = a.ids.clone();
    if a.failed || a.done || a.all {
        let picked: Vec<i64> = ctx
            .store
            .list()
            .map_err(store)?
            .into_iter()
            .filter(|j| {
                a.all
                    || (a.failed && j.state.kind() == StateKind::Failed)
                    || (a.done && j.state.is_done())
            })
            .map(|j| j.id)
            .collect();
        if picked.is_empty() && ids.is_empty() {
            let which = match (a.all, a.failed, a.done) {
                (true, _, _) => "no jobs",
                (_, true, true) => "no failed or finished jobs",
                (_, true, false) => "no failed jobs",
                _ => "no finished jobs",
            };
            outln!("{which} to remove");
            return Ok(Code::Ok);
        }
        ids.extend(picked);
        ids.sort_unstable();
        ids.dedup();
    }
    for &id in &ids {
        let r = match jobs::remove(&mut ctx.store, id, a.delete_file) {
            Ok(r) => r,
            // Removed meanwhile from another terminal: the goal is reached.
            Err(StoreError::NotFound(_)) => {
                outln!("{id}: removed (already gone)");
                continue;
            }
            Err(e) => return Err(store(e)),
        };
        let mut line = format!("{id}: removed");
        if r.file_deleted {
            if let Some(p) = r.job.path() {
                line.push_str(&format!(", deleted {}", clean(&p.display().to_string())));
            }
        }
        outln!("{line}");
        if let Some(p) = r.left_alone {
            eprintln!(
                "note: {} was left in place: ddm did not create it (another program's file, \
                 or one put there after this job's)",
                clean(&p.display().to_string())
            );
        }
    }
    Ok(Code::Ok)
}

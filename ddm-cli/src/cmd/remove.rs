//! `ddm remove`: forget jobs (and their partial data; `--delete-file` also the finished file).

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::ui::{clean, outln};
use ddm_core::jobs;
use ddm_core::store::StoreError;

/// Remove jobs from the list. The `.part` files they created are deleted (never a file ddm
/// did not create); a finished file stays unless `--delete-file` is given. A runner working a
/// removed job stops it within a second.
///
/// Example: ddm remove 3 --delete-file
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Job ids (see `ddm status`).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    /// Also delete the downloaded file.
    #[arg(long)]
    pub delete_file: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    for &id in &a.ids {
        ctx.store.get(id).map_err(store)?; // all ids must exist before anything is removed
    }
    for &id in &a.ids {
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

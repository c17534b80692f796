//! `ddm remove`: forget jobs (and their partial data; `--delete-file` also the finished file).

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};

/// Remove jobs from the list. Their `.part` files are deleted; a finished file stays unless
/// `--delete-file` is given. A runner working a removed job stops it within a second.
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
        let job = ctx.store.remove(id).map_err(store)?;
        if let Some(p) = job.path() {
            let _ = std::fs::remove_file(ddm_core::storage::part_path(&p));
            if a.delete_file && job.state.is_done() {
                match std::fs::remove_file(&p) {
                    Ok(()) => println!("{id}: removed, deleted {}", p.display()),
                    Err(e) => println!("{id}: removed; could not delete {}: {e}", p.display()),
                }
                continue;
            }
        }
        println!("{id}: removed");
    }
    Ok(Code::Ok)
}

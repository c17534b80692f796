//! `ddm resume`: put paused, failed or waiting jobs back in the queue (`--restart` discards
//! progress).

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, CliResult, Code};
use crate::ui::outln;
use ddm_core::jobs;
use ddm_core::store::StateKind;

/// Queue paused, failed or waiting jobs again; `ddm run` continues them from their progress
/// (a job waiting for a fresh link asks its old one again: `ddm set-url` gives a new one).
///
/// Example: ddm resume 3   |   ddm resume --all   |   ddm resume 3 --restart
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Job ids (see `ddm status`).
    #[arg(
        required_unless_present = "all",
        conflicts_with = "all",
        value_name = "ID"
    )]
    pub ids: Vec<i64>,
    /// Every paused, failed or waiting job.
    #[arg(long)]
    pub all: bool,
    /// Discard the partial data (the `.part` file the job created) and start over, e.g. after
    /// the remote file changed.
    #[arg(long)]
    pub restart: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    let ids = if a.all {
        ctx.store
            .ids_in(&[StateKind::Paused, StateKind::Failed, StateKind::Waiting])
            .map_err(store)?
    } else {
        a.ids.clone()
    };
    for &id in &ids {
        ctx.store.get(id).map_err(store)?;
    }
    if a.restart {
        for &id in &ids {
            // Running and done jobs are left as they are (reported below).
            jobs::restart(&mut ctx.store, id).map_err(store)?;
        }
    }
    let changed = ctx.store.resume(&ids).map_err(store)?;
    for id in &ids {
        if changed.contains(id) {
            outln!(
                "{id}: queued{}",
                if a.restart {
                    " (restarting from zero)"
                } else {
                    ""
                }
            );
        } else {
            let st = ctx.store.state(*id).map_err(store)?;
            outln!(
                "{id}: not resumed (it is {})",
                st.map(|s| s.name()).unwrap_or("gone")
            );
        }
    }
    if !changed.is_empty() {
        super::run::say_if_no_runner(&ctx, g);
    }
    Ok(Code::Ok)
}

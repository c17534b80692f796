//! `ddm pause`: stop jobs (a runner working one stops it within a second, progress kept).

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, CliResult, Code};
use crate::ui::outln;
use ddm_core::store::StateKind;

/// Pause queued, running or waiting jobs; they keep their progress. `ddm resume` continues
/// them.
///
/// Example: ddm pause 3 4   |   ddm pause --all
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Job ids (see `ddm status`).
    #[arg(
        required_unless_present = "all",
        conflicts_with = "all",
        value_name = "ID"
    )]
    pub ids: Vec<i64>,
    /// Every queued, running or waiting job.
    #[arg(long)]
    pub all: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    let ids = if a.all {
        ctx.store
            .ids_in(&[StateKind::Queued, StateKind::Running, StateKind::Waiting])
            .map_err(store)?
    } else {
        a.ids.clone()
    };
    let changed = ctx.store.pause(&ids).map_err(store)?;
    for id in &ids {
        if changed.contains(id) {
            outln!("{id}: paused");
        } else {
            let st = ctx.store.state(*id).map_err(store)?;
            outln!(
                "{id}: not paused (it is {})",
                st.map(|s| s.name()).unwrap_or("gone")
            );
        }
    }
    Ok(Code::Ok)
}

//! `ddm move`: change a job's place in the queue (the order the runner claims jobs in).

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, usage, CliResult, Code};
use crate::ui::outln;
use ddm_core::store::{Move, StoreError};

/// Move a queued (or paused, or waiting) job in the queue: first, last, or just before or
/// after another job of the queue. The runner claims jobs in this order, priority first: a
/// job moved among jobs of another priority takes the nearest priority that keeps it at
/// the place asked (moved first, it becomes as high as the job it passed). Prints the new
/// place (1 first). `ddm status` lists the queue in this order; RPC clients see it too
/// (aria2's changePosition changes the same order).
///
/// Example: ddm move 7 --first   |   ddm move 7 --after 3
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("place").required(true)))]
pub struct Args {
    /// The job to move.
    #[arg(value_name = "ID")]
    pub id: i64,
    /// To the front of the queue.
    #[arg(long, group = "place")]
    pub first: bool,
    /// To the end of the queue.
    #[arg(long, group = "place")]
    pub last: bool,
    /// Just before job OTHER.
    #[arg(long, group = "place", value_name = "OTHER")]
    pub before: Option<i64>,
    /// Just after job OTHER.
    #[arg(long, group = "place", value_name = "OTHER")]
    pub after: Option<i64>,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let to = match (a.first, a.last, a.before, a.after) {
        (true, ..) => Move::Set(0),
        (_, true, ..) => Move::End(0),
        (_, _, Some(o), _) => Move::Before(o),
        (_, _, _, Some(o)) => Move::After(o),
        _ => {
            return Err(usage(
                "say where: --first, --last, --before ID or --after ID",
            ))
        }
    };
    if matches!(to, Move::Before(o) | Move::After(o) if o == a.id) {
        return Err(usage(format!("job {} cannot move beside itself", a.id)));
    }
    let mut ctx = Ctx::open(g)?;
    let place = ctx.store.move_job(a.id, to).map_err(|e| match e {
        StoreError::NotQueued(id) => usage(format!(
            "job {id} is not in the queue (it is {}): only queued, paused or waiting jobs \
             have a place",
            ctx.store
                .state(id)
                .ok()
                .flatten()
                .map(|s| s.name())
                .unwrap_or("gone")
        )),
        e => store(e),
    })?;
    outln!("{}: place {} in the queue", a.id, place + 1);
    Ok(Code::Ok)
}

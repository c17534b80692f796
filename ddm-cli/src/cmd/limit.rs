//! `ddm limit`: change a job's speed cap, or the cap on all jobs together, while they run.

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, usage, CliResult, Code};
use crate::ui::{self, outln};

/// Set a speed cap that running downloads follow within a second: one job's (`ddm limit ID
/// RATE`) or all jobs' together (`ddm limit --global RATE`). RATE is bytes per second with
/// K, M or G (e.g. 2M), or `none` to lift the cap. The cap is shared by all the connections
/// it covers. Without RATE, shows the caps in force: `ddm limit` all of them (the global one
/// and each job's own), `ddm limit ID` that job's, `ddm limit --global` the global one.
///
/// Example: ddm limit   |   ddm limit 3 500K   |   ddm limit --global 10M   |   ddm limit --global none
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job whose cap to change (see `ddm status`).
    #[arg(value_name = "ID", conflicts_with = "global")]
    pub id: Option<i64>,
    /// The job's new cap: e.g. 2M, 500K, or `none`.
    #[arg(value_name = "RATE")]
    pub rate: Option<String>,
    /// The cap on all jobs together (overrides `max_rate` in the config); without RATE, show it.
    #[arg(long, value_name = "RATE", num_args = 0..=1, default_missing_value = "")]
    pub global: Option<String>,
}

fn parse(rate: &str) -> CliResult<Option<u64>> {
    if rate.eq_ignore_ascii_case("none") || rate == "0" {
        return Ok(None);
    }
    ddm_core::config::parse_rate(rate).map(Some).map_err(usage)
}

fn show(r: Option<u64>) -> String {
    r.map_or("none".into(), ui::speed)
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    if let Some(rate) = &a.global {
        if !rate.is_empty() {
            let r = parse(rate)?;
            ctx.store.set_global_rate(r).map_err(store)?;
            outln!("global limit: {}", show(r));
            return Ok(Code::Ok);
        }
        match (ctx.store.global_rate().map_err(store)?, ctx.config.max_rate) {
            (Some(r), _) => outln!("global limit: {} (ddm limit --global)", show(r)),
            (None, Some(r)) => outln!("global limit: {} (config max_rate)", show(Some(r))),
            (None, None) => outln!("global limit: none"),
        }
        if let Some(line) = crate::caps::schedule_line(&ctx.config) {
            outln!("{line}");
        }
        return Ok(Code::Ok);
    }
    let Some(id) = a.id else {
        let jobs = ctx.store.list().map_err(store)?;
        for line in crate::caps::rate_lines(&ctx.store, &ctx.config, &jobs).map_err(store)? {
            outln!("{line}");
        }
        return Ok(Code::Ok);
    };
    ctx.store.get(id).map_err(store)?;
    if let Some(rate) = &a.rate {
        let r = parse(rate)?;
        ctx.store.set_job_rate(id, r).map_err(store)?;
        outln!("{id}: limit {}", show(r));
    } else {
        outln!(
            "{id}: limit {}",
            show(ctx.store.job_rate(id).map_err(store)?)
        );
    }
    Ok(Code::Ok)
}

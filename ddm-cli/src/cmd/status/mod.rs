//! `ddm status`: the job table, or `--json` for scripts.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::ui::{self, clean};
use ddm_core::store::{Job, StateKind};
use std::io::Write;

mod rows;

/// Show jobs: id, state, progress, size, speed and connections (while running: open now and
/// the most it may open, `3/16`), name; for a job in the queue its place, priority, start time
/// and the job it waits for; the rule that routed it; the error of failed jobs, and why a
/// waiting job waits (its download link expired: give it a fresh one with `ddm set-url ID
/// URL` or `ddm get URL`). `--json` prints a JSON array with stable field names. `--long` first says where ddm
/// keeps its data (the data directory, the config file), which runner works it, and the caps
/// in force (connections in all and per host, what hosts taught, speed limits), and gives
/// each job its destination directory.
///
/// Example: ddm status   |   ddm status 3 --json   |   ddm status --state running,queued
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this job.
    #[arg(value_name = "ID")]
    pub id: Option<i64>,
    /// JSON array of job objects (id, state, url, final_url, protocol, path, size, bytes_done,
    /// speed and connections (open) while running, connections_max (the most it may open) for
    /// an unfinished job, error, error_kind, waiting (why a waiting job waits), place (in the
    /// queue, 1 first), priority, starts_at (epoch seconds) and starts_at_local, after (the
    /// job it waits for), rule (the config rule that routed it, and why), held (the schedule
    /// window that paused it), hint).
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// A live view of the whole queue, refreshed in place (the same as `ddm top`).
    #[arg(long, conflicts_with = "id")]
    pub watch: bool,
    /// Also the data directory, the config file, the runner and the caps in force (with
    /// `--json`: an object {data_directory, config_file, runner_pid, caps, jobs}).
    #[arg(short = 'l', long, conflicts_with = "watch")]
    pub long: bool,
    /// Only jobs in these states, comma-separated: queued, running, waiting, paused, done,
    /// failed (e.g. --state running,queued).
    #[arg(long, value_name = "STATES", value_delimiter = ',', value_parser = parse_state,
          conflicts_with_all = ["id", "watch"])]
    pub state: Option<Vec<StateKind>>,
}

fn parse_state(s: &str) -> Result<StateKind, String> {
    StateKind::parse(s.trim()).ok_or_else(|| {
        format!(
            "{:?} is not a state; give queued, running, waiting, paused, done or failed",
            s.trim()
        )
    })
}

pub fn run(g: &Global, a: Args) -> CliResult {
    if a.watch {
        return super::top::watch(g);
    }
    let ctx = Ctx::open_read(g)?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let io = |e: std::io::Error| crate::exit::CliError::new(Code::Env, e);
    // Jobs left `running` by a killed runner have no live speed.
    let live = ddm_core::lock::holder_alive(&ctx.paths.lock_file());
    let runner = ddm_core::lock::holder(&ctx.paths.lock_file());
    let shown = rows::Shown::new(&ctx, live)?;
    if a.long {
        // The caps need each job's own settings (rates): whole jobs, all at once.
        let jobs = match a.id {
            Some(id) => vec![ctx.store.get(id).map_err(store)?],
            None => ctx.store.list().map_err(store)?,
        };
        let jobs: Vec<Job> = jobs
            .into_iter()
            .filter(|j| a.state.as_ref().is_none_or(|s| s.contains(&j.shown())))
            .collect();
        if a.json {
            let mut c = shown.ceilings(&ctx);
            let arr: Vec<_> = jobs.iter().map(|j| shown.json(j, c.of(j))).collect();
            let v = serde_json::json!({
                "data_directory": ctx.paths.state_dir.display().to_string(),
                "config_file": ctx.paths.config_file.display().to_string(),
                "config_file_exists": ctx.paths.config_file.is_file(),
                "runner_pid": runner,
                "caps": crate::caps::json(&ctx.store, &ctx.config).map_err(store)?,
                "jobs": arr,
            });
            let text = serde_json::to_string_pretty(&v).map_err(|e| io(e.into()))?;
            writeln!(out, "{}", ui::json_text(&text)).map_err(io)?;
        } else {
            for line in long_header(&ctx, runner, &jobs)? {
                writeln!(out, "{line}").map_err(io)?;
            }
            writeln!(out).map_err(io)?;
            let mut t = rows::Table::new(&shown, &ctx, true);
            for j in &jobs {
                t.row(&mut out, j).map_err(io)?;
            }
            t.end(&mut out).map_err(io)?;
        }
        out.flush().map_err(io)?;
        return Ok(Code::Ok);
    }
    // Each job is written as it is read: 100,000 jobs are never all held.
    let each = |f: &mut dyn FnMut(Job) -> Result<(), crate::exit::CliError>| match a.id {
        Some(id) => f(ctx.store.get(id).map_err(store)?),
        None => ctx.store.each_shown(a.state.as_deref(), f),
    };
    if a.json {
        let mut c = shown.ceilings(&ctx);
        let mut first = true;
        write!(out, "[").map_err(io)?;
        each(&mut |j| {
            let v = shown.json(&j, c.of(&j));
            let text = serde_json::to_string_pretty(&v).map_err(|e| io(e.into()))?;
            // As an element of a pretty array: on its own lines, indented by two.
            let sep = if first { "\n" } else { ",\n" };
            first = false;
            write!(out, "{sep}  {}", ui::json_text(&text).replace('\n', "\n  ")).map_err(io)
        })?;
        writeln!(out, "{}]", if first { "" } else { "\n" }).map_err(io)?;
    } else {
        let mut t = rows::Table::new(&shown, &ctx, false);
        each(&mut |j| t.row(&mut out, &j).map_err(io))?;
        t.end(&mut out).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(Code::Ok)
}

/// Where ddm keeps its data, who works it, and the caps in force.
fn long_header(ctx: &Ctx, runner: Option<u32>, jobs: &[Job]) -> CliResult<Vec<String>> {
    let p = &ctx.paths;
    let mut out = vec![
        format!(
            "data directory: {} (jobs.db, ddm.log)",
            clean(&p.state_dir.display().to_string())
        ),
        format!(
            "config file: {}{}",
            clean(&p.config_file.display().to_string()),
            if p.config_file.is_file() {
                ""
            } else {
                " (none: the defaults apply)"
            }
        ),
        match runner {
            Some(pid) => format!("runner: pid {pid} works this data directory"),
            None => "runner: none (`ddm run` works the queue)".to_string(),
        },
    ];
    out.extend(crate::caps::connection_lines(&ctx.store, &ctx.config).map_err(store)?);
    out.extend(crate::caps::rate_lines(&ctx.store, &ctx.config, jobs).map_err(store)?);
    Ok(out)
}

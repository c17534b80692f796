//! `ddm status`: the job table, or `--json` for scripts.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::hints::{hint, waiting_hint, with_hint};
use crate::ui::{self, clean};
use ddm_core::model::redact_url;
use ddm_core::store::{Job, StateKind};
use std::io::Write;

/// Show jobs: id, state, progress, size, speed and connections (while running: open now and
/// the most it may open, `3/16`), name; for a job in the queue its place, priority, start time
/// and the job it waits for; the rule that routed it; the error of failed jobs, and why a
/// waiting job waits (its download link expired: give it a fresh one with `ddm set-url ID
/// URL` or `ddm get URL`). `--json` prints a JSON array with stable field names. `--long` first says where ddm
/// keeps its data (the data directory, the config file), which runner works it, and the caps
/// in force (connections in all and per host, what hosts taught, speed limits), and gives
/// each job its destination directory.
///
/// Example: ddm status   |   ddm status 3 --json   |   ddm status --long
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this job.
    #[arg(value_name = "ID")]
    pub id: Option<i64>,
    /// JSON array of job objects (id, state, url, final_url, protocol, path, size, bytes_done,
    /// speed and connections (open) while running, connections_max (the most it may open) for
    /// an unfinished job, error, error_kind, waiting (why a waiting job waits), place (in the
    /// queue, 1 first), priority, starts_at (epoch seconds) and starts_at_local, after (the
    /// job it waits for), rule (the config rule that routed it, and why), hint).
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// A live view of the whole queue, refreshed in place (the same as `ddm top`).
    #[arg(long, conflicts_with = "id")]
    pub watch: bool,
    /// Also the data directory, the config file, the runner and the caps in force (with
    /// `--json`: an object {data_directory, config_file, runner_pid, caps, jobs}).
    #[arg(short = 'l', long, conflicts_with = "watch")]
    pub long: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    if a.watch {
        return super::top::watch(g);
    }
    let ctx = Ctx::open_read(g)?;
    let jobs = match a.id {
        Some(id) => vec![ctx.store.get(id).map_err(store)?],
        None => ctx.store.list().map_err(store)?,
    };
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let io = |e: std::io::Error| crate::exit::CliError::new(Code::Env, e);
    // Jobs left `running` by a killed runner have no live speed.
    let live = ddm_core::lock::holder_alive(&ctx.paths.lock_file());
    let runner = ddm_core::lock::holder(&ctx.paths.lock_file());
    // The most connections each job may open, as the runner decides it (None when done).
    let max = ddm_core::engine::ceilings(&ctx.store, &jobs, &ctx.config);
    // Each queued job's place in the order the runner claims them (1 first).
    let places: std::collections::HashMap<i64, usize> = ctx
        .store
        .queue_order()
        .map_err(store)?
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i + 1))
        .collect();
    let now = ddm_core::clock::now();
    if a.json {
        let arr: Vec<_> = jobs
            .iter()
            .zip(&max)
            .map(|(j, m)| {
                let mut v = to_json(j, live, *m);
                v["place"] = places.get(&j.id).copied().into();
                v
            })
            .collect();
        let v = if a.long {
            serde_json::json!({
                "data_directory": ctx.paths.state_dir.display().to_string(),
                "config_file": ctx.paths.config_file.display().to_string(),
                "config_file_exists": ctx.paths.config_file.is_file(),
                "runner_pid": runner,
                "caps": crate::caps::json(&ctx.store, &ctx.config).map_err(store)?,
                "jobs": arr,
            })
        } else {
            serde_json::Value::Array(arr)
        };
        let text = serde_json::to_string_pretty(&v).map_err(|e| io(e.into()))?;
        writeln!(out, "{}", ui::json_text(&text)).map_err(io)?;
    } else {
        if a.long {
            for line in long_header(&ctx, runner, &jobs)? {
                writeln!(out, "{line}").map_err(io)?;
            }
            writeln!(out).map_err(io)?;
        }
        let rows: Vec<(&Job, Option<usize>)> = jobs.iter().zip(max).collect();
        write_table(&mut out, &rows, live, a.long, &|j| {
            queue_line(j, &places, now)
        })
        .map_err(io)?;
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

pub fn to_json(j: &Job, runner_alive: bool, max: Option<usize>) -> serde_json::Value {
    let running = j.shown() == StateKind::Running && runner_alive;
    let err = j.state.error();
    let waiting = j.waits_for_link();
    serde_json::json!({
        "id": j.id,
        "state": j.shown().name(),
        "url": redact_url(&j.url),
        "final_url": j.final_url.as_deref().map(redact_url),
        "protocol": j.protocol,
        "path": j.path().map(|p| p.display().to_string()),
        "size": j.size,
        "bytes_done": j.bytes_done,
        "speed": if running { j.speed } else { None },
        "connections": if running { j.conns } else { None },
        "connections_max": max,
        "error": err.map(|e| e.message.as_str()),
        "error_kind": err.map(|e| e.kind.as_str()),
        "waiting": waiting,
        "priority": j.priority,
        "starts_at": j.not_before,
        "starts_at_local": j.not_before.map(ddm_core::clock::format),
        "after": j.after,
        "rule": j.rule,
        "hint": err
            .map(|e| hint(e.kind, j.id))
            .or_else(|| waiting.map(|_| waiting_hint(j.id))),
    })
}

/// Where a queued (or paused) job stands: its place with its priority, start time or
/// dependency; None for a job out of the queue, or one with none of those.
fn queue_line(j: &Job, places: &std::collections::HashMap<i64, usize>, now: i64) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = places.get(&j.id) {
        parts.push(format!("place {p} in the queue"));
    }
    if j.priority != 0 {
        parts.push(format!(
            "priority {}",
            ddm_core::store::priority_name(j.priority)
        ));
    }
    if let Some(t) = j.not_before.filter(|t| *t > now && !j.state.is_done()) {
        parts.push(format!(
            "starts at {} (in {})",
            ddm_core::clock::format(t),
            ddm_core::clock::span(t - now)
        ));
    }
    if let Some(d) = j.after.filter(|_| !j.state.is_done()) {
        parts.push(format!("after job {d} is done"));
    }
    // A plain queued job says nothing more than its row.
    (parts.len() > 1 && places.contains_key(&j.id)).then(|| parts.join("; "))
}

fn write_table(
    out: &mut impl Write,
    rows: &[(&Job, Option<usize>)],
    runner_alive: bool,
    long: bool,
    queue: &dyn Fn(&Job) -> Option<String>,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no jobs (queue one with `ddm add URL`)");
    }
    writeln!(
        out,
        "{:>5}  {:<8} {:>6}  {:>10}  {:>11}  {:>5}  NAME",
        "ID", "STATE", "DONE", "SIZE", "SPEED", "CONN"
    )?;
    for &(j, max) in rows {
        let pct = match j.percent() {
            Some(p) => format!("{:.1}%", p.min(100.0)),
            None if j.bytes_done > 0 => ui::bytes(j.bytes_done),
            None => "-".into(),
        };
        let size = j.size.map(ui::bytes).unwrap_or_else(|| "?".into());
        let running = j.shown() == StateKind::Running;
        let live = running && runner_alive;
        let speed = match (live, j.speed) {
            (true, Some(s)) => ui::speed(s),
            _ => String::new(),
        };
        // Open now out of the most it may open, while a runner works it.
        let conn = match (live, max) {
            (true, Some(m)) => crate::line::conns(j.conns.unwrap_or(0) as usize, m),
            _ => String::new(),
        };
        let name = clean(&j.file_name.clone().unwrap_or_else(|| redact_url(&j.url)));
        writeln!(
            out,
            "{:>5}  {:<8} {:>6}  {:>10}  {:>11}  {:>5}  {}",
            j.id,
            j.shown().name(),
            pct,
            size,
            speed,
            conn,
            name
        )?;
        if long {
            writeln!(
                out,
                "{:>5}  into {}, from {}",
                "",
                clean(&j.dest_dir.display().to_string()),
                clean(&redact_url(&j.url))
            )?;
        }
        if let Some(q) = queue(j) {
            writeln!(out, "{:>5}  {q}", "")?;
        }
        if let Some(r) = &j.rule {
            writeln!(out, "{:>5}  rule: {}", "", clean(&r.to_string()))?;
        }
        if let Some(e) = j.state.error() {
            writeln!(out, "{:>5}  error: {}", "", clean(&with_hint(e, j.id)))?;
        }
        if let Some(w) = j.waits_for_link() {
            let w = format!("{w}; {}", waiting_hint(j.id));
            writeln!(out, "{:>5}  waiting for a fresh link: {}", "", clean(&w))?;
        }
    }
    let orphans = rows
        .iter()
        .any(|(j, _)| j.state == ddm_core::store::JobState::Running);
    if orphans && !runner_alive {
        writeln!(
            out,
            "note: no runner is working the jobs marked running (it was stopped); `ddm run` continues them"
        )?;
    }
    Ok(())
}

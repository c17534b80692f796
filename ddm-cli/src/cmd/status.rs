//! `ddm status`: the job table, or `--json` for scripts.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliResult, Code};
use crate::hints::{hint, waiting_hint, with_hint};
use crate::ui::{self, clean};
use ddm_core::model::redact_url;
use ddm_core::store::{Job, StateKind};
use std::io::Write;

/// Show jobs: id, state, progress, size, speed (while running), name, the error of failed
/// jobs, and why a waiting job waits (its download link expired: give it a fresh one with
/// `ddm set-url ID URL` or `ddm get URL`). `--json` prints a JSON array with stable field
/// names.
///
/// Example: ddm status   |   ddm status 3 --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this job.
    #[arg(value_name = "ID")]
    pub id: Option<i64>,
    /// JSON array of job objects (id, state, url, final_url, protocol, path, size, bytes_done,
    /// speed and connections while running, error, error_kind, waiting (why a waiting job
    /// waits), hint).
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
    /// A live view of the whole queue, refreshed in place (the same as `ddm top`).
    #[arg(long, conflicts_with = "id")]
    pub watch: bool,
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
    if a.json {
        let arr: Vec<_> = jobs.iter().map(|j| to_json(j, live)).collect();
        let text = serde_json::to_string_pretty(&arr).map_err(|e| io(e.into()))?;
        writeln!(out, "{}", ui::json_text(&text)).map_err(io)?;
    } else {
        write_table(&mut out, &jobs, live).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(Code::Ok)
}

pub fn to_json(j: &Job, runner_alive: bool) -> serde_json::Value {
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
        "error": err.map(|e| e.message.as_str()),
        "error_kind": err.map(|e| e.kind.as_str()),
        "waiting": waiting,
        "hint": err
            .map(|e| hint(e.kind, j.id))
            .or_else(|| waiting.map(|_| waiting_hint(j.id))),
    })
}

fn write_table(out: &mut impl Write, jobs: &[Job], runner_alive: bool) -> std::io::Result<()> {
    if jobs.is_empty() {
        return writeln!(out, "no jobs (queue one with `ddm add URL`)");
    }
    writeln!(
        out,
        "{:>5}  {:<8} {:>6}  {:>10}  {:>11}  NAME",
        "ID", "STATE", "DONE", "SIZE", "SPEED"
    )?;
    for j in jobs {
        let pct = match j.percent() {
            Some(p) => format!("{:.1}%", p.min(100.0)),
            None if j.bytes_done > 0 => ui::bytes(j.bytes_done),
            None => "-".into(),
        };
        let size = j.size.map(ui::bytes).unwrap_or_else(|| "?".into());
        let running = j.shown() == StateKind::Running;
        let speed = match (running && runner_alive, j.speed) {
            (true, Some(s)) => ui::speed(s),
            _ => String::new(),
        };
        let name = clean(&j.file_name.clone().unwrap_or_else(|| redact_url(&j.url)));
        writeln!(
            out,
            "{:>5}  {:<8} {:>6}  {:>10}  {:>11}  {}",
            j.id,
            j.shown().name(),
            pct,
            size,
            speed,
            name
        )?;
        if let Some(e) = j.state.error() {
            writeln!(out, "{:>5}  error: {}", "", clean(&with_hint(e, j.id)))?;
        }
        if let Some(w) = j.waits_for_link() {
            let w = format!("{w}; {}", waiting_hint(j.id));
            writeln!(out, "{:>5}  waiting for a fresh link: {}", "", clean(&w))?;
        }
    }
    let orphans = jobs
        .iter()
        .any(|j| j.state == ddm_core::store::JobState::Running);
    if orphans && !runner_alive {
        writeln!(
            out,
            "note: no runner is working the jobs marked running (it was stopped); `ddm run` continues them"
        )?;
    }
    Ok(())
}

//! `ddm schedule`: the config's `[[schedule]]` windows, the one in force now and the next
//! change.

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{CliResult, Code};
use crate::ui::outln;
use ddm_core::schedule::{in_force, next_change, rate_text, InForce, System, Window};

/// Show the schedule (config `[[schedule]]`): every window, which one is in force now (its
/// rate cap, whether it holds the queue) or that the defaults apply, and when that changes
/// next and to what. Times are local (the system's time zone). `--json` for scripts.
///
/// Example: ddm schedule   |   ddm schedule --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON object: windows (each as written, described), now (window: its number from 1
    /// or null, max_rate, hold), next (at: epoch seconds, at_local, and the same fields) or
    /// null.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let ctx = Ctx::open_read(g)?;
    let ws = &ctx.config.schedule;
    let t = ddm_core::clock::now();
    let now = in_force(ws, &ddm_core::clock::local(t));
    let next = next_change(ws, t, &System);
    let default_rate = ctx.config.max_rate;
    if a.json {
        let state = |f: &InForce| {
            serde_json::json!({
                "window": f.window.map(|i| i + 1),
                // The cap over the config's rate: the lower of the two.
                "max_rate": match (f.max_rate, default_rate) {
                    (Some(c), Some(d)) => Some(c.min(d)),
                    (c, d) => c.or(d),
                },
                "hold": f.hold,
            })
        };
        let v = serde_json::json!({
            "windows": ws.iter().map(Window::describe).collect::<Vec<_>>(),
            "now": state(&now),
            "next": next.map(|(at, f)| {
                let mut v = state(&f);
                v["at"] = at.into();
                v["at_local"] = ddm_core::clock::format(at).into();
                v
            }),
        });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(Code::Ok);
    }
    if ws.is_empty() {
        outln!(
            "no schedule: the queue runs at any time{} (add [[schedule]] windows to {})",
            default_rate
                .map(|r| format!(", max_rate {}/s", rate_text(r)))
                .unwrap_or_default(),
            ctx.paths.config_file.display()
        );
        return Ok(Code::Ok);
    }
    for (i, w) in ws.iter().enumerate() {
        let mark = if now.window == Some(i) { "*" } else { " " };
        outln!("{mark} {}. {}", i + 1, w.describe());
    }
    let what = |f: &InForce| match f.window {
        Some(i) => format!("window {} ({})", i + 1, ws[i].describe()),
        None => format!(
            "the defaults (queue runs, {})",
            default_rate
                .map(|r| format!("max_rate {}/s", rate_text(r)))
                .unwrap_or_else(|| "no rate cap".into())
        ),
    };
    outln!("now: {}", what(&now));
    match next {
        Some((at, f)) => outln!(
            "next change: {} (in {}): {}",
            ddm_core::clock::format(at),
            ddm_core::clock::span(at - t),
            what(&f)
        ),
        None => outln!("next change: none within a week"),
    }
    Ok(Code::Ok)
}

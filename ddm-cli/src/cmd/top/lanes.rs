//! The lanes of the selected job in `ddm top` (Enter): one line per open connection, its
//! range in the file, how far it got, its speed, time to first byte and source, the same
//! data as the page of `ddm serve`. Only the runner's process knows them: `top` asks the
//! `ddm serve` working this data directory (`ddm.getConnections` on the address it wrote
//! in `serve.addr`, with the token of config `serve.secret` or the generated
//! `serve.secret`). When no `ddm serve` runs (`ddm run` and `ddm get` keep their lanes to
//! themselves) or it cannot be asked, the panel says so plainly.

use crate::ui;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long `top` waits for `ddm serve` (it redraws twice a second).
const TIMEOUT: Duration = Duration::from_millis(300);

/// One open connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub id: u64,
    pub from: u64,
    pub to: u64,
    pub pos: u64,
    pub speed: u64,
    pub ttfb_ms: Option<u64>,
    pub url: String,
}

/// What the panel shows for job `job`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lanes {
    Open {
        job: i64,
        size: Option<u64>,
        lanes: Vec<Lane>,
    },
    /// Why there is nothing to show.
    Unavailable { job: i64, why: String },
}

/// Where `ddm serve` says it listens, if it runs.
pub struct Source {
    pub addr: Option<String>,
    pub token: Option<String>,
}

/// Ask `ddm serve` for job `job`'s lanes.
pub fn fetch(src: &Source, job: i64) -> Lanes {
    let unavailable = |why: &str| Lanes::Unavailable {
        job,
        why: why.to_string(),
    };
    const ONLY: &str = "lanes are known only to the runner's process: they show here while \
                        `ddm serve` works the queue (ddm run and ddm get keep them to themselves)";
    let Some(addr) = &src.addr else {
        return unavailable(ONLY);
    };
    let Some(token) = &src.token else {
        return unavailable(
            "ddm serve runs, but its token is not in config serve.secret nor in serve.secret: \
             top cannot ask it",
        );
    };
    match call(addr, token, job) {
        Ok(v) => parse(job, &v),
        Err(e) => unavailable(&e),
    }
}

fn call(addr: &str, token: &str, job: i64) -> Result<Value, String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ddm.getConnections",
        "params": [format!("token:{token}"), format!("{job:016x}")]})
    .to_string();
    let sa = addr
        .parse()
        .map_err(|_| format!("serve.addr holds {addr:?}, not an address"))?;
    let mut c = TcpStream::connect_timeout(&sa, TIMEOUT).map_err(|e| {
        format!(
            "no ddm serve answers at {addr} ({e}); lanes are known only to the runner's \
             process: they show here while `ddm serve` works the queue"
        )
    })?;
    c.set_read_timeout(Some(TIMEOUT)).ok();
    c.set_write_timeout(Some(TIMEOUT)).ok();
    write!(
        c,
        "POST /jsonrpc HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("ddm serve at {addr}: {e}"))?;
    let mut out = Vec::new();
    c.read_to_end(&mut out)
        .map_err(|e| format!("ddm serve at {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&out);
    let json = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: Value = serde_json::from_str(json)
        .map_err(|_| format!("ddm serve at {addr} gave no JSON-RPC answer"))?;
    match v.get("error") {
        Some(e) if e["message"] == "Unauthorized" => Err("ddm serve refused top's token (was \
             it started with --secret? put the token in config serve.secret)"
            .into()),
        Some(e) => Err(format!(
            "ddm serve: {}",
            e["message"].as_str().unwrap_or("?")
        )),
        None => Ok(v["result"].clone()),
    }
}

fn parse(job: i64, v: &Value) -> Lanes {
    let n = |l: &Value, k: &str| l[k].as_u64().unwrap_or(0);
    let lanes = v["lanes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| Lane {
                    id: n(l, "id"),
                    from: n(l, "from"),
                    to: n(l, "to"),
                    pos: n(l, "pos"),
                    speed: n(l, "speed"),
                    ttfb_ms: l["ttfbMs"].as_u64(),
                    url: ui::clean(l["url"].as_str().unwrap_or("")),
                })
                .collect()
        })
        .unwrap_or_default();
    Lanes::Open {
        job,
        size: v["size"].as_u64(),
        lanes,
    }
}

/// The panel's lines, at most `max` of them, fitted to `width`.
pub fn lines(l: &Lanes, width: usize, max: usize) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let fit = |s: String| -> String { s.chars().take(width).collect() };
    let mut out = Vec::new();
    match l {
        Lanes::Unavailable { job, why } => {
            out.push(Line::styled(fit(format!("lanes of job {job}")), bold));
            out.push(Line::raw(fit(format!("  {why}"))));
        }
        Lanes::Open { job, size, lanes } => {
            let head = match lanes.len() {
                0 => format!("lanes of job {job}: no connection open (Enter closes)"),
                n => format!(
                    "lanes of job {job}: {n} connection{} open (Enter closes)",
                    if n == 1 { "" } else { "s" }
                ),
            };
            out.push(Line::styled(fit(head), bold));
            let bar_w = width.saturating_sub(70).clamp(10, 40);
            for x in lanes.iter().take(max.saturating_sub(1)) {
                out.push(Line::raw(fit(lane_line(x, *size, bar_w))));
            }
        }
    }
    out.truncate(max);
    out
}

/// `#3  12.0M-16.0M [==--......]  45%  1.2 MiB/s  ttfb 12 ms  host:port`: the bar is the
/// whole file; `=` what this lane received, `-` what it still has to fetch.
fn lane_line(l: &Lane, size: Option<u64>, bar_w: usize) -> String {
    let size = size.unwrap_or(l.to).max(1);
    let cell = |b: u64| ((b as f64 / size as f64) * bar_w as f64) as usize;
    let bar: String = (0..bar_w)
        .map(|i| {
            if i >= cell(l.from)
                && i < cell(l.pos).max(cell(l.from) + 1).min(bar_w)
                && l.pos > l.from
            {
                '='
            } else if i >= cell(l.from) && i <= cell(l.to.saturating_sub(1)) {
                '-'
            } else {
                '.'
            }
        })
        .collect();
    let pct = match l.to.saturating_sub(l.from) {
        0 => 100,
        span => (l.pos.saturating_sub(l.from) * 100 / span).min(100),
    };
    let host = l
        .url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(&l.url);
    format!(
        "  #{:<3} {:>9}-{:<9} [{bar}] {pct:>3}%  {:>11}  ttfb {:>6}  {host}",
        l.id,
        ui::bytes(l.from),
        ui::bytes(l.to),
        format!("{}/s", ui::bytes(l.speed)),
        l.ttfb_ms
            .map(|t| format!("{t} ms"))
            .unwrap_or_else(|| "-".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_line_shows_its_range_progress_speed_and_source() {
        let l = Lane {
            id: 3,
            from: 4 << 20,
            to: 8 << 20,
            pos: 6 << 20,
            speed: 1 << 20,
            ttfb_ms: Some(12),
            url: "http://127.0.0.1:8080/f.bin".into(),
        };
        let s = lane_line(&l, Some(16 << 20), 16);
        assert!(s.contains("#3"), "{s}");
        assert!(s.contains("[....==--........]"), "{s}");
        assert!(
            s.contains(" 50%") && s.contains("ttfb  12 ms") && s.contains("127.0.0.1:8080"),
            "{s}"
        );
        let none = fetch(
            &Source {
                addr: None,
                token: None,
            },
            7,
        );
        assert!(matches!(&none, Lanes::Unavailable { job: 7, why } if why.contains("ddm serve")));
        let text: Vec<String> = lines(&none, 80, 5).iter().map(|l| l.to_string()).collect();
        assert_eq!(text[0], "lanes of job 7");
    }
}

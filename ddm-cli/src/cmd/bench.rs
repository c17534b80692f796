//! `ddm bench`: measure a host and recommend a connection count (optionally saved in the
//! host policy so later jobs on that host start from it).

use super::jobopts::parse_urls;
use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, usage, CliError, CliResult, Code};
use crate::ui;
use crate::ui::outln;
use ddm_core::engine::{Control, Measurement};
use ddm_core::store::host_key;
use std::io::IsTerminal;

/// Download the first bytes of URL with each connection count (twice, best run counts), then
/// print throughput, noise, time to first byte, errors and throttle events per count, and
/// recommend a count: more connections only while each doubling gains at least 15% (or more
/// than the measured noise), and never one that saw throttling. No count goes above
/// `max_connections_per_host` (config), which no job could open. Data goes to a scratch
/// file that is removed.
///
/// Example: ddm bench https://example.org/big.iso --counts 1,4,8,16 --bytes 128M --save
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An http or https URL of a large file.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Connection counts to try, comma separated (each 1-64; those above the config's
    /// `max_connections_per_host` are left out). Default: 1, 2, 4, … up to that cap.
    #[arg(long, value_delimiter = ',')]
    pub counts: Option<Vec<u32>>,
    /// Bytes to download per count (K, M, G suffixes; binary units).
    #[arg(long, default_value = "64M", value_parser = crate::ui::parse_size)]
    pub bytes: u64,
    /// Measure every count this many times (alternating order); the best run counts.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub rounds: u32,
    /// One JSON object: {"recommended": N, "results": [...]}.
    #[arg(long)]
    pub json: bool,
    /// Store the recommendation for this host; later jobs start from it.
    #[arg(long)]
    pub save: bool,
    #[command(flatten)]
    pub headers: super::jobopts::HeaderArgs,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
}

fn row(m: &Measurement) -> serde_json::Value {
    serde_json::json!({
        "connections": m.connections,
        "mib_per_s": (m.mib_per_s() * 100.0).round() / 100.0,
        "ttfb_ms": m.ttfb().map(|t| t.as_millis() as u64),
        "errors": m.stats.errors,
        "throttled": m.stats.throttled,
        "stalls": m.stats.stalls,
        "spread": (m.spread * 1000.0).round() / 1000.0,
        "bytes": m.bytes,
        "seconds": m.elapsed.as_secs_f64(),
        "failed": m.failed,
    })
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let url = parse_urls(std::slice::from_ref(&a.url))?.remove(0);
    let mut asked: Option<Vec<usize>> = None;
    for &c in a.counts.iter().flatten() {
        if !(1..=ddm_core::config::MAX_CONNECTIONS).contains(&c) {
            return Err(usage(format!("--counts: {c} is out of range (1 to 64)")));
        }
        asked.get_or_insert_with(Vec::new).push(c as usize);
    }
    let mut ctx = Ctx::open(g)?;
    let (counts, over) = ddm_core::bench::counts(asked.as_deref(), &ctx.config);
    if !over.is_empty() && !g.quiet {
        let cap = ctx.config.host_connections();
        eprintln!(
            "note: --counts {} left out: above max_connections_per_host ({cap}), which no job \
             opens (raise it in config.toml to measure more)",
            over.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let http = a.headers.http(&ctx.config, &url, a.insecure)?;
    let info =
        ddm_core::resolver::probe(&url, &http).map_err(|e| CliError::new(Code::Failed, e))?;
    let ctl = Control::from_config(&ctx.config, crate::signals::install());
    let scratch = tempfile::Builder::new()
        .prefix("ddm-bench-")
        .tempdir()
        .map_err(|e| CliError::new(Code::Env, e))?;
    if !a.json && !g.quiet {
        let over = if info.protocol.is_empty() {
            String::new()
        } else {
            format!(" over {}", ui::clean(&info.protocol))
        };
        eprintln!(
            "bench {}{over}: {} per count{}",
            info.final_url,
            ui::bytes(info.size.map_or(a.bytes, |s| s.min(a.bytes))),
            if info.ranges {
                ""
            } else {
                " (no range support: one connection only)"
            }
        );
        outln!(
            "{:>5}  {:>10}  {:>6}  {:>8}  {:>6}  {:>9}",
            "CONNS",
            "MiB/s",
            "NOISE",
            "TTFB",
            "ERRORS",
            "THROTTLED"
        );
    }
    let json = a.json;
    let results = ddm_core::bench::run(
        &ddm_core::bench::Plan {
            info: &info,
            http: &http,
            cfg: &ctx.config,
            counts: &counts,
            limit: a.bytes,
            rounds: a.rounds as usize,
            scratch_dir: scratch.path(),
        },
        &ctl,
        |n, round| {
            // Progress while it measures (on a terminal, one line rewritten in place).
            if !json && !g.quiet && std::io::stderr().is_terminal() {
                eprint!(
                    "\r\x1b[2Kmeasuring {n} connection{} (round {round} of {})…",
                    if n == 1 { "" } else { "s" },
                    a.rounds
                );
            }
        },
        |m| {
            if !json {
                if !g.quiet && std::io::stderr().is_terminal() {
                    eprint!("\r\x1b[2K");
                }
                // One round tells nothing about noise.
                let noise = if a.rounds > 1 {
                    format!("{:.0}%", m.spread * 100.0)
                } else {
                    "-".into()
                };
                outln!(
                    "{:>5}  {:>10.1}  {:>6}  {:>8}  {:>6}  {:>9}{}",
                    m.connections,
                    m.mib_per_s(),
                    noise,
                    m.ttfb()
                        .map(|t| format!("{} ms", t.as_millis()))
                        .unwrap_or_else(|| "-".into()),
                    m.stats.errors,
                    m.stats.throttled,
                    m.failed
                        .as_ref()
                        .map(|e| format!("  failed: {e}"))
                        .unwrap_or_default()
                );
            }
        },
    )
    .map_err(|e| CliError::new(Code::Env, anyhow::anyhow!(e)))?;
    if ctl.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(Code::Interrupted);
    }
    if results.iter().all(|m| m.failed.is_some()) {
        return Err(CliError::new(
            Code::Failed,
            anyhow::anyhow!(
                "every measurement failed: {}",
                results
                    .first()
                    .and_then(|m| m.failed.clone())
                    .unwrap_or_default()
            ),
        ));
    }
    let rec = ddm_core::bench::recommend(&results);
    if json {
        let v = serde_json::json!({
            "url": info.final_url,
            "protocol": info.protocol,
            "recommended": rec,
            "results": results.iter().map(row).collect::<Vec<_>>(),
        });
        outln!("{}", crate::ui::json_text(&v.to_string()));
    } else {
        outln!(
            "recommended: {rec} connection{}",
            if rec == 1 { "" } else { "s" }
        );
    }
    if a.save {
        let host = url::Url::parse(&info.final_url)
            .map(|u| host_key(&u))
            .map_err(|e| usage(e.to_string()))?;
        ctx.store
            .set_host_recommended(&host, rec as u32)
            .map_err(store)?;
        if !json && !g.quiet {
            eprintln!("saved: jobs on {host} start with {rec} connection(s)");
        }
    }
    Ok(Code::Ok)
}

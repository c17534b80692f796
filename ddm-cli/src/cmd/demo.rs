//! `ddm demo`: a self-contained showcase that works offline. It starts the built-in loopback
//! server (the same `ddm-testserver` code the tests use), serves a generated file that is
//! throttled per connection, downloads it through the normal job path with progress, checks
//! its sha256, and compares the time with a single connection. The server is built in only
//! with the `demo` feature (on by default); without it, `ddm demo` says how to get it.

use crate::ctx::Global;
use crate::exit::{CliError, CliResult, Code};
use ddm_core::config::Config;
#[cfg(feature = "demo")]
use {
    crate::observe::Display,
    crate::ui,
    crate::ui::outln,
    ddm_core::engine::checksum::{sha256_file, sha256_hex},
    ddm_core::engine::{run_job, Control, Outcome},
    ddm_core::store::{JobSettings, NewJob, Store},
    ddm_testserver::{pattern, Resource, Server},
    std::sync::Arc,
};

/// Download a generated file from a built-in, per-connection-throttled loopback server with
/// several connections, verify it, and compare with one connection. Needs no network.
///
/// Example: ddm demo   |   ddm demo --size-mib 16 --rate-mib 4
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the generated file in MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub size_mib: u64,
    /// Per-connection speed limit of the demo server, MiB/s.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub rate_mib: u64,
    /// Connections for the segmented download (at most 16, the default
    /// `max_connections_per_host`: the demo keeps to the same caps as every download).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub connections: u32,
    /// Skip the single-connection comparison.
    #[arg(long)]
    pub no_compare: bool,
}

#[cfg(feature = "demo")]
fn env(e: impl Into<anyhow::Error>) -> CliError {
    CliError::new(Code::Env, e)
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let cfg = Config::default();
    if a.connections as usize > cfg.host_connections() {
        return Err(crate::exit::usage(format!(
            "--connections {}: the demo keeps to the default cap of {} connections per host \
             (max_connections_per_host), like every download; pick 1 to {}",
            a.connections,
            cfg.host_connections(),
            cfg.host_connections()
        )));
    }
    showcase(g, a, cfg)
}

/// Built without the `demo` feature: no server to show anything with.
#[cfg(not(feature = "demo"))]
fn showcase(_: &Global, _: Args, _: Config) -> CliResult {
    Err(CliError::new(
        Code::Usage,
        anyhow::anyhow!(
            "this ddm was built without the demo (its built-in test server is left out); \
             build it with the default features to get it: `cargo install --path ddm-cli` or \
             `cargo build --release -p ddm-cli --features demo`"
        ),
    ))
}

#[cfg(feature = "demo")]
fn showcase(g: &Global, a: Args, cfg: Config) -> CliResult {
    let body = Arc::new(pattern((a.size_mib << 20) as usize, 2026));
    let want = sha256_hex(&body);
    let server = Server::start().map_err(env)?;
    let rate = a.rate_mib << 20;
    server.add(
        "/demo.bin",
        Resource::shared(body.clone()).etag("\"demo-1\"").rate(rate),
    );
    let url = server.url("/demo.bin");
    let work = tempfile::Builder::new()
        .prefix("ddm-demo-")
        .tempdir()
        .map_err(env)?;
    let mut store = Store::open(&work.path().join("jobs.db")).map_err(env)?;
    let ctl = Control::from_config(&cfg, crate::signals::install());
    eprintln!(
        "demo: the built-in server serves {} at {} per connection (nothing is kept afterwards)",
        ui::bytes(body.len() as u64),
        ui::speed(rate)
    );
    let mut runs = vec![(
        a.connections,
        download(&mut store, &url, work.path(), a.connections, &cfg, &ctl, g)?,
    )];
    if !a.no_compare {
        runs.push((
            1,
            download(&mut store, &url, work.path(), 1, &cfg, &ctl, g)?,
        ));
    }
    // Each download is checked against the served file's own hash, shown side by side.
    outln!("{:<16} sha256 {want}", "served file");
    let mut bad = false;
    for (n, (path, secs)) in &runs {
        let got = sha256_file(path).map_err(env)?;
        let verdict = if got == want { "ok" } else { "MISMATCH" };
        bad |= got != want;
        let label = format!("{n} connection{}", if *n == 1 { "" } else { "s" });
        outln!(
            "{label:<16} sha256 {got} {verdict}  {:.2} s  {}",
            secs,
            ui::speed((body.len() as f64 / secs) as u64)
        );
    }
    if bad {
        return Err(CliError::new(
            Code::Failed,
            anyhow::anyhow!("a downloaded file does not match the served one"),
        ));
    }
    if let [(_, (_, fast)), (_, (_, single))] = runs.as_slice() {
        outln!("speed-up: {:.1}x", single / fast);
    }
    Ok(Code::Ok)
}
#[cfg(feature = "demo")]
fn download(
    store: &mut Store,
    url: &str,
    dir: &std::path::Path,
    connections: u32,
    cfg: &Config,
    ctl: &Control,
    g: &Global,
) -> CliResult<(std::path::PathBuf, f64)> {
    let id = store
        .add(&NewJob {
            url: url.to_string(),
            dest_dir: dir.to_path_buf(),
            file_name: Some(format!("demo-{connections}.bin")),
            settings: JobSettings {
                connections: Some(connections),
                ..JobSettings::default()
            },
            queue: Default::default(),
        })
        .map_err(env)?;
    store.claim(id).map_err(env)?;
    let display = Display::new(false, g.quiet, g.verbose);
    let outcome = run_job(store, id, cfg, ctl, &mut display.job(id));
    // The files live in a directory that goes with the demo: no paths are printed.
    match outcome {
        Outcome::Done { path, elapsed, .. } => Ok((path, elapsed.as_secs_f64())),
        Outcome::Interrupted => Err(CliError::new(
            Code::Interrupted,
            anyhow::anyhow!("interrupted"),
        )),
        other => Err(CliError::new(
            Code::Failed,
            anyhow::anyhow!("demo download ended: {other:?}"),
        )),
    }
}

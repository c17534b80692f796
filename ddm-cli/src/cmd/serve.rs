//! `ddm serve`: an always-on runner that speaks aria2's JSON-RPC, so AriaNg, webui-aria2,
//! aria2p, aria2.js and browser extensions drive ddm unchanged. The runner is `ddm run`'s
//! (one lock per data directory, jobs a dead runner left behind queued again first) and
//! stays up when the queue is empty; the front (`ddm-rpc`) only translates.

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, CliError, CliResult, Code};
use crate::observe::Display;
use ddm_core::engine::Control;
use ddm_core::service::{Jobs, Places, Service};
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Work the queue and serve aria2's JSON-RPC at http://127.0.0.1:6800/jsonrpc (and
/// WebSocket ws://…/jsonrpc), and ddm's own page at http://127.0.0.1:6800/ (every job, every
/// connection, live), until Ctrl-C, SIGTERM or `aria2.shutdown`; running jobs are
/// checkpointed and the service exits 0. Jobs added by RPC, by `ddm add` in another terminal
/// and by a `ddm get` handing its job over are all worked here; `status`, `top`, `pause`,
/// `resume`, `remove`, `limit` and `set-url` keep working beside it.
///
/// Every call needs the secret token ("token:SECRET" as first parameter). Without --secret
/// or config `serve.secret`, the first start makes one (128 random bits) and keeps it in
/// `serve.secret` beside the config file (mode 0600); `ddm serve` says where. Point a
/// front-end at http://127.0.0.1:6800/jsonrpc with that token. On a terminal it prints the
/// page's address with the token in its fragment (one click opens it logged in); the page
/// keeps the token in the browser's local storage. Settings: config `[serve]`
/// (docs/config.md); methods and options: docs/rpc.md.
///
/// Example: ddm serve   |   ddm serve --port 6801 -d ~/Downloads --allow-origin http://localhost:6880
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port of the JSON-RPC endpoint (config serve.port, default 6800, aria2's).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (config serve.listen, default 127.0.0.1). Anything else is
    /// reachable from other machines: ddm warns.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<IpAddr>,
    /// The secret token calls must carry (config serve.secret; default: generated once and
    /// kept in serve.secret beside the config file). Visible in `ps` while ddm starts:
    /// prefer the config or the generated file.
    #[arg(long, value_name = "TOKEN")]
    pub secret: Option<String>,
    /// The one web page origin allowed to call from a browser (exact, like
    /// http://localhost:6880, or * for any page): CORS headers and WebSocket upgrades.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Option<String>,
    /// Where jobs added without a directory go (config serve.dir; default: your download
    /// directory). RPC calls may name this directory, those under it, and config
    /// serve.allowed_dirs.
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The secret: given, configured, or the one kept beside the config file (made on the first
/// start). Says where it is when it was made.
fn secret(a: &Args, ctx: &Ctx, quiet: bool) -> CliResult<(String, Option<PathBuf>)> {
    if let Some(s) = a.secret.clone().or(ctx.config.serve.secret.clone()) {
        if s.trim().is_empty() {
            return Err(CliError::new(
                Code::Usage,
                anyhow::anyhow!(
                    "the secret token is empty; give one, or none to use a generated one"
                ),
            ));
        }
        return Ok((s, None));
    }
    let dir = ctx
        .paths
        .config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ctx.paths.state_dir.clone());
    let file = dir.join("serve.secret");
    let env = |e: std::io::Error| {
        CliError::new(
            Code::Env,
            anyhow::anyhow!("secret token file {}: {e}", file.display()),
        )
    };
    match std::fs::read_to_string(&file) {
        Ok(s) if !s.trim().is_empty() => return Ok((s.trim().to_string(), Some(file))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(env(e)),
    }
    std::fs::create_dir_all(&dir).map_err(env)?;
    let token = ddm_rpc::random_hex(16).map_err(env)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&file)
        .map_err(env)?;
    writeln!(f, "{token}").map_err(env)?;
    if !quiet {
        eprintln!("made a secret token for ddm serve: {}", file.display());
    }
    Ok((token, Some(file)))
}

/// Where jobs go by default: the flag, the config, the user's download directory, or here.
fn default_dir(a: &Args, ctx: &Ctx) -> CliResult<PathBuf> {
    let dir = a
        .dir
        .clone()
        .or(ctx.config.serve.dir.clone())
        .or_else(|| {
            directories::UserDirs::new().and_then(|u| u.download_dir().map(Path::to_path_buf))
        })
        .map_or_else(std::env::current_dir, Ok)
        .map_err(|e| CliError::new(Code::Env, e))?;
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()
            .map_err(|e| CliError::new(Code::Env, e))?
            .join(dir)
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::new(
            Code::Env,
            anyhow::anyhow!("download directory {}: {e}", dir.display()),
        )
    })?;
    Ok(dir)
}

/// The file in the data directory that says where `ddm serve` listens, while it runs.
pub const ADDR_FILE: &str = "serve.addr";

fn write_addr(file: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let _ = std::fs::remove_file(file);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(file)?;
    writeln!(f, "{addr}")
}

/// The token `ddm top` may use: config serve.secret, else the file made beside the config.
pub fn known_secret(
    ctx_config: &ddm_core::config::Config,
    paths: &ddm_core::paths::Paths,
) -> Option<String> {
    if let Some(s) = ctx_config
        .serve
        .secret
        .clone()
        .filter(|s| !s.trim().is_empty())
    {
        return Some(s);
    }
    let dir = paths.config_file.parent()?;
    let s = std::fs::read_to_string(dir.join("serve.secret")).ok()?;
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The token as it goes in the page's URL fragment (percent-encoded where it must be).
fn page_token(secret: &str) -> String {
    secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open(g)?;
    let serve = ctx.config.serve.clone();
    let listen: IpAddr = match a.listen {
        Some(ip) => ip,
        None => serve.listen.parse().map_err(|_| {
            CliError::new(
                Code::Usage,
                anyhow::anyhow!(
                    "config serve.listen {:?} is not an IP address (e.g. 127.0.0.1)",
                    serve.listen
                ),
            )
        })?,
    };
    let port = a.port.unwrap_or(serve.port);
    let origin = a.allow_origin.clone().or(serve.allow_origin.clone());
    if let Some(o) = &origin {
        ddm_rpc::check_allow_origin(o)
            .map_err(|e| CliError::new(Code::Usage, anyhow::anyhow!("--allow-origin: {e}")))?;
    }
    let (secret, secret_file) = secret(&a, &ctx, g.quiet)?;
    let dir = default_dir(&a, &ctx)?;
    let _lock = super::run::lock(&ctx)?;
    let ctl = Control::from_config(&ctx.config, crate::signals::install());
    let recovered = ctx.store.recover_running().map_err(store)?;
    if recovered > 0 {
        tracing::warn!("{recovered} job(s) left running by a previous runner were queued again");
    }
    let places = Places {
        dir: dir.clone(),
        allowed: serve.allowed_dirs.clone(),
    };
    let service =
        Service::new(&ctx.paths.db_file(), ctx.config.clone(), ctl, places).map_err(store)?;
    let mut cfg = ddm_rpc::ServeConfig::new(SocketAddr::new(listen, port), secret.clone());
    cfg.allow_origin = origin;
    let front = ddm_rpc::start(cfg, service.clone() as Arc<dyn Jobs>).map_err(|e| {
        CliError::new(
            Code::Env,
            anyhow::anyhow!(
                "cannot listen on {listen}:{port}: {e} (is another ddm serve or aria2c there? \
                 --port picks another)"
            ),
        )
    })?;
    let addr = front.addr();
    // Where `ddm top` finds this service for a job's lanes (removed when it stops).
    let addr_file = ctx.paths.state_dir.join(ADDR_FILE);
    if let Err(e) = write_addr(&addr_file, addr) {
        tracing::warn!("cannot write {}: {e}", addr_file.display());
    }
    if !g.quiet {
        eprintln!(
            "ddm serve: aria2 JSON-RPC at http://{addr}/jsonrpc (WebSocket ws://{addr}/jsonrpc)"
        );
        // One click opens the page logged in: the token rides in the fragment, which the
        // browser never sends. Only to a terminal: a log (systemd's journal) keeps no token.
        if std::io::stderr().is_terminal() {
            eprintln!("  the page: http://{addr}/#token={}", page_token(&secret));
        } else {
            eprintln!("  the page: http://{addr}/ (it asks for the secret token once)");
        }
        eprintln!("  downloads go to {}", dir.display());
        match &secret_file {
            Some(f) => eprintln!(
                "  secret token: in {} (front-ends: RPC secret; aria2p: -s; calls: \"token:…\" first)",
                f.display()
            ),
            None => eprintln!("  secret token: the one you gave (--secret or config serve.secret)"),
        }
        eprintln!("  stop: Ctrl-C (running jobs are checkpointed)");
    }
    if !listen.is_loopback() {
        eprintln!(
            "warning: listening on {listen}: other machines can reach ddm serve; anyone with \
             the token can make it download"
        );
    }
    let display = Display::new(false, true, g.verbose);
    let summary = service.run(&display).map_err(store);
    front.stop();
    let _ = std::fs::remove_file(&addr_file);
    let summary = summary?;
    if !g.quiet {
        eprintln!(
            "ddm serve: stopped ({} job{} ran, {} done)",
            summary.ran,
            if summary.ran == 1 { "" } else { "s" },
            summary.done
        );
    }
    Ok(Code::Ok)
}

//! aria2's JSON-RPC in front of ddm's service, for `ddm serve`: AriaNg, webui-aria2, aria2p,
//! aria2.js and the browser extensions work with ddm unchanged.
//!
//! [`start`] binds (so a bind error is known at once, and the real port when 0 was asked),
//! serves HTTP and WebSocket at `/jsonrpc` on a runtime thread of its own, and translates
//! every call onto [`Jobs`]: the front only translates, every decision stays behind that
//! trait. Calls run on blocking threads (a `Jobs` call may touch SQLite); the engine keeps
//! its own threads.
//!
//! Modules by job: `server` (connections, caps, timeouts), `http` (POST, GET, OPTIONS, CORS,
//! body limits), `ws` (WebSocket sessions), `origin` (which pages may talk), `query` (GET
//! mode), `envelope` (JSON-RPC messages, error codes, HTTP statuses), `auth` (the token),
//! `methods` (dispatch and each method), `status` (aria2's status struct), `gid` (GIDs),
//! `options` (aria2's options ↔ ddm's settings), `notify` (notifications).
//!
//! Secure by default: a secret token is required (an empty one is refused here); a wrong or
//! missing token gets `Unauthorized` after `auth_delay`; CORS only for `allow_origin`;
//! bodies, messages, connections and sessions capped; paths to logs, hooks, sessions or
//! configuration never taken from a call; credentials never given back.

mod auth;
mod envelope;
mod gid;
mod http;
mod methods;
mod notify;
mod options;
mod origin;
mod page;
mod query;
mod server;
mod shape;
mod status;
mod updates;
mod ws;

pub use origin::check as check_allow_origin;

use ddm_core::service::Jobs;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Semaphore};

/// How the front listens and what it allows.
#[derive(Clone)]
pub struct ServeConfig {
    /// Where to listen (`ddm serve` says 127.0.0.1 unless `--listen`); port 0: any free one.
    pub listen: SocketAddr,
    /// The token every call must carry (`"token:SECRET"`); never empty.
    pub secret: String,
    /// The web page allowed to call from a browser: one exact origin
    /// (`http://localhost:6880`), or `*` for any. None: no CORS headers, and WebSocket
    /// upgrades from web pages refused.
    pub allow_origin: Option<String>,
    /// The largest request body or WebSocket message, in bytes (413 beyond).
    pub max_body: usize,
    /// HTTP connections open at once at most; more are closed at once.
    pub max_connections: usize,
    /// WebSocket sessions open at once at most; more get 503.
    pub max_websockets: usize,
    /// A request's headers must arrive within this.
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// A connection that receives nothing for this long is closed (WebSocket clients answer
    /// the pings sent every third of it).
    pub idle_timeout: Duration,
    /// How long an answer to a wrong or missing token is held back.
    pub auth_delay: Duration,
}

impl ServeConfig {
    /// The defaults: 1 MiB bodies, 256 connections, 64 WebSocket sessions, 10 s for
    /// headers, 30 s for a body, 60 s idle, 0.5 s for a refused token.
    pub fn new(listen: SocketAddr, secret: impl Into<String>) -> ServeConfig {
        ServeConfig {
            listen,
            secret: secret.into(),
            allow_origin: None,
            max_body: 1 << 20,
            max_connections: 256,
            max_websockets: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            auth_delay: Duration::from_millis(500),
        }
    }
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("secret", &"<redacted>")
            .field("allow_origin", &self.allow_origin)
            .field("max_body", &self.max_body)
            .field("max_connections", &self.max_connections)
            .field("max_websockets", &self.max_websockets)
            .finish_non_exhaustive()
    }
}

/// The running front. Dropping it stops it too.
pub struct Handle {
    addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    pump_stop: Arc<AtomicBool>,
    pump: Option<JoinHandle<()>>,
    updates: Option<JoinHandle<()>>,
}

impl Handle {
    /// Where it listens (the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop listening and close every connection (within about a second).
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        self.pump_stop.store(true, Ordering::Relaxed);
        let threads = [self.thread.take(), self.pump.take(), self.updates.take()];
        for t in threads.into_iter().flatten() {
            let _ = t.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shut();
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("addr", &self.addr).finish()
    }
}

/// Bind, then serve on a thread of its own until [`Handle::stop`].
pub fn start(cfg: ServeConfig, jobs: Arc<dyn Jobs>) -> io::Result<Handle> {
    if cfg.secret.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the RPC secret is empty: a token is always required",
        ));
    }
    if let Some(allow) = &cfg.allow_origin {
        origin::check(allow).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    }
    let std_listener = std::net::TcpListener::bind(cfg.listen)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("ddm-rpc")
        .enable_all()
        .build()?;
    let listener = {
        let _in = rt.enter();
        tokio::net::TcpListener::from_std(std_listener)?
    };
    let gids = Arc::new(gid::Gids::default());
    let (notices, _) = broadcast::channel(1024);
    let pump_stop = Arc::new(AtomicBool::new(false));
    let pump = notify::pump(
        jobs.as_ref(),
        gids.clone(),
        notices.clone(),
        pump_stop.clone(),
    )?;
    let (batches, _) = broadcast::channel(16);
    let updates = updates::pump(
        jobs.clone(),
        gids.clone(),
        batches.clone(),
        pump_stop.clone(),
    )?;
    let ctx = methods::Ctx {
        jobs,
        secret: cfg.secret.clone(),
        gids,
        session_id: random_hex(20)?,
        shutdown_after: Duration::from_millis(200),
        lists: Default::default(),
    };
    let app = Arc::new(http::App {
        ctx: Arc::new(ctx),
        policy: origin::Policy::new(cfg.allow_origin.clone()),
        max_body: cfg.max_body,
        body_timeout: cfg.body_timeout,
        auth_delay: cfg.auth_delay,
        ping_every: cfg.idle_timeout / 3,
        notices,
        batches,
        ws_slots: Arc::new(Semaphore::new(cfg.max_websockets)),
    });
    let limits = server::Limits {
        max_connections: cfg.max_connections,
        header_timeout: cfg.header_timeout,
        idle_timeout: cfg.idle_timeout,
    };
    let (stop, stop_rx) = watch::channel(false);
    let router = http::router(app);
    let thread = std::thread::Builder::new()
        .name("ddm-rpc".into())
        .spawn(move || {
            rt.block_on(server::serve(listener, router, limits, stop_rx));
            rt.shutdown_timeout(Duration::from_secs(1));
        })?;
    Ok(Handle {
        addr,
        stop: Some(stop),
        thread: Some(thread),
        pump_stop,
        pump: Some(pump),
        updates: Some(updates),
    })
}

/// A random token of `bytes` bytes as hex, from the kernel's generator (`ddm serve`'s
/// generated secret: 16 bytes or more).
pub fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

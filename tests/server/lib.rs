//! `ddm-testserver`: a loopback HTTP/1.1 server (std threads + std::net) that serves
//! in-memory resources with scripted faults, used by ddm's integration tests and by
//! `ddm demo` (and, as the `ddm-faultserver` binary in `bin/`, by `bench/faults.sh`). This
//! file holds the public [`Server`] handle, its shared state and counters ([`PathStats`]),
//! the accept loop and the [`pattern`] generator.
//!
//! ```no_run
//! use ddm_testserver::{pattern, Resource, Server};
//! let server = Server::start().unwrap();
//! server.add("/f.bin", Resource::new(pattern(1 << 20, 7)).etag("\"v1\""));
//! let url = server.url("/f.bin");
//! # let _ = url;
//! ```

mod body;
mod fault;
#[cfg(feature = "h2")]
mod h2front;
mod http;
mod proxy;
mod raw;
mod resource;
mod serve;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "h2")]
pub use h2front::{FrontConn, H2Front};
pub use proxy::{Proxy, ProxyEntry, ProxyKind, PROXY_ONLY_DOMAIN};
pub use raw::{answer, honest, RawReply, RawRequest, RawServer};
pub use resource::{Fault, HeadMode, Resource};
#[cfg(feature = "tls")]
pub use tls::{Cert, TlsFront};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::Request;
use crate::resource::Entry;

/// Deterministic pseudo-random bytes (splitmix64): the same `(len, seed)` always gives the
/// same bytes, and a shorter `len` gives a prefix of a longer one.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed ^ 0x6A09_E667_F3BC_C909;
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// Standard base64 (with padding), for Basic authentication.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The gzip stream the server sends for `body` when it compresses (tests compare with it).
pub fn gzip_bytes(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 2 + 64),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

/// One answered request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Connection id (1-based, in accept order).
    pub conn: u64,
    pub method: String,
    /// Path + query, as requested.
    pub target: String,
    /// The request's `Range` header, if any.
    pub range: Option<String>,
    /// All request headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// Status answered.
    pub status: u16,
    /// Body bytes sent so far for this response (payload, not chunk framing).
    pub body_bytes: u64,
}

impl LogEntry {
    /// First request header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Counters for one path (or all paths under a prefix) since the server started or since
/// the last [`Server::reset_stats`]; see [`Server::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Body bytes sent (payload, including small error/status bodies): written to the
    /// socket, so bytes still buffered when the client dropped the connection count too.
    pub sent: u64,
    /// GET requests answered (any status).
    pub requests: usize,
    /// HEAD requests answered (any status).
    pub heads: usize,
    /// GET requests answered with a status of 400 or more (e.g. 503/429 from a cap).
    pub errors: usize,
    /// Distinct TCP connections that carried a request for it (any method).
    pub connections: usize,
}

impl fmt::Display for PathStats {
    /// `sent=N requests=N connections=N heads=N errors=N` (the `/_stats` body, without the
    /// newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent={} requests={} connections={} heads={} errors={}",
            self.sent, self.requests, self.connections, self.heads, self.errors
        )
    }
}

/// What a path maps to.
#[derive(Clone)]
pub(crate) enum Route {
    Resource(Arc<Entry>),
    Redirect {
        to: String,
        status: u16,
    },
    Signed {
        to: String,
        ttl: Duration,
    },
    /// `GET /_stats?path=P` or `?prefix=P`: [`PathStats`] as text.
    Stats,
    /// `GET /_reset`: [`Server::reset_stats`].
    Reset,
}

#[derive(Default)]
pub(crate) struct Routes {
    pub(crate) map: HashMap<String, Route>,
    /// Paths that need a valid `sig` query parameter (targets of signed redirects).
    pub(crate) protected: HashSet<String>,
}

struct Logged {
    entry: LogEntry,
    body: Arc<AtomicU64>,
}

/// State shared by the handle, the accept thread and the connection threads.
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) shutdown: AtomicBool,
    pub(crate) routes: RwLock<Routes>,
    next_sig: AtomicU64,
    /// sig -> (path, issued at, ttl)
    sigs: Mutex<HashMap<u64, (String, Instant, Duration)>>,
    log: Mutex<Vec<Logged>>,
    conns: AtomicU64,
    bytes: Mutex<HashMap<String, Arc<AtomicU64>>>,
    /// Clones of open connections, so shutdown can unblock their threads.
    pub(crate) streams: Mutex<HashMap<u64, TcpStream>>,
    /// Cap on open TCP connections (idle keep-alive ones included): (max, status).
    pub(crate) tcp_cap: Mutex<Option<(usize, u16)>>,
    /// `SO_SNDBUF` of connections accepted from now on (0: the kernel's own, autotuned).
    send_buffer: AtomicU64,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Lock, ignoring poisoning (a panicking test thread must not take the server down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    pub(crate) fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Append a log entry; returns its live body-byte counter.
    pub(crate) fn record(&self, conn: u64, req: &Request, status: u16) -> Arc<AtomicU64> {
        let body = Arc::new(AtomicU64::new(0));
        let entry = LogEntry {
            conn,
            method: req.method.clone(),
            target: req.target.clone(),
            range: req.header("range").map(str::to_string),
            headers: req.headers.clone(),
            status,
            body_bytes: 0,
        };
        lock(&self.log).push(Logged {
            entry,
            body: body.clone(),
        });
        body
    }

    /// The bytes-sent counter of a path.
    pub(crate) fn counter(&self, path: &str) -> Arc<AtomicU64> {
        lock(&self.bytes)
            .entry(path.to_string())
            .or_default()
            .clone()
    }

    pub(crate) fn issue_sig(&self, path: &str, ttl: Duration) -> u64 {
        let sig = self.next_sig.fetch_add(1, Ordering::AcqRel) + 1;
        lock(&self.sigs).insert(sig, (path.to_string(), Instant::now(), ttl));
        sig
    }

    pub(crate) fn check_sig(&self, path: &str, query: Option<&str>) -> bool {
        let Some(sig) = query.and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("sig="))
                .and_then(|v| v.parse::<u64>().ok())
        }) else {
            return false;
        };
        match lock(&self.sigs).get(&sig) {
            Some((p, issued, ttl)) => p == path && issued.elapsed() <= *ttl,
            None => false,
        }
    }

    /// Counters over the paths (query ignored) for which `matches` is true.
    pub(crate) fn stats(&self, matches: impl Fn(&str) -> bool) -> PathStats {
        let sent = lock(&self.bytes)
            .iter()
            .filter(|(p, _)| matches(p))
            .map(|(_, c)| c.load(Ordering::Relaxed))
            .sum();
        let mut st = PathStats {
            sent,
            ..PathStats::default()
        };
        let mut conns = HashSet::new();
        for l in lock(&self.log).iter() {
            let e = &l.entry;
            let path = e.target.split('?').next().unwrap_or("");
            if !matches(path) {
                continue;
            }
            conns.insert(e.conn);
            match e.method.as_str() {
                "GET" => {
                    st.requests += 1;
                    if e.status >= 400 {
                        st.errors += 1;
                    }
                }
                "HEAD" => st.heads += 1,
                _ => {}
            }
        }
        st.connections = conns.len();
        st
    }

    /// Forget the request log and zero every byte counter.
    pub(crate) fn reset_stats(&self) {
        lock(&self.log).clear();
        for c in lock(&self.bytes).values() {
            c.store(0, Ordering::Relaxed);
        }
    }

    fn set_route(&self, path: &str, route: Route) {
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .insert(path.to_string(), route);
    }
}

/// A running loopback server. Dropping it shuts it down: the listener is closed, open
/// connections are cut, and every server thread is joined.
pub struct Server {
    inner: Arc<Inner>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Bind 127.0.0.1 on an ephemeral port and start serving.
    pub fn start() -> io::Result<Server> {
        Self::start_on(0)
    }

    /// Bind 127.0.0.1 on `port` (0: an ephemeral one) and start serving.
    pub fn start_on(port: u16) -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::default());
        let for_thread = inner.clone();
        let accept = thread::Builder::new()
            .name(format!("testserver-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, for_thread))?;
        Ok(Server {
            inner,
            addr,
            accept: Some(accept),
        })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` + `path` (e.g. `"/f.bin"`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.addr.port(), path)
    }

    /// Add or replace the resource at `path` (atomically: requests starting afterwards see
    /// the new one, with fresh fault counters). Replaces any redirect at `path`.
    pub fn add(&self, path: &str, res: Resource) {
        self.inner
            .set_route(path, Route::Resource(Arc::new(Entry::new(res))));
    }

    /// GET/HEAD on `from` answer `status` (301/302/303/307/308) with `Location: to`.
    pub fn redirect(&self, from: &str, to: &str, status: u16) {
        self.inner.set_route(
            from,
            Route::Redirect {
                to: to.to_string(),
                status,
            },
        );
    }

    /// GET/HEAD on `from` answer 302 to `to?sig=N` (N unique per hit). A request for `to`
    /// whose sig was issued more than `ttl` ago, or without a valid sig, is answered 403;
    /// otherwise `to` is served as usual (the resource must be [`Server::add`]ed).
    pub fn signed_redirect(&self, from: &str, to: &str, ttl: Duration) {
        let to_path = to.split('?').next().unwrap_or(to).to_string();
        let mut routes = self.inner.routes.write().unwrap_or_else(|e| e.into_inner());
        routes.protected.insert(to_path);
        routes.map.insert(
            from.to_string(),
            Route::Signed {
                to: to.to_string(),
                ttl,
            },
        );
    }

    /// Every request answered so far, in the order answered (headers decided). `body_bytes`
    /// is what has been sent at the time of the call.
    pub fn log(&self) -> Vec<LogEntry> {
        lock(&self.inner.log)
            .iter()
            .map(|l| LogEntry {
                body_bytes: l.body.load(Ordering::Relaxed),
                ..l.entry.clone()
            })
            .collect()
    }

    /// Requests answered per TCP connection, as `(connection id, requests)` sorted by id,
    /// counted from [`Server::log`] (so only since the last [`Server::reset_stats`]). More
    /// than one request on a connection means it was kept alive and reused.
    pub fn requests_per_connection(&self) -> Vec<(u64, usize)> {
        let mut per: BTreeMap<u64, usize> = BTreeMap::new();
        for l in lock(&self.inner.log).iter() {
            *per.entry(l.entry.conn).or_default() += 1;
        }
        per.into_iter().collect()
    }

    /// Counters for requests to exactly `path` (query ignored). Requests count once their
    /// status is decided; body bytes just after each write, so a client on another
    /// connection may already hold bytes not counted yet.
    pub fn stats(&self, path: &str) -> PathStats {
        self.inner.stats(|p| p == path)
    }

    /// Counters summed over every path starting with `prefix` (connections counted once).
    pub fn stats_prefix(&self, prefix: &str) -> PathStats {
        self.inner.stats(|p| p.starts_with(prefix))
    }

    /// Clear the request log and zero the bytes-sent counters ([`Server::log`],
    /// [`Server::bytes_sent`], [`Server::stats`], [`Server::requests_per_connection`] start
    /// afresh; responses still being sent keep counting). Connection ids and
    /// [`Server::connections`] are not reset, and resources keep their fault counters.
    pub fn reset_stats(&self) {
        self.inner.reset_stats();
    }

    /// Serve the counters over HTTP, for tools outside the process (benchmarks):
    /// `GET /_stats?path=P` answers `sent=N requests=N connections=N heads=N errors=N`
    /// (see [`PathStats`]) for exactly path `P`, `GET /_stats?prefix=P` the same summed over
    /// all paths starting with `P` (400 without either parameter); `GET /_reset` calls
    /// [`Server::reset_stats`] and answers `ok`. Values are taken verbatim except for
    /// `%XX` escapes. These requests are logged like any other.
    pub fn add_stats_endpoints(&self) {
        self.inner.set_route("/_stats", Route::Stats);
        self.inner.set_route("/_reset", Route::Reset);
    }

    /// Refuse requests on any connection beyond `max` open TCP connections (idle keep-alive
    /// sockets count, as with servers that limit connections per client): answer `status`
    /// with `Retry-After: 1` and close that connection.
    pub fn limit_open_connections(&self, max: usize, status: u16) {
        *lock(&self.inner.tcp_cap) = Some((max, status));
    }

    /// Give connections accepted from now on a send buffer of `bytes` (`SO_SNDBUF`; the
    /// kernel doubles it). On loopback the kernel otherwise grows it to megabytes, so the
    /// bytes this server counts as sent run ahead of what the client has read by that
    /// much: a test measuring a client's rate at the server bounds the gap with this.
    pub fn send_buffer(&self, bytes: usize) {
        self.inner
            .send_buffer
            .store(bytes as u64, Ordering::Release);
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        lock(&self.inner.streams).len()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.inner.conns.load(Ordering::Acquire)
    }

    /// Body bytes sent for `path` (query ignored) over all responses, including small
    /// error/status bodies.
    pub fn bytes_sent(&self, path: &str) -> u64 {
        lock(&self.inner.bytes)
            .get(path)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.inner.shutdown.store(true, Ordering::Release);
        // Wake the accept thread.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for (_, s) in lock(&self.inner.streams).drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *lock(&self.inner.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    for incoming in listener.incoming() {
        if inner.stopping() {
            break;
        }
        let stream = match incoming {
            Ok(s) => s,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = inner.conns.fetch_add(1, Ordering::AcqRel) + 1;
        let sndbuf = inner.send_buffer.load(Ordering::Acquire);
        if sndbuf > 0 {
            use std::os::fd::AsRawFd;
            let v = libc::c_int::try_from(sndbuf).unwrap_or(libc::c_int::MAX);
            // SAFETY: a valid socket and a c_int option value of the size given.
            unsafe {
                libc::setsockopt(
                    stream.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUF,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        if let Ok(clone) = stream.try_clone() {
            lock(&inner.streams).insert(id, clone);
        }
        let for_thread = inner.clone();
        let spawned = thread::Builder::new()
            .name(format!("testserver-conn-{id}"))
            .spawn(move || serve::serve_conn(for_thread, stream, id));
        match spawned {
            Ok(h) => {
                let mut threads = lock(&inner.threads);
                threads.retain(|t| !t.is_finished());
                threads.push(h);
            }
            Err(_) => {
                lock(&inner.streams).remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! Per-connection loop and request dispatch: routing (resources, redirects, signed
//! redirects, the `/_stats` and `/_reset` endpoints), building the response for a resource
//! (first-byte delay, ranges, gzip, HEAD modes), and applying its faults while logging and
//! counting what is sent.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crate::body::{self, BodyPlan, Sent};
use crate::fault::{self, RangeTweak};
use crate::http::{self, Head, RangeEval, ReadError, Request};
use crate::resource::{Entry, HeadMode};
use crate::{lock, Inner, Route};

/// Idle keep-alive connections are closed after this long without a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A client that stops reading for this long loses its connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serve requests on one accepted connection until it closes.
pub(crate) fn serve_conn(inner: Arc<Inner>, stream: TcpStream, conn: u64) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut buf = Vec::new();
    while !inner.stopping() {
        let keep = match http::read_request(&stream, &mut buf) {
            Ok(req) => {
                let r = Reply {
                    inner: &inner,
                    stream: &stream,
                    conn,
                    req: &req,
                };
                let cap = *lock(&inner.tcp_cap);
                match cap {
                    Some((max, code)) if lock(&inner.streams).len() > max => {
                        let mut h = Head::new(code);
                        h.set("Retry-After", "1");
                        let _ = r.simple(h, b"too many open connections\n", false);
                        false
                    }
                    _ => handle(&r).unwrap_or(false),
                }
            }
            Err(ReadError::Closed) => false,
            Err(ReadError::Bad(why)) => {
                let req = Request {
                    method: String::new(),
                    target: String::new(),
                    http10: false,
                    headers: Vec::new(),
                    unframed_body: false,
                };
                let r = Reply {
                    inner: &inner,
                    stream: &stream,
                    conn,
                    req: &req,
                };
                let _ = r.simple(
                    Head::new(400),
                    format!("bad request: {why}\n").as_bytes(),
                    false,
                );
                false
            }
        };
        if !keep {
            break;
        }
    }
    lock(&inner.streams).remove(&conn);
}

/// Everything needed to answer one request.
struct Reply<'a> {
    inner: &'a Inner,
    stream: &'a TcpStream,
    conn: u64,
    req: &'a Request,
}

impl Reply<'_> {
    fn is_head(&self) -> bool {
        self.req.method == "HEAD"
    }

    /// Record the request as answered with `status`; returns its live body-byte counter.
    fn log(&self, status: u16) -> Arc<AtomicU64> {
        self.inner.record(self.conn, self.req, status)
    }

    /// `Connection: close` when closing; `keep-alive` for HTTP/1.0 clients that asked for it.
    fn connection_header(&self, head: &mut Head, keep: bool) {
        if !keep {
            head.set("Connection", "close");
        } else if self.req.http10 {
            head.set("Connection", "keep-alive");
        }
    }

    /// Write the head; on HEAD nothing else follows.
    fn write_head(&self, head: &Head) -> io::Result<()> {
        let mut s = self.stream;
        s.write_all(&head.to_bytes())
    }

    /// A complete response with a small in-memory body.
    fn simple(&self, mut head: Head, body: &[u8], keep: bool) -> io::Result<bool> {
        if !body.is_empty() {
            head.set("Content-Type", "text/plain; charset=utf-8");
        }
        head.set("Content-Length", body.len().to_string());
        self.connection_header(&mut head, keep);
        let logged = self.log(head.status);
        let mut out = head.to_bytes();
        let with_body = !self.is_head() && !body.is_empty();
        if with_body {
            out.extend_from_slice(body);
        }
        let mut s = self.stream;
        s.write_all(&out)?;
        if with_body {
            let n = body.len() as u64;
            logged.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            self.inner
                .counter(self.req.path())
                .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(keep)
    }
}

/// Answer one request; `Ok(true)` to keep the connection open.
fn handle(r: &Reply) -> io::Result<bool> {
    let req = r.req;
    let keep = req.keep_alive();
    if req.method != "GET" && req.method != "HEAD" {
        let mut h = Head::new(405);
        h.set("Allow", "GET, HEAD");
        return r.simple(h, b"method not allowed\n", keep);
    }
    let path = req.path();
    let (route, protected) = {
        let routes = r.inner.routes.read().unwrap_or_else(|e| e.into_inner());
        (
            routes.map.get(path).cloned(),
            routes.protected.contains(path),
        )
    };
    if protected && !r.inner.check_sig(path, req.query()) {
        return r.simple(
            Head::new(403),
            b"forbidden: missing, invalid or expired signature\n",
            keep,
        );
    }
    match route {
        None => r.simple(Head::new(404), b"not found\n", keep),
        Some(Route::Redirect { to, status }) => {
            let mut h = Head::new(status);
            h.set("Location", to);
            r.simple(h, b"", keep)
        }
        Some(Route::Signed { to, ttl }) => {
            let (to_path, sep) = match to.find('?') {
                Some(i) => (&to[..i], '&'),
                None => (to.as_str(), '?'),
            };
            let sig = r.inner.issue_sig(to_path, ttl);
            let mut h = Head::new(302);
            h.set("Location", format!("{to}{sep}sig={sig}"));
            r.simple(h, b"", keep)
        }
        Some(Route::Resource(entry)) => serve_resource(r, &entry, keep),
        Some(Route::Stats) => {
            let param = |name: &str| {
                req.query()?
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .map(percent_decode)
            };
            let st = if let Some(p) = param("path") {
                r.inner.stats(|q| q == p)
            } else if let Some(p) = param("prefix") {
                r.inner.stats(|q| q.starts_with(&p))
            } else {
                return r.simple(
                    Head::new(400),
                    b"usage: /_stats?path=/exact/path or /_stats?prefix=/dir/\n",
                    keep,
                );
            };
            r.simple(Head::new(200), format!("{st}\n").as_bytes(), keep)
        }
        Some(Route::Reset) => {
            r.inner.reset_stats();
            r.simple(Head::new(200), b"ok\n", keep)
        }
    }
}

/// Decode `%XX` escapes (invalid ones are kept as they are); `+` stays `+`.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_resource(r: &Reply, entry: &Arc<Entry>, mut keep: bool) -> io::Result<bool> {
    let res = &entry.res;
    let req = r.req;
    let is_head = r.is_head();

    if let Some(d) = res.first_byte_delay {
        if !body::sleep_unless(&r.inner.shutdown, d) {
            return Ok(false);
        }
    }
    if let (Some(d), Some(_)) = (res.range_delay, req.header("range")) {
        if !body::sleep_unless(&r.inner.shutdown, d) {
            return Ok(false);
        }
    }
    keep &= !res.close_each;
    if let Some(want) = &res.basic_auth {
        if req.header("authorization") != Some(want.as_str()) {
            let mut h = Head::new(401);
            h.set("WWW-Authenticate", "Basic realm=\"ddm-test\"");
            return r.simple(h, b"authentication required\n", keep);
        }
    }
    if is_head {
        if let HeadMode::Refuse(code) = res.head {
            let mut h = Head::new(code);
            if code == 405 {
                h.set("Allow", "GET");
            }
            return r.simple(h, b"", keep);
        }
    }
    let _in_flight = if is_head {
        None
    } else {
        match fault::enter(entry) {
            Ok(g) => Some(g),
            Err(refused) => {
                let mut h = Head::new(refused.code);
                if let Some(ra) = refused.retry_after {
                    h.set("Retry-After", ra);
                }
                return r.simple(h, b"too many concurrent requests\n", keep);
            }
        }
    };
    if !is_head {
        if let Some((code, retry_after)) = fault::status(entry) {
            let mut h = Head::new(code);
            if let Some(ra) = retry_after {
                h.set("Retry-After", ra);
            }
            let text = format!("{code} {}\n", http::reason(code));
            return r.simple(h, text.as_bytes(), keep);
        }
    }

    let gz = res.gzip_always || (res.gzip && http::accepts_gzip(req.header("accept-encoding")));
    let body = if gz {
        entry.gzipped()
    } else {
        res.body.clone()
    };
    let total = match (is_head, res.head) {
        (true, HeadMode::WrongLength(n)) => n,
        _ => body.len() as u64,
    };

    let mut h = Head::new(200);
    if (res.ranges || res.claims_ranges) && !res.hides_ranges && !gz {
        h.set("Accept-Ranges", "bytes");
    }
    if let Some(v) = &res.etag {
        h.set("ETag", v.as_str());
    }
    if let Some(v) = &res.last_modified {
        h.set("Last-Modified", v.as_str());
    }
    h.set("Content-Type", res.content_type.as_str());
    if let Some(v) = &res.content_disposition {
        h.set("Content-Disposition", v.as_str());
    }
    if res.gzip {
        h.set("Vary", "Accept-Encoding");
    }
    if gz {
        h.set("Content-Encoding", "gzip");
    } else if let Some(enc) = &res.served_encoding {
        h.set("Content-Encoding", enc.as_str());
    }

    let eval = if res.ranges && !gz {
        http::eval_range(
            req.header("range"),
            req.header("if-range"),
            total,
            res.etag.as_deref(),
            res.last_modified.as_deref(),
        )
    } else {
        RangeEval::Full
    };
    let (start, end) = match eval {
        RangeEval::Unsatisfiable => {
            h.status = 416;
            h.set("Content-Range", format!("bytes */{total}"));
            return r.simple(h, b"", keep);
        }
        RangeEval::Full => (0, total),
        RangeEval::Partial(0, b) if res.whole_range_as_200 && b + 1 == total => (0, total),
        RangeEval::Partial(a, b) => {
            h.status = 206;
            let tweak = if is_head {
                None
            } else {
                fault::range(entry, a, b, total)
            };
            match tweak {
                Some(RangeTweak::Serve(s, e)) => {
                    h.set("Content-Range", format!("bytes {s}-{e}/{total}"));
                    (s, e + 1)
                }
                Some(RangeTweak::Garbage(g)) => {
                    h.set("Content-Range", g);
                    (a, b + 1)
                }
                None => {
                    h.set("Content-Range", format!("bytes {a}-{b}/{total}"));
                    (a, b + 1)
                }
            }
        }
    };
    let len = end - start;
    let mut chunked = false;
    if res.length {
        h.set("Content-Length", len.to_string());
    } else if !is_head {
        if req.http10 {
            // No chunked coding in HTTP/1.0: the body ends when the connection does.
            keep = false;
        } else {
            chunked = true;
            h.set("Transfer-Encoding", "chunked");
        }
    }
    r.connection_header(&mut h, keep);
    let logged = r.log(h.status);
    if res.early_hints {
        let mut s = r.stream;
        s.write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")?;
    }
    r.write_head(&h)?;
    if is_head {
        return Ok(keep);
    }

    let mut plan = BodyPlan {
        chunked,
        rate: fault::conn_rate(
            entry,
            r.conn,
            if start == 0 {
                res.rate_from_zero.or(res.rate)
            } else {
                res.rate
            },
        ),
        ..BodyPlan::default()
    };
    fault::body(entry, len, &mut plan);
    let counter = r.inner.counter(req.path());
    let data = &body[start as usize..end as usize];
    match body::send_body(
        r.stream,
        data,
        &plan,
        &[&logged, &counter],
        &r.inner.shutdown,
    )? {
        Sent::Complete => Ok(keep),
        Sent::Cut { rst } => {
            fault::abort(r.stream, rst);
            Ok(false)
        }
    }
}

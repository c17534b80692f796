//! A hostile server: every request's answer is whatever bytes a test's closure returns, sent
//! as they are (no status line, garbage framing, a header flood, a 206 for another range…).
//! Each request is logged with its head, so a test can check what ddm asked (a `Range`
//! header, a credential) from the server's side.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the hostile server read it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// `GET /path HTTP/1.1`.
    pub line: String,
    pub headers: Vec<(String, String)>,
    /// The TCP connection it came on (1-based accept order).
    pub conn: u64,
    /// Its place among all requests to this server (0-based).
    pub index: usize,
}

impl RawRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path asked for.
    pub fn path(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or("")
    }

    /// `Range: bytes=A-B` as `(A, Some(B))`, `bytes=A-` as `(A, None)`.
    pub fn range(&self) -> Option<(u64, Option<u64>)> {
        let v = self.header("range")?.trim().strip_prefix("bytes=")?;
        let (a, b) = v.split_once('-')?;
        let a = a.trim().parse().ok()?;
        let b = b.trim();
        Some((a, if b.is_empty() { None } else { b.parse().ok() }))
    }
}

/// What the server sends back.
pub enum RawReply {
    /// These bytes, then the connection waits for the next request.
    Keep(Vec<u8>),
    /// These bytes, then the connection is closed.
    Close(Vec<u8>),
}

/// A plain HTTP/1.1 answer: status, headers (Content-Length added), body.
pub fn answer(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// The honest answer to `req` for `body`: a 206 for its range, a 200 without one.
pub fn honest(req: &RawRequest, body: &[u8], headers: &[(&str, String)]) -> Vec<u8> {
    let len = body.len() as u64;
    match req.range() {
        Some((a, b)) if a < len => {
            let b = b.unwrap_or(len - 1).min(len - 1);
            let mut h = headers.to_vec();
            h.push(("Content-Range", format!("bytes {a}-{b}/{len}")));
            answer(206, &h, &body[a as usize..=b as usize])
        }
        Some(_) => answer(416, &[("Content-Range", format!("bytes */{len}"))], b""),
        None => answer(200, headers, body),
    }
}

type Script = dyn Fn(&RawRequest) -> RawReply + Send + Sync;

/// A server whose answers a closure writes byte for byte.
pub struct RawServer {
    port: u16,
    log: Arc<Mutex<Vec<RawRequest>>>,
    conns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    pub fn start(
        script: impl Fn(&RawRequest) -> RawReply + Send + Sync + 'static,
    ) -> io::Result<RawServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let conns = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (l, c, s) = (log.clone(), conns.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = c.fetch_add(1, Ordering::Relaxed) + 1;
                let (l, script) = (l.clone(), script.clone());
                thread::spawn(move || serve(stream, conn, &l, &*script));
            }
        });
        Ok(RawServer {
            port,
            log,
            conns,
            stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<RawRequest> {
        self.log.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.conns.load(Ordering::Relaxed)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, conn: u64, log: &Mutex<Vec<RawRequest>>, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let req = {
            let mut log = log.lock().unwrap();
            let req = RawRequest {
                line,
                headers,
                conn,
                index: log.len(),
            };
            log.push(req.clone());
            req
        };
        match script(&req) {
            RawReply::Keep(bytes) => {
                if out.write_all(&bytes).is_err() {
                    return;
                }
            }
            RawReply::Close(bytes) => {
                let _ = out.write_all(&bytes);
                let _ = out.flush();
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

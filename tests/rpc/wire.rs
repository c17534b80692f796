//! A minimal JSON-RPC-over-HTTP/1.1 client of our own, for what the tests check beside the
//! third-party clients: the exact answer to a wrong token, a download's status as the server
//! reports it, readiness, 50 clients at once. One TCP connection per [`Conn`], kept alive
//! between calls; answers framed by Content-Length or chunked.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; panics naming the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} answer is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// One kept-alive connection to `127.0.0.1:port`.
pub struct Conn {
    port: u16,
    r: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(port: u16) -> io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        s.set_write_timeout(Some(Duration::from_secs(15)))?;
        Ok(Conn {
            port,
            r: BufReader::new(s),
        })
    }

    /// POST `body` to `/jsonrpc` and read the answer.
    pub fn post(&mut self, body: &str) -> io::Result<Reply> {
        let req = format!(
            "POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        self.r.get_mut().write_all(req.as_bytes())?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> io::Result<Reply> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("not an HTTP status line: {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.r.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {l:?}")))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                line.clear();
                self.r.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
                let mut chunk = vec![0; size + 2];
                self.r.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(len) = get("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            body.resize(len, 0);
            self.r.read_exact(&mut body)?;
        } else {
            self.r.read_to_end(&mut body)?;
        }
        Ok(Reply { status, body })
    }
}

/// The request object for `method` with `token:SECRET` first (when given), then `params`.
pub fn request(id: &str, method: &str, secret: Option<&str>, params: &[Value]) -> String {
    let mut p: Vec<Value> = secret
        .map(|s| json!(format!("token:{s}")))
        .into_iter()
        .collect();
    p.extend_from_slice(params);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": p}).to_string()
}

/// One call on a fresh connection; the whole answer.
pub fn call(port: u16, secret: Option<&str>, method: &str, params: &[Value]) -> io::Result<Reply> {
    Conn::open(port)?.post(&request("t", method, secret, params))
}

/// One call that must succeed: its `result`.
pub fn result(port: u16, secret: &str, method: &str, params: &[Value]) -> Value {
    let r = call(port, Some(secret), method, params)
        .unwrap_or_else(|e| panic!("{method} on port {port}: {e}"));
    let v = r.json();
    assert_eq!(r.status, 200, "{method} answered HTTP {}: {v}", r.status);
    v.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("{method} answered no result: {v}"))
}

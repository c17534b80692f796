//! HTTP/1.1 wire handling: reading requests (request line, headers, skipping
//! Content-Length bodies), evaluating `Range`/`If-Range`/`Accept-Encoding` and building
//! response heads. Bodies are written by `body.rs`.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;

/// Largest request head accepted (request line + headers).
const MAX_HEAD: usize = 64 * 1024;

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Request target as sent (origin-form after stripping any `http://host` prefix).
    pub(crate) target: String,
    pub(crate) http10: bool,
    pub(crate) headers: Vec<(String, String)>,
    /// A body we cannot frame (Transfer-Encoding): answer, then close.
    pub(crate) unframed_body: bool,
}

impl Request {
    /// First header with this name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Path without the query.
    pub(crate) fn path(&self) -> &str {
        match self.target.find('?') {
            Some(i) => &self.target[..i],
            None => &self.target,
        }
    }

    /// Query (after `?`), if any.
    pub(crate) fn query(&self) -> Option<&str> {
        self.target.find('?').map(|i| &self.target[i + 1..])
    }

    /// Whether the client wants the connection kept open after this response.
    pub(crate) fn keep_alive(&self) -> bool {
        if self.unframed_body {
            return false;
        }
        let tokens: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        if tokens.iter().any(|t| t == "close") {
            return false;
        }
        !self.http10 || tokens.iter().any(|t| t == "keep-alive")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// EOF, timeout or socket error: just end the connection.
    Closed,
    /// Malformed request: answer 400 and close.
    Bad(&'static str),
}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Returns (end of head text, start of what follows).
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Read one request from `stream`; `buf` carries bytes already read (pipelining).
pub(crate) fn read_request(
    mut stream: &TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Request, ReadError> {
    let mut tmp = [0u8; 8192];
    loop {
        // Ignore empty lines before a request line (RFC 9112 §2.2).
        let lead = buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if lead > 0 {
            buf.drain(..lead);
        }
        if let Some((end, next)) = find_head_end(buf) {
            if end > MAX_HEAD {
                return Err(ReadError::Bad("request head too large"));
            }
            let head = buf[..end].to_vec();
            buf.drain(..next);
            let mut req = parse_head(&head)?;
            skip_body(stream, buf, &mut req)?;
            return Ok(req);
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad("request head too large"));
        }
        match stream.read(&mut tmp) {
            Ok(0) => {
                return if buf.is_empty() {
                    Err(ReadError::Closed)
                } else {
                    Err(ReadError::Bad("incomplete request"))
                };
            }
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Closed),
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().ok_or(ReadError::Bad("empty request"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad("bad request line"));
    };
    if !is_token(method) {
        return Err(ReadError::Bad("bad method"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Bad("unsupported version")),
    };
    let target = origin_form(target).ok_or(ReadError::Bad("bad target"))?;
    let mut headers = Vec::new();
    for l in lines {
        if l.starts_with(' ') || l.starts_with('\t') {
            return Err(ReadError::Bad("obsolete line folding"));
        }
        let (name, value) = l.split_once(':').ok_or(ReadError::Bad("bad header"))?;
        if !is_token(name) {
            return Err(ReadError::Bad("bad header name"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        target,
        http10,
        headers,
        unframed_body: false,
    })
}

/// `/path?q` stays; `http://host:port/path?q` becomes `/path?q`.
fn origin_form(target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_string());
    }
    let lower = target.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return None;
    };
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => Some(rest[i..].to_string()),
        Some(i) => Some(format!("/{}", &rest[i..])),
        None => Some("/".to_string()),
    }
}

fn skip_body(
    mut stream: &TcpStream,
    buf: &mut Vec<u8>,
    req: &mut Request,
) -> Result<(), ReadError> {
    if req.header("transfer-encoding").is_some() {
        req.unframed_body = true;
        return Ok(());
    }
    let mut len: Option<u64> = None;
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("content-length") {
            let v: u64 = (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse().ok())
                .flatten()
                .ok_or(ReadError::Bad("bad content-length"))?;
            if len.is_some_and(|l| l != v) {
                return Err(ReadError::Bad("conflicting content-length"));
            }
            len = Some(v);
        }
    }
    let mut left = len.unwrap_or(0);
    let from_buf = (left.min(buf.len() as u64)) as usize;
    buf.drain(..from_buf);
    left -= from_buf as u64;
    let mut tmp = [0u8; 8192];
    while left > 0 {
        let want = left.min(tmp.len() as u64) as usize;
        match stream.read(&mut tmp[..want]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => left -= n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Closed),
        }
    }
    Ok(())
}

/// Outcome of evaluating `Range` against a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeEval {
    /// Serve the full body with 200.
    Full,
    /// Serve bytes `start..=end` with 206.
    Partial(u64, u64),
    /// 416.
    Unsatisfiable,
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// Whether `If-Range` allows honouring the range: strong ETag equality, or exact
/// Last-Modified equality for a date.
fn if_range_matches(if_range: &str, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    let ir = if_range.trim();
    if ir.starts_with("W/") {
        return false;
    }
    if ir.starts_with('"') {
        return etag.is_some_and(|e| !e.starts_with("W/") && e == ir);
    }
    last_modified.is_some_and(|lm| lm.trim() == ir)
}

/// Evaluate a single `bytes=` range (multi-range and invalid specs mean the full body).
pub(crate) fn eval_range(
    range: Option<&str>,
    if_range: Option<&str>,
    total: u64,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> RangeEval {
    let Some(range) = range else {
        return RangeEval::Full;
    };
    if let Some(ir) = if_range {
        if !if_range_matches(ir, etag, last_modified) {
            return RangeEval::Full;
        }
    }
    let Some((unit, spec)) = range.trim().split_once('=') else {
        return RangeEval::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeEval::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeEval::Full;
    };
    if first.trim().is_empty() {
        // Suffix range.
        let Some(n) = parse_num(last) else {
            return RangeEval::Full;
        };
        if n == 0 || total == 0 {
            return RangeEval::Unsatisfiable;
        }
        return RangeEval::Partial(total - n.min(total), total - 1);
    }
    let Some(a) = parse_num(first) else {
        return RangeEval::Full;
    };
    let b = if last.trim().is_empty() {
        None
    } else {
        match parse_num(last) {
            Some(b) if b >= a => Some(b),
            _ => return RangeEval::Full,
        }
    };
    if a >= total {
        return RangeEval::Unsatisfiable;
    }
    RangeEval::Partial(a, b.unwrap_or(u64::MAX).min(total - 1))
}

/// Whether `Accept-Encoding` allows gzip (explicit `gzip`/`x-gzip` with q>0, or `*` with q>0
/// when gzip is not listed).
pub(crate) fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(v) = accept_encoding else {
        return false;
    };
    let mut star = false;
    for item in v.split(',') {
        let mut params = item.split(';');
        let name = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f64;
        for p in params {
            if let Some((k, val)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = val.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match name.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = q > 0.0,
            _ => {}
        }
    }
    star
}

/// Reason phrase for a status code.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A response head being built.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    pub(crate) fn new(status: u16) -> Self {
        Head {
            status,
            headers: vec![("Server".to_string(), "ddm-testserver".to_string())],
        }
    }

    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (n, v) in &self.headers {
            // Never let a configured value break the framing.
            let v: String = v.chars().filter(|&c| c != '\r' && c != '\n').collect();
            out.push_str(n);
            out.push_str(": ");
            out.push_str(&v);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeEval::*;
        let e = |r: &str| eval_range(Some(r), None, 100, None, None);
        assert_eq!(e("bytes=0-9"), Partial(0, 9));
        assert_eq!(e("bytes=90-"), Partial(90, 99));
        assert_eq!(e("bytes=90-1000"), Partial(90, 99));
        assert_eq!(e("bytes=-10"), Partial(90, 99));
        assert_eq!(e("bytes=-1000"), Partial(0, 99));
        assert_eq!(e("bytes=-0"), Unsatisfiable);
        assert_eq!(e("bytes=100-"), Unsatisfiable);
        assert_eq!(e("bytes=99999999999999999999999-"), Unsatisfiable);
        assert_eq!(e("bytes=0-1,5-6"), Full);
        assert_eq!(e("bytes=9-3"), Full);
        assert_eq!(e("items=0-3"), Full);
        assert_eq!(e("bytes=x-3"), Full);
        assert_eq!(e("bytes = 1-2"), Partial(1, 2));
        assert_eq!(eval_range(None, None, 100, None, None), Full);
        assert_eq!(
            eval_range(Some("bytes=-5"), None, 0, None, None),
            Unsatisfiable
        );
        let ir = |ir: &str, etag: &str| {
            eval_range(
                Some("bytes=1-2"),
                Some(ir),
                10,
                Some(etag),
                Some("Mon, 01 Jan 2024 00:00:00 GMT"),
            )
        };
        assert_eq!(ir("\"a\"", "\"a\""), Partial(1, 2));
        assert_eq!(ir("\"b\"", "\"a\""), Full);
        assert_eq!(ir("W/\"a\"", "W/\"a\""), Full);
        assert_eq!(ir("\"a\"", "W/\"a\""), Full);
        assert_eq!(ir("Mon, 01 Jan 2024 00:00:00 GMT", "\"a\""), Partial(1, 2));
        assert_eq!(ir("Tue, 02 Jan 2024 00:00:00 GMT", "\"a\""), Full);
    }

    #[test]
    fn gzip_negotiation() {
        assert!(!accepts_gzip(None));
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("*, gzip;q=0")));
    }

    #[test]
    fn head_parsing() {
        let r =
            parse_head(b"GET http://h:1/a/b?x=1 HTTP/1.1\r\nRange: bytes=1-2\r\nX:  y \r").unwrap();
        assert_eq!(r.target, "/a/b?x=1");
        assert_eq!(r.path(), "/a/b");
        assert_eq!(r.query(), Some("x=1"));
        assert_eq!(r.header("range"), Some("bytes=1-2"));
        assert_eq!(r.header("x"), Some("y"));
        assert!(r.keep_alive());
        assert!(parse_head(b"GET / HTTP/2.0").is_err());
        assert!(parse_head(b"GET /").is_err());
        assert!(parse_head(b"GET / HTTP/1.1\r\nnocolon").is_err());
        assert!(parse_head(b"G(T / HTTP/1.1").is_err());
        let r = parse_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive").unwrap();
        assert!(r.keep_alive());
        let r = parse_head(b"GET / HTTP/1.0").unwrap();
        assert!(!r.keep_alive());
        let r = parse_head(b"GET / HTTP/1.1\r\nConnection: close").unwrap();
        assert!(!r.keep_alive());
    }
}

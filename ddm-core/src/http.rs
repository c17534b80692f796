//! HTTP handle setup in one place, response-head parsing, and curl error classification.
//!
//! Every request ddm makes (probe and transfer) is configured here: user agent, timeouts
//! (connect timeout and a low-speed "stall" window, never a wall-clock limit), TLS
//! verification, redirects restricted to http/https (at most 10), `Accept-Encoding: identity`
//! (ranges of a compressed body cannot be decoded independently, engine.md 4), user headers.

use crate::retry::Failure;
use crate::store::Header;
use curl::easy::{Easy2, Handler, List};
use std::time::Duration;

/// Redirects followed at most.
pub const MAX_REDIRECTS: u32 = 10;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub user_agent: String,
    pub headers: Vec<Header>,
    pub connect_timeout: Duration,
    /// No data for this long ends the attempt (it is retried, not failed).
    pub stall_timeout: Duration,
    pub insecure: bool,
}

impl HttpOptions {
    pub fn from_config(cfg: &crate::config::Config, headers: Vec<Header>, insecure: bool) -> Self {
        HttpOptions {
            user_agent: cfg.user_agent.clone(),
            headers,
            connect_timeout: cfg.connect_timeout(),
            stall_timeout: cfg.stall_timeout(),
            insecure: insecure || !cfg.verify_tls,
        }
    }
}

impl HttpOptions {
    /// The options to use for `url` when the headers were meant for `for_url`: credentials
    /// (Cookie, Authorization, ...) never go to another host.
    pub fn for_other_url(&self, url: &str, for_url: &str) -> HttpOptions {
        let host = |u: &str| url::Url::parse(u).ok().map(|u| crate::store::host_key(&u));
        if host(url).is_some() && host(url) == host(for_url) {
            return self.clone();
        }
        let mut o = self.clone();
        o.headers.retain(|h| !h.is_secret());
        o
    }
}

const CURLPROTO_HTTP: libc::c_long = 1;
const CURLPROTO_HTTPS: libc::c_long = 2;

/// Apply the common options. `extra` headers (Range is set separately) go after the user's.
pub fn configure<H: Handler>(
    easy: &mut Easy2<H>,
    o: &HttpOptions,
    extra: &[String],
) -> Result<(), curl::Error> {
    easy.useragent(&o.user_agent)?;
    easy.connect_timeout(o.connect_timeout)?;
    easy.low_speed_limit(1)?;
    easy.low_speed_time(o.stall_timeout)?;
    easy.follow_location(true)?;
    easy.max_redirections(MAX_REDIRECTS)?;
    easy.ssl_verify_peer(!o.insecure)?;
    easy.ssl_verify_host(!o.insecure)?;
    easy.tcp_nodelay(true)?;
    easy.signal(false)?;
    easy.progress(true)?;
    easy.buffer_size(256 * 1024)?;
    // We ask for identity (the header below overrides curl's own), but let curl decode a
    // body a server compresses anyway: for one whole-file stream the decoded bytes are the
    // file. Ranged answers that come encoded are still refused by the worker's head check.
    easy.accept_encoding("")?;
    // Only http and https, also for redirects (a redirect to file:// or ftp:// is refused).
    // SAFETY: setting long options on a valid easy handle.
    unsafe {
        let h = easy.raw();
        let p = CURLPROTO_HTTP | CURLPROTO_HTTPS;
        curl_sys::curl_easy_setopt(h, curl_sys::CURLOPT_PROTOCOLS, p);
        curl_sys::curl_easy_setopt(h, curl_sys::CURLOPT_REDIR_PROTOCOLS, p);
    }
    let mut list = List::new();
    for h in &o.headers {
        // ddm owns these: identity encoding and its own ranges.
        if !["accept-encoding", "range", "if-range"]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n))
        {
            list.append(&h.wire())?;
        }
    }
    list.append("Accept-Encoding: identity")?;
    for e in extra {
        list.append(e)?;
    }
    easy.http_headers(list)?;
    Ok(())
}

/// The status line and headers of the last response received (redirect hops are dropped).
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub complete: bool,
}

impl Head {
    /// Feed one raw header line from curl's header callback.
    pub fn feed(&mut self, line: &[u8]) {
        // Header bytes are UTF-8 or, per HTTP's history, ISO-8859-1 (a Latin-1 file name in
        // Content-Disposition must not turn into U+FFFD before RFC 6266 parsing).
        let line = crate::filename::header_value_from_bytes(line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with("HTTP/") {
            *self = Head::default();
            self.status = line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
        } else if line.is_empty() {
            self.complete = true;
        } else if let Some((k, v)) = line.split_once(':') {
            self.headers
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<u64> {
        self.get("content-length")?.trim().parse().ok()
    }

    /// `Content-Range: bytes a-b/total` → (a, b, total); total None for `*`.
    pub fn content_range(&self) -> Option<ContentRange> {
        parse_content_range(self.get("content-range")?)
    }

    /// Content-Encoding other than identity (the body is transformed).
    pub fn encoded(&self) -> Option<&str> {
        self.get("content-encoding")
            .filter(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"))
    }

    pub fn failure(&self) -> Failure {
        Failure::Http {
            status: self.status,
            retry_after: self.get("retry-after").map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

pub fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.trim().split_once('-')?;
    let first: u64 = a.trim().parse().ok()?;
    let last: u64 = b.trim().parse().ok()?;
    if last < first {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    if let Some(t) = total {
        if last >= t {
            return None;
        }
    }
    Some(ContentRange { first, last, total })
}

/// Like `classify_curl`, but a timeout before the connection (TCP, then TLS for https) was
/// established is a connect timeout, not a stall.
pub fn classify_with<H>(e: &curl::Error, easy: &mut Easy2<H>) -> Failure {
    let f = classify_curl(e);
    if f == Failure::Timeout {
        let zero = |d: Result<Duration, curl::Error>| d.map(|d| d.is_zero()).unwrap_or(false);
        let https = easy
            .effective_url()
            .ok()
            .flatten()
            .is_some_and(|u| u.starts_with("https:"));
        if zero(easy.connect_time()) || (https && zero(easy.appconnect_time())) {
            return Failure::ConnectTimeout;
        }
    }
    f
}

/// Map a curl error to a retry-classifier failure.
pub fn classify_curl(e: &curl::Error) -> Failure {
    if e.is_couldnt_connect() {
        Failure::ConnectRefused
    } else if e.is_couldnt_resolve_host() || e.is_couldnt_resolve_proxy() {
        Failure::Resolve
    } else if e.is_operation_timedout() {
        // Both the connect timeout and the low-speed window report CURLE_OPERATION_TIMEDOUT.
        Failure::Timeout
    } else if e.is_partial_file() || e.is_got_nothing() {
        Failure::Partial
    } else if e.is_recv_error() || e.is_send_error() || e.is_http2_error() {
        Failure::Reset
    } else if e.is_peer_failed_verification()
        || e.is_ssl_connect_error()
        || e.is_ssl_certproblem()
        || e.is_ssl_cacert()
        || e.is_ssl_cacert_badfile()
        || e.is_ssl_issuer_error()
    {
        Failure::Tls
    } else if e.is_too_many_redirects() {
        Failure::Other(format!("more than {MAX_REDIRECTS} redirects"))
    } else if e.is_unsupported_protocol() {
        Failure::Other("redirected to a non-http(s) URL, which ddm refuses to follow".into())
    } else if e.is_bad_content_encoding() || e.is_chunk_failed() {
        Failure::InvalidResponse(e.description().to_string())
    } else {
        Failure::Other(e.description().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_with_their_host() {
        let o = HttpOptions {
            user_agent: "t".into(),
            headers: vec![Header::new("Cookie", "s=1"), Header::new("Referer", "r")],
            connect_timeout: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(1),
            insecure: false,
        };
        let same = o.for_other_url("https://a.example/start", "https://a.example/f?sig=1");
        assert_eq!(same.headers.len(), 2);
        let other = o.for_other_url("https://www.example/start", "https://cdn.example/f");
        assert_eq!(other.headers, vec![Header::new("Referer", "r")]);
    }

    #[test]
    fn head_keeps_only_last_response() {
        let mut h = Head::default();
        for l in [
            "HTTP/1.1 302 Found\r\n",
            "Location: /b\r\n",
            "\r\n",
            "HTTP/1.1 206 Partial Content\r\n",
            "Content-Range: bytes 0-0/1234\r\n",
            "ETag: \"x\"\r\n",
            "\r\n",
        ] {
            h.feed(l.as_bytes());
        }
        assert_eq!(h.status, 206);
        assert!(h.complete);
        assert_eq!(h.get("location"), None);
        assert_eq!(h.get("etag"), Some("\"x\""));
        assert_eq!(
            h.content_range(),
            Some(ContentRange {
                first: 0,
                last: 0,
                total: Some(1234)
            })
        );
    }

    #[test]
    fn latin1_header_bytes_keep_their_characters() {
        let mut h = Head::default();
        h.feed(b"HTTP/1.1 200 OK\r\n");
        h.feed(b"Content-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"\r\n");
        let cd = h.get("content-disposition").unwrap();
        assert_eq!(
            crate::filename::from_content_disposition(cd).as_deref(),
            Some("r\u{e9}sum\u{e9}.pdf")
        );
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some(ContentRange {
                first: 100,
                last: 199,
                total: Some(1000)
            })
        );
        assert_eq!(parse_content_range("bytes 0-9/*").unwrap().total, None);
        for bad in [
            "bytes */1000",
            "bytes 10-5/100",
            "bytes 0-100/100",
            "items 0-1/2",
            "bytes a-b/c",
            "garbage",
            "",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn encoding_detection() {
        let mut h = Head::default();
        h.feed(b"HTTP/1.1 200 OK\r\n");
        assert_eq!(h.encoded(), None);
        h.feed(b"Content-Encoding: identity\r\n");
        assert_eq!(h.encoded(), None);
        h.feed(b"Content-Encoding: gzip\r\n");
        assert_eq!(h.encoded(), Some("gzip"));
    }
}

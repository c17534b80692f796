//! HTTP handle setup in one place, response-head parsing, and curl error classification.
//!
//! Every request ddm makes (probe and transfer) is configured here: user agent, timeouts
//! (connect timeout and a low-speed "stall" window, never a wall-clock limit), TLS
//! verification, only http and https, `Accept-Encoding: identity` (nothing is decoded: what a
//! server sends is the file), and the user's headers.
//!
//! libcurl never follows a redirect by itself here: the resolver follows them one hop at a
//! time ([`crate::resolver`]), so that for every request [`target`] decides which headers go
//! with it. Credentials (secret headers, a password in the URL) go only to the origin of the
//! URL the user gave (`model::Origin`); every other header follows redirects. How a login
//! goes out there (Basic, Digest, when) is `login`'s.

pub mod login;

use crate::model::{Header, Origin};
use crate::retry::Failure;
use curl::easy::{Easy2, Handler, List};
use std::time::Duration;

/// Redirects followed at most.
pub const MAX_REDIRECTS: u32 = 10;

/// `Debug` shows no secret: header values marked secret, the `user:password`, cookie values
/// and a proxy's password are hidden.
#[derive(Clone)]
pub struct HttpOptions {
    pub user_agent: String,
    pub headers: Vec<Header>,
    pub connect_timeout: Duration,
    /// No data for this long ends the attempt (it is retried, not failed).
    pub stall_timeout: Duration,
    pub insecure: bool,
    /// Where credentials may go: the origin of the URL the user gave. None: nowhere.
    pub scope: Option<Origin>,
    /// `user:password` from that URL (or `--user`), sent (as curl does) only to that origin.
    userinfo: Option<(String, String)>,
    /// Cookies from a cookies.txt file, each sent only where it applies.
    pub cookies: Vec<crate::cookies::Cookie>,
    /// The proxy (`--proxy`, config `proxy`), or None for curl's environment variables
    /// (`http_proxy`, `HTTPS_PROXY`, `ALL_PROXY`, ...; upper-case `HTTP_PROXY` is ignored, as
    /// curl does against "httpoxy"). Its credentials are secret: shown as `u:***@`.
    pub proxy: Option<String>,
    /// Hosts reached without the proxy (`--noproxy`, config `noproxy`, or `NO_PROXY`).
    pub noproxy: Option<String>,
    /// A CA bundle (`--cacert`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE`) and directory
    /// (`--capath`, `SSL_CERT_DIR`) to trust instead of the system's.
    pub cacert: Option<std::path::PathBuf>,
    pub capath: Option<std::path::PathBuf>,
    /// HTTP/1.1 only (`--http1.1`, config `http1`); otherwise HTTP/2 where TLS offers it.
    pub http1: bool,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("user_agent", &self.user_agent)
            .field("headers", &self.headers)
            .field("connect_timeout", &self.connect_timeout)
            .field("stall_timeout", &self.stall_timeout)
            .field("insecure", &self.insecure)
            .field("scope", &self.scope)
            .field(
                "userinfo",
                &self.userinfo.as_ref().map(|(u, _)| format!("{u}:***")),
            )
            .field("cookies", &self.cookies)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::model::redact_url),
            )
            .field("noproxy", &self.noproxy)
            .field("cacert", &self.cacert)
            .field("capath", &self.capath)
            .field("http1", &self.http1)
            .finish()
    }
}

impl HttpOptions {
    pub fn from_config(cfg: &crate::config::Config, headers: Vec<Header>, insecure: bool) -> Self {
        HttpOptions {
            user_agent: cfg.user_agent.clone(),
            headers,
            connect_timeout: cfg.connect_timeout(),
            stall_timeout: cfg.stall_timeout(),
            insecure: insecure || !cfg.verify_tls,
            scope: None,
            userinfo: None,
            cookies: Vec::new(),
            proxy: cfg.proxy.clone(),
            noproxy: cfg.noproxy.clone(),
            cacert: cfg
                .cacert
                .clone()
                .or_else(|| env_path("CURL_CA_BUNDLE"))
                .or_else(|| env_path("SSL_CERT_FILE")),
            capath: cfg.capath.clone().or_else(|| env_path("SSL_CERT_DIR")),
            http1: cfg.http1,
        }
    }

    /// The proxy a request to `url` goes through, if any (for naming it in errors).
    pub fn proxy_for(&self, url: &str) -> Option<String> {
        let u = url::Url::parse(url).ok()?;
        let host = u.host_str()?.to_ascii_lowercase();
        let env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let (proxy, noproxy) = match &self.proxy {
            Some(p) if p.is_empty() => return None,
            Some(p) => (Some(p.clone()), self.noproxy.clone()),
            None => {
                let p = match u.scheme() {
                    // Upper-case HTTP_PROXY is not honoured (httpoxy), as in curl.
                    "http" => env(&["http_proxy", "all_proxy", "ALL_PROXY"]),
                    _ => env(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
                };
                (
                    p,
                    self.noproxy
                        .clone()
                        .or_else(|| env(&["no_proxy", "NO_PROXY"])),
                )
            }
        };
        let bypass = noproxy.is_some_and(|list| {
            list.split(',').map(str::trim).any(|n| {
                n == "*"
                    || (!n.is_empty() && {
                        let n = n.trim_start_matches('.').to_ascii_lowercase();
                        host == n || host.ends_with(&format!(".{n}"))
                    })
            })
        });
        proxy.filter(|_| !bypass)
    }

    /// A failure of a request to `url`, told as the proxy's when the proxy caused it (it
    /// refused, could not be resolved, failed its handshake, or wants credentials): the
    /// message names the proxy (credentials hidden), not the file's URL.
    pub fn explain(&self, f: Failure, url: &str) -> Failure {
        let Some(p) = self.proxy_for(url) else {
            return f;
        };
        let why = match &f {
            Failure::Http { status: 407, .. } if has_login(&p) => {
                "the proxy asks for authentication (407) and refused the user:password given in \
                 its URL"
                    .to_string()
            }
            Failure::Http { status: 407, .. } => "the proxy asks for authentication (407); give \
                 user:password in the proxy URL (http://user:password@host:port)"
                .to_string(),
            Failure::ConnectRefused => "connection refused".into(),
            Failure::ConnectTimeout => "connection timed out".into(),
            Failure::Resolve => "its host name could not be resolved".into(),
            // Over plain http the only TLS is the one to an https:// proxy.
            Failure::Tls(m) if p.starts_with("https://") && url.starts_with("http://") => format!(
                "TLS failure: {m} (--cacert FILE names the CA to trust; --insecure only if you \
                 trust the proxy)"
            ),
            Failure::Other(m)
                if m.to_ascii_lowercase().contains("proxy") || m.contains("CONNECT") =>
            {
                m.clone()
            }
            _ => return f,
        };
        let shown = crate::model::redact_url(&p);
        let shown = if p.ends_with('/') {
            &shown
        } else {
            shown.trim_end_matches('/')
        };
        Failure::Proxy(format!(
            "proxy {shown}: {why}; check --proxy or the proxy environment variables"
        ))
    }

    /// A job's own network settings, each over the config's and the environment's.
    pub fn with_network(mut self, n: &crate::model::Network) -> Self {
        if n.proxy.is_some() {
            self.proxy = n.proxy.clone();
        }
        if n.noproxy.is_some() {
            self.noproxy = n.noproxy.clone();
        }
        if n.cacert.is_some() {
            self.cacert = n.cacert.clone();
        }
        if n.capath.is_some() {
            self.capath = n.capath.clone();
        }
        self.http1 |= n.http1;
        self
    }

    /// Credentials given apart from the URL (`--user`): they win over a password in the URL,
    /// and go, like it, only to the scope's origin (set [`HttpOptions::scoped_to`] first).
    pub fn with_user(mut self, c: Option<&crate::model::Credentials>) -> Self {
        if let Some(c) = c {
            self.userinfo = Some((c.user.clone(), c.password.clone()));
        }
        self
    }

    /// Credentials from a netrc file for the scope's host (set [`HttpOptions::scoped_to`]
    /// first): only when neither the URL nor `--user` gave a password; they go, like those,
    /// only to the scope's origin. Its `default` entry is for the scope's host alone.
    pub fn with_netrc(mut self, n: Option<&crate::model::Netrc>) -> Result<Self, String> {
        let Some(n) = n else { return Ok(self) };
        let entries = crate::netrc::load(&crate::netrc::path_of(n)?)?;
        if self.userinfo.as_ref().is_some_and(|(_, p)| !p.is_empty()) {
            return Ok(self);
        }
        let Some(scope) = &self.scope else {
            return Ok(self);
        };
        let user = self.userinfo.as_ref().map(|(u, _)| u.as_str());
        if let Some(found) = crate::netrc::lookup(&entries, &scope.host, user) {
            self.userinfo = Some(found);
        }
        Ok(self)
    }

    /// Credentials belong to the origin of `url` (the URL as the user gave it), including a
    /// `user:password` written in it.
    pub fn scoped_to(mut self, url: &str) -> Self {
        if let Ok(u) = url::Url::parse(url) {
            self.scope = Origin::of(&u);
            self.userinfo = (!u.username().is_empty() || u.password().is_some()).then(|| {
                let dec = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (dec(u.username()), dec(u.password().unwrap_or("")))
            });
        }
        self
    }

    /// Does a request to `url` carry a login (`user:password` of the URL, `-u`, netrc)? Its
    /// first answer may then be a challenge (401) that libcurl answers on the same request
    /// ([`login`]).
    pub fn sends_login(&self, url: &str) -> bool {
        self.userinfo.is_some() && url::Url::parse(url).is_ok_and(|u| self.in_scope(&u))
    }

    /// Where this job's login goes (its origin), if it has one: a handle that answered
    /// another origin's challenge is reset before it logs in here (libcurl keeps the scheme
    /// it picked, and Digest's nonce, from one request to the next).
    pub fn login_origin(&self) -> Option<String> {
        self.userinfo.as_ref()?;
        self.scope.as_ref().map(|o| o.to_string())
    }

    /// May credentials go to `url`?
    pub fn in_scope(&self, url: &url::Url) -> bool {
        self.scope.is_some() && Origin::of(url) == self.scope
    }

    /// The headers that go with a request to `url`.
    pub fn headers_for(&self, url: &url::Url) -> impl Iterator<Item = &Header> {
        let all = self.in_scope(url);
        self.headers.iter().filter(move |h| all || !h.is_secret())
    }
}

// CURLOPT_PROTOCOLS_STR / CURLOPT_REDIR_PROTOCOLS_STR (libcurl 7.85+; the long forms are
// deprecated). Not in curl-sys yet: CURLOPTTYPE_STRINGPOINT + 318 / 319.
const CURLOPT_PROTOCOLS_STR: curl_sys::CURLoption = 10_318;
const CURLOPT_REDIR_PROTOCOLS_STR: curl_sys::CURLoption = 10_319;

/// Apply the options every request of a handle shares (call once per handle).
pub fn configure<H: Handler>(easy: &mut Easy2<H>, o: &HttpOptions) -> Result<(), curl::Error> {
    easy.useragent(&o.user_agent)?;
    easy.connect_timeout(o.connect_timeout)?;
    easy.low_speed_limit(1)?;
    easy.low_speed_time(o.stall_timeout)?;
    // Redirects are followed by the resolver, hop by hop, deciding the headers of each.
    easy.follow_location(false)?;
    easy.ssl_verify_peer(!o.insecure)?;
    easy.ssl_verify_host(!o.insecure)?;
    easy.tcp_nodelay(true)?;
    easy.signal(false)?;
    // HTTP/2 where TLS offers it (ALPN h2), HTTP/1.1 otherwise, on cleartext http and when
    // asked (`--http1.1`: then h2 is not even offered). Each handle keeps its own
    // connection, also under h2 (one stream per connection): against servers that throttle
    // per connection, N connections beat N streams on one (docs/benchmarks.md, "HTTP/2").
    easy.http_version(if o.http1 {
        curl::easy::HttpVersion::V11
    } else {
        curl::easy::HttpVersion::V2TLS
    })?;
    set_str(easy, curl_sys::CURLOPT_PROXY, o.proxy.as_deref())?;
    // The proxy's own "200 Connection established" to a CONNECT is not the server's answer:
    // keep it out of the header callback, or it would pass for the file's head.
    set_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)?;
    set_str(easy, curl_sys::CURLOPT_NOPROXY, o.noproxy.as_deref())?;
    let path =
        |p: &Option<std::path::PathBuf>| p.as_ref().and_then(|p| p.to_str().map(str::to_string));
    set_str(easy, curl_sys::CURLOPT_CAINFO, path(&o.cacert).as_deref())?;
    set_str(easy, curl_sys::CURLOPT_CAPATH, path(&o.capath).as_deref())?;
    // An https:// proxy is checked like a server: the same trusted CAs, the same --insecure.
    set_str(
        easy,
        curl_sys::CURLOPT_PROXY_CAINFO,
        path(&o.cacert).as_deref(),
    )?;
    set_str(
        easy,
        curl_sys::CURLOPT_PROXY_CAPATH,
        path(&o.capath).as_deref(),
    )?;
    set_long(
        easy,
        curl_sys::CURLOPT_PROXY_SSL_VERIFYPEER,
        (!o.insecure).into(),
    )?;
    set_long(
        easy,
        curl_sys::CURLOPT_PROXY_SSL_VERIFYHOST,
        if o.insecure { 0 } else { 2 },
    )?;
    // netrc files are read by ddm (`crate::netrc`), so that they have the scope of `--user`.
    easy.netrc(curl::easy::NetRc::Ignored)?;
    easy.progress(true)?;
    easy.buffer_size(256 * 1024)?;
    // We ask for identity (`target` sets the header) and never decode: a body a server sends
    // encoded anyway (Apache's `AddEncoding x-gzip .gz` on a `.tar.gz`) is saved as served,
    // like curl and aria2c do, and its ranges are ranges of those bytes.
    // Only http and https, also for redirects (a redirect to file:// or ftp:// is refused).
    let protocols = c"http,https";
    for opt in [CURLOPT_PROTOCOLS_STR, CURLOPT_REDIR_PROTOCOLS_STR] {
        // SAFETY: a string option on a valid easy handle; libcurl copies the string.
        let rc = unsafe { curl_sys::curl_easy_setopt(easy.raw(), opt, protocols.as_ptr()) };
        if rc != curl_sys::CURLE_OK {
            return Err(curl::Error::new(rc));
        }
    }
    Ok(())
}

/// Set a string option, or clear it (NULL) with None: a handle serves many jobs, so an option
/// one job set must not stay for the next.
fn set_str<H: Handler>(
    easy: &mut Easy2<H>,
    opt: curl_sys::CURLoption,
    v: Option<&str>,
) -> Result<(), curl::Error> {
    let c = match v {
        Some(v) => Some(
            std::ffi::CString::new(v)
                .map_err(|_| curl::Error::new(curl_sys::CURLE_BAD_FUNCTION_ARGUMENT))?,
        ),
        None => None,
    };
    let ptr = c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: a string option (or NULL to clear it) on a valid easy handle; libcurl copies.
    let rc = unsafe { curl_sys::curl_easy_setopt(easy.raw(), opt, ptr) };
    if rc != curl_sys::CURLE_OK {
        return Err(curl::Error::new(rc));
    }
    Ok(())
}

/// Not in curl-sys; `CURLOPTTYPE_LONG + 265` since curl 7.54.
const CURLOPT_SUPPRESS_CONNECT_HEADERS: curl_sys::CURLoption = curl_sys::CURLOPTTYPE_LONG + 265;

fn set_long<H: Handler>(
    easy: &mut Easy2<H>,
    opt: curl_sys::CURLoption,
    v: std::os::raw::c_long,
) -> Result<(), curl::Error> {
    // SAFETY: a long option on a valid easy handle.
    let rc = unsafe { curl_sys::curl_easy_setopt(easy.raw(), opt, v) };
    if rc != curl_sys::CURLE_OK {
        return Err(curl::Error::new(rc));
    }
    Ok(())
}

/// Does the proxy URL carry a user name (a login to offer)?
fn has_login(proxy: &str) -> bool {
    let with_scheme = if proxy.contains("://") {
        proxy.to_string()
    } else {
        format!("http://{proxy}")
    };
    url::Url::parse(&with_scheme).is_ok_and(|u| !u.username().is_empty())
}

fn env_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// Point the handle at `url` with the headers (and credentials) that may go there: all of
/// them on the scope's origin, none of the secret ones anywhere else. `extra` headers (Range
/// is set separately) go after the user's.
pub fn target<H: Handler>(
    easy: &mut Easy2<H>,
    o: &HttpOptions,
    url: &str,
    extra: &[String],
) -> Result<(), curl::Error> {
    let parsed = url::Url::parse(url).ok();
    let in_scope = parsed.as_ref().is_some_and(|u| o.in_scope(u));
    // The URL goes out without user:password; credentials are set below only in scope.
    let bare = parsed.as_ref().map(|u| {
        let mut u = u.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    });
    easy.url(bare.as_deref().unwrap_or(url))?;
    match (&o.userinfo, &parsed) {
        // Basic at once over https, as the server asks over http (`login`).
        (Some((user, pass)), Some(u)) if in_scope => login::set(easy, u, user, pass)?,
        _ => login::clear(easy)?,
    }
    let mut list = List::new();
    let headers: Vec<&Header> = match &parsed {
        Some(u) => o.headers_for(u).collect(),
        None => o.headers.iter().filter(|h| !h.is_secret()).collect(),
    };
    // One Cookie header (RFC 6265 §5.4): the user's -H Cookie (in scope) and the file's
    // cookies that apply to this URL.
    let mut cookie: Vec<String> = Vec::new();
    for h in headers {
        if h.name.eq_ignore_ascii_case("cookie") {
            cookie.push(h.value.trim().to_string());
        } else if !["accept-encoding", "range", "if-range"]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n))
        {
            // ddm owns those: identity encoding and its own ranges.
            list.append(&h.wire())?;
        }
    }
    if let Some(c) = parsed
        .as_ref()
        .and_then(|u| crate::cookies::header_for(&o.cookies, u, crate::cookies::now()))
    {
        cookie.push(c);
    }
    if !cookie.is_empty() {
        // A job's own URL was checked when it was added; a redirect may match more cookies.
        let (value, dropped) = crate::cookies::fit(cookie.join("; "));
        if dropped > 0 {
            tracing::warn!(
                "Cookie header for {} over {} bytes: {dropped} cookies left out",
                crate::model::redact_url(url),
                crate::cookies::MAX_HEADER
            );
        }
        list.append(&format!("Cookie: {value}"))?;
    }
    list.append("Accept-Encoding: identity")?;
    for e in extra {
        list.append(e)?;
    }
    easy.http_headers(list)?;
    Ok(())
}

/// Is `status` a redirect the resolver follows?
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The status line and headers of the last response received (redirect hops are dropped).
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// The protocol of the status line (`HTTP/1.1`, `HTTP/2`).
    pub version: String,
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
            let mut parts = line.split_whitespace();
            self.version = parts.next().unwrap_or_default().to_string();
            self.status = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        } else if line.is_empty() {
            // An informational answer (100 Continue, 103 Early Hints) is followed by the real
            // one: its end is not the end of the head.
            self.complete = !(100..200).contains(&self.status);
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

/// An answer that is not HTTP as it should be (no status line, garbage framing, a header
/// flood): named as an invalid answer, never as a reset or a refused redirect. curl tells
/// them by its message only.
fn invalid_answer(e: &curl::Error) -> Option<Failure> {
    // curl 8: "a value or data field grew larger than allowed" (headers past 300 KB).
    const CURLE_TOO_LARGE: curl_sys::CURLcode = 100;
    let why = e.extra_description().unwrap_or_default();
    let what = if e.code() == curl_sys::CURLE_FTP_WEIRD_SERVER_REPLY
        || (e.is_unsupported_protocol() && why.contains("HTTP/0.9"))
    {
        "the answer has no valid HTTP status line (HTTP/0.9 or garbage)"
    } else if e.is_recv_error() && why.contains("chunk") {
        "bad chunked framing"
    } else if (e.is_recv_error() && why.contains("response headers")) || e.code() == CURLE_TOO_LARGE
    {
        "the response headers are too large"
    } else {
        return None;
    };
    Some(Failure::InvalidResponse(format!("{what} ({why})")))
}

/// The status a proxy answered a `CONNECT` with, when that is why curl failed (it reports
/// a refused tunnel as "could not connect", naming the status only in its message).
fn tunnel_status(e: &curl::Error) -> Option<u16> {
    let m = e.extra_description()?;
    let rest = m.split("CONNECT tunnel failed, response ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Map a curl error to a retry-classifier failure.
pub fn classify_curl(e: &curl::Error) -> Failure {
    if let Some(f) = invalid_answer(e) {
        return f;
    }
    if e.is_couldnt_connect() && tunnel_status(e) == Some(407) {
        // The proxy wants credentials: final, and told as the proxy's (`explain`).
        Failure::Http {
            status: 407,
            retry_after: None,
        }
    } else if e.is_couldnt_connect() {
        Failure::ConnectRefused
    } else if e.is_couldnt_resolve_host() || e.is_couldnt_resolve_proxy() {
        Failure::Resolve
    } else if e.is_operation_timedout() {
        // Both the connect timeout and the low-speed window report CURLE_OPERATION_TIMEDOUT.
        Failure::Timeout
    } else if e.is_partial_file() || e.is_got_nothing() {
        Failure::Partial
    } else if e.is_recv_error()
        || e.is_send_error()
        || e.is_http2_error()
        // RST_STREAM (a proxy or CDN giving up on one stream mid-body): the stream's
        // version of a reset connection, retried like one.
        || e.is_http2_stream_error()
    {
        Failure::Reset
    } else if e.is_peer_failed_verification()
        || e.is_ssl_connect_error()
        || e.is_ssl_certproblem()
        || e.is_ssl_cacert()
        || e.is_ssl_cacert_badfile()
        || e.is_ssl_issuer_error()
    {
        Failure::Tls(e.extra_description().unwrap_or(e.description()).to_string())
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
mod tests;

//! libcurl handle setup, in one place: the options every request of a handle shares
//! ([`configure`]), the URL, headers and credentials a request to one URL may carry
//! ([`target`]), and [`request`], which sets *every* option of one request (the resolver's
//! HEAD and first byte, a worker's first request, range or whole body) on a handle that
//! may have served another job before: each option is set or cleared, never left over.
//!
//! libcurl never follows a redirect by itself: the caller follows them one hop at a time
//! ([`super::redirect`]), so that for every hop [`target`] decides which headers go with it.

use super::{login, HttpOptions};
use crate::model::Header;
use curl::easy::{Easy2, Handler, List};
use std::time::Duration;

/// What one request asks for, beyond what the job's [`HttpOptions`] say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The URL of this hop.
    pub url: &'a str,
    /// Headers after the user's (If-Range).
    pub extra: &'a [String],
    /// The Range header's value (`0-0`, `500-`), or None for no Range header at all.
    pub range: Option<&'a str>,
    /// A HEAD request (no body).
    pub head_only: bool,
    /// A shorter stall window than the job's (a HEAD that never answers only delays the
    /// GET that follows it).
    pub stall: Option<Duration>,
    /// Time the request through the handle's debug callback (its handler must implement
    /// `debug`; the default one prints to stderr).
    pub timed: bool,
    /// The login's origin asked for Digest: answer its challenge instead of sending Basic
    /// first ([`login::negotiate`]).
    pub negotiating: bool,
}

/// How the login goes out on a request [`request`] set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    /// The request carries a login: its first 401 is a challenge libcurl answers.
    pub sent: bool,
    /// ... as Basic with the first request (https, not negotiating): a 401 asking for
    /// Digest is then asked again, negotiating ([`login::wants_digest`]).
    pub basic_first: bool,
}

/// Set every option of one request on `easy`: the handle's shared ones, the target, range,
/// method, stall window, timing and login.
pub fn request<H: Handler>(
    easy: &mut Easy2<H>,
    o: &HttpOptions,
    r: &Request<'_>,
) -> Result<Login, curl::Error> {
    configure(easy, o)?;
    easy.nobody(r.head_only)?;
    if let Some(stall) = r.stall {
        easy.low_speed_time(o.stall_timeout.min(stall))?;
    }
    easy.verbose(r.timed)?;
    target(easy, o, r.url, r.extra)?;
    let sent = o.sends_login(r.url);
    if sent && r.negotiating {
        login::negotiate(easy)?;
    }
    match r.range {
        Some(range) => easy.range(range)?,
        // No Range header at all (an empty string would send `Range: bytes=`).
        None => set_str(easy, curl_sys::CURLOPT_RANGE, None)?,
    }
    let basic_first =
        sent && !r.negotiating && url::Url::parse(r.url).is_ok_and(|u| login::basic_first(&u));
    Ok(Login { sent, basic_first })
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

//! curl's errors told as what they mean for a retry ([`Failure`]): a connect timeout apart
//! from a stall, an invalid answer apart from a reset, a proxy's refused tunnel as its 407.

use super::MAX_REDIRECTS;
use crate::retry::Failure;
use curl::easy::Easy2;
use std::time::Duration;

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

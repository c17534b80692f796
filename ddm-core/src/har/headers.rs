//! Which captured request headers a download replays.
//!
//! Source: the request of the chain's **final** entry (the one that answered with the
//! content), because that is the request ddm repeats (with `Range` added) against
//! `final_url`. If one of the carried headers is missing there (some exporters record
//! reduced header sets), earlier real hops of the chain are consulted, newest first.
//! Credentials are taken from the final request only: cookies and `Authorization` are
//! scoped to the final host, and copying another hop's would leak them across hosts.
//!
//! Carried (names normalised to the usual spelling): `User-Agent`, `Referer`, `Accept`,
//! `Accept-Language`. With `allow_cookies` also `Cookie` (all `cookie` headers joined with
//! "; ", as HTTP/2 captures split them; rebuilt from the `cookies` array when there is
//! no header) and `Authorization`.
//!
//! Dropped: HTTP/2 pseudo-headers (`:authority`, `:path`, ...); hop-by-hop headers
//! (`Connection`, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`,
//! `Upgrade`); `Host` (derived from the URL); `Range`/`If-Range` (ddm sets its own);
//! conditional headers (`If-None-Match`, `If-Modified-Since`: would yield 304);
//! `Accept-Encoding` (ddm wants identity bytes to split into ranges); `Content-Length`
//! and `Content-Type` (GET has no body); `Origin` (browsers send it for CORS/POST, a
//! plain GET download does not need it and it can trigger CORS handling);
//! `Cache-Control`/`Pragma`, `DNT`, `Upgrade-Insecure-Requests`, `Sec-Fetch-*` and
//! `Sec-CH-*` client hints and `X-Client-Data` (browser fingerprinting the engine could
//! not honour consistently); `Set-Cookie` (a response header, never replayed); and any
//! other custom header. Values containing CR, LF or NUL are never carried.

use crate::har::model::{first, Entry, Har, Header};

/// Headers carried from the capture, in this order, with their canonical spelling.
const CARRIED: &[&str] = &["User-Agent", "Referer", "Accept", "Accept-Language"];

/// What happens to a captured request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Replayed under this canonical name.
    Carry(&'static str),
    /// Replayed under this name only with `allow_cookies`.
    Secret(&'static str),
    /// Never replayed.
    Drop,
}

/// Classifies one request header name.
pub(crate) fn fate(name: &str) -> Fate {
    let name = name.trim();
    if name.starts_with(':') {
        return Fate::Drop;
    }
    if let Some(c) = CARRIED.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Fate::Carry(c);
    }
    if name.eq_ignore_ascii_case("Cookie") {
        return Fate::Secret("Cookie");
    }
    if name.eq_ignore_ascii_case("Authorization") {
        return Fate::Secret("Authorization");
    }
    Fate::Drop
}

fn clean(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && !v.contains(['\r', '\n', '\0'])).then(|| v.to_owned())
}

fn headers_of(e: &Entry) -> &[Header] {
    e.request.as_ref().map_or(&[][..], |r| &r.headers)
}

/// The headers to replay for the chain `chain` (entry indices, start first, final last;
/// `real` says which hops are real requests, i.e. not synthetic internal redirects).
pub(crate) fn replay(
    har: &Har,
    chain: &[usize],
    real: &[bool],
    allow_cookies: bool,
) -> Vec<(String, String)> {
    let entries: Vec<&Entry> = chain
        .iter()
        .zip(real)
        .rev()
        .filter(|(_, real)| **real)
        .filter_map(|(i, _)| har.entries[*i].as_ref().ok())
        .collect();
    let mut out = Vec::new();
    for name in CARRIED {
        let value = entries
            .iter()
            .find_map(|e| first(headers_of(e), name).and_then(clean));
        if let Some(v) = value {
            out.push(((*name).to_owned(), v));
        }
    }
    let Some(last) = har.entries[chain[chain.len() - 1]].as_ref().ok() else {
        return out;
    };
    if allow_cookies {
        if let Some(cookie) = cookie_header(last) {
            out.push(("Cookie".to_owned(), cookie));
        }
        if let Some(auth) = first(headers_of(last), "Authorization").and_then(clean) {
            out.push(("Authorization".to_owned(), auth));
        }
    }
    out
}

/// The final request's cookies: its `Cookie` header(s), else its `cookies` array.
fn cookie_header(e: &Entry) -> Option<String> {
    let from_headers: Vec<String> = headers_of(e)
        .iter()
        .filter(|h| {
            h.name
                .as_deref()
                .is_some_and(|n| fate(n) == Fate::Secret("Cookie"))
        })
        .filter_map(|h| h.value.as_deref().and_then(clean))
        .collect();
    if !from_headers.is_empty() {
        return Some(from_headers.join("; "));
    }
    let jar: Vec<String> = e
        .request
        .as_ref()
        .map_or(&[][..], |r| &r.cookies)
        .iter()
        .filter_map(|c| {
            let name = c.name.as_deref()?.trim();
            let value = c.value.as_deref().unwrap_or("").trim();
            let bad = |s: &str| s.contains([';', '\r', '\n', '\0']);
            (!name.is_empty() && !name.contains('=') && !bad(name) && !bad(value))
                .then(|| format!("{name}={value}"))
        })
        .collect();
    (!jar.is_empty()).then(|| jar.join("; "))
}

/// True if any of these headers carries a credential.
pub(crate) fn has_secrets(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, _)| matches!(fate(n), Fate::Secret(_)))
}

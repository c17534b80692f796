//! Cookies from a Netscape `cookies.txt` file (what browsers' export extensions and curl's
//! `-c` write): parsed once when a job is added, stored with the job like other secrets, and
//! sent per request only where each cookie's domain, path and secure flag allow (RFC 6265
//! §5.1.3, §5.1.4, §5.4). Values are never printed or logged: [`Cookie`]'s `Debug` hides them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One cookie of a `cookies.txt` file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    /// The host (or domain, for `include_subdomains`) it belongs to, lower-case, no dot.
    pub domain: String,
    /// Sent to subdomains of `domain` too (the file's second field, `TRUE`).
    pub include_subdomains: bool,
    pub path: String,
    /// Sent over https only.
    pub secure: bool,
    /// Unix time it expires; 0 = a session cookie (kept until the job is removed).
    pub expires: i64,
    pub name: String,
    pub value: String,
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cookie({}=*** for {}{}{})",
            self.name,
            if self.include_subdomains { "." } else { "" },
            self.domain,
            self.path
        )
    }
}

/// What reading a cookies file gave: the cookies, and lines left out (with why).
#[derive(Debug, Default)]
pub struct Loaded {
    pub cookies: Vec<Cookie>,
    /// Line numbers (1-based) that are not 7 tab-separated fields.
    pub malformed: Vec<usize>,
    /// Cookies already expired when read.
    pub expired: usize,
}

/// Parse the Netscape format: `domain TAB subdomains TAB path TAB secure TAB expires TAB name
/// TAB value`; `#` lines are comments except the `#HttpOnly_` prefix curl and browsers write
/// before a domain.
pub fn parse(text: &str, now: i64) -> Loaded {
    let mut out = Loaded::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        // Some exporters drop the value of an empty cookie: 6 fields.
        let value = match f.len() {
            7 => f[6],
            6 => "",
            _ => {
                out.malformed.push(i + 1);
                continue;
            }
        };
        let flag = |s: &str| s.eq_ignore_ascii_case("TRUE");
        let Ok(expires) = f[4].trim().parse::<i64>() else {
            out.malformed.push(i + 1);
            continue;
        };
        let domain = f[0].trim().to_ascii_lowercase();
        let name = f[5].to_string();
        if domain.trim_start_matches('.').is_empty()
            || name.is_empty()
            || name.contains([';', '=', ' '])
            || value.contains(';')
            || value.chars().chain(name.chars()).any(char::is_control)
        {
            out.malformed.push(i + 1);
            continue;
        }
        if expires != 0 && expires < now {
            out.expired += 1;
            continue;
        }
        let path = match f[2].trim() {
            p if p.starts_with('/') => p.to_string(),
            _ => "/".to_string(),
        };
        out.cookies.push(Cookie {
            include_subdomains: flag(f[1]) || domain.starts_with('.'),
            domain: domain.trim_start_matches('.').to_string(),
            path,
            secure: flag(f[3]),
            expires,
            name,
            value: value.to_string(),
        });
    }
    out
}

impl Cookie {
    /// May this cookie go with a request to `url` at time `now`?
    pub fn matches(&self, url: &url::Url, now: i64) -> bool {
        if self.expires != 0 && self.expires < now {
            return false;
        }
        if self.secure && url.scheme() != "https" {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let domain_ok = host == self.domain
            || (self.include_subdomains
                && host.ends_with(&self.domain)
                && host[..host.len() - self.domain.len()].ends_with('.')
                // A domain cookie never applies to an IP address (RFC 6265 §5.1.3).
                && !matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))));
        domain_ok && path_matches(&self.path, url.path())
    }
}

/// RFC 6265 §5.1.4: the cookie path is the request path, or a prefix of it ending at a `/`.
fn path_matches(cookie: &str, request: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

/// The `Cookie` header value for a request to `url`: the matching cookies, longer paths
/// first (RFC 6265 §5.4), or None.
pub fn header_for(cookies: &[Cookie], url: &url::Url, now: i64) -> Option<String> {
    let mut m: Vec<&Cookie> = cookies.iter().filter(|c| c.matches(url, now)).collect();
    if m.is_empty() {
        return None;
    }
    m.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
    Some(
        m.iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The longest `Cookie` header line ddm sends, name included: 8 KiB, what common servers
/// accept in one header line (nginx's `large_client_header_buffers`, Apache's
/// `LimitRequestFieldSize`); a longer one is answered 400 or 431, or cut.
pub const MAX_HEADER: usize = 8 << 10;

/// `Cookie: ` before the value.
const PREFIX: usize = "Cookie: ".len();

/// The Cookie header value a request to `url` carries: the `Cookie` headers given with it
/// (`-H`, a capture), then the cookies of `cookies` that apply, in one header.
pub fn request_value(
    given: &[&str],
    cookies: &[Cookie],
    url: &url::Url,
    now: i64,
) -> Option<String> {
    let mut parts: Vec<String> = given
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    parts.extend(header_for(cookies, url, now));
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A Cookie header value cut to fit [`MAX_HEADER`]: whole cookies are left out from the end
/// (the least specific paths, after the user's own). Also returns how many were left out.
pub fn fit(value: String) -> (String, usize) {
    if PREFIX + value.len() <= MAX_HEADER {
        return (value, 0);
    }
    let mut kept = String::new();
    let mut dropped = 0;
    for c in value.split("; ") {
        let extra = if kept.is_empty() { 0 } else { 2 };
        if dropped == 0 && PREFIX + kept.len() + extra + c.len() <= MAX_HEADER {
            if extra > 0 {
                kept.push_str("; ");
            }
            kept.push_str(c);
        } else {
            dropped += 1;
        }
    }
    (kept, dropped)
}

/// Refuse a job whose request to its own URL would carry a Cookie header over
/// [`MAX_HEADER`] (the `Cookie` headers of `headers` and the cookies that apply to `url`):
/// the error names the header, its size and the limit, before anything is sent.
pub fn check_size(
    headers: &[crate::model::Header],
    cookies: &[Cookie],
    url: &str,
) -> Result<(), String> {
    let Ok(u) = url::Url::parse(url) else {
        return Ok(());
    };
    let given: Vec<&str> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        .map(|h| h.value.as_str())
        .collect();
    let Some(v) = request_value(&given, cookies, &u, now()) else {
        return Ok(());
    };
    if PREFIX + v.len() <= MAX_HEADER {
        return Ok(());
    }
    let host = u.host_str().unwrap_or_default();
    Err(format!(
        "the Cookie header for {host} would be {} bytes ({} cookies), more than the {} KiB          servers accept in one header line; keep only the cookies this site needs",
        PREFIX + v.len(),
        v.split("; ").count(),
        MAX_HEADER >> 10
    ))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Netscape HTTP Cookie File\n\
        # comment\n\
        .example.org\tTRUE\t/\tFALSE\t0\tsid\tabc\n\
        www.example.org\tFALSE\t/docs\tTRUE\t4102444800\tdoc\tx1\n\
        #HttpOnly_.example.org\tTRUE\t/\tFALSE\t0\thttponly\ty\n\
        old.example.org\tFALSE\t/\tFALSE\t1000\tgone\tz\n\
        not a cookie line\n\
        bare.example.org\tFALSE\t/\tFALSE\t0\tempty\n";

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn parses_comments_httponly_expired_and_malformed_lines() {
        let l = parse(FILE, 2000);
        let names: Vec<&str> = l.cookies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sid", "doc", "httponly", "empty"]);
        assert_eq!(l.expired, 1);
        assert_eq!(l.malformed, [7]);
        assert_eq!(l.cookies[3].value, "");
    }

    #[test]
    fn domain_path_and_secure_decide_where_a_cookie_goes() {
        let c = parse(FILE, 2000).cookies;
        let h = |url: &str| header_for(&c, &u(url), 2000);
        assert_eq!(
            h("http://example.org/").as_deref(),
            Some("sid=abc; httponly=y")
        );
        assert_eq!(
            h("https://www.example.org/docs/a.pdf").as_deref(),
            Some("doc=x1; sid=abc; httponly=y")
        );
        // Not secure, wrong path prefix, a lookalike domain, a host-only cookie's subdomain.
        assert_eq!(
            h("http://www.example.org/docs/a.pdf").as_deref(),
            Some("sid=abc; httponly=y")
        );
        assert_eq!(
            h("https://www.example.org/docsx").as_deref(),
            Some("sid=abc; httponly=y")
        );
        assert_eq!(h("http://badexample.org/"), None);
        assert_eq!(
            h("http://a.bare.example.org/").as_deref(),
            Some("sid=abc; httponly=y")
        );
        assert_eq!(
            h("http://bare.example.org/").as_deref(),
            Some("sid=abc; httponly=y; empty=")
        );
        assert_eq!(h("http://127.0.0.1/"), None);
    }

    #[test]
    fn a_cookie_header_over_8_kib_is_refused_or_cut_at_whole_cookies() {
        let big = "v".repeat(500);
        let text: String = (0..20)
            .map(|i| format!("a.example\tFALSE\t/\tFALSE\t0\tc{i}\t{big}\n"))
            .collect();
        let c = parse(&text, 0).cookies;
        let e = check_size(&[], &c, "http://a.example/f").unwrap_err();
        assert!(
            e.contains("Cookie header for a.example")
                && e.contains("20 cookies")
                && e.contains("8 KiB"),
            "{e}"
        );
        assert!(check_size(&[], &c, "http://b.example/f").is_ok());
        let h = crate::model::Header::new("Cookie", "x".repeat(MAX_HEADER));
        assert!(check_size(&[h], &[], "http://b.example/f").is_err());
        let value = request_value(&["mine=1"], &c, &u("http://a.example/f"), 0).unwrap();
        let (v, dropped) = fit(value);
        assert!(PREFIX + v.len() <= MAX_HEADER, "{}", v.len());
        assert!(
            v.starts_with("mine=1; c0="),
            "the user's own cookie stays first"
        );
        assert_eq!(v.split("; ").count() + dropped, 21);
        assert!(dropped > 0 && v.split("; ").all(|p| p == "mine=1" || p.len() >= 503));
        let (small, none) = fit("a=1; b=2".into());
        assert_eq!((small.as_str(), none), ("a=1; b=2", 0));
    }

    #[test]
    fn debug_never_shows_a_value() {
        let c = parse(FILE, 2000).cookies;
        assert!(!format!("{c:?}").contains("abc"));
    }
}

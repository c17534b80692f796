//! Which web pages may talk to the service: the `Origin` a browser puts on every WebSocket
//! upgrade and cross-origin request, judged against `--allow-origin` (one exact origin, or
//! `*`).
//!
//! - No `Origin` header: not a browser page (aria2p, curl, node's `ws`): let in, the token
//!   decides.
//! - The allowed origin (or any, with `*`): let in, and answers carry
//!   `Access-Control-Allow-Origin` so the page can read them.
//! - The service's own origin (`http://` + the `Host` it was reached by, when that host is
//!   an IP address or `localhost`, so a DNS-rebinding name never counts): let in, no CORS
//!   header needed. Python's `websocket-client` (aria2p's notifications) sends this one.
//! - A browser extension (`chrome-extension://`, `moz-extension://`, ...): not a web page
//!   (the user installed it; Aria2-Explorer connects from one): let in, the token decides.
//! - Any other page (`http(s)://` elsewhere, or `null` from a file or sandbox): a WebSocket
//!   upgrade is refused (403); an HTTP answer carries no CORS header, so the browser keeps
//!   it from the page.

use axum::http::HeaderValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    NoOrigin,
    Allowed,
    Own,
    NotAPage,
    Refused,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    allow: Option<String>,
}

impl Policy {
    /// `allow`: `*`, or one origin (`scheme://host[:port]`, checked by [`check`]).
    pub(crate) fn new(allow: Option<String>) -> Policy {
        Policy { allow }
    }

    pub(crate) fn judge(&self, origin: Option<&str>, host: Option<&str>) -> Verdict {
        let Some(origin) = origin else {
            return Verdict::NoOrigin;
        };
        if self.allows(origin) {
            return Verdict::Allowed;
        }
        if host.is_some_and(|h| {
            is_literal_host(h) && origin.eq_ignore_ascii_case(&format!("http://{h}"))
        }) {
            return Verdict::Own;
        }
        let scheme = origin
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https") | None => Verdict::Refused,
            Some(_) => Verdict::NotAPage,
        }
    }

    fn allows(&self, origin: &str) -> bool {
        match self.allow.as_deref() {
            Some("*") => true,
            Some(a) => a.eq_ignore_ascii_case(origin),
            None => false,
        }
    }

    /// `Access-Control-Allow-Origin` for a request from `origin`, when it is allowed.
    pub(crate) fn cors(&self, origin: Option<&str>) -> Option<HeaderValue> {
        let origin = origin?;
        match self.allow.as_deref()? {
            "*" => Some(HeaderValue::from_static("*")),
            _ if self.allows(origin) => HeaderValue::from_str(origin).ok(),
            _ => None,
        }
    }
}

/// Check `--allow-origin`: `*`, or an origin as a browser writes it: `scheme://host` with an
/// optional port and nothing after (also `null`, which a page opened from a file sends).
pub fn check(allow: &str) -> Result<(), String> {
    if allow == "*" || allow == "null" {
        return Ok(());
    }
    let bad = || {
        format!(
            "--allow-origin {allow:?} is not an origin: give the page's scheme, host and \
             port as the browser sends them (e.g. http://localhost:6880), or * for any page"
        )
    };
    let (scheme, rest) = allow.split_once("://").ok_or_else(bad)?;
    let ok_scheme = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let ok_rest = !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' ', '@'])
        && rest.bytes().all(|b| b.is_ascii_graphic());
    if ok_scheme && ok_rest {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `127.0.0.1:6800`, `[::1]:6800`, `localhost:6800`: a host no DNS name can stand for.
fn is_literal_host(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_judged_by_their_origin() {
        let none = Policy::new(None);
        let host = Some("127.0.0.1:6800");
        assert_eq!(none.judge(None, host), Verdict::NoOrigin);
        assert_eq!(
            none.judge(Some("http://127.0.0.1:6800"), host),
            Verdict::Own
        );
        assert_eq!(
            none.judge(Some("http://evil.example"), host),
            Verdict::Refused
        );
        assert_eq!(none.judge(Some("null"), host), Verdict::Refused);
        assert_eq!(
            none.judge(Some("chrome-extension://abcdef"), host),
            Verdict::NotAPage
        );
        // A rebinding name is never the service's own origin.
        let evil = Some("evil.example:6800");
        assert_eq!(
            none.judge(Some("http://evil.example:6800"), evil),
            Verdict::Refused
        );
        let one = Policy::new(Some("http://localhost:6880".into()));
        assert_eq!(
            one.judge(Some("http://localhost:6880"), host),
            Verdict::Allowed
        );
        assert_eq!(
            one.judge(Some("http://localhost:6881"), host),
            Verdict::Refused
        );
        let any = Policy::new(Some("*".into()));
        assert_eq!(
            any.judge(Some("http://evil.example"), host),
            Verdict::Allowed
        );
    }

    #[test]
    fn allow_origin_must_be_an_origin() {
        for ok in [
            "*",
            "null",
            "http://localhost:6880",
            "https://ariang.example",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in ["localhost:6880", "http://h/path", "http://", "http://a b"] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}

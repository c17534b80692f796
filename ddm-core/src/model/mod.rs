//! Value types shared by the HTTP layer, the job store and the engine, kept below all of them:
//! request headers (with their secrecy), the origin that credentials belong to, URL redaction,
//! and the typed error a job ends with (`error.rs`).
//!
//! Credentials have a scope: `Authorization`, `Cookie`, `Proxy-Authorization`, every header
//! whose name holds a credential word (token, key, secret, session, auth, password,
//! signature, credential: [`is_secret_name`]), any header the user marks secret (`--secret-header`) and a password in the URL go
//! only to the scheme, host and port of the URL the user gave ([`Origin`]). A redirect to
//! another host, port or scheme (a CDN, a signed link, https → http) gets the other headers but
//! not those. This is what curl does with its own credentials.

mod error;

pub use error::{ErrorKind, JobError};

use serde::{Deserialize, Serialize};
use std::fmt;

/// One request header. Secret values never appear in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
    /// Marked secret by the user (`--secret-header NAME`), on top of the built-in list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// A header whose name (case-insensitive) contains one of these words carries a credential:
/// `Authorization`, `Cookie`, `Private-Token` (GitLab), `X-Amz-Security-Token`,
/// `X-Goog-Api-Key`, `X-Session-Id`, `X-Client-Secret`, `Signature` (RFC 9421), ... No
/// standard request header that a download needs contains one (`Keep-Alive`, `Sec-Fetch-*`,
/// `Sec-CH-*`, `Accept-*`, `If-*`, `Referer`, `User-Agent` do not); the cost of a false
/// positive is only that the header stays with the job's origin and is never shown.
const SECRET_WORDS: &[&str] = &[
    "auth",
    "cookie",
    "token",
    "key",
    "secret",
    "session",
    "password",
    "passwd",
    "signature",
    "credential",
];

/// Credential headers whose names hold none of those words.
const SECRET_NAMES: &[&str] = &["x-jfrog-art-api", "dpop"];

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
            secret: false,
        }
    }

    /// Parse `Name: value` as given to `--header`. The error never repeats the line: it may
    /// hold a secret (`-H 'Authorization Bearer S'` without its colon).
    pub fn parse(line: &str) -> Result<Self, String> {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            "a header has no ':' (its text is not shown, it may be secret); write it as \
             'Name: value'"
                .to_string()
        })?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(
                "a header name is empty or has characters HTTP does not allow (spaces, \
                 quotes, ...); write it as 'Name: value'"
                    .into(),
            );
        }
        let value = value.trim();
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("header {name}: value contains a line break or NUL"));
        }
        Ok(Header::new(name, value))
    }

    pub fn is_secret(&self) -> bool {
        self.secret || is_secret_name(&self.name)
    }

    /// `Name: value` with secrets replaced by `<redacted>`.
    pub fn redacted(&self) -> String {
        if self.is_secret() {
            format!("{}: <redacted>", self.name)
        } else {
            format!("{}: {}", self.name, self.value)
        }
    }

    /// `Name: value` for the wire.
    pub fn wire(&self) -> String {
        format!("{}: {}", self.name, self.value)
    }
}

/// Is `name` a header that always carries a credential (see [`SECRET_WORDS`])?
pub fn is_secret_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w)) || SECRET_NAMES.contains(&name.as_str())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}
impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A user name and password (`--user`), sent like a password written in the URL: only to the
/// origin of the URL the user gave. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:***", self.user)
    }
}

/// Where credentials come from besides the URL and `--user`: a netrc file, like curl's
/// `--netrc` (`~/.netrc`) and `--netrc-file FILE`. Each of its entries names its host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Netrc {
    Default,
    File(std::path::PathBuf),
}

/// How requests reach the network, per job (`--proxy`, `--noproxy`, `--cacert`, `--capath`):
/// each given value wins over the config file and the environment.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    /// Proxy URL (`http://`, `https://`, `socks4://`, `socks4a://`, `socks5://`, `socks5h://`);
    /// the empty string means no proxy at all, not even from the environment.
    pub proxy: Option<String>,
    /// Hosts reached directly: comma-separated names (a name covers its subdomains), `*` = all.
    pub noproxy: Option<String>,
    pub cacert: Option<std::path::PathBuf>,
    pub capath: Option<std::path::PathBuf>,
    /// `--http1.1`: no HTTP/2 for this job.
    pub http1: bool,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("noproxy", &self.noproxy)
            .field("cacert", &self.cacert)
            .field("capath", &self.capath)
            .field("http1", &self.http1)
            .finish()
    }
}

/// The schemes a proxy URL may have (those libcurl speaks).
pub const PROXY_SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// Check a proxy given by the user: a URL with a proxy scheme and a host (a bare `host:port`
/// means `http://host:port`, as in curl), or "" for none. Returns it normalised.
pub fn check_proxy(p: &str) -> Result<String, String> {
    if p.is_empty() {
        return Ok(String::new());
    }
    let full = if p.contains("://") {
        p.to_string()
    } else {
        format!("http://{p}")
    };
    // Shown with its password redacted, even when it does not parse (a bare `u:pw@host` as
    // the `http://` URL it stands for).
    let shown = redact_url(&full);
    let u = url::Url::parse(&full)
        .map_err(|e| format!("proxy {shown}: not a URL ({e}); write e.g. http://host:3128"))?;
    if !PROXY_SCHEMES.contains(&u.scheme()) {
        return Err(format!(
            "proxy {shown}: unsupported scheme {:?}; use one of {}",
            u.scheme(),
            PROXY_SCHEMES.join(", ")
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("proxy {shown}: no host"));
    }
    Ok(full)
}

/// Scheme, host and port: where credentials may go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &url::Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
    pub fn parse(url: &str) -> Option<Origin> {
        Origin::of(&url::Url::parse(url).ok()?)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A URL for people and logs: a password in it becomes `***` (`https://u:***@host/...`), a
/// user name alone (often a token) becomes `***`. The redaction is textual, so it also covers
/// a URL that does not parse or has an unsupported scheme, and URLs inside its query string.
pub fn redact_url(s: &str) -> String {
    redact_text(s)
}

/// Free text (an error message, a log line) with the userinfo of every URL in it redacted,
/// whether or not the URL is valid: whatever stands between `scheme://` and the last `@`
/// before the next `/`, `?` or `#` becomes `user:***` (or `***` when it has no `:`). A URL
/// percent-encoded in a query string (`next=http%3A%2F%2Fu%3Apw%40h%2F`) is redacted too.
pub fn redact_text(text: &str) -> String {
    // Only userinfo is redacted, and userinfo ends at an `@` (`%40` encoded): without one
    // there is nothing to find (the common case: every URL of a job list, several times a
    // second).
    if !text.contains('@') && !text.contains("%40") {
        return text.to_string();
    }
    // ASCII lower-casing keeps every byte where it is: offsets into `lower` are offsets into
    // `text`, and every pattern is ASCII, so each offset is a char boundary.
    let lower = text.to_ascii_lowercase();
    let find = |from: usize, pat: &str| lower[from..].find(pat).map(|i| from + i);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    loop {
        let plain = find(pos, "://").map(|i| (i, 3, false));
        let encoded = find(pos, "%3a%2f%2f").map(|i| (i, 9, true));
        let next = match (plain, encoded) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((i, n, encoded)) = next else {
            out.push_str(&text[pos..]);
            return out;
        };
        let start = i + n;
        out.push_str(&text[pos..start]);
        pos = start;
        // The authority ends at the first `/`, `?` or `#` (encoded: also `&` and `%2F`...).
        let mut end = text.len();
        let mut ends: Vec<&str> = vec!["/", "?", "#"];
        if encoded {
            ends.extend(["&", "%2f", "%3f", "%23"]);
        }
        for e in ends {
            if let Some(j) = find(start, e) {
                end = end.min(j);
            }
        }
        let auth = &lower[start..end];
        let mut at = auth.rfind('@').map(|j| (j, 1));
        if encoded {
            if let Some(j) = auth.rfind("%40") {
                at = Some(at.filter(|&(k, _)| k > j).unwrap_or((j, 3)));
            }
        }
        let Some((at, at_len)) = at else { continue };
        let info = &auth[..at];
        let mut colon = info.find(':').map(|c| (c, 1));
        if encoded {
            if let Some(c) = info.find("%3a") {
                colon = Some(colon.filter(|&(k, _)| k < c).unwrap_or((c, 3)));
            }
        }
        if let Some((c, cl)) = colon {
            out.push_str(&text[start..start + c + cl]);
        }
        out.push_str("***");
        out.push_str(&text[start + at..start + at + at_len]);
        pos = start + at + at_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_redacted_in_debug_and_display() {
        let h = Header::parse("Cookie: session=abc123").unwrap();
        assert!(!format!("{h:?}").contains("abc123"));
        assert!(!format!("{h}").contains("abc123"));
        let a = Header::parse("authorization: Bearer xyz").unwrap();
        assert!(!format!("{:?}", vec![a]).contains("xyz"));
        let ok = Header::parse("X-Thing: visible").unwrap();
        assert_eq!(format!("{ok}"), "X-Thing: visible");
        let mut marked = Header::parse("X-Session: hidden").unwrap();
        marked.secret = true;
        assert!(!format!("{marked:?} {marked}").contains("hidden"));
    }

    #[test]
    fn credential_words_make_a_header_secret_and_standard_headers_stay_plain() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Cookie2",
            "Private-Token",
            "X-Amz-Security-Token",
            "X-Goog-Api-Key",
            "X-API-KEY",
            "Ocp-Apim-Subscription-Key",
            "X-Auth-Token",
            "X-Vault-Token",
            "X-CSRF-Token",
            "X-Session-Id",
            "X-Client-Secret",
            "X-Upload-Password",
            "Signature",
            "X-Credential",
            "X-JFrog-Art-Api",
            "DPoP",
        ] {
            assert!(is_secret_name(name), "{name}");
            assert!(Header::new(name, "v").is_secret(), "{name}");
        }
        // Every standard request header a download may carry (RFC 9110, Fetch metadata,
        // client hints, the usual proxies' and browsers' extras).
        for name in [
            "Accept",
            "Accept-Charset",
            "Accept-Encoding",
            "Accept-Language",
            "Cache-Control",
            "Connection",
            "Content-Length",
            "Content-Type",
            "Date",
            "DNT",
            "Expect",
            "Forwarded",
            "From",
            "Host",
            "If-Match",
            "If-Modified-Since",
            "If-None-Match",
            "If-Range",
            "If-Unmodified-Since",
            "Keep-Alive",
            "Max-Forwards",
            "Origin",
            "Pragma",
            "Priority",
            "Range",
            "Referer",
            "Sec-CH-UA",
            "Sec-CH-UA-Mobile",
            "Sec-CH-UA-Platform",
            "Sec-Fetch-Dest",
            "Sec-Fetch-Mode",
            "Sec-Fetch-Site",
            "Sec-Fetch-User",
            "Sec-GPC",
            "TE",
            "Upgrade",
            "Upgrade-Insecure-Requests",
            "User-Agent",
            "Via",
            "X-Forwarded-For",
            "X-Forwarded-Host",
            "X-Forwarded-Proto",
            "X-Requested-With",
            "X-Trace",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn header_syntax_is_checked_without_echoing_the_line() {
        for bad in [
            "Authorization Bearer S3CRET",
            ": S3CRET",
            "Bad S3CRET: v",
            "Tok\"S3CRET: v",
        ] {
            let e = Header::parse(bad).unwrap_err();
            assert!(!e.contains("S3CRET"), "{bad:?} -> {e}");
            assert!(e.contains("'Name: value'"), "{e}");
        }
        assert!(Header::parse("X: a\r\nInjected: 1").is_err());
        assert_eq!(
            Header::parse("  X-A :  b c ").unwrap(),
            Header::new("X-A", "b c")
        );
    }

    #[test]
    fn marked_secret_survives_a_round_trip_and_plain_headers_stay_compact() {
        let mut h = Header::new("X-Mark", "v");
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"name":"X-Mark","value":"v"}"#
        );
        h.secret = true;
        let back: Header = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert!(back.is_secret());
        let old: Header = serde_json::from_str(r#"{"name":"X-Mark","value":"v"}"#).unwrap();
        assert!(!old.is_secret());
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::parse("https://Example.org/a").unwrap();
        assert_eq!(a, Origin::parse("https://example.org:443/b?x").unwrap());
        assert_ne!(a, Origin::parse("http://example.org/a").unwrap());
        assert_ne!(a, Origin::parse("https://example.org:8443/a").unwrap());
        assert_ne!(a, Origin::parse("https://cdn.example.org/a").unwrap());
        assert_eq!(a.to_string(), "https://example.org:443");
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("http://u:p4ss@h.example/f"),
            "http://u:***@h.example/f"
        );
        assert_eq!(redact_url("http://h.example/f"), "http://h.example/f");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("https://tok3n@h/x"), "https://***@h/x");
        assert_eq!(redact_url("http://h/a@b?c=d@e"), "http://h/a@b?c=d@e");
        let u = "http://u:p4ss@h.example/f";
        assert_eq!(
            redact_text(&format!("{u}: HTTP 404")),
            "http://u:***@h.example/f: HTTP 404"
        );
    }

    #[test]
    fn passwords_in_urls_that_do_not_parse_are_redacted() {
        for (given, shown) in [
            (
                "\"http://u:p4ss@[zz/\" is not valid",
                "\"http://u:***@[zz/\" is not valid",
            ),
            ("ftp://u:p4ss@host", "ftp://u:***@host"),
            (
                "proxy http://u:p@4ss@[zz: bad",
                "proxy http://u:***@[zz: bad",
            ),
            ("HTTP://U:P4SS@H/", "HTTP://U:***@H/"),
            (
                "http://h/x?next=http://u:p4ss@o/&b=https://t@o2?q#f",
                "http://h/x?next=http://u:***@o/&b=https://***@o2?q#f",
            ),
            (
                "http://h/x?next=http%3A%2F%2Fu%3Ap4ss%40o%2Fy&z=1",
                "http://h/x?next=http%3A%2F%2Fu%3A***%40o%2Fy&z=1",
            ),
            ("a://b://", "a://b://"),
            ("://@", "://***@"),
        ] {
            assert_eq!(redact_text(given), shown, "{given}");
        }
    }
}

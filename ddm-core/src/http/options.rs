//! What every request of a job carries, decided once per job: user agent, timeouts, TLS
//! trust, the proxy, the user's headers, and the scope of its credentials.
//!
//! Credentials (secret headers, a password in the URL, `-u`, netrc, cookies) belong to the
//! origin of the URL the user gave (`model::Origin`); [`HttpOptions::headers_for`] and
//! [`HttpOptions::in_scope`] are the one place that says what may go to another origin. A
//! failure the proxy caused is told as the proxy's here too ([`HttpOptions::explain`]).

use crate::model::{Header, Origin};
use crate::retry::Failure;
use std::time::Duration;

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
    pub(super) userinfo: Option<(String, String)>,
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

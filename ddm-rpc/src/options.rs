//! aria2's options (names without `--`, values strings) translated to ddm's job settings
//! (`AddSpec`, the `Jobs` setters) and back for `getOption`.
//!
//! Rules, as aria2 has them: an unknown option is ignored; a value is a string (numbers and
//! booleans are taken as their text; `header` may also be an array); a bad value is an error
//! naming the option. ddm's own rules on top: an option naming a path ddm would write or run
//! (logs, sessions, hooks, certificates, configuration, cookie files) is refused whatever its
//! value; credentials (`http-user`, `http-passwd`, secret headers) are never given back.

use ddm_core::model::{self, Credentials, Header};
use ddm_core::service::{AddSpec, JobView};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Options that name a file ddm would write, read as configuration, or a command it would
/// run: never taken from a front-end (aria2's RPC was abused through `log` and
/// `save-session`: aria2 issues #200, #2030).
pub(crate) const FORBIDDEN: &[&str] = &[
    "log",
    "save-session",
    "input-file",
    "conf-path",
    "on-download-start",
    "on-download-pause",
    "on-download-stop",
    "on-download-complete",
    "on-download-error",
    "on-bt-download-complete",
    "dht-file-path",
    "dht-file-path6",
    "server-stat-of",
    "server-stat-if",
    "load-cookies",
    "save-cookies",
    "netrc-path",
    "ca-certificate",
    "certificate",
    "private-key",
    "rpc-certificate",
    "rpc-private-key",
    "rpc-secret",
    "rpc-listen-all",
    "rpc-listen-port",
    "rpc-allow-origin-all",
    "enable-rpc",
    "torrent-file",
    "metalink-file",
];

/// Options of a job that `changeOption` can change (live on a running job).
pub(crate) const CHANGEABLE: &[&str] =
    &["max-download-limit", "split", "max-connection-per-server"];

/// Options ddm keeps as a job was added: `changeOption` refuses them, naming them.
pub(crate) const FIXED: &[&str] = &[
    "dir",
    "out",
    "header",
    "secret-header",
    "referer",
    "user-agent",
    "checksum",
    "all-proxy",
    "http-proxy",
    "https-proxy",
    "no-proxy",
    "http-user",
    "http-passwd",
    "check-certificate",
    "allow-overwrite",
];

/// The most connections a job may have (ddm's own limit; aria2's front-ends cap at 16).
pub(crate) const MAX_CONNECTIONS: u32 = 64;

/// The options of one call, checked.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub dir: Option<PathBuf>,
    pub out: Option<String>,
    pub headers: Vec<Header>,
    /// ddm's own `secret-header`: names of headers to treat as credentials (as the CLI's
    /// `--secret-header`), on top of those whose names say so.
    pub secret_headers: Vec<String>,
    pub split: Option<u32>,
    pub per_server: Option<u32>,
    /// `Some(None)`: no limit ("0").
    pub rate: Option<Option<u64>>,
    pub checksum: Option<String>,
    pub all_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub user: Option<String>,
    pub passwd: Option<String>,
    pub check_certificate: Option<bool>,
    pub pause: Option<bool>,
    pub gid: Option<u64>,
    pub allow_overwrite: Option<bool>,
    pub overall_rate: Option<Option<u64>>,
    pub max_concurrent: Option<u32>,
    /// The known options given, by name.
    pub given: Vec<String>,
}

impl Options {
    /// Read an options struct (`null` or absent: none). Unknown names are ignored.
    pub(crate) fn parse(v: Option<&Value>) -> Result<Options, String> {
        let mut o = Options::default();
        let map = match v {
            None | Some(Value::Null) => return Ok(o),
            Some(Value::Object(m)) => m,
            // aria2-integration sends `[]` where the options go.
            Some(Value::Array(a)) if a.is_empty() => return Ok(o),
            Some(_) => return Err("the options must be a struct of option names and values".into()),
        };
        for (name, value) in map {
            o.take(name, value)?;
        }
        Ok(o)
    }

    fn take(&mut self, name: &str, value: &Value) -> Result<(), String> {
        if FORBIDDEN.contains(&name) {
            return Err(format!(
                "{name} cannot be set over RPC: ddm never takes log, session, hook, \
                 certificate, cookie or configuration paths from a front-end (set them in \
                 ddm's config file)"
            ));
        }
        if name == "secret-header" {
            self.secret_headers.extend(strings(name, value)?);
            self.given.push(name.into());
            return Ok(());
        }
        if name == "header" {
            for line in strings(name, value)? {
                let h = Header::parse(&line).map_err(|e| format!("header: {e}"))?;
                self.headers.push(h);
            }
            self.given.push(name.into());
            return Ok(());
        }
        let Some(s) = text(name, value)? else {
            return Ok(());
        };
        match name {
            "dir" => self.dir = (!s.is_empty()).then(|| PathBuf::from(&s)),
            "out" => self.out = (!s.is_empty()).then(|| plain_name(&s)).transpose()?,
            "referer" => self.headers.push(one_header("Referer", name, &s)?),
            "user-agent" => self.headers.push(one_header("User-Agent", name, &s)?),
            "split" => self.split = Some(count(name, &s, 1, MAX_CONNECTIONS)?),
            "max-connection-per-server" => {
                self.per_server = Some(count(name, &s, 1, MAX_CONNECTIONS)?)
            }
            "max-download-limit" => self.rate = Some(speed(name, &s)?),
            "max-overall-download-limit" => self.overall_rate = Some(speed(name, &s)?),
            "max-concurrent-downloads" => self.max_concurrent = Some(count(name, &s, 0, 1024)?),
            "checksum" => self.checksum = Some(checksum_to_ddm(&s)?),
            "all-proxy" => self.all_proxy = proxy(name, &s)?,
            "http-proxy" => self.http_proxy = proxy(name, &s)?,
            "https-proxy" => self.https_proxy = proxy(name, &s)?,
            "no-proxy" => self.no_proxy = (!s.is_empty()).then_some(s),
            "http-user" => self.user = Some(s),
            "http-passwd" => self.passwd = Some(s),
            "check-certificate" => self.check_certificate = Some(boolean(name, &s)?),
            "pause" => self.pause = Some(boolean(name, &s)?),
            "allow-overwrite" => self.allow_overwrite = Some(boolean(name, &s)?),
            // ddm always picks a free name (`name (1).ext`) unless overwriting is allowed.
            "auto-file-renaming" => {
                boolean(name, &s)?;
            }
            "gid" => self.gid = Some(crate::gid::parse_chosen(&s)?),
            _ => return Ok(()),
        }
        self.given.push(name.into());
        Ok(())
    }

    /// Connections for a job: aria2 opens min(split, max-connection-per-server) to one server.
    pub(crate) fn connections(&self) -> Option<u32> {
        match (self.split, self.per_server) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The new job `addUri` asks for.
    pub(crate) fn into_spec(self, urls: Vec<String>, position: Option<usize>) -> AddSpec {
        let https = urls.first().is_some_and(|u| {
            u.get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        });
        let scheme_proxy = if https {
            self.https_proxy.clone()
        } else {
            self.http_proxy.clone()
        };
        let mut spec = AddSpec {
            dir: self.dir.clone(),
            out: self.out.clone(),
            connections: self.connections(),
            rate_limit: self.rate.flatten(),
            checksum: self.checksum.clone(),
            insecure: self.check_certificate == Some(false),
            overwrite: self.allow_overwrite == Some(true),
            paused: self.pause == Some(true),
            position,
            urls,
            ..AddSpec::default()
        };
        spec.network.proxy = scheme_proxy.or(self.all_proxy);
        spec.network.noproxy = self.no_proxy;
        if self.user.is_some() || self.passwd.is_some() {
            spec.user = Some(Credentials {
                user: self.user.unwrap_or_default(),
                password: self.passwd.unwrap_or_default(),
            });
        }
        spec.headers = self.headers;
        for h in &mut spec.headers {
            if self
                .secret_headers
                .iter()
                .any(|n| n.trim().eq_ignore_ascii_case(&h.name))
            {
                h.secret = true;
            }
        }
        spec
    }
}

/// A job's options as `getOption` gives them: what ddm keeps for it, credentials left out.
pub(crate) fn of_job(v: &JobView) -> Map<String, Value> {
    let s = &v.job.settings;
    let mut m = Map::new();
    let mut put = |k: &str, val: String| {
        m.insert(k.into(), Value::String(val));
    };
    put("dir", v.job.dest_dir.display().to_string());
    if let Some(name) = &v.job.file_name {
        put("out", name.clone());
    }
    if let Some(n) = s.connections {
        put("split", n.to_string());
        put("max-connection-per-server", n.to_string());
    }
    put("max-download-limit", s.rate_limit.unwrap_or(0).to_string());
    if let Some(c) = s.checksum.as_deref().and_then(checksum_to_aria2) {
        put("checksum", c);
    }
    let mut lines = Vec::new();
    for h in s.headers.iter().filter(|h| !h.is_secret()) {
        match h.name.to_ascii_lowercase().as_str() {
            "referer" => put("referer", h.value.clone()),
            "user-agent" => put("user-agent", h.value.clone()),
            _ => lines.push(h.wire()),
        }
    }
    if !lines.is_empty() {
        put("header", lines.join("\n"));
    }
    if let Some(p) = s.network.proxy.as_deref().filter(|p| !p.is_empty()) {
        put("all-proxy", model::redact_url(p));
    }
    if let Some(n) = &s.network.noproxy {
        put("no-proxy", n.clone());
    }
    put("check-certificate", (!s.insecure).to_string());
    put("allow-overwrite", s.overwrite.to_string());
    put("auto-file-renaming", (!s.overwrite).to_string());
    m
}

/// A value as text: strings as they are, numbers and booleans as aria2 would write them;
/// `null` means "not given".
fn text(name: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(format!("{name}: the value must be a string")),
    }
}

/// A cumulative option (`header`): one string or an array of them.
fn strings(name: &str, v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(format!("{name}: every value in the array must be a string")),
            })
            .collect(),
        other => Ok(text(name, other)?.into_iter().collect()),
    }
}

fn one_header(header: &str, name: &str, value: &str) -> Result<Header, String> {
    Header::parse(&format!("{header}: {value}")).map_err(|e| format!("{name}: {e}"))
}

/// `out`: a file name inside `dir`, never a path.
fn plain_name(s: &str) -> Result<String, String> {
    let bad = s.contains('/')
        || s.contains('\\')
        || s.contains('\0')
        || s == "."
        || s == ".."
        || s.chars().any(char::is_control);
    if bad {
        return Err(format!(
            "out: {s:?} is not a plain file name: ddm writes the file inside dir only; give a \
             name without '/', '\\' or '..' and choose the directory with dir"
        ));
    }
    Ok(s.to_string())
}

fn boolean(name: &str, s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{name}: {s:?} is not true or false")),
    }
}

fn count(name: &str, s: &str, min: u32, max: u32) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{name}: {s:?} is not a number from {min} to {max}")),
    }
}

/// A speed in bytes per second: digits with an optional `K` or `M` (1024-based, as aria2
/// reads them; `G` too). "0" is no limit.
pub(crate) fn speed(name: &str, s: &str) -> Result<Option<u64>, String> {
    let bad = || {
        format!(
            "{name}: {s:?} is not a speed; write bytes per second, e.g. 500K or 2M (0 = no limit)"
        )
    };
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let mult: u64 = match unit {
        ' ' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let v = n.checked_mul(mult).ok_or_else(bad)?;
    Ok((v > 0).then_some(v))
}

fn proxy(name: &str, s: &str) -> Result<Option<String>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    model::check_proxy(s)
        .map(Some)
        .map_err(|e| format!("{name}: {e}"))
}

/// aria2's digest names and the hex length of each, as ddm names them.
const DIGESTS: &[(&str, &str, usize)] = &[
    ("sha-1", "sha1", 40),
    ("sha-256", "sha256", 64),
    ("sha-512", "sha512", 128),
    ("md5", "md5", 32),
];

/// `sha-256=HEX` (aria2) → `sha256:HEX` (ddm).
fn checksum_to_ddm(s: &str) -> Result<String, String> {
    let Some((algo, hex)) = s.split_once('=') else {
        return Err(format!(
            "checksum: {s:?} is not TYPE=DIGEST; write e.g. sha-256=<64 hex digits>"
        ));
    };
    let algo = algo.trim().to_ascii_lowercase();
    let Some(&(_, ours, len)) = DIGESTS.iter().find(|(a, o, _)| *a == algo || *o == algo) else {
        return Err(format!(
            "checksum: ddm checks sha-1, sha-256, sha-512 and md5, not {algo:?}"
        ));
    };
    let hex = hex.trim();
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "checksum: a {algo} digest is {len} hex digits, {:?} is not",
            hex
        ));
    }
    Ok(format!("{ours}:{}", hex.to_ascii_lowercase()))
}

/// `sha256:HEX` (ddm) → `sha-256=HEX` (aria2).
fn checksum_to_aria2(s: &str) -> Option<String> {
    let (algo, hex) = s.split_once(':')?;
    let &(theirs, _, _) = DIGESTS.iter().find(|(_, o, _)| *o == algo)?;
    Some(format!("{theirs}={hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn speeds_read_as_aria2_reads_them() {
        assert_eq!(speed("x", "0"), Ok(None));
        assert_eq!(speed("x", "1000"), Ok(Some(1000)));
        assert_eq!(speed("x", "500K"), Ok(Some(500 * 1024)));
        assert_eq!(speed("x", "2m"), Ok(Some(2 << 20)));
        assert!(speed("x", "fast").unwrap_err().starts_with("x: "));
        assert!(speed("x", "K").is_err());
        assert!(speed("x", "-1").is_err());
    }

    #[test]
    fn checksums_translate_both_ways() {
        let hex = "a".repeat(64);
        assert_eq!(
            checksum_to_ddm(&format!("SHA-256={hex}")),
            Ok(format!("sha256:{hex}"))
        );
        assert_eq!(
            checksum_to_aria2(&format!("sha256:{hex}")),
            Some(format!("sha-256={hex}"))
        );
        assert!(checksum_to_ddm("sha-256=abc")
            .unwrap_err()
            .contains("64 hex digits"));
        assert!(checksum_to_ddm(&format!("adler32={hex}")).is_err());
    }

    #[test]
    fn out_must_be_a_plain_name() {
        for bad in ["../x", "/etc/passwd", "a/b", "..", "a\\b"] {
            let e = Options::parse(Some(&json!({ "out": bad }))).unwrap_err();
            assert!(e.starts_with("out: "), "{e}");
        }
        let o = Options::parse(Some(&json!({ "out": "a..b.iso" }))).unwrap();
        assert_eq!(o.out.as_deref(), Some("a..b.iso"));
    }

    #[test]
    fn unknown_options_are_ignored_and_forbidden_ones_refused() {
        let o = Options::parse(Some(&json!({ "bt-tracker": "x", "seed-time": "0" }))).unwrap();
        assert!(o.given.is_empty());
        for name in ["log", "on-download-complete", "conf-path", "save-session"] {
            let e = Options::parse(Some(&json!({ name: "/tmp/x" }))).unwrap_err();
            assert!(
                e.starts_with(&format!("{name} cannot be set over RPC")),
                "{e}"
            );
        }
    }

    #[test]
    fn connections_are_the_lesser_of_split_and_per_server() {
        let o = Options::parse(Some(
            &json!({ "split": "32", "max-connection-per-server": "8" }),
        ))
        .unwrap();
        assert_eq!(o.connections(), Some(8));
        let o = Options::parse(Some(&json!({ "split": "64" }))).unwrap();
        assert_eq!(o.connections(), Some(64));
        assert!(Options::parse(Some(&json!({ "split": "65" }))).is_err());
    }
}

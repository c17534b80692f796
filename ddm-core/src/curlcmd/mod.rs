//! A browser's "Copy as cURL" command (Chrome, Firefox, Safari; bash and cmd flavours) read
//! into a download: its URL, its headers (cookies included), its login, and the few curl
//! options that change how a download is made. `ddm add --curl` and the page of `ddm serve`
//! both use this, so a pasted command makes the same job wherever it is pasted.
//!
//! The headers become the job's own (`-H`): those that carry credentials (`Cookie`,
//! `Authorization`, and every name the CLI treats as secret, `model::is_secret_name`) go
//! only to the scheme, host and port of the command's URL, like every credential of a job;
//! a redirect to another host gets the others only. Headers that would break a ranged
//! download are left out and listed: `Accept-Encoding` (ranges are asked as identity),
//! `Range`, `If-Range`, `If-None-Match`, `If-Modified-Since` (they would get 304s), `Host`,
//! `Content-Length`, `Connection`, and HTTP/2 pseudo-headers. A command that sends a body
//! (`--data*`, `-F`) or another method than GET is refused: a download is a GET.

mod words;

pub use words::{flavour, Flavour};

use crate::model::{Credentials, Header};

/// What a "Copy as cURL" command asks for.
#[derive(Clone, PartialEq, Eq)]
pub struct CurlJob {
    pub url: String,
    pub headers: Vec<Header>,
    /// `-u USER:PASSWORD`.
    pub user: Option<Credentials>,
    /// `-k` / `--insecure`.
    pub insecure: bool,
    /// `--http1.1`.
    pub http1: bool,
    /// `-o NAME` (a plain name).
    pub output: Option<String>,
    /// Headers left out, and options that mean nothing for a download (`--compressed`, `-s`,
    /// ...), for the user to see.
    pub ignored: Vec<String>,
}

impl std::fmt::Debug for CurlJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurlJob")
            .field("url", &crate::model::redact_url(&self.url))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(Header::redacted)
                    .collect::<Vec<_>>(),
            )
            .field("user", &self.user.as_ref().map(|u| &u.user))
            .field("insecure", &self.insecure)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

/// Headers a download must not replay.
const DROPPED: &[&str] = &[
    "accept-encoding",
    "range",
    "if-range",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
];

/// Options that take no value and change nothing for a download.
const NO_VALUE: &[&str] = &[
    "--compressed",
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-L",
    "--location",
    "-g",
    "--globoff",
    "-v",
    "--verbose",
    "-f",
    "--fail",
    "-#",
    "--progress-bar",
    "-O",
    "--remote-name",
    "-J",
    "--remote-header-name",
    "--http2",
    "--http2-prior-knowledge",
    "--http3",
    "-i",
    "--include",
    "--path-as-is",
    "-N",
    "--no-buffer",
];

/// A job's headers from a capture (a pasted command, a HAR) and those given beside it: the
/// captured ones, but where a given one has the same name, the given one (`ddm add --curl`
/// with `-H`, the page's form, an RPC option).
pub fn merge_headers(captured: Vec<Header>, given: Vec<Header>) -> Vec<Header> {
    let mut out: Vec<Header> = captured
        .into_iter()
        .filter(|c| !given.iter().any(|g| g.name.eq_ignore_ascii_case(&c.name)))
        .collect();
    out.extend(given);
    out
}

/// Read a pasted command. The error says what was wrong with it and what to do.
pub fn parse(text: &str) -> Result<CurlJob, String> {
    let words = words::split(text.trim())?;
    let mut it = words.into_iter().peekable();
    match it.next().as_deref() {
        Some(w) if w == "curl" || w == "curl.exe" || w.ends_with("/curl") => {}
        _ => {
            return Err(
                "not a curl command: paste what the browser copied with \"Copy as cURL\" \
                 (it starts with `curl`)"
                    .into(),
            )
        }
    }
    let mut job = CurlJob {
        url: String::new(),
        headers: Vec::new(),
        user: None,
        insecure: false,
        http1: false,
        output: None,
        ignored: Vec::new(),
    };
    let mut cookies: Vec<String> = Vec::new();
    while let Some(w) = it.next() {
        // `--opt=value` is not curl's syntax, but `-Hvalue` is: split the short form.
        let (opt, inline) = match w.as_str() {
            s if s.starts_with("--") || !s.starts_with('-') || s.len() <= 2 => (w.clone(), None),
            s => (s[..2].to_string(), Some(s[2..].to_string())),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match opt.as_str() {
            "-H" | "--header" => {
                let h = value(&opt)?;
                header(&mut job, &mut cookies, &h)?;
            }
            "-b" | "--cookie" => {
                let c = value(&opt)?;
                if !c.contains('=') {
                    return Err(format!(
                        "{opt} {c}: a cookie file; give it to ddm with --load-cookies FILE"
                    ));
                }
                cookies.push(c);
            }
            "-A" | "--user-agent" => {
                let v = value(&opt)?;
                job.headers.push(Header::new("User-Agent", v));
            }
            "-e" | "--referer" => {
                let v = value(&opt)?;
                job.headers.push(Header::new("Referer", v));
            }
            "-u" | "--user" => {
                let v = value(&opt)?;
                let (user, password) = v
                    .split_once(':')
                    .ok_or_else(|| format!("{opt}: give USER:PASSWORD"))?;
                job.user = Some(Credentials {
                    user: user.into(),
                    password: password.into(),
                });
            }
            "-X" | "--request" => {
                let m = value(&opt)?;
                if !m.eq_ignore_ascii_case("GET") {
                    return Err(format!(
                        "the command sends {m}: ddm downloads with GET; copy the request that \
                         fetched the file itself"
                    ));
                }
            }
            "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-urlencode"
            | "--data-ascii" | "-F" | "--form" | "--json" | "-T" | "--upload-file" => {
                return Err(format!(
                    "the command sends a body ({opt}): ddm downloads with GET; copy the \
                     request that fetched the file itself (the one after the form was sent)"
                ));
            }
            "-I" | "--head" => {
                return Err("the command asks only for the head (-I): copy a GET request".into())
            }
            "-k" | "--insecure" => job.insecure = true,
            "--http1.1" => job.http1 = true,
            "-o" | "--output" => {
                let o = value(&opt)?;
                if o.contains('/') || o.contains('\\') || o == ".." || o == "." {
                    return Err(format!("{opt} {o}: give a plain file name"));
                }
                job.output = Some(o);
            }
            "--url" => set_url(&mut job, value(&opt)?)?,
            o if NO_VALUE.contains(&o) => job.ignored.push(o.to_string()),
            o if o.starts_with('-') => {
                return Err(format!(
                    "{o}: an option ddm does not take from a pasted command; remove it (ddm \
                     reads the URL, -H, -b, -u, -A, -e, -k, -o, --http1.1)"
                ))
            }
            _ => set_url(&mut job, w)?,
        }
    }
    if job.url.is_empty() {
        return Err("the command has no URL".into());
    }
    if !cookies.is_empty() {
        job.headers.push(Header::new("Cookie", cookies.join("; ")));
    }
    Ok(job)
}

fn set_url(job: &mut CurlJob, u: String) -> Result<(), String> {
    if !job.url.is_empty() {
        return Err(
            "the command has more than one URL: paste one request (one file) at a time".into(),
        );
    }
    job.url = crate::urls::parse_http_url(&u)?.to_string();
    Ok(())
}

/// `Name: value`, kept, merged (Cookie) or left out. Errors never repeat the value (it
/// may be a secret).
fn header(job: &mut CurlJob, cookies: &mut Vec<String>, h: &str) -> Result<(), String> {
    // HTTP/2 pseudo-headers (`:authority: …`) some browsers copy.
    if h.trim_start().starts_with(':') {
        let name = h.trim_start().split(' ').next().unwrap_or(":");
        job.ignored
            .push(format!("{} header", name.trim_end_matches(':')));
        return Ok(());
    }
    let header = Header::parse(h).map_err(|e| format!("-H: {e}"))?;
    let lower = header.name.to_ascii_lowercase();
    if DROPPED.contains(&lower.as_str()) {
        job.ignored.push(format!("{} header", header.name));
    } else if lower == "cookie" {
        cookies.push(header.value);
    } else {
        job.headers.push(header);
    }
    Ok(())
}

#[cfg(test)]
mod tests;

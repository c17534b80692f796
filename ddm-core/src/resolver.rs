//! Resolver: URL → final URL, protocol, size, range support, validators and file name
//! (`ddm probe`).
//!
//! HEAD first, then always a `GET` with `Range: bytes=0-0`: range support is claimed only
//! when a real 206 with a valid Content-Range comes back, never from `Accept-Ranges` alone.
//! (A job's first request from byte 0 asks without a range, so it costs a server that
//! charges for range answers nothing; there `Accept-Ranges: bytes` makes ranges probable,
//! and the coordinator holds them proven only by a 206 to another request: see
//! `engine::coordinator::proof`.)
//! When HEAD is refused or gives no usable length, the GET's answer is used; when HEAD and GET
//! disagree on the length, the GET (what the download will actually receive) wins.
//!
//! A 416 to `bytes=0-0` that names no length (RangeHTTPServer, S3-likes: an empty file) is
//! asked again once without a range, and that answer is used.
//!
//! Redirects (at most 10, http and https only) are followed here, one hop at a time, so each
//! hop's request carries only the headers allowed for its origin (`http::target`), each
//! step taken by `http::redirect::follow`, as the workers do:
//! credentials never follow a redirect to another host, port or scheme.

use crate::http::{self, Head, HttpOptions};
use crate::model::redact_url;
use crate::retry::Failure;
use curl::easy::{Easy2, Handler, WriteError};
use serde::Serialize;

/// What a probe learned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteInfo {
    pub url: String,
    pub final_url: String,
    /// The protocol of the answer's status line: `HTTP/1.1`, `HTTP/2` (offered by ALPN on
    /// https), `HTTP/1.0`.
    pub protocol: String,
    pub status: u16,
    pub size: Option<u64>,
    pub ranges: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub content_disposition: Option<String>,
    pub filename: String,
    /// The URLs redirected from, in order (passwords redacted).
    pub redirects: Vec<String>,
    /// Notes on server quirks met while probing (HEAD refused, lengths disagree, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}: {failure}", redact_url(url))]
pub struct ProbeError {
    pub url: String,
    pub failure: Failure,
}

/// Longest wait for a HEAD answer before falling back to GET.
const HEAD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Default)]
struct Collector {
    head: Head,
    body: u64,
    /// The body bytes of a ranged fetch ([`fetch_range`]), up to `keep` of them.
    kept: Vec<u8>,
    keep: u64,
    /// The request carries a login: its first 401 is a challenge libcurl answers.
    auth: bool,
    /// 401 heads received.
    challenges: u32,
}

/// Body bytes read at most: the head is what we want (a 200 to our Range would be the whole
/// file; a redirect's small body is read so the connection can be reused).
const BODY_LIMIT: u64 = 16 * 1024;

impl Handler for Collector {
    fn header(&mut self, data: &[u8]) -> bool {
        let was_complete = self.head.complete;
        self.head.feed(data);
        if self.head.complete && !was_complete && self.head.status == 401 {
            self.challenges += 1;
        }
        true
    }
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.body += data.len() as u64;
        let challenged = self.auth && self.head.status == 401 && self.challenges == 1;
        let enough = if http::is_redirect(self.head.status) || challenged {
            // Read to keep the connection (and, for a challenge, to be asked again on it).
            BODY_LIMIT
        } else {
            self.keep.max(1)
        };
        if self.body > enough {
            return Ok(0);
        }
        if self.keep > 0 && !http::is_redirect(self.head.status) {
            self.kept.extend_from_slice(data);
        }
        Ok(data.len())
    }
}

struct Answer {
    head: Head,
    final_url: String,
    /// URLs redirected from, in order.
    chain: Vec<String>,
    /// The body of a ranged fetch.
    body: Vec<u8>,
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Head,
    /// `GET` with `Range: bytes=0-0`.
    FirstByte,
    /// `GET` of `bytes=START-(START+LEN-1)`, the body kept.
    Range(u64, u64),
    /// `GET` without a range (its head is read, its body dropped).
    Whole,
}

/// The most a ranged fetch ([`fetch_range`]) brings into memory.
pub const FETCH_MAX: u64 = 1 << 20;

/// One request, following redirects hop by hop.
fn request(url: &str, o: &HttpOptions, ask: Ask) -> Result<Answer, Failure> {
    let mut easy = Easy2::new(Collector::default());
    let setup = |e: curl::Error| Failure::Other(format!("cannot set up request: {e}"));
    let keep = match ask {
        Ask::Range(_, len) => len.clamp(1, FETCH_MAX),
        _ => 0,
    };
    let mut current = url::Url::parse(url)
        .map_err(|e| Failure::Other(format!("not a URL: {e}")))?
        .to_string();
    let mut chain = Vec::new();
    // Set when the login's origin asked for Digest (see `http::login`).
    let mut negotiating = false;
    let range = match ask {
        Ask::FirstByte => Some("0-0".to_string()),
        Ask::Range(start, _) => Some(format!("{start}-{}", start + keep - 1)),
        Ask::Head | Ask::Whole => None,
    };
    loop {
        let login = http::setup::request(
            &mut easy,
            o,
            &http::Request {
                url: &current,
                range: range.as_deref(),
                head_only: ask == Ask::Head,
                // A HEAD that never answers only delays the GET fallback: do not wait long.
                stall: (ask == Ask::Head).then_some(HEAD_PATIENCE),
                negotiating,
                ..http::Request::default()
            },
        )
        .map_err(setup)?;
        *easy.get_mut() = Collector {
            keep,
            auth: login.sent,
            ..Collector::default()
        };
        let res = easy.perform();
        let head = std::mem::take(&mut easy.get_mut().head);
        let body = std::mem::take(&mut easy.get_mut().kept);
        if login.basic_first && http::login::wants_digest(&head) {
            // libcurl took the Digest challenge to Basic for a refusal: start it afresh.
            easy.reset();
            negotiating = true;
            continue;
        }
        match res {
            Ok(()) => {}
            // We stop an answer after its first bytes on purpose.
            Err(e) if e.is_write_error() && head.status != 0 => {}
            Err(e) => return Err(o.explain(http::classify_with(&e, &mut easy), &current)),
        }
        let location = head
            .get("location")
            .filter(|_| http::is_redirect(head.status));
        let Some(location) = location else {
            return Ok(Answer {
                head,
                final_url: current,
                chain,
                body,
            });
        };
        let next = http::redirect::follow(&current, location, chain.len())?;
        chain.push(redact_url(&current));
        current = next.to_string();
    }
}

/// Probe `url`: HEAD, then `GET bytes=0-0` (`ddm probe`, `ddm bench`). Downloads learn the
/// same from their first request instead ([`interpret`]).
pub fn probe(url: &str, o: &HttpOptions) -> Result<RemoteInfo, ProbeError> {
    let err = |failure| ProbeError {
        url: url.to_string(),
        failure,
    };
    let mut notes = Vec::new();
    let head = match request(url, o, Ask::Head) {
        Ok(a) if (200..300).contains(&a.head.status) => Some(a),
        Ok(a) => {
            notes.push(format!("HEAD answered {}; used GET instead", a.head.status));
            None
        }
        Err(
            f @ (Failure::ConnectRefused | Failure::Resolve | Failure::Tls(_) | Failure::Proxy(_)),
        ) => return Err(err(f)),
        Err(f) => {
            notes.push(format!("HEAD failed ({f}); used GET instead"));
            None
        }
    };
    let get_url = head.as_ref().map(|a| a.final_url.as_str()).unwrap_or(url);
    let mut get = request(get_url, o, Ask::FirstByte).map_err(err)?;
    let mut redirects = head.as_ref().map(|a| a.chain.clone()).unwrap_or_default();
    redirects.extend(get.chain.iter().cloned());
    if get.head.status == 416
        && !get
            .head
            .get("content-range")
            .is_some_and(|v| v.trim().starts_with("bytes */"))
    {
        // An empty file (RangeHTTPServer, S3-likes), or no ranges: ask once without one.
        notes.push(
            "the server refused bytes=0-0 with a 416 naming no length; asked again without a \
             range"
                .into(),
        );
        get = request(&get.final_url, o, Ask::Whole).map_err(err)?;
        redirects.extend(get.chain.iter().cloned());
    }
    let answer = Answered {
        url,
        head: &get.head,
        final_url: &get.final_url,
        redirects,
        start: 0,
        asked_whole: false,
    };
    interpret(answer, head.as_ref().map(|a| &a.head), notes).map_err(err)
}

/// Bytes `start..start+len` (at most [`FETCH_MAX`]) of the file at `url`, after redirects:
/// only from a 206 that starts where asked and carries them all (to compare a fresh link's
/// bytes with those a job has, `relink`).
pub fn fetch_range(
    url: &str,
    o: &HttpOptions,
    start: u64,
    len: u64,
) -> Result<Vec<u8>, ProbeError> {
    let err = |failure| ProbeError {
        url: url.to_string(),
        failure,
    };
    let len = len.clamp(1, FETCH_MAX);
    let a = request(url, o, Ask::Range(start, len)).map_err(err)?;
    if !(200..300).contains(&a.head.status) {
        return Err(err(a.head.failure()));
    }
    let whole = a.head.status == 206
        && a.head.content_range().is_some_and(|cr| cr.first == start)
        && a.body.len() as u64 == len;
    if !whole || a.head.encoded().is_some() {
        return Err(err(Failure::InvalidResponse(format!(
            "asked for bytes {start}-{}, got an answer that does not carry them ({} {})",
            start + len - 1,
            a.head.status,
            a.head
                .get("content-range")
                .unwrap_or("without Content-Range")
        ))));
    }
    Ok(a.body)
}

/// A GET answer to `Range: bytes=START-…`, after redirects.
#[derive(Debug)]
pub struct Answered<'a> {
    /// The URL asked first.
    pub url: &'a str,
    pub head: &'a Head,
    pub final_url: &'a str,
    pub redirects: Vec<String>,
    /// The first byte asked for.
    pub start: u64,
    /// The request deliberately carried no Range header (a job's first request from byte 0):
    /// a 200 with a length that does not refuse ranges (`Accept-Ranges: bytes`, or no such
    /// header; not `none`) then means ranges may work, to be proven by the first 206 to
    /// another request (`engine::coordinator::proof`). Otherwise a 200 means no ranges.
    pub asked_whole: bool,
}

/// The answer says it serves byte ranges (`Accept-Ranges: bytes`).
pub fn advertises_ranges(h: &Head) -> bool {
    h.get("accept-ranges")
        .is_some_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes")))
}

/// What a GET answer says about the file: size, whether ranges really work (a 206 whose
/// Content-Range starts where asked, with a total, and no content encoding), validators and
/// the name. An optional HEAD answer fills in what the GET lacks. A 416 that names the total
/// (`bytes */LEN`) is an answer too: the file is LEN bytes (empty, or shorter than asked).
pub fn interpret(
    a: Answered<'_>,
    head: Option<&Head>,
    mut notes: Vec<String>,
) -> Result<RemoteInfo, Failure> {
    let g = a.head;
    let total_416 = (g.status == 416)
        .then(|| g.get("content-range"))
        .flatten()
        .and_then(|v| v.trim().strip_prefix("bytes */"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    if !(200..300).contains(&g.status) && total_416.is_none() {
        return Err(g.failure());
    }
    let (ranges, get_size) = match (g.status, g.content_range()) {
        // Asked past the end (an empty file cannot satisfy bytes=0-): the total is known.
        _ if total_416.is_some() => (total_416 != Some(0), total_416),
        (206, Some(cr))
            if cr.first == a.start
                && cr.total.is_some()
                && crate::transfer::length_disagrees(g, &cr).is_none() =>
        {
            (true, cr.total)
        }
        // The size it states still holds for the single stream (never a part for the whole).
        (206, cr) => {
            notes.push("the server's 206 answer was unusable; using one connection".into());
            (false, cr.and_then(|c| c.total))
        }
        (200, _) if a.asked_whole => {
            let n = g.content_length();
            let refused = g.get("accept-ranges").is_some() && !advertises_ranges(g);
            (!refused && n.is_some_and(|n| n > 0), n)
        }
        _ => (false, g.content_length()),
    };
    if let Some(enc) = g.encoded() {
        notes.push(format!(
            "the server sends the file {enc}-encoded although identity was asked; it is saved \
             as served (like curl does)"
        ));
    }
    let head_size = head.and_then(|h| h.content_length());
    let size = match (get_size, head_size) {
        (Some(g), Some(h)) if g != h => {
            notes.push(format!(
                "HEAD said {h} bytes but GET says {g}; trusting GET"
            ));
            Some(g)
        }
        (Some(g), _) => Some(g),
        // Streamed without a length: unknown, whatever HEAD claimed.
        (None, _) if !ranges && g.status == 200 && g.get("transfer-encoding").is_some() => None,
        (None, h) => h,
    };
    let pick = |name: &str| {
        g.get(name)
            .or_else(|| head.and_then(|h| h.get(name)))
            .map(str::to_string)
    };
    let content_disposition = pick("content-disposition");
    let content_type = pick("content-type");
    let parsed = url::Url::parse(a.final_url).map_err(|e| Failure::Other(e.to_string()))?;
    let filename = crate::filename::choose(
        content_disposition.as_deref(),
        &parsed,
        content_type.as_deref(),
    );
    Ok(RemoteInfo {
        url: a.url.to_string(),
        final_url: a.final_url.to_string(),
        protocol: g.version.clone(),
        status: g.status,
        size: if ranges || size.is_some() { size } else { None },
        ranges: ranges && size.is_some(),
        etag: pick("etag"),
        last_modified: pick("last-modified"),
        content_type,
        content_disposition,
        filename,
        redirects: a.redirects,
        notes,
    })
}

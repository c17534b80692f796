//! HAR import: turns a browser's HAR capture into a download job description
//! (the library side of `ddm import-har`).
//!
//! Pipeline: [`parse`] (lenient; BOM, UTF-16 and stray invalid UTF-8 tolerated) →
//! [`candidates`] (redirect chains, classification and scoring, headers to replay) →
//! [`pick`] (auto, `--pick N`, `--match TEXT`).
//!
//! * Redirects: see `chain.rs` (relative targets, `Location` fallback, same-URL
//!   bounces, Chrome's synthetic "307 Internal Redirect" treated as transparent).
//! * What counts as a download and the score: see `classify.rs`. A 2xx response that
//!   the browser flagged with an error (e.g. `net::ERR_ABORTED`, which is what Chrome
//!   records when a navigation turns into a download) stays a candidate, with a note.
//! * Headers replayed: see `headers.rs` (from the final request of the chain;
//!   credentials only with [`Options::allow_cookies`]).
//!
//! Unusable entries are listed in [`Analysis::skipped`] with a reason; nothing panics.

use std::borrow::Cow;
use std::fmt;

mod chain;
mod classify;
mod headers;
mod model;
mod pick;
mod scan;
#[cfg(test)]
mod tests;

pub use model::{Content, Cookie, Entry, Har, Header, Request, Response};
pub use pick::{mirrors_of, pick, same_file, Pick, PickError, AUTO_MARGIN};
pub use scan::candidates;

/// Why a file could not be read as a HAR capture.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    /// Not JSON. `line`/`column` are 1-based, as counted after a byte-order mark.
    #[error("not valid JSON at line {line}, column {column}: {msg}")]
    Json {
        line: usize,
        column: usize,
        msg: String,
    },
    /// JSON, but not shaped like a HAR (no `log.entries` array, ...).
    #[error("not a HAR file: {0}")]
    NotHar(String),
    /// A HAR whose `log.entries` is empty.
    #[error(
        "the HAR file has no entries (was the network panel recording when the download started?)"
    )]
    NoEntries,
}

/// Knobs for [`candidates`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Replay `Cookie` and `Authorization` request headers (off by default).
    pub allow_cookies: bool,
}

/// Result of [`candidates`].
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Entries that look like file downloads, best first.
    pub candidates: Vec<Candidate>,
    /// Every other entry, in capture order, with the reason it is not a candidate.
    pub skipped: Vec<Skipped>,
}

/// An entry that is not a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Index in `log.entries`.
    pub entry: usize,
    /// The request URL as captured, if any.
    pub url: Option<String>,
    /// Short human reason, e.g. "HTML page, text/html (7.2 KiB)".
    pub reason: String,
}

/// A response that looks like a file download. `Debug` redacts credential values.
#[derive(Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index in `log.entries` of the final (non-redirect) response.
    pub entry: usize,
    /// Start of the redirect chain as captured, so an expired signed URL can be resolved
    /// again: its first real request (a browser's synthetic HSTS upgrade is not the
    /// start) after the last non-GET one (a POST answered by 303 cannot be replayed).
    /// Equal to `final_url` without redirects.
    pub first_url: String,
    /// Absolute URL that answered with the content.
    pub final_url: String,
    pub status: u16,
    /// MIME essence, lower-cased, without parameters.
    pub mime_type: Option<String>,
    /// Best known body size (Content-Range total, `content.size`, `Content-Length`,
    /// `bodySize`), `None` if unknown.
    pub size: Option<u64>,
    pub content_disposition: Option<String>,
    /// Request headers to replay, from the final request of the chain (see `headers.rs`).
    pub headers: Vec<(String, String)>,
    /// `headers` contain `Cookie`/`Authorization` (only possible with `allow_cookies`).
    pub secrets: bool,
    /// Short human reason it qualified, e.g. "attachment; 12.3 MiB; application/zip".
    pub why: String,
    /// Ranking score (see `classify.rs`); [`Pick::Auto`] compares these.
    pub score: i32,
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, Cow<'_, str>)> = self
            .headers
            .iter()
            .map(|(n, v)| match model::is_secret_header(n) {
                true => (
                    n.as_str(),
                    Cow::Owned(format!("<redacted {} bytes>", v.len())),
                ),
                false => (n.as_str(), Cow::Borrowed(v.as_str())),
            })
            .collect();
        f.debug_struct("Candidate")
            .field("entry", &self.entry)
            .field("first_url", &self.first_url)
            .field("final_url", &self.final_url)
            .field("status", &self.status)
            .field("mime_type", &self.mime_type)
            .field("size", &self.size)
            .field("content_disposition", &self.content_disposition)
            .field("headers", &headers)
            .field("secrets", &self.secrets)
            .field("why", &self.why)
            .field("score", &self.score)
            .finish()
    }
}

/// Parses a HAR file. Strips a UTF-8 BOM, decodes UTF-16 with a BOM, replaces invalid
/// UTF-8; entries are decoded one by one so a malformed entry only affects itself.
pub fn parse(bytes: &[u8]) -> Result<Har, HarError> {
    let text = decode(bytes);
    let kind = match text.trim_start().chars().next() {
        Some('{') => None,
        Some('[') => Some("an array"),
        Some('"') => Some("a string"),
        Some('t' | 'f') => Some("a boolean"),
        Some('n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(kind) = kind {
        // Syntax errors first (with their position), then the shape.
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(json_error)?;
        return Err(HarError::NotHar(format!(
            "the top level is {kind}, not an object with a \"log\" member"
        )));
    }
    let root: model::RawRoot = serde_json::from_str(&text).map_err(json_error)?;
    let log = root
        .log
        .ok_or_else(|| HarError::NotHar("no \"log\" object at the top level".into()))?;
    let entries = log
        .entries
        .ok_or_else(|| HarError::NotHar("\"log\" has no \"entries\" array".into()))?;
    if entries.is_empty() {
        return Err(HarError::NoEntries);
    }
    Ok(Har {
        version: log.version,
        creator: log.creator,
        entries: entries.into_iter().map(|s| s.0).collect(),
    })
}

fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| {
                if be {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        Cow::Owned(
            String::from_utf16_lossy(&units)
                .trim_start_matches('\u{feff}')
                .to_owned(),
        )
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8_lossy(bytes)
        }
    }
}

fn json_error(e: serde_json::Error) -> HarError {
    use serde_json::error::Category;
    let full = e.to_string();
    match e.classify() {
        Category::Data => HarError::NotHar(full),
        Category::Io | Category::Syntax | Category::Eof => {
            let msg = match full.rfind(" at line ") {
                Some(at) => full[..at].to_owned(),
                None => full,
            };
            HarError::Json {
                line: e.line(),
                column: e.column(),
                msg,
            }
        }
    }
}

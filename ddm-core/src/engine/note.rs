//! What the engine tells about a job, typed: one contract for every front (the terminal's
//! lines, `--json`'s NDJSON, `ddm serve`'s page). Each [`Note`] has a `kind` and its own
//! fields (serialized with the kind as a tag: `{"kind": "retrying", "delay_ms": 1500,
//! "why": "…"}`) and one sentence for people ([`std::fmt::Display`]), the one the terminal
//! prints. Notes no type names yet still go out as free text (`Event::Note`).

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// A typed note about a job (see the module's header).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// The file was already in place: recorded as done, nothing downloaded.
    AlreadyComplete { path: PathBuf },
    /// The first request failed; it is asked again after `delay_ms`.
    Retrying {
        #[serde(rename = "delay_ms", serialize_with = "millis")]
        delay: Duration,
        why: String,
    },
    /// The job's link was refused: the original URL is resolved again (`saved`: the link
    /// the job was given, before its first answer; otherwise a range's, while it ran).
    Relinking { saved: bool },
    /// A new link was given while the job ran; it goes on with it.
    NewLink,
    /// The URL asked first could not answer; the next mirror is asked.
    TryingMirror {
        #[serde(serialize_with = "redacted")]
        failed: String,
        why: String,
        #[serde(serialize_with = "redacted")]
        mirror: String,
    },
    /// A source cannot serve the file and was dropped (`job_url`: the job's own URL).
    SourceDropped {
        #[serde(serialize_with = "redacted")]
        url: String,
        job_url: bool,
        why: String,
        left: usize,
    },
    /// Mirrors are not used: the server serves no ranges.
    MirrorsUnused,
    /// A range request was answered with the whole file (or an unusable 206) before any
    /// good 206: the file comes in one stream (`offered`: the server had said
    /// `Accept-Ranges: bytes`).
    RangesIgnored { offered: bool },
    /// The server refuses more connections: the job goes on with at most `limit` (None: the
    /// jobs on the host share what it allows).
    Throttled { why: String, limit: Option<usize> },
    /// More connections were asked for than `max_connections_per_host` allows.
    ConnectionsCapped { asked: usize, max: usize },
    /// The expected checksum is being verified.
    VerifyingChecksum,
    /// The final name was taken meanwhile: the file is saved under `to`.
    Renamed { from: PathBuf, to: String },
}

/// A URL goes out with its password hidden, in every form.
fn redacted<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::model::redact_url(url))
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::model::redact_url;
        match self {
            Note::AlreadyComplete { path } => write!(
                f,
                "{} is already complete (finished before ddm could record it)",
                path.display()
            ),
            Note::Retrying { delay, why } => write!(
                f,
                "request failed ({why}); retrying in {:.1}s",
                delay.as_secs_f64()
            ),
            Note::Relinking { saved } => write!(
                f,
                "the {}download link was refused; resolving the original URL again",
                if *saved { "saved " } else { "" }
            ),
            Note::NewLink => f.write_str("the job was given a new link; going on with it"),
            Note::TryingMirror {
                failed,
                why,
                mirror,
            } => write!(
                f,
                "{} failed ({why}); trying mirror {}",
                redact_url(failed),
                redact_url(mirror)
            ),
            Note::SourceDropped {
                url,
                job_url,
                why,
                left,
            } => write!(
                f,
                "{} {} dropped ({why}); continuing from {left} other source{}",
                if *job_url { "the job's URL" } else { "mirror" },
                redact_url(url),
                if *left == 1 { "" } else { "s" }
            ),
            Note::MirrorsUnused => f.write_str(
                "mirrors not used: the server does not serve byte ranges, so the file comes in \
                 one stream from the job's URL",
            ),
            Note::RangesIgnored { offered: true } => f.write_str(
                "the server offers byte ranges but did not answer one with it: the file comes \
                 in one stream",
            ),
            Note::RangesIgnored { offered: false } => {
                f.write_str("the server serves no byte ranges: the file comes in one stream")
            }
            Note::Throttled {
                why,
                limit: Some(limit),
            } => write!(
                f,
                "the server refuses more connections ({why}); continuing with at most {limit}"
            ),
            Note::Throttled { why, limit: None } => write!(
                f,
                "the server refuses more connections ({why}); the jobs on it share what it \
                 allows"
            ),
            Note::ConnectionsCapped { asked, max } => write!(
                f,
                "{asked} connections asked for, {max} at most: max_connections_per_host in the \
                 config caps what all jobs together open to one host"
            ),
            Note::VerifyingChecksum => f.write_str("verifying the checksum"),
            Note::Renamed { from, to } => {
                write!(f, "{} appeared meanwhile; saving as {to}", from.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_names_its_kind_and_fields_and_reads_as_a_sentence() {
        let n = Note::Retrying {
            delay: Duration::from_millis(1500),
            why: "HTTP 503".into(),
        };
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            serde_json::json!({"kind": "retrying", "delay_ms": 1500, "why": "HTTP 503"})
        );
        assert_eq!(n.to_string(), "request failed (HTTP 503); retrying in 1.5s");
        let d = Note::SourceDropped {
            url: "http://u:secret@m.example/f".into(),
            job_url: false,
            why: "404".into(),
            left: 1,
        };
        assert!(!d.to_string().contains("secret"), "{d}");
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            !json.contains("secret") && json.contains("m.example"),
            "{json}"
        );
        assert_eq!(
            serde_json::to_value(Note::NewLink).unwrap(),
            serde_json::json!({"kind": "new_link"})
        );
    }
}

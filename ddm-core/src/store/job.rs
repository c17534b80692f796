//! The job model: what the store records about one download.
//!
//! `JobState` carries only the data valid in each state (a failed job has its error, nothing
//! else does). `Header` hides secret values (Cookie, Authorization, ...) from `Debug` and from
//! anything printed to the user.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Paused,
    Done,
    Failed { error: String },
}

impl JobState {
    /// The lowercase name stored in the database and printed by `status --json`.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Done => "done",
            JobState::Failed { .. } => "failed",
        }
    }
    pub fn is_done(&self) -> bool {
        matches!(self, JobState::Done)
    }
    pub fn error(&self) -> Option<&str> {
        match self {
            JobState::Failed { error } => Some(error),
            _ => None,
        }
    }
    pub(crate) fn from_db(name: &str, error: Option<String>) -> Option<Self> {
        Some(match name {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "paused" => JobState::Paused,
            "done" => JobState::Done,
            "failed" => JobState::Failed {
                error: error.unwrap_or_default(),
            },
            _ => return None,
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request header. Secret values never appear in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

const SECRET_HEADERS: &[&str] = &[
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
];

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
    /// Parse `Name: value` as given to `--header`.
    pub fn parse(line: &str) -> Result<Self, String> {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header {line:?} has no ':'; write it as 'Name: value'"))?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(format!(
                "header name {name:?} is not a valid HTTP token; write it as 'Name: value'"
            ));
        }
        let value = value.trim();
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("header {name}: value contains a line break or NUL"));
        }
        Ok(Header::new(name, value))
    }
    pub fn is_secret(&self) -> bool {
        SECRET_HEADERS
            .iter()
            .any(|s| self.name.eq_ignore_ascii_case(s))
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

/// Per-job settings, stored as JSON so new keys need no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    pub headers: Vec<Header>,
    /// Connections for this job; None = host policy or config default.
    pub connections: Option<u32>,
    /// Bytes per second for the whole job; None = unlimited.
    pub rate_limit: Option<u64>,
    /// Expected checksum, e.g. `sha256:<hex>`.
    pub checksum: Option<String>,
    /// Replace an existing destination file instead of choosing `name (1).ext`.
    pub overwrite: bool,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Where the redirect chain started, when the job's URL is already a resolved one (HAR
    /// import): resolved again if the job's URL expires (403/410).
    pub origin_url: Option<String>,
}

/// A download job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub url: String,
    pub final_url: Option<String>,
    pub dest_dir: PathBuf,
    pub file_name: Option<String>,
    pub name_fixed: bool,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub ranges: Option<bool>,
    pub piece_size: Option<u64>,
    pub bitmap: Vec<u8>,
    pub state: JobState,
    pub settings: JobSettings,
    pub bytes_done: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bytes per second at the last checkpoint, while running.
    pub speed: Option<u64>,
}

impl Job {
    /// Destination path, when the name is known.
    pub fn path(&self) -> Option<PathBuf> {
        self.file_name.as_ref().map(|n| self.dest_dir.join(n))
    }
    /// Percentage done, when the size is known.
    pub fn percent(&self) -> Option<f64> {
        match self.size {
            Some(0) => Some(if self.state.is_done() { 100.0 } else { 0.0 }),
            Some(s) => Some(self.bytes_done as f64 * 100.0 / s as f64),
            None => None,
        }
    }
}

/// What `add` needs to create a job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub url: String,
    pub dest_dir: PathBuf,
    pub file_name: Option<String>,
    pub settings: JobSettings,
}

/// What a probe learned about the remote file, saved before the first byte is written.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMeta {
    pub final_url: String,
    pub file_name: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub ranges: bool,
    pub piece_size: u64,
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
    }

    #[test]
    fn header_syntax_is_checked() {
        assert!(Header::parse("NoColon").unwrap_err().contains("no ':'"));
        assert!(Header::parse(": v").is_err());
        assert!(Header::parse("Bad Name: v").is_err());
        assert!(Header::parse("X: a\r\nInjected: 1").is_err());
        assert_eq!(
            Header::parse("  X-A :  b c ").unwrap(),
            Header::new("X-A", "b c")
        );
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Paused,
            JobState::Done,
            JobState::Failed { error: "e".into() },
        ] {
            let back = JobState::from_db(s.name(), s.error().map(String::from)).unwrap();
            assert_eq!(back, s);
        }
        assert!(JobState::from_db("bogus", None).is_none());
    }
}

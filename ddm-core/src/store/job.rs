//! The job model: what the store records about one download.
//!
//! `JobState` carries only the data valid in each state (a failed job has its error, nothing
//! else does). Request headers (`model::Header`) hide secret values from `Debug` and from
//! anything printed to the user.

use crate::model::{Credentials, ErrorKind, Header, JobError, Netrc};
use crate::storage::FileId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The state of a job; a failed job carries its error, a waiting one why it waits, nothing
/// else carries anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    /// Its download link expired (refused after progress) and no runner holds it: it waits
    /// for a fresh link (`set-url`, or `get`/`add` of the new URL), its progress kept.
    Waiting(String),
    Paused,
    Done,
    Failed(JobError),
}

/// A job's state without its data: what store queries select on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    Queued,
    Running,
    Waiting,
    Paused,
    Done,
    Failed,
}

impl StateKind {
    /// The lowercase name stored in the database and printed by `status --json`.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Queued => "queued",
            StateKind::Running => "running",
            StateKind::Waiting => "waiting",
            StateKind::Paused => "paused",
            StateKind::Done => "done",
            StateKind::Failed => "failed",
        }
    }
    /// The state named `name` (as [`StateKind::name`] gives it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::from_name(name)
    }
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            StateKind::Queued,
            StateKind::Running,
            StateKind::Waiting,
            StateKind::Paused,
            StateKind::Done,
            StateKind::Failed,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

impl JobState {
    pub fn kind(&self) -> StateKind {
        match self {
            JobState::Queued => StateKind::Queued,
            JobState::Running => StateKind::Running,
            JobState::Waiting(_) => StateKind::Waiting,
            JobState::Paused => StateKind::Paused,
            JobState::Done => StateKind::Done,
            JobState::Failed(_) => StateKind::Failed,
        }
    }
    /// The lowercase name stored in the database and printed by `status --json`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
    pub fn is_done(&self) -> bool {
        matches!(self, JobState::Done)
    }
    pub fn error(&self) -> Option<&JobError> {
        match self {
            JobState::Failed(e) => Some(e),
            _ => None,
        }
    }
    /// Why it waits for a fresh link, when it does (at rest).
    pub fn waiting(&self) -> Option<&str> {
        match self {
            JobState::Waiting(why) => Some(why),
            _ => None,
        }
    }
    pub(crate) fn from_db(
        name: &str,
        error: Option<String>,
        kind: Option<String>,
        waiting: Option<String>,
    ) -> Self {
        match StateKind::from_name(name) {
            Some(StateKind::Queued) => JobState::Queued,
            Some(StateKind::Running) => JobState::Running,
            Some(StateKind::Waiting) => JobState::Waiting(waiting.unwrap_or_default()),
            Some(StateKind::Paused) => JobState::Paused,
            Some(StateKind::Done) => JobState::Done,
            Some(StateKind::Failed) => JobState::Failed(JobError::new(
                kind.as_deref()
                    .and_then(ErrorKind::parse)
                    .unwrap_or(ErrorKind::Internal),
                error.unwrap_or_default(),
            )),
            None => JobState::Failed(JobError::new(
                ErrorKind::Internal,
                format!("unknown stored state {name:?}"),
            )),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-job settings, stored as JSON so new keys need no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    pub headers: Vec<Header>,
    /// Connections for this job; None = host policy or config default.
    pub connections: Option<u32>,
    /// `connections` came from a routing rule, not from `-c`.
    pub connections_from_rule: bool,
    /// Bytes per second for the whole job; None = unlimited.
    pub rate_limit: Option<u64>,
    /// Expected checksum, e.g. `sha256:<hex>` (sha256, sha512, sha1, md5).
    pub checksum: Option<String>,
    /// Entries of a checksum file (`--checksum-file`), as jobs queued by older versions
    /// stored them: (file name, `ALGO:HEX`); the line for the name asked for is checked. New
    /// jobs store the line picked when they are added in `checksum`.
    pub checksums: Vec<(String, String)>,
    /// Replace an existing destination file instead of choosing `name (1).ext`.
    pub overwrite: bool,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// `--user`: sent only to the origin of the job's URL.
    pub user: Option<Credentials>,
    /// `--netrc` / `--netrc-file`.
    pub netrc: Option<Netrc>,
    /// `--load-cookies`: sent per request where each cookie's domain, path and secure flag
    /// allow; never shown.
    pub cookies: Vec<crate::cookies::Cookie>,
    /// Other URLs of the same file (`--mirror`): segments are spread across all sources.
    pub mirrors: Vec<String>,
    /// `--max-time`: seconds a run of this job may last (0 = no limit); None: config
    /// `max_time_secs`.
    pub max_time_secs: Option<u64>,
    /// `--speed-limit`: bytes per second a run's average may not stay under (0 = no limit);
    /// None: config `lowest_speed_limit`.
    pub speed_limit: Option<u64>,
    /// `--speed-time`: the seconds that average is taken over; None: config
    /// `lowest_speed_time_secs`.
    pub speed_time_secs: Option<u64>,
    /// Proxy and trusted CAs for this job.
    #[serde(flatten)]
    pub network: crate::model::Network,
    /// The user chose where the file goes (`-d`, `-o`, RPC `dir`/`out`): a routing rule's
    /// `dir` does not apply.
    pub dir_chosen: bool,
    /// Where the redirect chain started, when the job's URL is already a resolved one (HAR
    /// import): resolved again if the job's URL expires (403/410).
    pub origin_url: Option<String>,
}

impl JobSettings {
    /// Forget the credentials, for a job that is done: secret headers, `--user`, cookies,
    /// and passwords in the proxy, mirror and origin URLs. Returns whether anything changed.
    pub fn forget_secrets(&mut self) -> bool {
        use crate::model::redact_url;
        let before = self.clone();
        self.headers.retain(|h| !h.is_secret());
        self.user = None;
        self.cookies.clear();
        for u in self
            .network
            .proxy
            .iter_mut()
            .chain(self.mirrors.iter_mut())
            .chain(self.origin_url.iter_mut())
        {
            *u = redact_url(u);
        }
        *self != before
    }
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
    /// Connections open at the last checkpoint of a running job.
    pub conns: Option<u32>,
    /// The `.part` file this job created (and, after the rename, its finished file).
    pub part_id: Option<FileId>,
    /// The destination directory, as it was when the job created its `.part` file there.
    pub dir_id: Option<FileId>,
    /// The protocol of the last first answer (`HTTP/1.1`, `HTTP/2`).
    pub protocol: Option<String>,
    /// Why the job waits for a fresh link: while its runner holds it (state `running`), or
    /// at rest (state `waiting`); None when it does not wait.
    pub waiting: Option<String>,
    /// How many times the job was given a new link (`set-url`, a fresh link attached by
    /// `get`/`add`): a runner working the job picks a new one up when this moves.
    pub link_gen: i64,
    /// The job's place in the queue order (queued jobs are claimed by it, then by id).
    pub position: i64,
    /// Byte ranges written and synced that cover no whole piece (a paused or crashed job's
    /// segment fronts): kept, so a resume fetches only what is missing.
    pub partial: Vec<std::ops::Range<u64>>,
    /// Claimed before jobs of a lower priority (high 10, normal 0, low -10).
    pub priority: i64,
    /// Not claimed before this time (epoch seconds; `--at`, `--in`).
    pub not_before: Option<i64>,
    /// Not claimed before this job is done (`--after`).
    pub after: Option<i64>,
    /// The config's `[[rule]]` that routed the job, and why it matched.
    pub rule: Option<crate::rules::Applied>,
    /// The directory the job was added for, when its rule sent it to `dest_dir` instead.
    pub base_dir: Option<PathBuf>,
    /// A paused job the schedule holds: the window (resumed when it ends); None for a
    /// user's pause.
    pub held: Option<String>,
}

impl Job {
    /// Destination path, when the name is known.
    pub fn path(&self) -> Option<PathBuf> {
        self.file_name.as_ref().map(|n| self.dest_dir.join(n))
    }
    /// The state to show: `waiting` also while a runner holds the job waiting for a fresh
    /// link (it is `running` in the store: the runner still owns it).
    pub fn shown(&self) -> StateKind {
        match self.state {
            JobState::Running if self.waiting.is_some() => StateKind::Waiting,
            ref s => s.kind(),
        }
    }
    /// Why the job waits for a fresh link, if it does (held by a runner or at rest).
    pub fn waits_for_link(&self) -> Option<&str> {
        match self.shown() {
            StateKind::Waiting => self.waiting.as_deref().or(self.state.waiting()),
            _ => None,
        }
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
    /// When it may start: priority, start time, dependency.
    pub queue: Queueing,
}

/// When a new job may be claimed: its priority, a time before which it waits, a job that
/// must be done first; and the rule that routed it when that was decided from its URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Queueing {
    pub priority: i64,
    pub not_before: Option<i64>,
    pub after: Option<i64>,
    pub rule: Option<crate::rules::Applied>,
    /// The directory the job was added for, when its rule (decided offline) sent it to
    /// `dest_dir` instead.
    pub base_dir: Option<PathBuf>,
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
    /// `HTTP/1.1`, `HTTP/2`; None when the answer did not say.
    pub protocol: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Waiting("the link expired".into()),
            JobState::Paused,
            JobState::Done,
            JobState::Failed(JobError::new(ErrorKind::Checksum, "e")),
        ] {
            let back = JobState::from_db(
                s.name(),
                s.error().map(|e| e.message.clone()),
                s.error().map(|e| e.kind.as_str().to_string()),
                s.waiting().map(str::to_string),
            );
            assert_eq!(back, s);
        }
        assert_eq!(
            JobState::from_db("bogus", None, None, None)
                .error()
                .map(|e| e.kind),
            Some(ErrorKind::Internal)
        );
    }
}

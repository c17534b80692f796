//! The service contract: what a long-lived runner (`ddm serve`) offers the fronts that drive
//! it (aria2's JSON-RPC in `ddm-rpc`, later ddm's own page), and the typed notices it sends
//! them. Fronts only translate: every decision (names, scopes, credentials, limits, the
//! queue's order) stays behind this trait, in the runner and the store.
//!
//! Reads answer from the runner's in-memory view of the jobs (kept in step with the store,
//! which stays the durable truth), so a front polling every second per open tab costs no
//! SQLite read per call. Commands reach a running job directly (no polling delay) and are
//! recorded in the store like the CLI's.

pub use crate::engine::{Happening, Lane};
mod commands;
mod live;
mod places;
mod table;
mod track;
mod watch;

pub use live::Service;
pub use places::Places;

use crate::model::{Credentials, ErrorKind, Header, Network};
use crate::store::Job;
pub use crate::store::Move;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// One job as a front sees it: the store's record, what its runner knows live, and whether it
/// was removed (a removed job stays listed until purged, as aria2's front-ends expect).
/// The record is shared with the service's view (a front listing a thousand jobs several
/// times a second copies no record) and stays the same `Arc` until the store changes it, so a
/// front may keep what it wrote from a record while `Arc::ptr_eq` holds.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Arc<Job>,
    /// While a runner works the job.
    pub live: Option<Live>,
    /// Removed (`remove`): no longer in the store; listed until `forget` or `purge`.
    pub removed: bool,
    /// The job's place in the queue order (0 first); the runner claims in this order.
    pub position: usize,
}

/// What the runner knows of a job it works now.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Bytes received (written or in flight; the store's `bytes_done` is the durable part).
    pub bytes: u64,
    /// Bytes per second, smoothed over a few seconds.
    pub speed: u64,
    /// Connections transferring now.
    pub connections: usize,
    /// The most the job may have open now (its ceiling, grown while it pays).
    pub max_connections: usize,
    /// One per open connection.
    pub lanes: Vec<Lane>,
}

/// A point of a speed graph: the bytes per second at a moment (Unix time in milliseconds),
/// in all and per connection (lane id, bytes per second).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Point {
    pub at_ms: u64,
    pub speed: u64,
    pub lanes: Vec<(usize, u64)>,
}

/// A [`Happening`] with when it happened and its number (counting from 1 per service, so a
/// front asks for what is newer than what it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: u64,
    pub at_ms: u64,
    pub what: Happening,
}

/// What the service keeps of one job beyond its record: a point a second of its speed for
/// the last [`HISTORY_SECS`], and its last [`LOG_LEN`] happenings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    pub history: Vec<Point>,
    pub events: Vec<Logged>,
}

/// Seconds of speed history kept per job and for the whole runner.
pub const HISTORY_SECS: usize = 600;
/// Happenings kept per job.
pub const LOG_LEN: usize = 200;

/// The runner as a whole: its speed over the last [`HISTORY_SECS`] (points without lanes),
/// its connection budget, and the connections open per host (all jobs together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runner {
    pub history: Vec<Point>,
    /// Connections open at once at most, in all and per host.
    pub max_connections: usize,
    pub max_per_host: usize,
    /// Connection units in use now (open transfers).
    pub in_use: usize,
    pub hosts: Vec<HostUse>,
}

/// Open transfers to one host (`scheme://host:port`), and the cap it taught if it refused
/// more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUse {
    pub host: String,
    pub open: usize,
    pub cap: Option<usize>,
}

/// A new job, as a front asks for it. Everything a front may set; what it may not set (hook
/// commands, log or config paths) has no field here.
#[derive(Debug, Clone, Default)]
pub struct AddSpec {
    /// The URL, then its mirrors (other sources of the same file).
    pub urls: Vec<String>,
    /// Where the file goes; must lie inside the service's allowed roots. None: the
    /// service's default directory.
    pub dir: Option<PathBuf>,
    /// The file name: a plain name (no `/`, no `..`), checked like `-o`.
    pub out: Option<String>,
    pub headers: Vec<Header>,
    pub connections: Option<u32>,
    /// Bytes per second for this job.
    pub rate_limit: Option<u64>,
    /// `ALGO:HEX`.
    pub checksum: Option<String>,
    /// Sent only to the origin of the job's URL.
    pub user: Option<Credentials>,
    pub network: Network,
    pub insecure: bool,
    pub overwrite: bool,
    /// Queued paused (aria2's `pause=true`).
    pub paused: bool,
    /// Where in the queue (None: at the end).
    pub position: Option<usize>,
    /// Where the redirect chain started, when `urls[0]` is already a resolved link (a HAR
    /// import): resolved again if the link expires.
    pub origin_url: Option<String>,
    /// Claimed before jobs of a lower priority (`store::parse_priority`); None: normal.
    /// aria2 has no such option: fronts that speak only aria2 leave it out.
    pub priority: Option<i64>,
}

/// The service as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Globals {
    /// Bytes per second over all running jobs.
    pub speed: u64,
    /// The global rate cap (None: unlimited).
    pub max_rate: Option<u64>,
    /// Jobs worked at once at most (0: as many as the connection budget allows).
    pub max_active: u32,
    pub active: usize,
    /// Queued and paused jobs.
    pub waiting: usize,
    /// Done, failed and removed jobs still listed.
    pub stopped: usize,
    /// Jobs that ended since the service started.
    pub stopped_total: usize,
    /// The default download directory.
    pub dir: PathBuf,
    pub version: String,
}

/// What happened to a job, whatever caused it (a front, another terminal, the network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Started(i64),
    Paused(i64),
    /// Removed.
    Stopped(i64),
    Complete(i64),
    Error(i64),
    /// The job's record or place in the queue changed (also a job just added; sent with
    /// the notices above, and every second a running job checkpoints).
    Changed(i64),
    /// New progress of a running job (about five a second while it transfers).
    Progress(i64),
    /// A new entry in the job's log of happenings ([`Jobs::track`]).
    Happened(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("no job {0}")]
    NotFound(i64),
    /// Input refused: the message says what was wrong and what to do.
    #[error("{0}")]
    Invalid(String),
    /// The job cannot do that in its state (e.g. resume a finished job).
    #[error("{0}")]
    State(String),
    /// The store or the disk failed; nothing was changed.
    #[error("{kind}: {message}")]
    Failed { kind: ErrorKind, message: String },
}

/// What a long-lived runner offers its fronts. Reads answer from memory; every method is
/// quick (a command writes one store statement at most).
pub trait Jobs: Send + Sync {
    /// Queue a download; its id.
    fn add(&self, spec: AddSpec) -> Result<i64, ServiceError>;
    /// Every job listed (in the store, and removed ones not purged yet), in queue order.
    fn jobs(&self) -> Vec<JobView>;
    fn job(&self, id: i64) -> Option<JobView>;
    /// Stop a job, progress kept (`force`: do not wait for slow servers).
    fn pause(&self, id: i64, force: bool) -> Result<(), ServiceError>;
    /// Queue a paused or failed job again.
    fn resume(&self, id: i64) -> Result<(), ServiceError>;
    /// Forget a job and the `.part` it made; it stays listed as removed until purged.
    fn remove(&self, id: i64, force: bool) -> Result<(), ServiceError>;
    /// Stop listing a finished, failed or removed job (the finished file stays).
    fn forget(&self, id: i64) -> Result<(), ServiceError>;
    /// Forget every finished, failed and removed job.
    fn purge(&self);
    fn pause_all(&self, force: bool);
    fn resume_all(&self);
    /// Move a job in the queue; its new place.
    fn move_job(&self, id: i64, to: Move) -> Result<usize, ServiceError>;
    /// Take `remove` off a job's sources and add `add` (the first added becomes the job's
    /// URL when the job's URL is removed): (removed, added).
    fn change_uris(
        &self,
        id: i64,
        remove: &[String],
        add: &[String],
    ) -> Result<(usize, usize), ServiceError>;
    /// A job's rate cap, live.
    fn set_rate(&self, id: i64, rate: Option<u64>) -> Result<(), ServiceError>;
    /// A job's most connections (from its next run, or live where the runner can).
    fn set_connections(&self, id: i64, n: u32) -> Result<(), ServiceError>;
    fn globals(&self) -> Globals;
    /// The global rate cap, live.
    fn set_global_rate(&self, rate: Option<u64>);
    /// Jobs worked at once at most (0: as many as the budget allows).
    fn set_max_active(&self, n: u32);
    /// A job's speed history and log of happenings (None: no such job).
    fn track(&self, id: i64) -> Option<Track>;
    /// The runner: speed history, connection budget, connections per host.
    fn runner(&self) -> Runner;
    /// The connection budget, live (until the service stops; config.toml keeps it for good).
    fn set_budget(&self, total: u32, per_host: u32) -> Result<(), ServiceError>;
    /// Notices from now on.
    fn subscribe(&self) -> Receiver<Notice>;
    /// Checkpoint every running job and stop (`force`: without waiting for slow servers).
    fn shutdown(&self, force: bool);
}

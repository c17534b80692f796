//! The job store: one SQLite database (`jobs.db`) holding every job and the host policy.
//!
//! Numbered migrations are embedded and applied on open (tracked with `PRAGMA user_version`);
//! the file is marked with an `application_id` so a foreign SQLite file is refused, and a
//! damaged file is an error naming it: it is never replaced, since that would lose the queue.
//!
//! Several ddm processes share the file (a runner, `add`, `status`, `pause` from other
//! terminals), so every read-then-write is either one statement (`UPDATE … WHERE state IN (…)
//! RETURNING …`) or one `BEGIN IMMEDIATE` transaction: a deferred transaction that reads
//! first and writes later fails at once with SQLITE_BUSY_SNAPSHOT when another process wrote
//! in between, and the busy timeout never retries that. Each public method commits before it
//! returns. A write that fails is an error for the caller, never only a log line, and "no
//! space for the job database" is told apart from real damage.

mod clean;
mod held;
mod hosts;
mod job;
mod link;
mod order;
mod queries;
mod queue;
mod row;
mod tx;

pub use crate::model::Header;
pub use clean::{ago, Forget, Forgot};
pub use hosts::{host_key, HostPolicy};
pub use job::{Job, JobSettings, JobState, NewJob, Queueing, RemoteMeta, StateKind};
pub use link::Link;
pub use order::{
    parse_priority, priority_name, Move, PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NORMAL,
};
pub use queue::QueueMark;
pub use tx::StoreTx;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// `PRAGMA application_id` of a ddm database ("ddm1").
const APPLICATION_ID: i32 = 0x6464_6d31;
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_identity.sql"),
    include_str!("migrations/0003_limits.sql"),
    include_str!("migrations/0004_live_connections.sql"),
    include_str!("migrations/0005_protocol.sql"),
    include_str!("migrations/0006_dir_identity.sql"),
    include_str!("migrations/0007_link_wait.sql"),
    include_str!("migrations/0008_position.sql"),
    include_str!("migrations/0009_partial.sql"),
    include_str!("migrations/0010_queue_rules.sql"),
    include_str!("migrations/0011_held.sql"),
    include_str!("migrations/0012_rule_base_dir.sql"),
    include_str!("migrations/0013_host_range_cost.sql"),
];
/// How long a writer waits for another process's write to finish. Writes are single short
/// statements or small IMMEDIATE transactions, so this is only ever reached by a stuck process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job database {path}: {msg}")]
    Open { path: PathBuf, msg: String },
    #[error(
        "no space for the job database at {path}: the file system is full; free some space \
         there (progress already saved is kept)"
    )]
    NoSpace { path: PathBuf },
    #[error(
        "job database {path}: {msg}; the file is damaged or not a ddm database (it was left \
         untouched; move it away to start with an empty queue)"
    )]
    Damaged { path: PathBuf, msg: String },
    #[error("no job with id {0} (see `ddm status` for the ids)")]
    NotFound(i64),
    #[error("job {0} is not in the queue (only queued, paused or waiting jobs have a place)")]
    NotQueued(i64),
    #[error("job database {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("job {id}: stored settings are unreadable: {msg}")]
    Settings { id: i64, msg: String },
}

impl StoreError {
    pub fn is_no_space(&self) -> bool {
        matches!(self, StoreError::NoSpace { .. })
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// This process's writers to the database at `path` take turns here (see [`writer`]).
    writer: Arc<Mutex<()>>,
}

/// One writer at a time among this process's connections to the database at `path`. SQLite
/// admits one writer; a thread that finds the lock taken sleeps in SQLite's busy handler (1,
/// 2, 5, 10 ms and more between tries), which a runner with many small jobs paid on every
/// transition of every job. Threads of one process queue on this mutex instead and go the
/// moment it is free; other processes still meet SQLite's own lock and busy timeout.
fn writer(path: &Path) -> Arc<Mutex<()>> {
    static WRITERS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    if path == Path::new(":memory:") {
        return Arc::default(); // private to its connection
    }
    WRITERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(path.to_path_buf())
        .or_default()
        .clone()
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Bytes free for unprivileged users below which an I/O failure is taken for a full disk.
const NEARLY_FULL: u64 = 256 * 1024;

/// Turn a SQLite error into what it means for the user of the database at `path`.
/// Run `sql` through the connection's statement cache: the statements a runner issues for
/// every job and every checkpoint are parsed once per connection, not once per call.
pub(crate) fn exec_cached<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// One row of `sql`, through the statement cache (see [`exec_cached`]).
pub(crate) fn row_cached<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

pub(crate) fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let dir = path.parent().unwrap_or(Path::new("."));
    let full = || crate::storage::free_space(dir).is_ok_and(|f| f < NEARLY_FULL);
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::NoSpace {
            path: path.to_path_buf(),
        },
        // Creating the -wal/-shm files or growing them fails with an I/O or open error when
        // the file system is full.
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) if full() => StoreError::NoSpace {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Damaged {
            path: path.to_path_buf(),
            msg: e.to_string(),
        },
        _ => StoreError::Sql {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

impl Store {
    /// Take this process's turn to write (see [`writer`]).
    pub(crate) fn write_turn(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store {
    /// Open (creating if missing) the database at `path`. A new file is created 0600 (and
    /// never through a symlink); an existing one keeps the mode its owner gave it.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |msg: String| StoreError::Open {
            path: path.to_path_buf(),
            msg,
        };
        // Create the file ourselves so it is 0600 from the first byte, but only when it does
        // not exist: closing any descriptor of a file drops all of this process's fcntl locks
        // on it, including those of SQLite connections already open here (another thread's
        // store). Other processes could then checkpoint and reset the WAL under us.
        if std::fs::symlink_metadata(path).is_err() {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                    return Err(StoreError::NoSpace {
                        path: path.to_path_buf(),
                    })
                }
                Err(e) => return Err(open_err(format!("cannot create: {e}"))),
            }
        }
        // Another process creating the same database holds locks for a moment (switching to
        // WAL cannot wait on the busy handler): try again for a few seconds.
        let mut tries = 0;
        loop {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| match classify(path, e) {
                StoreError::Sql { source, .. } => open_err(source.to_string()),
                other => other,
            })?;
            match Self::init(conn, path, Access::ReadWrite) {
                Err(StoreError::Sql { source, .. }) if is_busy(&source) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(StoreError::Sql { source, .. }) => {
                    return Err(open_err(source.to_string()));
                }
                other => return other,
            }
        }
    }

    /// A private in-memory database (unit tests).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(|e| classify(Path::new(":memory:"), e))?;
        Self::init(conn, Path::new(":memory:"), Access::Memory)
    }

    /// Open for a verb that only reads (`status`, `top`): as [`Store::open`] where the data
    /// directory can be written; where it cannot (a read-only mount, no write permission) the
    /// database is opened read-only, and where there is none, an empty one stands in (no jobs),
    /// instead of failing with "unable to open database file".
    pub fn open_for_reading(path: &Path) -> Result<Store> {
        let dir = path.parent().unwrap_or(Path::new("."));
        if writable(dir) {
            return Store::open(path);
        }
        if std::fs::symlink_metadata(path).is_err() {
            return Store::open_in_memory();
        }
        Store::open_read_only(path)
    }

    /// The database read-only. A WAL database needs its `-shm` index: when no process has it
    /// open (so there is none) and none can be created, it is read as immutable, which is
    /// exact when nothing can write the directory anyway.
    fn open_read_only(path: &Path) -> Result<Store> {
        let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let shared = Connection::open_with_flags(path, ro)
            .map_err(|e| classify(path, e))
            .and_then(|c| Self::init(c, path, Access::ReadOnly));
        match shared {
            Err(StoreError::Sql { source, .. })
                if source.sqlite_error_code() == Some(ErrorCode::CannotOpen) =>
            {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(uri, ro | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|e| classify(path, e))?;
                Self::init(conn, path, Access::ReadOnly)
            }
            other => other,
        }
    }

    fn init(conn: Connection, path: &Path, access: Access) -> Result<Store> {
        let err = |e| classify(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Reading the schema first detects "file is not a database" before we write anything.
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        let app_id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(err)?;
        if tables > 0 && app_id != APPLICATION_ID {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                msg: "this SQLite file is not a ddm job database (left untouched); \
                      use another --home or move the file away"
                    .into(),
            });
        }
        if access == Access::ReadWrite {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(err)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // Deleted and overwritten content (a removed job's headers, a finished job's
        // credentials) is zeroed in the file, not left readable in free space.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            writer: writer(path),
        };
        store.migrate(access == Access::ReadOnly)?;
        Ok(store)
    }

    fn migrate(&mut self, read_only: bool) -> Result<()> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let newer = |version: i64| StoreError::Open {
            path: path.clone(),
            msg: format!(
                "schema version {version} is newer than this ddm understands ({}); upgrade ddm",
                MIGRATIONS.len()
            ),
        };
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version as usize > MIGRATIONS.len() {
            return Err(newer(version));
        }
        if version as usize == MIGRATIONS.len() {
            return Ok(());
        }
        if read_only {
            return Err(StoreError::Open {
                path: path.clone(),
                msg: "it was written by an older ddm and must be upgraded, which needs its \
                      directory to be writable"
                    .into(),
            });
        }
        // Another process may be migrating the same database right now: take the write lock
        // first, then look again.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version as usize > MIGRATIONS.len() {
            return Err(newer(version));
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(sql).map_err(err)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
            .map_err(err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    /// After secrets were deleted: copy the write-ahead log into the database (whose pages
    /// `secure_delete` zeroed) and truncate it, so that the log's older frames, which still
    /// hold them, are gone too. Best effort: a reader of another process holding an old
    /// snapshot for more than a moment leaves it to the next checkpoint.
    pub(crate) fn forget_freed(&self) {
        if self.path == Path::new(":memory:") {
            return;
        }
        let _ = self.conn.busy_timeout(Duration::from_secs(2));
        let r = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
        match r {
            Ok(0) => {}
            Ok(_) => tracing::debug!("job database: checkpoint after deleting secrets was busy"),
            Err(e) => tracing::debug!("job database: checkpoint after deleting secrets: {e}"),
        }
    }
}

/// How a connection was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
    Memory,
}

/// Can this process create files in `dir`?
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// `path` for a `file:` URI: every byte but unreserved ones and `/` percent-encoded.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests;

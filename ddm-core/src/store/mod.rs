//! The job store: one SQLite database (`jobs.db`) holding every job and the host policy.
//!
//! Numbered migrations are embedded and applied on open (tracked with `PRAGMA user_version`);
//! the file is marked with an `application_id` so a foreign SQLite file is refused, and a
//! corrupt file is an error naming it: it is never replaced, since that would lose the queue.
//! WAL mode with a busy timeout lets a CLI command and a runner share the file. Each public
//! method commits before it returns.

mod hosts;
mod job;

pub use hosts::{host_key, HostPolicy};
pub use job::{Header, Job, JobSettings, JobState, NewJob, RemoteMeta};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, Transaction};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `PRAGMA application_id` of a ddm database ("ddm1").
const APPLICATION_ID: i32 = 0x6464_6d31;
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job database {path}: {msg}")]
    Open { path: PathBuf, msg: String },
    #[error("no job with id {0} (see `ddm status` for the ids)")]
    NotFound(i64),
    #[error("job database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("job {id}: stored settings are unreadable: {msg}")]
    Settings { id: i64, msg: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const JOB_COLUMNS: &str = "id, url, final_url, dest_dir, file_name, name_fixed, size, etag, \
     last_modified, ranges, piece_size, bitmap, state, error, settings, bytes_done, created_at, updated_at, speed";

impl Store {
    /// Open (creating if missing) the database at `path`, file mode 0600.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |msg: String| StoreError::Open {
            path: path.to_path_buf(),
            msg,
        };
        // Create the file ourselves so it is 0600 from the first byte, but only when it does
        // not exist: closing any descriptor of a file drops all of this process's fcntl locks
        // on it, including those of SQLite connections already open here (another thread's
        // store). Other processes could then checkpoint and reset the WAL under us.
        if !path.exists() {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(open_err(format!("cannot create: {e}"))),
            }
        }
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        // Another process creating the same database holds locks for a moment (switching to
        // WAL cannot wait on the busy handler): try again for a few seconds.
        let mut tries = 0;
        let result = loop {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| open_err(e.to_string()))?;
            match Self::init(conn, true) {
                Err(StoreError::Sql(e)) if is_busy(&e) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => break other,
            }
        };
        result.map_err(|e| match e {
            StoreError::Sql(s) => open_err(format!(
                "{s}; the file is damaged or not a ddm database (it was left untouched; move it \
                 away to start with an empty queue)"
            )),
            StoreError::Open { msg, .. } => open_err(msg),
            other => other,
        })
    }

    /// A private in-memory database (unit tests).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, file: bool) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // Reading the schema first detects "file is not a database" before we write anything.
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if tables > 0 && app_id != APPLICATION_ID {
            return Err(StoreError::Open {
                path: PathBuf::new(),
                msg: "this SQLite file is not a ddm job database (left untouched); \
                      use another --home or move the file away"
                    .into(),
            });
        }
        if file {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let newer = |version: i64| StoreError::Open {
            path: PathBuf::new(),
            msg: format!(
                "schema version {version} is newer than this ddm understands ({}); upgrade ddm",
                MIGRATIONS.len()
            ),
        };
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(newer(version));
        }
        if version as usize == MIGRATIONS.len() {
            return Ok(());
        }
        // Another process may be creating the same database right now: take the write lock
        // first, then look again.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(newer(version));
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        Ok(())
    }

    // ---- jobs -------------------------------------------------------------------------

    /// Queue a new job; returns its id.
    pub fn add(&mut self, job: &NewJob) -> Result<i64> {
        let settings = serde_json::to_string(&job.settings).expect("settings serialize");
        let t = now();
        self.conn.execute(
            "INSERT INTO jobs (url, dest_dir, file_name, name_fixed, state, settings, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?6)",
            params![
                job.url,
                job.dest_dir.to_string_lossy(),
                job.file_name,
                job.file_name.is_some(),
                settings,
                t
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn get(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], row_to_job)
            .optional()?
            .ok_or(StoreError::NotFound(id))?
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], row_to_job)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// The state of a job, or None if it was removed (cheap; the runner polls it).
    pub fn state(&self, id: i64) -> Result<Option<JobState>> {
        Ok(self
            .conn
            .query_row("SELECT state, error FROM jobs WHERE id = ?1", [id], |r| {
                Ok(JobState::from_db(&r.get::<_, String>(0)?, r.get(1)?))
            })
            .optional()?
            .flatten())
    }

    pub fn set_state(&mut self, id: i64, state: &JobState) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE jobs SET state = ?2, error = ?3, speed = NULL, updated_at = ?4 WHERE id = ?1",
            params![id, state.name(), state.error(), now()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }

    /// Atomically move the oldest queued job to `running` and return it.
    pub fn claim_next(&mut self) -> Result<Option<Job>> {
        let tx = self.conn.transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        tx.execute(
            "UPDATE jobs SET state = 'running', error = NULL, updated_at = ?2 WHERE id = ?1",
            params![id, now()],
        )?;
        tx.commit()?;
        self.get(id).map(Some)
    }

    /// Claim one specific job (used by `ddm get`), whatever its state but `done`.
    pub fn claim(&mut self, id: i64) -> Result<Job> {
        let n = self.conn.execute(
            "UPDATE jobs SET state = 'running', error = NULL, updated_at = ?2 \
             WHERE id = ?1 AND state != 'done'",
            params![id, now()],
        )?;
        if n == 0 {
            self.get(id)?; // NotFound if missing
        }
        self.get(id)
    }

    /// Jobs a dead runner left `running` go back to the queue. Returns how many.
    pub fn recover_running(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE jobs SET state = 'queued', updated_at = ?1 WHERE state = 'running'",
            [now()],
        )?)
    }

    /// Pause queued or running jobs. Returns the ids that changed.
    pub fn pause(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        self.transition(ids, &["queued", "running"], "paused")
    }

    /// Put paused or failed jobs back in the queue. Returns the ids that changed.
    pub fn resume(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        self.transition(ids, &["paused", "failed"], "queued")
    }

    fn transition(&mut self, ids: &[i64], from: &[&str], to: &str) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let mut changed = Vec::new();
        for &id in ids {
            let cur: Option<String> = tx
                .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let cur = cur.ok_or(StoreError::NotFound(id))?;
            if from.contains(&cur.as_str()) {
                tx.execute(
                    "UPDATE jobs SET state = ?2, error = NULL, updated_at = ?3 WHERE id = ?1",
                    params![id, to, now()],
                )?;
                changed.push(id);
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Ids of all jobs whose state is one of `states`.
    pub fn ids_in(&self, states: &[&str]) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, state FROM jobs ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (id, s) = r?;
            if states.contains(&s.as_str()) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn remove(&mut self, id: i64) -> Result<Job> {
        let job = self.get(id)?;
        self.conn.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        Ok(job)
    }

    /// Record what the probe learned and reset progress (a fresh start of the transfer).
    pub fn save_remote(&mut self, id: i64, m: &RemoteMeta, bitmap: &[u8]) -> Result<()> {
        let tx = self.conn.transaction()?;
        save_remote_tx(&tx, id, m, bitmap)?;
        tx.commit()?;
        Ok(())
    }

    /// Update only the final URL (a re-resolved redirect to the same file).
    pub fn set_final_url(&mut self, id: i64, url: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET final_url = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, url, now()],
        )?;
        Ok(())
    }

    /// Durable progress: the bitmap (already backed by fdatasync'ed data) and its byte count.
    /// `speed` (bytes/s) is shown by `status` while the job runs.
    pub fn checkpoint(
        &mut self,
        id: i64,
        bitmap: &[u8],
        bytes_done: u64,
        speed: Option<u64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET bitmap = ?2, bytes_done = ?3, speed = ?5, updated_at = ?4 \
             WHERE id = ?1",
            params![
                id,
                bitmap,
                bytes_done as i64,
                now(),
                speed.map(|s| s as i64)
            ],
        )?;
        Ok(())
    }

    /// The download is in place: record its final name and size (all bytes done).
    pub fn finish(&mut self, id: i64, file_name: &str, size: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET file_name = ?2, size = ?3, bytes_done = ?3, speed = NULL, \
             updated_at = ?4 WHERE id = ?1",
            params![id, file_name, size as i64, now()],
        )?;
        Ok(())
    }

    /// Forget all progress and remote metadata (`resume --restart`).
    pub fn reset_progress(&mut self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET final_url = NULL, size = NULL, etag = NULL, last_modified = NULL, \
             ranges = NULL, piece_size = NULL, bitmap = NULL, bytes_done = 0, \
             file_name = CASE WHEN name_fixed THEN file_name ELSE NULL END, updated_at = ?2 \
             WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    }

    pub fn set_settings(&mut self, id: i64, s: &JobSettings) -> Result<()> {
        let json = serde_json::to_string(s).expect("settings serialize");
        self.conn.execute(
            "UPDATE jobs SET settings = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, json, now()],
        )?;
        Ok(())
    }

    /// Destination paths claimed by unfinished jobs other than `except` (so two jobs never
    /// pick the same file name).
    pub fn claimed_paths(&self, except: i64) -> Result<Vec<PathBuf>> {
        let mut stmt = self.conn.prepare(
            "SELECT dest_dir, file_name FROM jobs WHERE id != ?1 AND file_name IS NOT NULL \
             AND state != 'done'",
        )?;
        let rows = stmt.query_map([except], |r| {
            Ok(PathBuf::from(r.get::<_, String>(0)?).join(r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn save_remote_tx(tx: &Transaction, id: i64, m: &RemoteMeta, bitmap: &[u8]) -> Result<()> {
    let n = tx.execute(
        "UPDATE jobs SET final_url = ?2, file_name = ?3, size = ?4, etag = ?5, \
         last_modified = ?6, ranges = ?7, piece_size = ?8, bitmap = ?9, bytes_done = 0, \
         updated_at = ?10 WHERE id = ?1",
        params![
            id,
            m.final_url,
            m.file_name,
            m.size.map(|s| s as i64),
            m.etag,
            m.last_modified,
            m.ranges,
            m.piece_size as i64,
            bitmap,
            now()
        ],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(id));
    }
    Ok(())
}

fn row_to_job(r: &Row) -> rusqlite::Result<Result<Job>> {
    let id: i64 = r.get(0)?;
    let state_name: String = r.get(12)?;
    let error: Option<String> = r.get(13)?;
    let settings_json: String = r.get(14)?;
    let state = JobState::from_db(&state_name, error).unwrap_or(JobState::Failed {
        error: format!("unknown stored state {state_name:?}"),
    });
    let settings = match serde_json::from_str(&settings_json) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Err(StoreError::Settings {
                id,
                msg: e.to_string(),
            }))
        }
    };
    Ok(Ok(Job {
        id,
        url: r.get(1)?,
        final_url: r.get(2)?,
        dest_dir: PathBuf::from(r.get::<_, String>(3)?),
        file_name: r.get(4)?,
        name_fixed: r.get(5)?,
        size: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        etag: r.get(7)?,
        last_modified: r.get(8)?,
        ranges: r.get(9)?,
        piece_size: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
        bitmap: r.get::<_, Option<Vec<u8>>>(11)?.unwrap_or_default(),
        state,
        settings,
        bytes_done: r.get::<_, i64>(15)? as u64,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
        speed: r.get::<_, Option<i64>>(18)?.map(|v| v as u64),
    }))
}

#[cfg(test)]
mod tests;

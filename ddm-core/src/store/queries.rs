//! The job queries. Every state change is one conditional statement (`UPDATE … WHERE state
//! IN (…) RETURNING …`) or runs inside one `BEGIN IMMEDIATE` transaction ([`StoreTx`]), so
//! two processes never act on the same stale read. A row becomes a job in `row.rs` (columns
//! by name, placed at compile time).

use super::row::{encode_ranges, row_to_job, JOB_COLUMNS, SHOWN_COLUMNS};
use super::{classify, exec_cached, row_cached, StoreError};
use super::{now, Job, JobSettings, JobState, NewJob, RemoteMeta, Result, StateKind, Store};
use crate::storage::FileId;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `?, ?, ?` for a list of `n` parameters.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn names(states: &[StateKind]) -> Vec<&'static str> {
    states.iter().map(|s| s.name()).collect()
}

fn dir_bytes(dir: &Path) -> &[u8] {
    dir.as_os_str().as_bytes()
}

impl Store {
    /// Queue new jobs, all or none (one transaction); returns their ids in order.
    pub fn add_many(&mut self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let tx = self.begin()?;
        let ids = jobs.iter().map(|j| tx.add(j)).collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(ids)
    }

    /// Queue one job; returns its id.
    pub fn add(&mut self, job: &NewJob) -> Result<i64> {
        Ok(self.add_many(std::slice::from_ref(job))?[0])
    }

    pub fn get(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        row_cached(&self.conn, &sql, [id], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound(id))?
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], row_to_job).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| self.err(e))??);
        }
        Ok(out)
    }

    /// Jobs to show (`status`, `top`), oldest first: those whose shown state (a job its runner
    /// holds waiting for a fresh link shows `waiting`) is one of `states`, or all. Without
    /// what only a run needs (see `row::SHOWN_COLUMNS`): validators, piece size, bitmap,
    /// partial ranges, file identities and the settings but the job's connection count are
    /// left empty.
    pub fn list_shown(&self, states: Option<&[StateKind]>) -> Result<Vec<Job>> {
        let mut out = Vec::new();
        self.each_shown(states, |j| {
            out.push(j);
            Ok::<(), StoreError>(())
        })?;
        Ok(out)
    }

    /// [`Store::list_shown`], one job at a time as it is read (`status` of 100,000 jobs
    /// writes each row as it comes, holding none).
    pub fn each_shown<E: From<StoreError>>(
        &self,
        states: Option<&[StateKind]>,
        mut f: impl FnMut(Job) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut stored: Vec<&str> = states.map(names).unwrap_or_default();
        if states.is_some_and(|ks| ks.contains(&StateKind::Waiting)) {
            stored.push(StateKind::Running.name());
        }
        let filter = match states {
            None => String::new(),
            Some(_) if stored.is_empty() => "WHERE 0".to_string(),
            Some(_) => format!("WHERE state IN ({})", placeholders(stored.len())),
        };
        let sql = format!("SELECT {SHOWN_COLUMNS} FROM jobs {filter} ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params_from_iter(stored))
            .map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let job = row_to_job(row).map_err(|e| self.err(e))??;
            if states.is_none_or(|ks| ks.contains(&job.shown())) {
                f(job)?;
            }
        }
        Ok(())
    }

    /// The state of a job, or None if it was removed (cheap; the runner polls it).
    pub fn state(&self, id: i64) -> Result<Option<JobState>> {
        row_cached(
            &self.conn,
            "SELECT state, error, error_kind, waiting FROM jobs WHERE id = ?1",
            [id],
            |r| {
                Ok(JobState::from_db(
                    &r.get::<_, String>("state")?,
                    r.get("error")?,
                    r.get("error_kind")?,
                    r.get("waiting")?,
                ))
            },
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Atomically move the oldest queued job to `running` and return it (one statement).
    pub fn claim_next(&mut self) -> Result<Option<Job>> {
        self.claim_next_after(None)
    }

    /// Claim one specific job (`ddm get` continuing it), whatever its state but `done`.
    /// Returns the job as claimed; a done job is returned unchanged.
    pub fn claim(&mut self, id: i64) -> Result<Job> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', error = NULL, error_kind = NULL, waiting = NULL, \
             held = NULL, updated_at = ?2 WHERE id = ?1 AND state != 'done' RETURNING {JOB_COLUMNS}"
        );
        match self
            .conn
            .query_row(&sql, params![id, now()], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => job,
            None => self.get(id),
        }
    }

    /// Jobs a dead runner left `running` go back to the queue (one it held waiting for a
    /// fresh link too: its next run asks the link again). Returns how many.
    pub fn recover_running(&mut self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE jobs SET state = 'queued', speed = NULL, conns = NULL, waiting = NULL, \
                 updated_at = ?1 WHERE state = 'running'",
                [now()],
            )
            .map_err(|e| self.err(e))
    }

    /// Pause queued, running or waiting jobs. Returns the ids that changed; every id must
    /// exist.
    pub fn pause(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        self.transition(
            ids,
            &[StateKind::Queued, StateKind::Running, StateKind::Waiting],
            StateKind::Paused,
        )
    }

    /// Put paused, failed or waiting jobs back in the queue (a waiting one asks its link
    /// again). Returns the ids that changed.
    pub fn resume(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        self.transition(
            ids,
            &[StateKind::Paused, StateKind::Failed, StateKind::Waiting],
            StateKind::Queued,
        )
    }

    fn transition(&mut self, ids: &[i64], from: &[StateKind], to: StateKind) -> Result<Vec<i64>> {
        let tx = self.begin()?;
        let mut changed = Vec::new();
        for &id in ids {
            let exists: Option<i64> = tx
                .tx
                .query_row("SELECT id FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(|e| tx.err(e))?;
            if exists.is_none() {
                return Err(StoreError::NotFound(id));
            }
            let sql = format!(
                "UPDATE jobs SET state = ?, error = NULL, error_kind = NULL, speed = NULL, conns = NULL, \
                 waiting = NULL, held = NULL, updated_at = ? WHERE id = ? AND state IN ({}) \
                 RETURNING id",
                placeholders(from.len())
            );
            let mut args: Vec<rusqlite::types::Value> =
                vec![to.name().to_string().into(), now().into(), id.into()];
            args.extend(names(from).into_iter().map(|s| s.to_string().into()));
            let hit: Option<i64> = tx
                .tx
                .query_row(&sql, params_from_iter(args), |r| r.get(0))
                .optional()
                .map_err(|e| tx.err(e))?;
            changed.extend(hit);
            // A job the schedule held, paused by its user: now it is the user's pause (the
            // runner does not resume it when the window ends).
            if hit.is_none() && to == StateKind::Paused {
                let theirs: Option<i64> = tx
                    .tx
                    .query_row(
                        "UPDATE jobs SET held = NULL WHERE id = ?1 AND state = 'paused' \
                         AND held IS NOT NULL RETURNING id",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| tx.err(e))?;
                changed.extend(theirs);
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Ids of all jobs whose state is one of `states`, oldest first.
    pub fn ids_in(&self, states: &[StateKind]) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT id FROM jobs WHERE state IN ({}) ORDER BY id",
            placeholders(states.len())
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params_from_iter(names(states)), |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Record how a run of a job ended (queued again, failed, waiting for a fresh link), only
    /// if it is still `running`: a pause or remove from another terminal wins. Returns whether
    /// it was recorded.
    pub fn end_run(&mut self, id: i64, state: &JobState) -> Result<bool> {
        let e = state.error();
        let _turn = self.write_turn();
        let n = exec_cached(
            &self.conn,
            "UPDATE jobs SET state = ?2, error = ?3, error_kind = ?4, speed = NULL, conns = NULL, \
                 waiting = ?6, updated_at = ?5 WHERE id = ?1 AND state = 'running'",
            params![
                id,
                state.name(),
                e.map(|e| e.message.as_str()),
                e.map(|e| e.kind.as_str()),
                now(),
                state.waiting()
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// The download is in place: the job is done, with its final name and size, in one
    /// transaction that also forgets the job's credentials (secret headers, `--user`,
    /// cookies, URL passwords): nothing needs them any more. A pause that arrived while the
    /// file was being finished does not undo it. Returns false when the job was removed
    /// meanwhile.
    pub fn complete(&mut self, id: i64, file_name: &str, size: u64) -> Result<bool> {
        use crate::model::redact_url;
        let turn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let row = tx
            .prepare_cached("SELECT url, final_url, settings FROM jobs WHERE id = ?1")
            .and_then(|mut st| {
                st.query_row([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()
            })
            .map_err(err)?;
        let Some((url, final_url, settings)) = row else {
            return Ok(false);
        };
        // Settings this ddm cannot read are dropped rather than kept with what they hold.
        let (settings, forgot) = match serde_json::from_str::<JobSettings>(&settings) {
            Ok(mut s) => {
                let forgot = s.forget_secrets();
                (
                    serde_json::to_string(&s).expect("settings serialize"),
                    forgot,
                )
            }
            Err(_) => ("{}".to_string(), true),
        };
        let (url_shown, final_shown) = (redact_url(&url), final_url.as_deref().map(redact_url));
        let forgot = forgot || url_shown != url || final_shown != final_url;
        exec_cached(
            &tx,
            "UPDATE jobs SET state = 'done', error = NULL, error_kind = NULL, \
             file_name = ?2, size = ?3, bytes_done = ?3, speed = NULL, conns = NULL, \
             updated_at = ?4, url = ?5, final_url = ?6, settings = ?7 WHERE id = ?1",
            params![
                id,
                file_name,
                size as i64,
                now(),
                url_shown,
                final_shown,
                settings
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        if forgot {
            self.forget_freed();
        }
        drop(turn);
        Ok(true)
    }

    /// Forget a job; returns what it was (one statement, so only one caller gets it). Its
    /// row is zeroed in the file (`secure_delete`) and the log that held it checkpointed.
    pub fn remove(&mut self, id: i64) -> Result<Job> {
        let sql = format!("DELETE FROM jobs WHERE id = ?1 RETURNING {JOB_COLUMNS}");
        let turn = self.write_turn();
        // Jobs waiting for this one (`--after`) have what they waited for when it is done:
        // they forget it first, so its going does not fail them.
        exec_cached(
            &self.conn,
            "UPDATE jobs SET after_job = NULL WHERE after_job = ?1 \
             AND EXISTS (SELECT 1 FROM jobs AS d WHERE d.id = ?1 AND d.state = 'done')",
            [id],
        )
        .map_err(|e| self.err(e))?;
        let job = self
            .conn
            .query_row(&sql, [id], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound(id))??;
        self.forget_freed();
        drop(turn);
        Ok(job)
    }

    /// Where and how a continued job's first request was answered (the final URL after
    /// redirects, and the protocol).
    pub fn set_answered(&mut self, id: i64, final_url: &str, protocol: Option<&str>) -> Result<()> {
        exec_cached(
            &self.conn,
            "UPDATE jobs SET final_url = ?2, protocol = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, final_url, protocol, now()],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Update only the final URL (a re-resolved redirect to the same file).
    pub fn set_final_url(&mut self, id: i64, url: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET final_url = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, url, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Durable progress: the bitmap (already backed by fdatasync'ed data) and its byte count.
    /// `speed` (bytes/s) and `conns` (open connections) are shown by `status` and `top`
    /// while the job runs.
    /// `partial`: ranges written and synced that cover no whole piece (see migration 0009);
    /// `bytes_done` counts them too.
    #[allow(clippy::too_many_arguments)]
    pub fn checkpoint(
        &mut self,
        id: i64,
        bitmap: &[u8],
        partial: &[std::ops::Range<u64>],
        bytes_done: u64,
        speed: Option<u64>,
        conns: Option<u32>,
    ) -> Result<()> {
        let _turn = self.write_turn();
        let partial = (!partial.is_empty()).then(|| encode_ranges(partial));
        exec_cached(
            &self.conn,
            "UPDATE jobs SET bitmap = ?2, bytes_done = ?3, speed = ?5, conns = ?6, \
                 partial = ?7, updated_at = ?4 WHERE id = ?1",
            params![
                id,
                bitmap,
                bytes_done as i64,
                now(),
                speed.map(|s| s as i64),
                conns.map(i64::from),
                partial
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record the identity of the destination directory of a job recorded before directory
    /// identities were kept.
    pub fn adopt_dir(&mut self, id: i64, dir: FileId) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET dir_dev = ?2, dir_ino = ?3, dir_born = ?4 \
                 WHERE id = ?1 AND dir_dev IS NULL",
                params![id, dir.dev as i64, dir.ino as i64, dir.born],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record the identity of a `.part` file a job recorded before identities were kept.
    pub fn adopt_part(&mut self, id: i64, part: FileId) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET part_dev = ?2, part_ino = ?3, part_born = ?4 \
                 WHERE id = ?1 AND part_dev IS NULL",
                params![id, part.dev as i64, part.ino as i64, part.born],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Start an IMMEDIATE transaction: it holds the write lock from its first statement.
    pub fn begin(&mut self) -> Result<StoreTx<'_>> {
        let path = self.path.clone();
        let turn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        Ok(StoreTx {
            tx,
            path,
            _turn: turn,
        })
    }
}

/// One `BEGIN IMMEDIATE` transaction: reads inside it see what it will write over; nothing
/// is kept unless [`StoreTx::commit`] succeeds.
pub struct StoreTx<'a> {
    pub(super) tx: Transaction<'a>,
    path: PathBuf,
    /// This process's write turn, held until the transaction ends (dropped after `tx`).
    _turn: std::sync::MutexGuard<'a, ()>,
}

impl std::fmt::Debug for StoreTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTx").finish_non_exhaustive()
    }
}

impl StoreTx<'_> {
    pub(super) fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    pub fn get(&self, id: i64) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        self.tx
            .query_row(&sql, [id], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound(id))?
    }

    /// Queue a new job; returns its id. A job it must wait for (`after`) must exist.
    pub fn add(&self, job: &NewJob) -> Result<i64> {
        let settings = serde_json::to_string(&job.settings).expect("settings serialize");
        if let Some(dep) = job.queue.after {
            self.get(dep)?;
        }
        let q = &job.queue;
        self.tx
            .prepare_cached(
                "INSERT INTO jobs (url, dest_dir, file_name, name_fixed, state, settings, \
                 created_at, updated_at, priority, not_before, after_job, rule, base_dir) \
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    job.url,
                    dir_bytes(&job.dest_dir),
                    job.file_name,
                    job.file_name.is_some(),
                    settings,
                    now(),
                    q.priority,
                    q.not_before,
                    q.after,
                    q.rule.as_ref().map(|r| r.to_column()),
                    q.base_dir.as_deref().map(dir_bytes)
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The newest unfinished job for `url` saving into `dir` (under `name`, if given).
    pub fn find_unfinished(
        &self,
        url: &str,
        dir: &Path,
        name: Option<&str>,
    ) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE url = ?1 AND (dest_dir = ?2 OR base_dir = ?2) \
             AND state != 'done' AND (?3 IS NULL OR file_name = ?3) ORDER BY id DESC LIMIT 1"
        );
        match self
            .tx
            .query_row(&sql, params![url, dir_bytes(dir), name], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
    }

    /// An unfinished job saving into `dir` under `name`, if any.
    pub fn find_named(&self, dir: &Path, name: &str) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE dest_dir = ?1 AND file_name = ?2 \
             AND state != 'done' ORDER BY id LIMIT 1"
        );
        match self
            .tx
            .query_row(&sql, params![dir_bytes(dir), name], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
    }

    /// The newest finished job for `url` that saved into `dir`: under `name`, if given, else
    /// under a name the user did not choose.
    pub fn find_done(&self, url: &str, dir: &Path, name: Option<&str>) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE url = ?1 AND (dest_dir = ?2 OR base_dir = ?2) \
             AND state = 'done' AND ((?3 IS NULL AND NOT name_fixed) OR file_name = ?3) \
             ORDER BY id DESC LIMIT 1"
        );
        match self
            .tx
            .query_row(&sql, params![url, dir_bytes(dir), name], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
    }

    pub fn set_settings(&self, id: i64, s: &JobSettings) -> Result<()> {
        let json = serde_json::to_string(s).expect("settings serialize");
        self.tx
            .execute(
                "UPDATE jobs SET settings = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, json, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// File names in `dir` held by unfinished jobs other than `except`.
    pub fn names_in_use(&self, dir: &Path, except: i64) -> Result<HashSet<String>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT file_name FROM jobs WHERE dest_dir = ?1 AND id != ?2 \
                 AND file_name IS NOT NULL AND state != 'done'",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![dir_bytes(dir), except], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Record what the probe learned, the reserved name, the identity of the `.part` file the
    /// job created and of the directory it is in, and reset progress (a fresh start of the
    /// transfer).
    pub fn save_remote(
        &self,
        id: i64,
        m: &RemoteMeta,
        bitmap: &[u8],
        part: Option<FileId>,
        dir: Option<FileId>,
    ) -> Result<()> {
        let n = exec_cached(
            &self.tx,
            "UPDATE jobs SET final_url = ?2, file_name = ?3, size = ?4, etag = ?5, \
                 last_modified = ?6, ranges = ?7, piece_size = ?8, bitmap = ?9, bytes_done = 0, \
                 partial = NULL, \
                 part_dev = ?10, part_ino = ?11, part_born = ?13, protocol = ?14, updated_at = ?12, \
                 dir_dev = ?15, dir_ino = ?16, dir_born = ?17 WHERE id = ?1",
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
                part.map(|p| p.dev as i64),
                part.map(|p| p.ino as i64),
                now(),
                part.and_then(|p| p.born),
                m.protocol,
                dir.map(|d| d.dev as i64),
                dir.map(|d| d.ino as i64),
                dir.and_then(|d| d.born)
            ],
        )
        .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }

    /// Point a job at another URL serving the same file (`set-url`): its progress stays; the
    /// validators become the new server's; a failed or waiting job is queued again; a running
    /// one (waiting or not) stays its runner's, which picks the new link up (`link_gen`).
    pub fn set_url(
        &self,
        id: i64,
        url: &str,
        final_url: Option<&str>,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<()> {
        let n = self
            .tx
            .execute(
                "UPDATE jobs SET url = ?2, final_url = ?3, etag = ?4, last_modified = ?5, \
                 error = NULL, error_kind = NULL, link_gen = link_gen + 1, \
                 waiting = CASE WHEN state = 'running' THEN waiting ELSE NULL END, \
                 state = CASE WHEN state IN ('failed', 'waiting') THEN 'queued' ELSE state END, \
                 updated_at = ?6 WHERE id = ?1",
                params![id, url, final_url, etag, last_modified, now()],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }

    /// Forget all progress, remote metadata and the created file (`resume --restart`).
    pub fn reset_progress(&self, id: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE jobs SET final_url = NULL, size = NULL, etag = NULL, last_modified = NULL, \
                 ranges = NULL, piece_size = NULL, bitmap = NULL, bytes_done = 0, partial = NULL, \
                 part_dev = NULL, part_ino = NULL, part_born = NULL, \
                 dir_dev = NULL, dir_ino = NULL, dir_born = NULL, \
                 file_name = CASE WHEN name_fixed THEN file_name ELSE NULL END, updated_at = ?2 \
                 WHERE id = ?1",
                params![id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record the rule that routed a job at its first answer: the rule, where it saves now
    /// (`dest_dir`, and the directory it was added for when that differs), its settings and
    /// priority as the rule left them.
    pub fn set_route(
        &self,
        id: i64,
        rule: &crate::rules::Applied,
        dest_dir: &Path,
        base_dir: Option<&Path>,
        settings: &JobSettings,
        priority: i64,
    ) -> Result<()> {
        let json = serde_json::to_string(settings).expect("settings serialize");
        self.tx
            .execute(
                "UPDATE jobs SET rule = ?2, dest_dir = ?3, base_dir = COALESCE(base_dir, ?4), \
                 settings = ?5, priority = ?6, updated_at = ?7 WHERE id = ?1",
                params![
                    id,
                    rule.to_column(),
                    dir_bytes(dest_dir),
                    base_dir.map(dir_bytes),
                    json,
                    priority,
                    now()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.tx.commit().map_err(|e| classify(&path, e))
    }
}

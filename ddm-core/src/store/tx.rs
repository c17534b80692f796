//! One `BEGIN IMMEDIATE` transaction ([`StoreTx`]) and what the jobs facade (`crate::jobs`)
//! does inside it: add a job after checking names and files, find the job a URL or a name
//! belongs to, record what the first answer said, a fresh link, a routing rule's move. Reads
//! inside it see what it will write over; nothing is kept unless it commits.

use super::queries::dir_bytes;
use super::row::{row_to_job, JOB_COLUMNS};
use super::{classify, exec_cached, StoreError};
use super::{now, Job, JobSettings, NewJob, RemoteMeta, Result};
use crate::storage::FileId;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One `BEGIN IMMEDIATE` transaction: reads inside it see what it will write over; nothing
/// is kept unless [`StoreTx::commit`] succeeds.
pub struct StoreTx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) path: PathBuf,
    /// This process's write turn, held until the transaction ends (dropped after `tx`).
    pub(super) _turn: std::sync::MutexGuard<'a, ()>,
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

    /// The job the query selects ([`JOB_COLUMNS`]), if any.
    fn one_job(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<Job>> {
        match self
            .tx
            .query_row(sql, params, row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
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
        self.one_job(&sql, params![url, dir_bytes(dir), name])
    }

    /// An unfinished job saving into `dir` under `name`, if any.
    pub fn find_named(&self, dir: &Path, name: &str) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE dest_dir = ?1 AND file_name = ?2 \
             AND state != 'done' ORDER BY id LIMIT 1"
        );
        self.one_job(&sql, params![dir_bytes(dir), name])
    }

    /// The newest finished job for `url` that saved into `dir`: under `name`, if given, else
    /// under a name the user did not choose.
    pub fn find_done(&self, url: &str, dir: &Path, name: Option<&str>) -> Result<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE url = ?1 AND (dest_dir = ?2 OR base_dir = ?2) \
             AND state = 'done' AND ((?3 IS NULL AND NOT name_fixed) OR file_name = ?3) \
             ORDER BY id DESC LIMIT 1"
        );
        self.one_job(&sql, params![url, dir_bytes(dir), name])
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

//! The job queries. Every state change is one conditional statement (`UPDATE … WHERE state
//! IN (…) RETURNING …`) or runs inside one `BEGIN IMMEDIATE` transaction ([`StoreTx`]), so
//! two processes never act on the same stale read. A row becomes a job in `row.rs` (columns
//! by name, placed at compile time); what the jobs facade does inside one transaction is in
//! `tx.rs`.

use super::row::{encode_ranges, row_to_job, JOB_COLUMNS, SHOWN_COLUMNS};
use super::{classify, exec_cached, row_cached, StoreError};
use super::{now, Job, JobSettings, JobState, NewJob, Result, StateKind, Store, StoreTx};
use crate::storage::FileId;
use rusqlite::{params, params_from_iter, OptionalExtension};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `?, ?, ?` for a list of `n` parameters.
pub(super) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub(super) fn names(states: &[StateKind]) -> Vec<&'static str> {
    states.iter().map(|s| s.name()).collect()
}

pub(super) fn dir_bytes(dir: &Path) -> &[u8] {
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
        self.claim_next_after(None, &[])
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

    /// A job queued again while its run goes on (paused and resumed before the run noticed
    /// the pause) is marked `running` again, by that run. Returns whether it was.
    pub fn take_back(&mut self, id: i64) -> Result<bool> {
        let _turn = self.write_turn();
        let n = exec_cached(
            &self.conn,
            "UPDATE jobs SET state = 'running', updated_at = ?2 WHERE id = ?1 AND state = 'queued'",
            params![id, now()],
        )
        .map_err(|e| self.err(e))?;
        Ok(n == 1)
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

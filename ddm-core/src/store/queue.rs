//! Claiming queued jobs, in one statement (`UPDATE … RETURNING`), so two runners never take
//! the same job: the highest priority first, then the queue position, then the oldest;
//! never a job whose start time (`--at`, `--in`) is still ahead, nor one whose dependency
//! (`--after`) is not done yet. A foreground runner (`ddm get`) works the jobs queued while
//! it holds the data directory, not the queue it found: it claims after a [`QueueMark`],
//! taken when it started.
//!
//! A job whose dependency failed, or was removed before it was done, can never start: the
//! runner fails it ([`Store::fail_orphans`], one statement) with an error naming the job it
//! waited for.

use super::row::{row_to_job, JOB_COLUMNS};
use super::{now, row_cached, Job, Result, Store};
use rusqlite::{params, OptionalExtension};

/// Where the queue stood at a moment: the last job id handed out, and the time (seconds).
/// Jobs queued after it were added since (a higher id: ids are never reused) or put back in
/// the queue since (`resume`, a `get` handing its job over: a later `updated_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMark {
    pub last_id: i64,
    pub at: i64,
}

impl Store {
    /// The queue as it stands now.
    pub fn queue_mark(&self) -> Result<QueueMark> {
        let last_id = row_cached(
            &self.conn,
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))?;
        Ok(QueueMark { last_id, at: now() })
    }

    /// Like [`Store::claim_next`], among the jobs queued after `mark` only (all without),
    /// never one of `busy`: jobs whose last run in this runner has not ended yet (paused and
    /// resumed at once, a job is queued again before its run has stopped; claimed then, two
    /// runs of one job would share its `.part`).
    pub fn claim_next_after(
        &mut self,
        mark: Option<QueueMark>,
        busy: &[i64],
    ) -> Result<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', error = NULL, error_kind = NULL, waiting = NULL, \
             updated_at = ?1 \
             WHERE id = (SELECT id FROM jobs AS j WHERE state = 'queued' \
               AND (?2 IS NULL OR id > ?2 OR updated_at > ?3) \
               AND NOT EXISTS (SELECT 1 FROM json_each(?4) WHERE value = j.id) \
               AND (not_before IS NULL OR not_before <= ?1) \
               AND (after_job IS NULL OR EXISTS (SELECT 1 FROM jobs AS d \
                    WHERE d.id = j.after_job AND d.state = 'done')) \
               ORDER BY priority DESC, position, id LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        );
        let _turn = self.write_turn();
        let (last, at) = (mark.map(|m| m.last_id), mark.map(|m| m.at));
        let busy = serde_json::to_string(busy).unwrap_or_else(|_| "[]".into());
        match row_cached(&self.conn, &sql, params![now(), last, at, busy], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
    }
}

/// Queued jobs whose dependency can no longer be done: it failed, or it is gone (removed
/// before it was done).
const ORPHANS: &str = "state = 'queued' AND after_job IS NOT NULL AND \
     (NOT EXISTS (SELECT 1 FROM jobs AS d WHERE d.id = jobs.after_job) \
      OR EXISTS (SELECT 1 FROM jobs AS d WHERE d.id = jobs.after_job AND d.state = 'failed'))";

impl Store {
    /// Fail the queued jobs whose dependency failed or was removed (a chain fails link by
    /// link, one call each); their ids. A job whose dependency is gone forgets it (resumed, it
    /// starts at once); one whose dependency failed keeps it (resumed, it waits for it again).
    /// Reads first, so a queue without such jobs costs no write.
    pub fn fail_orphans(&mut self) -> Result<Vec<i64>> {
        let any: bool = row_cached(
            &self.conn,
            &format!("SELECT EXISTS (SELECT 1 FROM jobs WHERE {ORPHANS})"),
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))?;
        if !any {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE jobs SET state = 'failed', error_kind = 'dependency', updated_at = ?1, \
             error = CASE WHEN EXISTS (SELECT 1 FROM jobs AS d WHERE d.id = jobs.after_job) \
               THEN 'job ' || after_job || ', which this job waits for (--after), failed' \
               ELSE 'job ' || after_job || ', which this job waited for (--after), was removed \
                     before it was done' END, \
             after_job = CASE WHEN EXISTS (SELECT 1 FROM jobs AS d WHERE d.id = jobs.after_job) \
               THEN after_job END \
             WHERE {ORPHANS} RETURNING id"
        );
        let _turn = self.write_turn();
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([now()], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// The queued job that waits for the earliest start time (`--at`, `--in`) still ahead,
    /// and that time: (id, epoch seconds).
    pub fn next_start(&self) -> Result<Option<(i64, i64)>> {
        row_cached(
            &self.conn,
            "SELECT id, not_before FROM jobs WHERE state = 'queued' AND not_before > ?1 \
             ORDER BY not_before, id LIMIT 1",
            [now()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobSettings, NewJob, StoreError};

    fn job(url: &str) -> NewJob {
        NewJob {
            url: url.into(),
            dest_dir: "/tmp".into(),
            file_name: None,
            settings: JobSettings::default(),
            queue: Default::default(),
        }
    }

    #[test]
    fn after_a_mark_only_jobs_queued_since_are_claimed() {
        let mut s = Store::open_in_memory().unwrap();
        let old = s.add(&job("http://h/old")).unwrap();
        let mark = s.queue_mark().unwrap();
        assert_eq!(mark.last_id, old);
        assert!(
            s.claim_next_after(Some(mark), &[]).unwrap().is_none(),
            "the backlog"
        );
        let new = s.add(&job("http://h/new")).unwrap();
        assert_eq!(
            s.claim_next_after(Some(mark), &[]).unwrap().unwrap().id,
            new
        );
        // Put back in the queue after the mark (a later second): claimed too.
        let later = QueueMark {
            at: mark.at - 10,
            ..mark
        };
        assert_eq!(
            s.claim_next_after(Some(later), &[]).unwrap().unwrap().id,
            old
        );
        let last = s.add(&job("http://h/last")).unwrap();
        assert_eq!(s.queue_mark().unwrap().last_id, last);
        assert_eq!(
            s.claim_next().unwrap().unwrap().id,
            last,
            "no mark: every job"
        );
    }

    #[test]
    fn a_start_time_and_a_dependency_hold_a_job_back() {
        let mut s = Store::open_in_memory().unwrap();
        let dep = s.add(&job("http://h/dep")).unwrap();
        let mut later = job("http://h/later");
        later.queue.not_before = Some(now() + 3600);
        later.queue.priority = 10;
        let later = s.add(&later).unwrap();
        let mut after = job("http://h/after");
        after.queue.after = Some(dep);
        after.queue.priority = 10;
        let after = s.add(&after).unwrap();
        assert_eq!(s.next_start().unwrap(), Some((later, now() + 3600)));
        // Neither the job for later nor the one waiting for `dep`, whatever their priority.
        assert_eq!(s.claim_next().unwrap().unwrap().id, dep);
        assert!(s.claim_next().unwrap().is_none());
        assert!(s.complete(dep, "dep", 1).unwrap());
        assert_eq!(s.claim_next().unwrap().unwrap().id, after);
        // The time comes.
        s.conn
            .execute(
                "UPDATE jobs SET not_before = ?1 WHERE id = ?2",
                [now() - 1, later],
            )
            .unwrap();
        assert_eq!(s.claim_next().unwrap().unwrap().id, later);
        // A dependency that must exist.
        let mut bad = job("http://h/bad");
        bad.queue.after = Some(999);
        assert!(matches!(s.add(&bad), Err(StoreError::NotFound(999))));
    }

    #[test]
    fn a_failed_or_removed_dependency_fails_the_jobs_waiting_for_it() {
        use crate::model::{ErrorKind, JobError};
        use crate::store::JobState;
        let mut s = Store::open_in_memory().unwrap();
        let a = s.add(&job("http://h/a")).unwrap();
        let mut b = job("http://h/b");
        b.queue.after = Some(a);
        let b = s.add(&b).unwrap();
        let mut c = job("http://h/c");
        c.queue.after = Some(b);
        let c = s.add(&c).unwrap();
        assert!(s.fail_orphans().unwrap().is_empty(), "nothing failed yet");
        assert_eq!(s.claim_next().unwrap().unwrap().id, a);
        s.end_run(
            a,
            &JobState::Failed(JobError::new(ErrorKind::NotFound, "HTTP 404")),
        )
        .unwrap();
        // The chain fails link by link, each naming the job it waited for.
        assert_eq!(s.fail_orphans().unwrap(), vec![b]);
        assert_eq!(s.fail_orphans().unwrap(), vec![c]);
        let e = s.get(c).unwrap().state.error().cloned().unwrap();
        assert_eq!(e.kind, ErrorKind::Dependency);
        assert!(e.message.contains(&format!("job {b}")), "{}", e.message);
        assert_eq!(
            s.get(c).unwrap().after,
            Some(b),
            "kept: resumed, it waits again"
        );
        // Removed before it was done: the dependent fails and forgets it.
        let d = s.add(&job("http://h/d")).unwrap();
        let mut e2 = job("http://h/e");
        e2.queue.after = Some(d);
        let e2 = s.add(&e2).unwrap();
        s.remove(d).unwrap();
        assert_eq!(s.fail_orphans().unwrap(), vec![e2]);
        let got = s.get(e2).unwrap();
        assert!(got.state.error().unwrap().message.contains("was removed"));
        assert_eq!(got.after, None);
        // A done dependency that is removed (cleaned) fails nobody.
        let f = s.add(&job("http://h/f")).unwrap();
        let mut g = job("http://h/g");
        g.queue.after = Some(f);
        let g = s.add(&g).unwrap();
        s.claim(f).unwrap();
        s.complete(f, "f", 1).unwrap();
        s.remove(f).unwrap();
        assert!(s.fail_orphans().unwrap().is_empty());
        assert_eq!(s.claim_next().unwrap().unwrap().id, g);
    }
}

//! Claiming queued jobs: the oldest first, in one statement (`UPDATE … RETURNING`), so two
//! runners never take the same job. A foreground runner (`ddm get`) works the jobs queued
//! while it holds the data directory, not the queue it found: it claims after a
//! [`QueueMark`], taken when it started.

use super::queries::{row_to_job, JOB_COLUMNS};
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

    /// Like [`Store::claim_next`], among the jobs queued after `mark` only (all without).
    pub fn claim_next_after(&mut self, mark: Option<QueueMark>) -> Result<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', error = NULL, error_kind = NULL, waiting = NULL, \
             updated_at = ?1 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' \
               AND (?2 IS NULL OR id > ?2 OR updated_at > ?3) ORDER BY position, id LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        );
        let _turn = self.write_turn();
        let (last, at) = (mark.map(|m| m.last_id), mark.map(|m| m.at));
        match row_cached(&self.conn, &sql, params![now(), last, at], row_to_job)
            .optional()
            .map_err(|e| self.err(e))?
        {
            Some(job) => Ok(Some(job?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobSettings, NewJob};

    fn job(url: &str) -> NewJob {
        NewJob {
            url: url.into(),
            dest_dir: "/tmp".into(),
            file_name: None,
            settings: JobSettings::default(),
        }
    }

    #[test]
    fn after_a_mark_only_jobs_queued_since_are_claimed() {
        let mut s = Store::open_in_memory().unwrap();
        let old = s.add(&job("http://h/old")).unwrap();
        let mark = s.queue_mark().unwrap();
        assert_eq!(mark.last_id, old);
        assert!(
            s.claim_next_after(Some(mark)).unwrap().is_none(),
            "the backlog"
        );
        let new = s.add(&job("http://h/new")).unwrap();
        assert_eq!(s.claim_next_after(Some(mark)).unwrap().unwrap().id, new);
        // Put back in the queue after the mark (a later second): claimed too.
        let later = QueueMark {
            at: mark.at - 10,
            ..mark
        };
        assert_eq!(s.claim_next_after(Some(later)).unwrap().unwrap().id, old);
        let last = s.add(&job("http://h/last")).unwrap();
        assert_eq!(s.queue_mark().unwrap().last_id, last);
        assert_eq!(
            s.claim_next().unwrap().unwrap().id,
            last,
            "no mark: every job"
        );
    }
}

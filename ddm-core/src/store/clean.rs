//! Forgetting finished jobs (`ddm clean`, config `keep_finished`): one `DELETE … RETURNING`
//! statement, so two processes cleaning at once never both count a job, and a job that
//! changes state meanwhile (`resume` of a failed one) is either forgotten before or kept.
//! Only rows go: files stay where they are. A finished job that an unfinished job still
//! waits for (`--after`) is kept, so its dependent neither fails ("removed before it was
//! done") nor starts early.

use super::{now, Result, StateKind, Store};

/// Which finished jobs to forget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forget {
    /// Finished ones (`done`).
    pub done: bool,
    /// Failed ones.
    pub failed: bool,
    /// Only those that finished (last changed) before this time (epoch seconds).
    pub before: Option<i64>,
    /// Keep the newest this many finished jobs (done and failed counted together).
    pub keep_newest: Option<u64>,
}

/// What was forgotten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgot {
    pub done: usize,
    pub failed: usize,
    /// Failed jobs forgotten with bytes downloaded (their `.part` files stay).
    pub partial: usize,
}

impl Forgot {
    pub fn total(&self) -> usize {
        self.done + self.failed
    }
}

impl Store {
    /// Forget the finished jobs `f` picks; what went.
    pub fn forget_finished(&mut self, f: &Forget) -> Result<Forgot> {
        let mut states = Vec::new();
        if f.done {
            states.push(StateKind::Done.name());
        }
        if f.failed {
            states.push(StateKind::Failed.name());
        }
        if states.is_empty() {
            return Ok(Forgot::default());
        }
        let list = states
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "DELETE FROM jobs WHERE state IN ({list}) \
             AND (?1 IS NULL OR updated_at < ?1) \
             AND id NOT IN (SELECT after_job FROM jobs WHERE after_job IS NOT NULL \
                            AND state NOT IN ('done', 'failed')) \
             AND (?2 IS NULL OR id NOT IN (SELECT id FROM jobs \
                  WHERE state IN ('done', 'failed') \
                  ORDER BY updated_at DESC, id DESC LIMIT ?2)) \
             RETURNING state, bytes_done"
        );
        let keep = f.keep_newest.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let turn = self.write_turn();
        let mut out = Forgot::default();
        {
            let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
            let mut rows = stmt
                .query(rusqlite::params![f.before, keep])
                .map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let state: String = r.get(0).map_err(|e| self.err(e))?;
                let bytes: i64 = r.get(1).map_err(|e| self.err(e))?;
                if state == StateKind::Done.name() {
                    out.done += 1;
                } else {
                    out.failed += 1;
                    out.partial += usize::from(bytes > 0);
                }
            }
        }
        if out.total() > 0 {
            self.forget_freed();
        }
        drop(turn);
        Ok(out)
    }

    /// Whether any finished job would be forgotten by `f` (a read: the runner's periodic
    /// check costs no write when there is nothing to do).
    pub fn any_to_forget(&self, f: &Forget) -> Result<bool> {
        // The same conditions as `forget_finished`, as a count of at most one row.
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM (SELECT id FROM jobs \
                 WHERE ((?3 AND state = 'done') OR (?4 AND state = 'failed')) \
                 AND (?1 IS NULL OR updated_at < ?1) \
                 AND id NOT IN (SELECT after_job FROM jobs WHERE after_job IS NOT NULL \
                                AND state NOT IN ('done', 'failed')) \
                 AND (?2 IS NULL OR id NOT IN (SELECT id FROM jobs \
                      WHERE state IN ('done', 'failed') \
                      ORDER BY updated_at DESC, id DESC LIMIT ?2)) LIMIT 1)",
                rusqlite::params![
                    f.before,
                    f.keep_newest.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                    f.done,
                    f.failed
                ],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

/// `now - secs`: the time before which a job finished `secs` ago or more.
pub fn ago(secs: u64) -> i64 {
    now().saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobSettings, NewJob, Queueing};

    fn add(s: &mut Store, after: Option<i64>) -> i64 {
        s.add(&NewJob {
            url: "http://h/f".into(),
            dest_dir: "/tmp".into(),
            file_name: None,
            settings: JobSettings::default(),
            queue: Queueing {
                after,
                ..Default::default()
            },
        })
        .unwrap()
    }

    fn set(s: &Store, id: i64, state: &str, at: i64) {
        s.conn
            .execute(
                "UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1",
                rusqlite::params![id, state, at],
            )
            .unwrap();
    }

    fn ids(s: &Store) -> Vec<i64> {
        s.list().unwrap().iter().map(|j| j.id).collect()
    }

    #[test]
    fn picks_by_state_age_and_count_and_keeps_what_a_queued_job_waits_for() {
        let mut s = Store::open_in_memory().unwrap();
        let a = add(&mut s, None);
        let b = add(&mut s, None);
        let c = add(&mut s, None);
        let d = add(&mut s, None);
        let e = add(&mut s, Some(a));
        set(&s, a, "done", 100);
        set(&s, b, "done", 200);
        set(&s, c, "failed", 300);
        set(&s, d, "done", 400);
        // Only failed ones.
        let f = Forget {
            failed: true,
            ..Forget::default()
        };
        assert!(s.any_to_forget(&f).unwrap());
        let got = s.forget_finished(&f).unwrap();
        assert_eq!((got.done, got.failed), (0, 1));
        assert_eq!(ids(&s), [a, b, d, e]);
        // Done ones finished before 300; `a` is kept: queued `e` waits for it.
        let f = Forget {
            done: true,
            failed: true,
            before: Some(300),
            keep_newest: None,
        };
        assert_eq!(s.forget_finished(&f).unwrap().done, 1);
        assert_eq!(ids(&s), [a, d, e]);
        assert!(!s.any_to_forget(&f).unwrap());
        // Once `e` is done, `a` can go; the newest one is kept.
        set(&s, e, "done", 500);
        let f = Forget {
            done: true,
            failed: true,
            before: None,
            keep_newest: Some(1),
        };
        assert_eq!(s.forget_finished(&f).unwrap().done, 2);
        assert_eq!(ids(&s), [e]);
    }
}

//! The queue's order: queued and paused jobs (and those waiting for a fresh link) in the order
//! the runner claims them (`position`, then id). A move renumbers the queue in one
//! `BEGIN IMMEDIATE` transaction, so two processes moving jobs at once never interleave.

use super::{Result, Store, StoreError};

/// Where a job moves in the queue (aria2's `changePosition`: `POS_SET`, `POS_CUR`, `POS_END`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To this place from the start (0 first; past the end: last).
    Set(i64),
    /// By this many places (negative: towards the start).
    Cur(i64),
    /// To this many places from the end (0: last; negative: further to the start).
    End(i64),
}

const QUEUE: &str = "SELECT id FROM jobs WHERE state IN ('queued','paused','waiting') \
                     ORDER BY position, id";

impl Store {
    /// The ids of the queue, in the order the runner claims them.
    pub fn queue_order(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(QUEUE).map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// Move job `id` within the queue; its new place (0 first). A job that is not in the
    /// queue (running, done, failed) cannot move.
    pub fn move_job(&mut self, id: i64, to: Move) -> Result<usize> {
        let tx = self.begin()?;
        let mut ids: Vec<i64> = {
            let mut stmt = tx.tx.prepare(QUEUE).map_err(|e| tx.err(e))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
                .map_err(|e| tx.err(e))?;
            rows
        };
        let Some(at) = ids.iter().position(|&j| j == id) else {
            tx.get(id)?; // NotFound when there is no such job
            return Err(StoreError::NotQueued(id));
        };
        ids.remove(at);
        let len = ids.len() as i64;
        let place = match to {
            Move::Set(n) => n,
            Move::Cur(n) => at as i64 + n,
            Move::End(n) => len + n,
        }
        .clamp(0, len) as usize;
        ids.insert(place, id);
        {
            let mut stmt = tx
                .tx
                .prepare("UPDATE jobs SET position = ?1 WHERE id = ?2")
                .map_err(|e| tx.err(e))?;
            for (i, j) in ids.iter().enumerate() {
                stmt.execute(rusqlite::params![i as i64 + 1, j])
                    .map_err(|e| tx.err(e))?;
            }
        }
        tx.commit()?;
        Ok(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobSettings, NewJob};

    fn add(s: &mut Store, n: usize) -> Vec<i64> {
        let jobs: Vec<NewJob> = (0..n)
            .map(|i| NewJob {
                url: format!("http://h/{i}"),
                dest_dir: "/tmp".into(),
                file_name: None,
                settings: JobSettings::default(),
            })
            .collect();
        s.add_many(&jobs).unwrap()
    }

    #[test]
    fn moves_set_the_claim_order() {
        let mut s = Store::open_in_memory().unwrap();
        let ids = add(&mut s, 4);
        assert_eq!(s.queue_order().unwrap(), ids);
        assert_eq!(s.move_job(ids[3], Move::Set(0)).unwrap(), 0);
        assert_eq!(
            s.queue_order().unwrap(),
            vec![ids[3], ids[0], ids[1], ids[2]]
        );
        assert_eq!(s.move_job(ids[3], Move::Cur(2)).unwrap(), 2);
        assert_eq!(s.move_job(ids[0], Move::End(0)).unwrap(), 3);
        assert_eq!(
            s.move_job(ids[2], Move::Set(99)).unwrap(),
            3,
            "past the end: last"
        );
        assert_eq!(
            s.move_job(ids[2], Move::Cur(-99)).unwrap(),
            0,
            "before the start: first"
        );
        let order = s.queue_order().unwrap();
        assert_eq!(order, vec![ids[2], ids[1], ids[3], ids[0]]);
        // The runner claims in that order; a new job goes last.
        let more = add(&mut s, 1);
        assert_eq!(s.claim_next().unwrap().unwrap().id, ids[2]);
        assert_eq!(s.claim_next().unwrap().unwrap().id, ids[1]);
        assert_eq!(*s.queue_order().unwrap().last().unwrap(), more[0]);
        // A running job is not in the queue.
        assert!(matches!(
            s.move_job(ids[2], Move::Set(0)),
            Err(StoreError::NotQueued(j)) if j == ids[2]
        ));
        assert!(matches!(
            s.move_job(999, Move::Set(0)),
            Err(StoreError::NotFound(999))
        ));
    }
}

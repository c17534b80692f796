//! The queue's order: queued and paused jobs (and those waiting for a fresh link) in the order
//! the runner claims them: priority (highest first), then `position`, then id. A move
//! renumbers the queue in one `BEGIN IMMEDIATE` transaction, so two processes moving jobs at
//! once never interleave.
//!
//! A move puts the job exactly where it was asked: when it lands among jobs of another
//! priority, it takes the nearest priority that keeps it there (a low job moved first becomes
//! as high as the first job; a high job moved last as low as the last), so the order shown,
//! the order claimed and aria2's `changePosition` are one order.

use super::{Result, Store, StoreError};

/// Where a job moves in the queue (aria2's `changePosition`: `POS_SET`, `POS_CUR`, `POS_END`;
/// `ddm move --before/--after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To this place from the start (0 first; past the end: last).
    Set(i64),
    /// By this many places (negative: towards the start).
    Cur(i64),
    /// To this many places from the end (0: last; negative: further to the start).
    End(i64),
    /// Just before this job (which must be in the queue).
    Before(i64),
    /// Just after this job (which must be in the queue).
    After(i64),
}

/// `high`, `normal`, `low` and the bounds of a number given instead.
pub const PRIORITY_HIGH: i64 = 10;
pub const PRIORITY_NORMAL: i64 = 0;
pub const PRIORITY_LOW: i64 = -10;
pub const PRIORITY_MAX: i64 = 100;

/// `high`, `normal`, `low`, or a number from -100 to 100 (higher goes first).
pub fn parse_priority(s: &str) -> std::result::Result<i64, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "high" => Ok(PRIORITY_HIGH),
        "normal" => Ok(PRIORITY_NORMAL),
        "low" => Ok(PRIORITY_LOW),
        t => match t.parse::<i64>() {
            Ok(n) if (-PRIORITY_MAX..=PRIORITY_MAX).contains(&n) => Ok(n),
            _ => Err(format!(
                "{:?} is not a priority; give high, normal, low or a number from -{PRIORITY_MAX} \
                 to {PRIORITY_MAX} (higher starts first)",
                s.trim()
            )),
        },
    }
}

/// A priority as `status` shows it: its name where it has one, else the number.
pub fn priority_name(p: i64) -> String {
    match p {
        PRIORITY_HIGH => "high".into(),
        PRIORITY_NORMAL => "normal".into(),
        PRIORITY_LOW => "low".into(),
        n => n.to_string(),
    }
}

const QUEUE: &str = "SELECT id, priority, position FROM jobs \
                     WHERE state IN ('queued','paused','waiting') \
                     ORDER BY priority DESC, position, id";

/// One job of the queue: id, priority, position.
type Place = (i64, i64, Option<i64>);

fn place(r: &rusqlite::Row<'_>) -> rusqlite::Result<Place> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

impl Store {
    /// The ids of the queue, in the order the runner claims them. (Sorted here: SQLite's
    /// own sort of a queue of 100,000 jobs took a tenth of `status`'s time.)
    pub fn queue_order(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, priority, position FROM jobs \
                 WHERE state IN ('queued','paused','waiting')",
            )
            .map_err(|e| self.err(e))?;
        let mut q = stmt
            .query_map([], place)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Place>>>())
            .map_err(|e| self.err(e))?;
        // As SQLite orders them: NULL (never stored since 0008) first.
        q.sort_unstable_by_key(|&(id, prio, pos)| (std::cmp::Reverse(prio), pos, id));
        Ok(q.into_iter().map(|p| p.0).collect())
    }

    /// Move job `id` within the queue; its new place (0 first). A job that is not in the
    /// queue (running, done, failed) cannot move, nor next to such a job.
    pub fn move_job(&mut self, id: i64, to: Move) -> Result<usize> {
        let tx = self.begin()?;
        let mut q: Vec<Place> = {
            let mut stmt = tx.tx.prepare_cached(QUEUE).map_err(|e| tx.err(e))?;
            let rows = stmt
                .query_map([], place)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Place>>>())
                .map_err(|e| tx.err(e))?;
            rows
        };
        let not_queued = |j: i64| match tx.get(j) {
            Ok(_) => StoreError::NotQueued(j),
            Err(e) => e,
        };
        let Some(at) = q.iter().position(|p| p.0 == id) else {
            return Err(not_queued(id));
        };
        let mut me = q.remove(at);
        let len = q.len() as i64;
        let beside = |other: i64, after: bool| -> Result<i64> {
            if other == id {
                return Ok(at as i64);
            }
            match q.iter().position(|p| p.0 == other) {
                Some(i) => Ok(i as i64 + i64::from(after)),
                None => Err(not_queued(other)),
            }
        };
        let place = match to {
            Move::Set(n) => n,
            Move::Cur(n) => at as i64 + n,
            Move::End(n) => len + n,
            Move::Before(o) => beside(o, false)?,
            Move::After(o) => beside(o, true)?,
        }
        .clamp(0, len) as usize;
        // The nearest priority that keeps the job at its new place.
        let upper = place.checked_sub(1).map_or(i64::MAX, |i| q[i].1);
        let lower = q.get(place).map_or(i64::MIN, |p| p.1);
        me.1 = me.1.clamp(lower, upper);
        q.insert(place, me);
        {
            let mut stmt = tx
                .tx
                .prepare_cached("UPDATE jobs SET position = ?1, priority = ?2 WHERE id = ?3")
                .map_err(|e| tx.err(e))?;
            for (i, (j, prio, pos)) in q.iter().enumerate() {
                let want = i as i64 + 1;
                if *pos != Some(want) || *j == id {
                    stmt.execute(rusqlite::params![want, prio, j])
                        .map_err(|e| tx.err(e))?;
                }
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
                queue: Default::default(),
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

    fn add_with(s: &mut Store, prios: &[i64]) -> Vec<i64> {
        let jobs: Vec<NewJob> = prios
            .iter()
            .enumerate()
            .map(|(i, p)| NewJob {
                url: format!("http://h/p{i}"),
                dest_dir: "/tmp".into(),
                file_name: None,
                settings: JobSettings::default(),
                queue: crate::store::Queueing {
                    priority: *p,
                    ..Default::default()
                },
            })
            .collect();
        s.add_many(&jobs).unwrap()
    }

    #[test]
    fn priority_goes_before_position_and_a_move_keeps_the_place_asked() {
        let mut s = Store::open_in_memory().unwrap();
        let ids = add_with(&mut s, &[PRIORITY_LOW, 0, PRIORITY_HIGH, 0, PRIORITY_HIGH]);
        let (low, n1, h1, n2, h2) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
        assert_eq!(s.queue_order().unwrap(), vec![h1, h2, n1, n2, low]);
        // Among equal priorities: position, then id.
        assert_eq!(s.move_job(n2, Move::Before(n1)).unwrap(), 2);
        assert_eq!(s.queue_order().unwrap(), vec![h1, h2, n2, n1, low]);
        assert_eq!(s.get(n2).unwrap().priority, 0, "stayed among its own");
        // A low job moved first takes the first job's priority; it is claimed first.
        assert_eq!(s.move_job(low, Move::Set(0)).unwrap(), 0);
        assert_eq!(s.get(low).unwrap().priority, PRIORITY_HIGH);
        assert_eq!(s.queue_order().unwrap(), vec![low, h1, h2, n2, n1]);
        // A high job moved after a normal one becomes normal.
        assert_eq!(s.move_job(h1, Move::After(n1)).unwrap(), 4);
        assert_eq!(s.get(h1).unwrap().priority, 0);
        assert_eq!(s.queue_order().unwrap(), vec![low, h2, n2, n1, h1]);
        // Between a high and a normal job it keeps its own priority when that fits.
        assert_eq!(s.move_job(h1, Move::After(h2)).unwrap(), 2);
        assert_eq!(s.get(h1).unwrap().priority, 0);
        assert_eq!(s.queue_order().unwrap(), vec![low, h2, h1, n2, n1]);
        // The runner claims in exactly that order.
        let claimed: Vec<i64> =
            std::iter::from_fn(|| s.claim_next().unwrap().map(|j| j.id)).collect();
        assert_eq!(claimed, vec![low, h2, h1, n2, n1]);
        // Beside a job that is not in the queue: refused, naming it.
        let more = add_with(&mut s, &[0]);
        assert!(matches!(
            s.move_job(more[0], Move::Before(low)),
            Err(StoreError::NotQueued(j)) if j == low
        ));
        assert!(matches!(
            s.move_job(more[0], Move::After(999)),
            Err(StoreError::NotFound(999))
        ));
    }

    #[test]
    fn priorities_parse_by_name_or_number() {
        assert_eq!(parse_priority("high"), Ok(PRIORITY_HIGH));
        assert_eq!(parse_priority(" Low "), Ok(PRIORITY_LOW));
        assert_eq!(parse_priority("normal"), Ok(0));
        assert_eq!(parse_priority("-5"), Ok(-5));
        assert_eq!(parse_priority("100"), Ok(100));
        for bad in ["urgent", "101", "", "1.5"] {
            let e = parse_priority(bad).unwrap_err();
            assert!(e.contains("high, normal, low"), "{e}");
        }
        assert_eq!(priority_name(10), "high");
        assert_eq!(priority_name(3), "3");
    }
}

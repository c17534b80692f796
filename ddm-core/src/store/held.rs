//! Jobs the schedule holds: a window with `queue = "hold"` pauses the running jobs (progress
//! kept, as `ddm pause` does) and marks them `held` with the window, so the runner can tell
//! them from a user's pause and put exactly them back in the queue when the window ends.
//! Each change is one conditional statement.

use super::{now, Result, Store};

impl Store {
    /// Pause every running job for the schedule (`why`: the window); their ids.
    pub fn hold_running(&mut self, why: &str) -> Result<Vec<i64>> {
        let _turn = self.write_turn();
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE jobs SET state = 'paused', held = ?1, speed = NULL, conns = NULL, \
                 waiting = NULL, updated_at = ?2 WHERE state = 'running' RETURNING id",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map(rusqlite::params![why, now()], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }

    /// Put the jobs the schedule held back in the queue (a user's pause stays); their ids.
    pub fn release_held(&mut self) -> Result<Vec<i64>> {
        let _turn = self.write_turn();
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE jobs SET state = 'queued', held = NULL, updated_at = ?1 \
                 WHERE state = 'paused' AND held IS NOT NULL RETURNING id",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([now()], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
            .map_err(|e| self.err(e))?;
        Ok(ids)
    }
}

impl Store {
    /// Whether any job is queued or held by the schedule (`run` waits for a hold to end
    /// when there is).
    pub fn any_held_or_queued(&self) -> Result<bool> {
        super::row_cached(
            &self.conn,
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' \
             OR (state = 'paused' AND held IS NOT NULL))",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{JobSettings, NewJob, StateKind, Store};

    #[test]
    fn a_hold_is_released_but_a_users_pause_stays() {
        let mut s = Store::open_in_memory().unwrap();
        let add = |s: &mut Store| {
            s.add(&NewJob {
                url: "http://h/f".into(),
                dest_dir: "/tmp".into(),
                file_name: None,
                settings: JobSettings::default(),
                queue: Default::default(),
            })
            .unwrap()
        };
        let (a, b, c) = (add(&mut s), add(&mut s), add(&mut s));
        s.claim(a).unwrap();
        s.claim(b).unwrap();
        assert_eq!(s.hold_running("window 1").unwrap(), [a, b]);
        let ja = s.get(a).unwrap();
        assert_eq!(ja.state.kind(), StateKind::Paused);
        assert_eq!(ja.held.as_deref(), Some("window 1"));
        // The user pauses b too: now it is theirs.
        assert_eq!(s.pause(&[b]).unwrap(), [b]);
        assert_eq!(s.get(b).unwrap().held, None);
        assert_eq!(s.release_held().unwrap(), [a]);
        assert_eq!(s.get(a).unwrap().state.kind(), StateKind::Queued);
        assert_eq!(s.get(b).unwrap().state.kind(), StateKind::Paused);
        assert_eq!(s.get(c).unwrap().state.kind(), StateKind::Queued);
        // resume of a held job makes it an ordinary queued one.
        s.claim(c).unwrap();
        s.hold_running("w").unwrap();
        assert_eq!(s.resume(&[c]).unwrap(), [c]);
        assert_eq!(s.get(c).unwrap().held, None);
    }
}

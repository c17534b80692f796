//! Bytes a task holds in memory instead of writing them: a race of a slow segment's tail
//! (written only if it wins, and only past where the slow one stood) and a sample of an
//! unproven mirror (never written, handed back whole).

use super::Sink;
use crate::retry::Failure;
use crate::transfer::Keep;

impl Sink {
    /// This task keeps its bytes in memory (a race until it wins, a sample).
    pub(super) fn holding(&self) -> bool {
        self.task
            .as_ref()
            .is_some_and(|t| !matches!(t.keep, Keep::Write))
    }

    /// This task races a slow segment.
    pub(super) fn racing(&self) -> bool {
        self.task
            .as_ref()
            .is_some_and(|t| matches!(t.keep, Keep::Race(_)))
    }

    /// The raced segment has everything it needs: this race is lost.
    pub(super) fn race_lost(&self) -> bool {
        self.task
            .as_ref()
            .and_then(|t| match &t.keep {
                Keep::Race(r) => Some(r),
                _ => None,
            })
            .is_some_and(|r| {
                let s = r.span();
                s.claimed >= s.end
            })
    }

    /// The race's own segment arrived whole: stop the raced segment where it stands and
    /// write the rest from memory. False when the raced one got there first.
    pub(super) fn win_race(&mut self) -> Result<bool, Failure> {
        let task = self.task.as_ref().expect("task set");
        let (Keep::Race(raced), mine) = (task.keep.clone(), task.seg.clone()) else {
            return Ok(false);
        };
        let from = {
            let mut s = raced.lock_span();
            if s.claimed >= s.end {
                return Ok(false);
            }
            s.end = s.claimed;
            s.claimed
        };
        let start = mine.origin;
        let skip = from.saturating_sub(start) as usize;
        if skip > self.buf.len() {
            return Ok(false);
        }
        let file = task
            .io
            .file()
            .ok_or_else(|| Failure::Other("internal error: no file to write into".into()))?;
        file.write_at(&self.buf[skip..], from)
            .map_err(Failure::Storage)?;
        let n = (self.buf.len() - skip) as u64;
        self.written = n;
        self.won = Some(from..from + n);
        self.buf.clear();
        Ok(true)
    }
}

//! GIDs: how aria2's front-ends name a job. A job's GID is its id as 16 lowercase hex digits
//! (`0000000000000007`), or the GID a client chose with `addUri`'s `gid` option, kept for the
//! life of this front (an alias: the job's id stays what `ddm status` shows). A GID given by a
//! client may be a unique prefix of a job's GID, as aria2 allows.
//!
//! Invariants: one GID names at most one job; a chosen GID never collides with a job id's GID
//! (values below [`MIN_CHOSEN`] are refused, ddm's ids never get that large).

use ddm_core::service::{JobView, Jobs};
use std::collections::HashMap;
use std::sync::Mutex;

/// The smallest GID a client may choose: anything smaller could be a job id's own GID.
pub(crate) const MIN_CHOSEN: u64 = 1 << 48;

/// A job id's own GID.
pub(crate) fn of_id(id: i64) -> String {
    format!("{:016x}", id as u64)
}

/// The GIDs clients chose (`addUri` with `gid`), both ways.
#[derive(Debug, Default)]
pub(crate) struct Gids {
    inner: Mutex<Aliases>,
}

#[derive(Debug, Default)]
struct Aliases {
    by_id: HashMap<i64, u64>,
    by_gid: HashMap<u64, i64>,
    /// Counts changes: an answer written before a change may name a job by a GID it lost.
    generation: u64,
}

impl Gids {
    /// The GID a job is shown with.
    pub(crate) fn shown(&self, id: i64) -> String {
        match self.lock().by_id.get(&id) {
            Some(g) => format!("{g:016x}"),
            None => of_id(id),
        }
    }

    /// Run `add` (which creates a job and returns its id) with `chosen` reserved for it: the
    /// GID is checked free before and recorded after, under one lock, so two calls never get
    /// the same one.
    pub(crate) fn add_with<E>(
        &self,
        chosen: Option<u64>,
        add: impl FnOnce() -> Result<i64, E>,
        taken: impl FnOnce(u64) -> E,
    ) -> Result<i64, E> {
        let Some(g) = chosen else { return add() };
        let mut a = self.lock();
        if a.by_gid.contains_key(&g) {
            return Err(taken(g));
        }
        let id = add()?;
        a.by_gid.insert(g, id);
        a.by_id.insert(id, g);
        a.generation += 1;
        Ok(id)
    }

    /// Changes so far: equal numbers, the same GIDs.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Forget the aliases of jobs no longer listed (purged or forgotten).
    pub(crate) fn retain(&self, listed: &[JobView]) {
        let mut a = self.lock();
        if a.by_id.is_empty() {
            return;
        }
        let keep: std::collections::HashSet<i64> = listed.iter().map(|v| v.job.id).collect();
        let before = a.by_id.len();
        a.by_id.retain(|id, _| keep.contains(id));
        a.by_gid.retain(|_, id| keep.contains(id));
        if a.by_id.len() != before {
            a.generation += 1;
        }
    }

    /// The job a client's GID names: a whole GID, or a unique prefix of one.
    pub(crate) fn resolve(&self, jobs: &dyn Jobs, given: &str) -> Result<i64, String> {
        if given.is_empty() || given.len() > 16 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "Invalid GID {given}: a GID is up to 16 hex digits (a unique prefix of one)"
            ));
        }
        let given = given.to_ascii_lowercase();
        if given.len() == 16 {
            let v = u64::from_str_radix(&given, 16).map_err(|e| e.to_string())?;
            if let Some(&id) = self.lock().by_gid.get(&v) {
                return Ok(id);
            }
            // A job's own GID names it even when a client chose another for it.
            if v <= i64::MAX as u64 && jobs.job(v as i64).is_some() {
                return Ok(v as i64);
            }
            return Err(format!("GID {given} is not found"));
        }
        let views = jobs.jobs();
        let mut found = views
            .iter()
            .map(|v| v.job.id)
            .filter(|&id| self.shown(id).starts_with(&given));
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(format!(
                "GID {given} is not unique: more digits are needed to name one download"
            )),
            (None, _) => Err(format!("GID {given} is not found")),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aliases> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parse the `gid` option: exactly 16 hex digits, not a job id's range.
pub(crate) fn parse_chosen(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "gid: {s:?} is not a GID ddm can use: give 16 hex digits of a random 64-bit \
             number (at least {MIN_CHOSEN:016x}; smaller ones are ddm's job ids)"
        )
    };
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let v = u64::from_str_radix(s, 16).map_err(|_| bad())?;
    if v < MIN_CHOSEN {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_sixteen_hex_digits_zero_padded() {
        assert_eq!(of_id(7), "0000000000000007");
        assert_eq!(of_id(255), "00000000000000ff");
    }

    #[test]
    fn a_chosen_gid_must_be_sixteen_digits_above_the_id_range() {
        assert_eq!(parse_chosen("2089b05ecca3d829"), Ok(0x2089b05ecca3d829));
        assert!(parse_chosen("0000000000000007").is_err());
        assert!(parse_chosen("2089b05ecca3d8").is_err());
        assert!(parse_chosen("2089b05ecca3d82z").is_err());
    }
}

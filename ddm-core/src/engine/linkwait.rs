//! A job whose link is refused before its first answer (a paused or waiting job whose
//! presigned link expired meanwhile) waits for a fresh one the same way a running transfer
//! does (`coordinator/link.rs`): the store shows it waiting, with why, while its runner holds
//! it; pause, remove and Ctrl-C act within a quarter second; a new link (`set-url`, `get`/`add`
//! of a fresh link) starts the run again from its first request; after `link_wait_secs` the
//! job rests as `waiting`.

use super::coordinator::Stop;
use super::{record, Control, Event, Observer, Outcome};
use crate::config::Config;
use crate::jobs::store_error;
use crate::store::{Job, Store};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(250);

/// Wait for a fresh link for `job` (refused: `why`). `Ok` once one came; otherwise how the
/// run ends (waiting, paused, removed).
pub(super) fn for_link(
    store: &mut Store,
    job: &Job,
    cfg: &Config,
    ctl: &Control,
    obs: &mut dyn Observer,
    why: &str,
) -> Result<(), Outcome> {
    let bound = Duration::from_secs(cfg.link_wait_secs);
    if bound.is_zero() {
        return Err(Outcome::Waiting(why.to_string()));
    }
    tracing::info!(job = job.id, "waiting for a fresh link: {why}");
    store
        .set_waiting(job.id, Some(why))
        .map_err(|e| Outcome::Failed(store_error(e)))?;
    obs.event(Event::Waiting(Some(why)));
    let since = Instant::now();
    loop {
        match record::poll_stop(Some(store), job.id, ctl) {
            None => {}
            // Its link is known to be refused: it rests waiting, not queued.
            Some(Stop::Interrupted) => return Err(Outcome::Waiting(why.to_string())),
            Some(Stop::Paused) => return Err(Outcome::Paused),
            Some(_) => return Err(Outcome::Removed),
        }
        match store.new_link(job.id, job.link_gen) {
            Ok(Some(_)) => {
                let _ = store.set_waiting(job.id, None);
                obs.event(Event::Waiting(None));
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("cannot read job {}'s link: {e}", job.id),
        }
        if since.elapsed() >= bound {
            return Err(Outcome::Waiting(why.to_string()));
        }
        std::thread::sleep(POLL);
    }
}

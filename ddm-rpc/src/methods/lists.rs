//! The last answer to each long-list call (`tellWaiting`, `tellStopped`, `tellActive`, by
//! method and parameters), given again while it would be written the same: the same jobs in
//! the same order, each the same record (the service's view keeps a record's `Arc` until the
//! store changes it), none of them worked by the runner (a running job's numbers move all the
//! time), and no GID chosen or forgotten since. Ten front-ends polling a thousand jobs then
//! cost one serialization per change instead of one per call.
//!
//! An entry holds the records it was written from, so an address it compares is never that
//! of a freed record reused. At most [`MAX_ENTRIES`] calls are remembered (a front-end asks
//! for a few pages; more are forgotten all at once).

use crate::envelope::{Fault, Json};
use ddm_core::service::JobView;
use ddm_core::store::Job;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Distinct calls remembered at most.
const MAX_ENTRIES: usize = 32;

#[derive(Default)]
pub(crate) struct Lists {
    last: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    /// Each job listed: its record, and whether it was shown removed.
    jobs: Vec<(Arc<Job>, bool)>,
    gids: u64,
    text: Arc<str>,
}

impl Entry {
    fn answers(&self, views: &[JobView], gids: u64) -> bool {
        self.gids == gids
            && self.jobs.len() == views.len()
            && self
                .jobs
                .iter()
                .zip(views)
                .all(|((job, removed), v)| Arc::ptr_eq(job, &v.job) && *removed == v.removed)
    }
}

impl Lists {
    /// The answer listing `views` for the call `key` (method and parameters): the last one
    /// when it still holds, else `write`'s. `gids` is the GIDs' generation, read before the
    /// views were.
    pub(crate) fn answer(
        &self,
        key: String,
        views: &[JobView],
        gids: u64,
        write: impl FnOnce() -> Result<String, Fault>,
    ) -> Result<Json, Fault> {
        let steady = views.iter().all(|v| v.live.is_none());
        if steady {
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = last.get(&key).filter(|e| e.answers(views, gids)) {
                return Ok(Json::Text(e.text.clone()));
            }
        }
        let text: Arc<str> = write()?.into();
        if steady {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.len() >= MAX_ENTRIES && !last.contains_key(&key) {
                last.clear();
            }
            let jobs = views.iter().map(|v| (v.job.clone(), v.removed)).collect();
            last.insert(
                key,
                Entry {
                    jobs,
                    gids,
                    text: text.clone(),
                },
            );
        }
        Ok(Json::Text(text))
    }
}

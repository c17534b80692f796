//! The most connections a job may open, as the runner will decide it when the job runs
//! (`prepare`'s count: the job's `-c`, else its host's saved recommendation, else the config,
//! never above the host's learned cap or the budget's share of a host): what `status` and
//! `top` show beside the connections open now. Each host's policy is read once however many
//! jobs are shown, and each origin's URL parsed once (`status` of 100,000 jobs).

use super::prepare::count;
use crate::config::Config;
use crate::store::{host_key, HostPolicy, Job, Store};
use std::collections::HashMap;

/// The ceiling of one job; None for a finished job.
pub fn ceiling(store: &Store, job: &Job, cfg: &Config) -> Option<usize> {
    Ceilings::new(store, cfg).of(job)
}

/// [`ceiling`] of many jobs.
pub fn ceilings(store: &Store, jobs: &[Job], cfg: &Config) -> Vec<Option<usize>> {
    let mut c = Ceilings::new(store, cfg);
    jobs.iter().map(|j| c.of(j)).collect()
}

/// Ceilings of jobs taken one by one, each host's policy read once.
pub struct Ceilings<'a> {
    store: &'a Store,
    cfg: &'a Config,
    /// Host key of each `scheme://authority` seen (None: not a URL).
    hosts: HashMap<String, Option<String>>,
    policies: HashMap<String, HostPolicy>,
}

impl std::fmt::Debug for Ceilings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceilings").finish_non_exhaustive()
    }
}

impl<'a> Ceilings<'a> {
    pub fn new(store: &'a Store, cfg: &'a Config) -> Self {
        Ceilings {
            store,
            cfg,
            hosts: HashMap::new(),
            policies: HashMap::new(),
        }
    }

    /// The most connections `job` may open; None for a finished job.
    pub fn of(&mut self, job: &Job) -> Option<usize> {
        if job.state.is_done() {
            return None;
        }
        let url = job.final_url.as_deref().unwrap_or(&job.url);
        // `scheme://authority`: everything before the path, which alone decides the host key.
        let origin = match url.find("://") {
            Some(i) => {
                let rest = &url[i + 3..];
                let end = rest.find(['/', '?', '#']).map_or(url.len(), |e| i + 3 + e);
                &url[..end]
            }
            None => url,
        };
        let host = self
            .hosts
            .entry(origin.to_string())
            .or_insert_with(|| url::Url::parse(url).map(|u| host_key(&u)).ok())
            .clone()?;
        let store = self.store;
        let pol = self
            .policies
            .entry(host)
            .or_insert_with_key(|h| store.host_policy(h).unwrap_or_default());
        Some(count(pol, job, self.cfg, job.ranges != Some(false)).n)
    }
}

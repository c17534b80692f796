//! The store's side of a job whose download link expired: the runner holding it records that
//! it waits (`waiting`, shown as state `waiting` while the job stays its runner's), and picks
//! up a new link given from another process (`set-url`, `get`/`add` of a fresh link), which
//! bumps the job's `link_gen`. The runner polls [`Store::new_link`] like it polls pause and
//! rate limits.

use super::{exec_cached, now, row_cached, JobSettings, Result, Store};
use rusqlite::{params, OptionalExtension};

/// A link a job was given, as its runner picks it up.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The job's `link_gen` with this link.
    pub gen: i64,
    pub url: String,
    /// Where it led when it was checked (after redirects), if known.
    pub final_url: Option<String>,
    /// The validators the new server gave.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The job's settings with the new link (credentials moved or dropped by the user).
    pub settings: JobSettings,
}

impl Store {
    /// The job waits for a fresh link (`Some(why)`) or no longer does (`None`), while its
    /// runner holds it: only a job still `running` (a pause or remove meanwhile wins).
    pub fn set_waiting(&mut self, id: i64, why: Option<&str>) -> Result<()> {
        let _turn = self.write_turn();
        exec_cached(
            &self.conn,
            "UPDATE jobs SET waiting = ?2, speed = NULL, conns = NULL, updated_at = ?3 \
             WHERE id = ?1 AND state = 'running'",
            params![id, why, now()],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The job's link if it was given a new one since `seen` (its `link_gen` then); None when
    /// not (or the job is gone). Cheap when nothing changed: one indexed read.
    pub fn new_link(&self, id: i64, seen: i64) -> Result<Option<Link>> {
        let gen: Option<i64> = row_cached(
            &self.conn,
            "SELECT link_gen FROM jobs WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))?;
        match gen {
            Some(g) if g != seen => {
                let job = self.get(id)?;
                Ok(Some(Link {
                    gen: job.link_gen,
                    url: job.url,
                    final_url: job.final_url,
                    etag: job.etag,
                    last_modified: job.last_modified,
                    settings: job.settings,
                }))
            }
            _ => Ok(None),
        }
    }
}

//! Host policy: what ddm learned about a server, keyed by `scheme://host:port`.
//!
//! `max_connections` is a cap the server enforced (it answered 429/503 or reset connections
//! past it); `recommended` comes from `ddm bench --save`. A job's starting connection count is
//! the smallest of its own setting (or the config default, or the recommendation) and the cap.
//! `ranges_cheap` says whether a range answer came as fast as a plain GET's on the host (a new
//! job's first request there then asks a ranged window, so no response is cut).

use super::{now, row_cached, Result, Store};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    pub max_connections: Option<u32>,
    pub recommended: Option<u32>,
    /// Range answers cost no more than a plain GET's (None: not measured).
    pub ranges_cheap: Option<bool>,
}

/// A column of the host policy (a fixed name, never from input).
enum HostFact {
    MaxConnections,
    Recommended,
    RangesCheap,
}

/// `scheme://host:port` for a URL, the host policy key.
pub fn host_key(url: &url::Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Store {
    pub fn host_policy(&self, host: &str) -> Result<HostPolicy> {
        Ok(row_cached(
            &self.conn,
            "SELECT max_connections, recommended, ranges_cheap FROM hosts WHERE host = ?1",
            [host],
            |r| {
                Ok(HostPolicy {
                    max_connections: r.get("max_connections")?,
                    recommended: r.get("recommended")?,
                    ranges_cheap: r.get("ranges_cheap")?,
                })
            },
        )
        .optional()
        .map_err(|e| self.err(e))?
        .unwrap_or_default())
    }

    /// Every host ddm learned something about, by key.
    pub fn host_policies(&self) -> Result<Vec<(String, HostPolicy)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT host, max_connections, recommended, ranges_cheap FROM hosts \
                 WHERE max_connections IS NOT NULL OR recommended IS NOT NULL \
                 OR ranges_cheap IS NOT NULL ORDER BY host",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("host")?,
                    HostPolicy {
                        max_connections: r.get("max_connections")?,
                        recommended: r.get("recommended")?,
                        ranges_cheap: r.get("ranges_cheap")?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Remember that `host` refuses more than `n` connections.
    pub fn set_host_cap(&mut self, host: &str, n: u32) -> Result<()> {
        self.set_host(host, HostFact::MaxConnections, n)
    }

    /// Remember whether `host`'s range answers cost no more than a plain GET's.
    pub fn set_host_ranges_cheap(&mut self, host: &str, cheap: bool) -> Result<()> {
        self.set_host(host, HostFact::RangesCheap, cheap)
    }

    /// Store a measured recommendation (`ddm bench --save`).
    pub fn set_host_recommended(&mut self, host: &str, n: u32) -> Result<()> {
        self.set_host(host, HostFact::Recommended, n)
    }

    /// Record one fact of `host`'s policy, keeping the others (one upsert).
    fn set_host(&mut self, host: &str, fact: HostFact, v: impl rusqlite::ToSql) -> Result<()> {
        let col = match fact {
            HostFact::MaxConnections => "max_connections",
            HostFact::Recommended => "recommended",
            HostFact::RangesCheap => "ranges_cheap",
        };
        let sql = format!(
            "INSERT INTO hosts (host, {col}, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(host) DO UPDATE SET {col} = ?2, updated_at = ?3"
        );
        self.conn
            .execute(&sql, params![host, v, now()])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

impl Store {
    /// The global rate limit set with `ddm limit --global`: None when never set (the config's
    /// `max_rate` applies), `Some(None)` when lifted, `Some(Some(bytes/s))` when set.
    pub fn global_rate(&self) -> Result<Option<Option<u64>>> {
        let v: Option<String> = row_cached(
            &self.conn,
            "SELECT value FROM runner_settings WHERE key = 'max_rate'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| v.parse::<u64>().ok())
            .map(|r| Some(r).filter(|r| *r > 0)))
    }

    /// Set the global rate limit (None: no limit, whatever the config says); running jobs
    /// follow it.
    pub fn set_global_rate(&mut self, rate: Option<u64>) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO runner_settings (key, value) VALUES ('max_rate', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = ?1",
                [rate.unwrap_or(0).to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A job's own rate limit as stored now (`ddm limit ID`): None when it has none, or
    /// the job is gone.
    pub fn job_rate(&self, id: i64) -> Result<Option<u64>> {
        let json: Option<String> = row_cached(
            &self.conn,
            "SELECT settings FROM jobs WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))?;
        Ok(json
            .and_then(|j| serde_json::from_str::<super::JobSettings>(&j).ok())
            .and_then(|s| s.rate_limit))
    }

    /// Set (or clear) a job's rate limit; a runner working it follows within a second.
    pub fn set_job_rate(&mut self, id: i64, rate: Option<u64>) -> Result<()> {
        let tx = self.begin()?;
        let mut job = tx.get(id)?;
        job.settings.rate_limit = rate;
        tx.set_settings(id, &job.settings)?;
        tx.commit()
    }
}

//! Host policy: what ddm learned about a server, keyed by `scheme://host:port`.
//!
//! `max_connections` is a cap the server enforced (it answered 429/503 or reset connections
//! past it); `recommended` comes from `ddm bench --save`. A job's starting connection count is
//! the smallest of its own setting (or the config default, or the recommendation) and the cap.

use super::{now, Result, Store};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    pub max_connections: Option<u32>,
    pub recommended: Option<u32>,
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
        Ok(self
            .conn
            .query_row(
                "SELECT max_connections, recommended FROM hosts WHERE host = ?1",
                [host],
                |r| {
                    Ok(HostPolicy {
                        max_connections: r.get("max_connections")?,
                        recommended: r.get("recommended")?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or_default())
    }

    /// Remember that `host` refuses more than `n` connections.
    pub fn set_host_cap(&mut self, host: &str, n: u32) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO hosts (host, max_connections, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(host) DO UPDATE SET max_connections = ?2, updated_at = ?3",
                params![host, n, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Store a measured recommendation (`ddm bench --save`).
    pub fn set_host_recommended(&mut self, host: &str, n: u32) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO hosts (host, recommended, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(host) DO UPDATE SET recommended = ?2, updated_at = ?3",
                params![host, n, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

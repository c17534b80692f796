//! Flags of `add` that say when a job may start: its priority, a start time (`--at`,
//! `--in`), a job it waits for (`--after`); validated into `ddm_core::store::Queueing`
//! before anything is queued.

use crate::exit::{usage, CliError};
use ddm_core::store::Queueing;

#[derive(Debug, Clone, clap::Args)]
pub struct QueueOpts {
    /// Claim before jobs of a lower priority: high, normal (the default), low, or a number
    /// from -100 to 100 (high is 10, low -10). Among equal priorities the queue order
    /// decides (`ddm move`).
    #[arg(long, value_name = "PRIORITY", value_parser = ddm_core::store::parse_priority)]
    pub priority: Option<i64>,
    /// Do not start before TIME, local: HH:MM (the next time the clock shows it) or
    /// YYYY-MM-DD HH:MM. `ddm status` shows when; `ddm run` waits for it.
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub at: Option<String>,
    /// Do not start before DURATION from now (90s, 15m, 2h, 1d).
    #[arg(long = "in", value_name = "DURATION", value_parser = crate::ui::parse_secs_nonzero)]
    pub start_in: Option<u64>,
    /// Start only once job ID is done; if it fails (or is removed before it is done), this
    /// job fails too, saying why.
    #[arg(long, value_name = "ID")]
    pub after: Option<i64>,
}

impl QueueOpts {
    /// When the jobs these flags queue may start.
    pub fn queueing(&self) -> Result<Queueing, CliError> {
        let now = ddm_core::clock::now();
        let not_before = match (&self.at, self.start_in) {
            (Some(at), _) => {
                Some(ddm_core::clock::parse_at(at, now).map_err(|e| usage(format!("--at {e}")))?)
            }
            (None, Some(secs)) => Some(now + secs as i64),
            (None, None) => None,
        };
        Ok(Queueing {
            priority: self.priority.unwrap_or_default(),
            not_before,
            after: self.after,
            ..Queueing::default()
        })
    }
}

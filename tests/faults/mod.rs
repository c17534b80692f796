//! Fault handling (issue 4): servers that cut connections, throttle, cap clients, lie about
//! ranges, change the file or expire links. Every scenario must end with a byte-exact file or
//! a clear, correct refusal that keeps progress, in bounded time.
//!
//! Scenarios already covered elsewhere are not repeated here: HEAD refused, HEAD length
//! differing from GET, Range ignored, no Content-Length, ETag change between runs,
//! Content-Disposition traversal and non-http redirects (download/, resume.rs).
//!
//! The helpers in `common` (config, timed runs, a log watcher that stamps server log entries
//! and can swap a resource at a chosen moment) are shared by every file here and, through the
//! re-export below, with storage.rs.

mod changes;
mod common;
mod expired;
mod failures;
mod gauntlet;
mod links;
mod quirks;
mod retry;
mod throttling;
mod tls;

pub(crate) use common::{config, create_db, durable, failed, timed, transferred, wait_progress};

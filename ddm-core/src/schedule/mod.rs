//! Schedules: config `[[schedule]]` windows (days of the week, a start and an end in local
//! time, across midnight when the end is not after the start), each with a global rate cap
//! (`max_rate`) and/or whether the queue runs or is held (`queue = "hold"`). The first
//! window listed that contains the time is in force; outside all of them the defaults apply
//! (the config's `max_rate`, the queue runs).
//!
//! `window.rs` parses a window; `eval.rs` is the pure evaluation, a function of (windows,
//! local time), with its table tests (daylight saving time, windows across midnight);
//! `follow.rs` is the runner's side: caps and holds applied to running jobs within a second.

mod eval;
mod follow;
mod window;

pub use eval::{in_force, next_change, InForce, System, Zone};
pub use follow::Follower;
pub use window::{rate_text, Window, DAY_NAMES};

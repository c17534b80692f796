//! The one HTTP layer every request of ddm goes through (probes, a job's first request,
//! ranges, relinks), split by job:
//!
//! - [`options`]: what a job's requests carry (user agent, timeouts, TLS, proxy, headers)
//!   and where its credentials may go ([`HttpOptions`]);
//! - [`setup`]: libcurl handle setup, *every* per-request option in one call
//!   ([`setup::request`]): only http and https, `Accept-Encoding: identity` (nothing is
//!   decoded: what a server sends is the file), a connect timeout and a low-speed "stall"
//!   window, never a wall-clock limit;
//! - [`login`]: how a login goes out (Basic, Digest, when);
//! - [`redirect`]: one redirect step, shared by the resolver and the workers;
//! - [`head`]: response heads and `Content-Range`;
//! - [`classify`]: curl's errors as retry [`crate::retry::Failure`]s.

pub mod classify;
pub mod head;
pub mod login;
pub mod options;
pub mod redirect;
pub mod setup;

pub use classify::{classify_curl, classify_with};
pub use head::{parse_content_range, ContentRange, Head};
pub use options::HttpOptions;
pub use redirect::{is_redirect, MAX_REDIRECTS};
pub use setup::{configure, target, Login, Request};

#[cfg(test)]
mod tests;

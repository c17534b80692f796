//! `ddm serve` checked with clients nobody on the team wrote (issue 16, section 7): aria2p
//! (its Python API and its CLI) and aria2.js (over HTTP and WebSocket, with notifications)
//! run their scripts in `tests/rpc/clients/` against a JSON-RPC server, and the test checks
//! the outcome from outside (file bytes, the HTTP server's log, statuses). Our own client
//! ([`wire`]) checks the wrong-token answer and 50 clients at once.
//!
//! Every scenario runs against each server in [`against!`] below: `aria2c --enable-rpc` (the
//! reference: a script that passes there tests aria2's protocol, not ddm's reading of it) and
//! `ddm serve`. The tools are installed by `tests/rpc/setup.sh` ([`tools`]).

mod client;
pub(crate) mod daemon;
mod protocol;
mod scenarios;
mod site;
pub mod tools;
pub(crate) mod wire;

/// Every scenario as a `#[test]` in `mod $name`, against `$backend`, with the attributes
/// given (an `#[ignore = "why"]` while that server cannot run them).
macro_rules! against {
    ($name:ident, $backend:expr $(, #[$attr:meta])*) => {
        mod $name {
            use super::daemon::Backend;

            #[test] $(#[$attr])*
            fn aria2p_api() {
                super::scenarios::aria2p_api($backend)
            }
            #[test] $(#[$attr])*
            fn aria2p_cli() {
                super::scenarios::aria2p_cli($backend)
            }
            #[test] $(#[$attr])*
            fn aria2js_http() {
                super::scenarios::aria2js_http($backend)
            }
            #[test] $(#[$attr])*
            fn aria2js_ws() {
                super::scenarios::aria2js_ws($backend)
            }
            #[test] $(#[$attr])*
            fn wrong_token_is_unauthorized() {
                super::protocol::wrong_token($backend)
            }
            #[test] $(#[$attr])*
            fn fifty_concurrent_clients() {
                super::protocol::fifty_clients($backend)
            }
        }
    };
}

against!(aria2c, Backend::Aria2c);
against!(ddm, Backend::Ddm);

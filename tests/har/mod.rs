//! `ddm import-har`: the real captures in tests/data/har, HAR files built around redirect
//! chains on the loopback server (final URL, replayed headers, cookies only on request and
//! never printed), choosing among several candidates, malformed files, and an expired
//! signed link that the engine resolves again from the capture's first URL.

mod chain;
pub(crate) mod common;
mod corpus;
mod errors;

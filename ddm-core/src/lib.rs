//! ddm-core: the library behind the `ddm` command.
//!
//! Components (see ARCHITECTURE.md): paths/config, value types (`model`), the job store,
//! the job lifecycle (`jobs`), one notion of the same remote file (`identity`), a
//! fresh link for a job (`relink`), the resolver (probe), filename choice, pieces (segmenter +
//! completion bitmap), storage, transfer workers, the engine coordinator, the retry
//! classifier, host policy, the job runner and the hooks it runs.

pub mod bench;
pub mod budget;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod curlcmd;
pub mod engine;
pub mod filename;
pub mod har;
pub mod hooks;
pub mod http;
pub mod identity;
pub mod input;
pub mod jobs;
pub mod keep;
pub mod lock;
pub mod model;
pub mod netrc;
pub mod paths;
pub mod pieces;
pub mod rate;
pub mod relink;
pub mod resolver;
pub mod retry;
pub mod rules;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod storage;
pub mod store;
pub mod transfer;
pub mod urllist;
pub mod urls;

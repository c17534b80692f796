//! ddm-core: the library behind the `ddm` command.
//!
//! Components (see ARCHITECTURE.md): paths/config, the job store, the resolver (probe),
//! filename choice, pieces (segmenter + completion bitmap), storage, transfer workers,
//! the engine coordinator, the retry classifier, host policy and the job runner.

pub mod filename;
pub mod har;
pub mod retry;
pub mod config;
pub mod paths;
pub mod store;
pub mod lock;
pub mod urls;
pub mod pieces;
pub mod storage;

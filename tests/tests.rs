//! Integration tests: real `ddm` processes against the loopback server (`ddm-testserver`).
//! One test binary; each module covers one area; `util` gives every test its own home.

mod bench;
mod cli;
mod download;
mod faults;
mod h2;
mod har;
mod honest;
mod hooks;
mod integrity;
mod living;
mod page;
mod queue;
mod reach;
mod requests;
mod resume;
mod rpc;
mod rules;
mod serve;
mod speed;
mod storage;
mod trust;
mod util;

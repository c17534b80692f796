//! One runner's rules for every verb (issue 15.4): `get`, `run`, `bench` and `demo` keep to
//! the same connection caps, a `get` holding the data directory runs what is queued
//! meanwhile, a cap learned from a server is shared by the jobs on it and won back when some
//! end, and resolving an expired link again takes its connection from the budget and the pool.
//! Seen from the server: its count of open connections and its log.

mod budget;
mod foreground;
mod reprobe;
mod shared_cap;

use crate::util::*;
use ddm_testserver::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Run `f` while a thread samples the server's open connections every 2 ms; returns `f`'s
/// result and the most seen open at once.
pub(crate) fn peak_open<T>(server: &Server, f: impl FnOnce() -> T) -> (T, usize) {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(server.open_connections());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let out = f();
        done.store(true, Ordering::Relaxed);
        (out, watcher.join().unwrap())
    })
}

/// The `started` event of NDJSON output.
pub(crate) fn started(stdout: &str) -> serde_json::Value {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "started")
        .unwrap_or_else(|| panic!("no started event in {stdout}"))
}

pub(crate) fn config(env: &Env, toml: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), toml).unwrap();
}

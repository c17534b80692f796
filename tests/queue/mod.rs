//! Queue rules (issue 18), from the outside: the order jobs start in as the server's request
//! log shows it (priorities, `ddm move`, `--after` chains, `--at`/`--in`), many processes
//! moving and adding jobs beside a runner, cleanup of finished jobs, routing rules (files of
//! mixed kinds landing in their rule's folders) and schedule windows (a cap measured at the
//! server, a hold that keeps progress and resumes).

mod clean;
mod order;
mod routing;
mod schedule;
mod stress;

use crate::util::*;
use ddm_testserver::Server;

/// Write the test's config file.
pub(crate) fn config(env: &Env, toml: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), toml).unwrap();
}

/// The paths of `server`'s GET requests, each once, in the order first asked.
pub(crate) fn first_asked(server: &Server) -> Vec<String> {
    let mut seen = Vec::new();
    for e in server.log() {
        let path = e.target.split('?').next().unwrap_or("").to_string();
        if e.method == "GET" && !seen.contains(&path) {
            seen.push(path);
        }
    }
    seen
}

/// The id `ddm add` printed.
pub(crate) fn id_of(stdout: &str) -> i64 {
    stdout.trim().parse().expect("an id")
}

//! Connection counts say what is open and what the ceiling is, apart: the line that starts a
//! job says "up to N" (what the budget lets it open, not what `-c` asked), progress lines and
//! `status` say `open/ceiling`, and a `get` handed to a runner shows the runner's live count
//! (it used to show `0 conn` throughout).

use super::config;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::io::Read;
use std::time::Duration;

const MIB: usize = 1 << 20;

/// The `open/ceiling` pairs of the progress lines in `text` ("... 2/4 conn").
fn counts(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let before = l.strip_suffix(" conn")?;
            let pair = before.rsplit(' ').next()?;
            let (open, max) = pair.split_once('/')?;
            Some((open.parse().ok()?, max.parse().ok()?))
        })
        .collect()
}

#[test]
fn run_says_the_ceiling_it_keeps_and_the_connections_open_apart() {
    let server = Server::start().unwrap();
    let body = pattern(12 * MIB, 1550);
    server.add("/r.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    config(&env, "max_connections_per_host = 4\n");
    env.ok(&["add", &server.url("/r.bin"), "-c", "16"]);
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("r.bin"), &body);
    let err = stderr(&o);
    assert!(err.contains("up to 4 connections (-c)"), "{err}");
    assert!(!err.contains("16 connections (-c)"), "{err}");
    let seen = counts(&err);
    assert!(!seen.is_empty(), "no progress line: {err}");
    assert!(
        seen.iter().all(|&(open, max)| max == 4 && open <= 4),
        "{seen:?}"
    );
    assert!(seen.iter().any(|&(open, _)| open >= 2), "{seen:?}");
}

#[test]
fn a_get_handed_to_a_runner_shows_the_runners_live_count() {
    let server = Server::start().unwrap();
    // Keeps the runner busy while the get is handed over.
    server.add(
        "/a.bin",
        Resource::new(pattern(12 * MIB, 1551)).rate(1 << 20),
    );
    let body = pattern(8 * MIB, 1552);
    server.add("/b.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    env.ok(&["add", &server.url("/a.bin"), "-c", "2"]);
    let mut run = env.spawn(&["run", "-q"]);
    wait_for(Duration::from_secs(10), "the runner working job 1", || {
        (env.job(1)["state"] == "running").then_some(())
    });
    let mut get = env.spawn(&["get", &server.url("/b.bin"), "-c", "2"]);
    // `status` while the runner works job 2: open connections and the ceiling apart.
    let live = wait_for(Duration::from_secs(15), "job 2's live count", || {
        let j = env.jobs().into_iter().find(|j| j["id"] == 2)?;
        let open = j["connections"].as_u64().filter(|&n| n > 0)?;
        Some((open, j["connections_max"].clone()))
    });
    assert_eq!(live.1, 2, "{live:?}");
    let table = env.ok(&["status", "2"]);
    assert!(
        table.contains("CONN") && (table.contains(" 1/2 ") || table.contains(" 2/2 ")),
        "{table}"
    );
    let st = wait_child(&mut get, Duration::from_secs(30));
    let mut err = String::new();
    get.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(st.success(), "{err}");
    assert!(
        err.contains("is queued for it"),
        "handed to the runner: {err}"
    );
    let seen = counts(&err);
    assert!(
        seen.iter().any(|&(open, max)| open >= 1 && max == 2),
        "the follower showed no open connection: {seen:?}\n{err}"
    );
    assert_same_file(&env.out().join("b.bin"), &body);
    wait_child(&mut run, Duration::from_secs(30));
}

//! Cleanup of finished jobs (issue 18.4): `ddm clean` forgets done and failed jobs by kind
//! and age, says how many, and leaves every file where it was; a finished job a queued one
//! waits for (`--after`) stays. Config `keep_finished` makes `ddm run` and `ddm serve` do it
//! on their own, never to a job that has just finished. `status --state` filters.

use super::{config, id_of};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::Duration;

const KIB: usize = 1024;

fn serve(server: &Server, names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let body = pattern(32 * KIB, 4100 + i as u64);
            server.add(&format!("/{n}"), Resource::new(body.clone()));
            body
        })
        .collect()
}

fn ids(env: &Env, args: &[&str]) -> Vec<i64> {
    let out = env.ok(args);
    serde_json::from_str::<Vec<serde_json::Value>>(&out)
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn clean_forgets_finished_jobs_by_kind_and_age_and_keeps_their_files() {
    let server = Server::start().unwrap();
    let bodies = serve(&server, &["a.bin", "b.bin", "c.bin"]);
    let env = Env::new();
    let add = |path: &str, extra: &[&str]| {
        let url = server.url(path);
        let mut args = vec!["add", url.as_str()];
        args.extend_from_slice(extra);
        id_of(&env.ok(&args))
    };
    let a = add("/a.bin", &[]);
    let b = add("/b.bin", &[]);
    let x = add("/missing.bin", &[]);
    assert_eq!(env.run(&["run", "-q"]).status.code(), Some(1));
    assert_eq!(env.job(x)["state"], "failed");
    // Queued after the run: c, and d, which waits for a (done).
    let c = add("/c.bin", &[]);
    let d = add("/c.bin", &["-o", "d.bin", "--after", &a.to_string()]);

    let out = env.ok(&["clean", "--failed"]);
    assert_eq!(out.trim(), "forgot 1 failed job; their files stay");
    assert_eq!(ids(&env, &["status", "--json"]), [a, b, c, d]);
    // Nothing finished an hour ago.
    let out = env.ok(&["clean", "--done", "--older-than", "1h"]);
    assert_eq!(out.trim(), "no done jobs older than 1h 0m to forget");
    // b goes; a stays while d waits for it.
    let out = env.ok(&["clean"]);
    assert_eq!(out.trim(), "forgot 1 finished job; their files stay");
    assert_eq!(ids(&env, &["status", "--json"]), [a, c, d]);
    assert_same_file(&env.out().join("a.bin"), &bodies[0]);
    assert_same_file(&env.out().join("b.bin"), &bodies[1]);
    let out = env.ok(&["clean", "--done"]);
    assert_eq!(out.trim(), "no done jobs to forget");

    // The state filter: the shown states, several at once.
    assert_eq!(
        ids(&env, &["status", "--json", "--state", "queued"]),
        [c, d]
    );
    assert_eq!(
        ids(&env, &["status", "--json", "--state", "running,done"]),
        [a]
    );
    let table = env.ok(&["status", "--state", "running,queued"]);
    assert!(
        table.contains("c.bin") && !table.contains("a.bin"),
        "{table}"
    );
    let o = env.run(&["status", "--state", "queued,finished"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("\"finished\" is not a state")
            && err.contains("queued, running, waiting, paused, done or failed"),
        "{err}"
    );
    let o = env.run(&["clean", "--older-than", "7 days"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("90s, 30m, 12h, 7d or 2w"),
        "{}",
        stderr(&o)
    );
    // d still starts once a runner comes: its dependency was kept.
    env.ok(&["run", "-q"]);
    assert_same_file(&env.out().join("d.bin"), &bodies[2]);
}

#[test]
fn keep_finished_is_applied_when_run_starts() {
    let server = Server::start().unwrap();
    let bodies = serve(&server, &["a.bin", "b.bin", "c.bin"]);
    let env = Env::new();
    config(&env, "max_active_jobs = 1\nkeep_finished = 1\n");
    for n in ["a.bin", "b.bin", "c.bin"] {
        env.ok(&["add", &server.url(&format!("/{n}"))]);
    }
    env.ok(&["run", "-q"]);
    assert_eq!(env.jobs().len(), 3);
    // Past the grace a finished job has, a run forgets all but the newest.
    std::thread::sleep(Duration::from_secs(6));
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("forgot 2 finished jobs (keep_finished = 1); their files stay"),
        "{err}"
    );
    let left = env.jobs();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0]["path"].as_str().unwrap().ends_with("c.bin"));
    for (n, body) in ["a.bin", "b.bin", "c.bin"].iter().zip(&bodies) {
        assert_same_file(&env.out().join(n), body);
    }
}

#[test]
fn serve_applies_keep_finished_while_it_runs_but_not_to_a_job_that_has_just_finished() {
    let server = Server::start().unwrap();
    let bodies = serve(&server, &["a.bin", "b.bin", "c.bin"]);
    let env = Env::new();
    config(&env, "max_active_jobs = 1\nkeep_finished = 1\n");
    let mut child = env.spawn(&["serve", "--port", "0"]);
    let a = id_of(&env.ok(&["add", &server.url("/a.bin")]));
    let b = id_of(&env.ok(&["add", &server.url("/b.bin")]));
    // Never forgotten: it is queued (its start is an hour away).
    let c = id_of(&env.ok(&["add", &server.url("/c.bin"), "--in", "1h"]));
    let ids = || -> Vec<i64> {
        env.jobs()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect()
    };
    wait_for(Duration::from_secs(10), "a and b done", || {
        (env.job(a)["state"] == "done" && env.job(b)["state"] == "done").then_some(())
    });
    // Just finished: both stay for a moment (a `get` following its job, a hook describing
    // it, still find it), though serve looks every two seconds.
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(ids(), [a, b, c]);
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for(Duration::from_secs(15), "a forgotten", || {
        (ids() == [b, c]).then_some(())
    });
    assert_same_file(&env.out().join("a.bin"), &bodies[0]);
    assert_same_file(&env.out().join("b.bin"), &bodies[1]);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(wait_child(&mut child, Duration::from_secs(10)).success());
}

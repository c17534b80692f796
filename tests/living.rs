//! Living with ddm (issue 11): `get` beside a runner, exit codes that tell the truth, notes
//! that help, honest numbers, output without escape codes where they do not belong, and a
//! demo that leaves nothing behind.

use crate::faults::{create_db, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::Duration;

const MIB: usize = 1 << 20;

#[test]
fn get_beside_a_running_runner_hands_its_job_over_and_follows_it() {
    let server = Server::start().unwrap();
    let slow = pattern(6 * MIB, 601);
    let body = pattern(2 * MIB, 602);
    server.add("/busy.bin", Resource::new(slow.clone()).rate(1 << 20));
    server.add("/mine.bin", Resource::new(body.clone()).rate(2 << 20));
    let env = Env::new();
    create_db(&env);
    env.ok(&["add", &server.url("/busy.bin"), "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    let o = env.run(&["get", &server.url("/mine.bin")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("queued for it"), "{}", stderr(&o));
    assert!(stderr(&o).contains("done"), "{}", stderr(&o));
    assert_same_file(&env.out().join("mine.bin"), &body);
    assert_eq!(env.job(2)["state"], "done");
    wait_child(&mut runner, Duration::from_secs(30));
    // The runner did the work, once: the file was asked for by one process only.
    let gets = server
        .log()
        .iter()
        .filter(|e| e.target == "/mine.bin")
        .count();
    assert!(gets >= 1);
}

#[test]
fn get_says_and_exits_non_zero_when_its_job_is_paused_or_removed_elsewhere() {
    let server = Server::start().unwrap();
    server.add("/p.bin", Resource::new(pattern(8 * MIB, 603)).rate(1 << 20));
    for (verb, word) in [("pause", "paused"), ("remove", "removed")] {
        let env = Env::new();
        create_db(&env);
        let mut child = env.spawn(&["get", &server.url("/p.bin"), "-c", "1"]);
        wait_progress(&env, 1, 0, Duration::from_secs(20));
        env.ok(&[verb, "1"]);
        let st = wait_child(&mut child, Duration::from_secs(10));
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(st.code(), Some(6), "{verb}: {err}");
        assert!(err.contains(word), "{verb}: {err}");
    }
}

#[test]
fn queueing_without_a_runner_says_how_to_start_one_and_duplicates_are_noted() {
    let env = Env::new();
    let o = env.run(&["add", "http://127.0.0.1:9/a.bin"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("no runner is working the queue"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["add", "http://127.0.0.1:9/a.bin"]);
    assert!(
        stderr(&o).contains("already queued as job 1"),
        "{}",
        stderr(&o)
    );
    env.ok(&["pause", "1"]);
    let o = env.run(&["resume", "1"]);
    assert!(stderr(&o).contains("start `ddm run`"), "{}", stderr(&o));
    let o = env.run(&["add", "http://127.0.0.1:9/b.bin", "-q"]);
    assert!(stderr(&o).is_empty(), "quiet: {}", stderr(&o));
}

#[test]
fn numbers_are_honest_in_human_units() {
    let server = Server::start().unwrap();
    let body = pattern(8 * MIB, 604);
    server.add(
        "/h.bin",
        Resource::new(body.clone()).etag("\"h\"").rate(2 << 20),
    );
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/h.bin"), "-c", "1"]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    child.kill().unwrap();
    child.wait().unwrap();
    let o = env.run(&["get", &server.url("/h.bin"), "-c", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("MiB of 8.0 MiB done"), "{err}");
    assert!(!err.contains("bytes already done"), "{err}");
    // No progress line before a speed is known.
    assert!(!err.contains(" 0 B/s"), "{err}");
    // The final line counts only what this run received.
    assert!(err.contains("received in"), "{err}");
    assert_same_file(&env.out().join("h.bin"), &body);
}

#[test]
fn verbose_output_names_redirects_protocol_and_the_count_without_escape_codes() {
    let server = Server::start().unwrap();
    server.add("/v.bin", Resource::new(pattern(2 * MIB, 605)));
    server.redirect("/go", "/v.bin", 302);
    let env = Env::new();
    let o = env
        .cmd(&["get", &server.url("/go"), "-vv"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("redirected from"), "{err}");
    assert!(err.contains("HTTP/1.1"), "{err}");
    // The count said at the start is the ceiling, and says so (issue 15.5).
    assert!(
        err.contains("up to 16 connections (grown while it pays)"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape codes in piped output: {err:?}"
    );
}

#[test]
fn every_ndjson_event_names_its_job() {
    let server = Server::start().unwrap();
    server.add("/j.bin", Resource::new(pattern(3 * MIB, 606)).rate(2 << 20));
    let env = Env::new();
    let out = env.ok(&["get", &server.url("/j.bin"), "--json"]);
    let mut kinds = std::collections::BTreeSet::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["job"], 1, "{line}");
        kinds.insert(v["event"].as_str().unwrap().to_string());
    }
    assert!(
        kinds.contains("started") && kinds.contains("done"),
        "{kinds:?}"
    );
}

#[test]
fn the_demo_checks_both_downloads_and_leaves_nothing_behind() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(DDM)
        .args(["demo", "--size-mib", "4", "--rate-mib", "16"])
        .env_remove("DDM_HOME")
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let sums: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("sha256 ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(sums.len(), 3, "served + two downloads: {text}");
    assert!(sums.iter().all(|s| *s == sums[0]), "{text}");
    assert!(
        !text.contains("/tmp/"),
        "no paths that are gone a moment later: {text}"
    );
    let left: Vec<_> = walk(home.path());
    assert!(
        left.is_empty(),
        "the demo wrote into the user's home: {left:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_live_view_prints_one_snapshot_when_not_on_a_terminal() {
    let env = Env::new();
    env.ok(&[
        "add",
        "http://127.0.0.1:9/a.bin",
        "http://127.0.0.1:9/b.bin",
        "-q",
    ]);
    for args in [&["top"][..], &["status", "--watch"]] {
        let out = env.ok(args);
        assert!(
            out.contains("a.bin") && out.contains("b.bin"),
            "{args:?}: {out}"
        );
        assert!(!out.contains('\u{1b}'), "{args:?}: escape codes in a pipe");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_verbs() {
    let env = Env::new();
    let bash = env.ok(&["completions", "bash"]);
    assert!(bash.contains("complete") && bash.contains("get"), "{bash}");
    let man = env.ok(&["man"]);
    assert!(man.contains(".TH") && man.contains("get"), "{man}");
}

#[test]
fn status_shows_the_connections_a_running_job_has_open() {
    let server = Server::start().unwrap();
    let body = pattern(16 << 20, 61);
    server.add("/c.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    env.ok(&["add", &server.url("/c.bin"), "-c", "3", "-q"]);
    let mut runner = env.spawn(&["run"]);
    let open = wait_for(Duration::from_secs(20), "connections shown", || {
        env.job(1)["connections"].as_u64().filter(|&n| n == 3)
    });
    assert_eq!(open, 3);
    let top = env.ok(&["top"]);
    assert!(top.contains("CONN"), "{top}");
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    assert!(
        env.job(1)["connections"].is_null(),
        "not running: none open"
    );
}

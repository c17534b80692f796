//! Deadlines against a trickle (off by default): `--max-time` ends a run at its wall clock,
//! `--speed-limit`/`--speed-time` (config `lowest_speed_limit`, `lowest_speed_time_secs`)
//! end one whose speed stays under the limit. The job fails with kind `deadline`, keeps its
//! progress, and `ddm resume` continues. A queued job keeps its flags.

use crate::faults::config;
use crate::util::*;
use ddm_testserver::{pattern, LogEntry, Resource, Server};
use std::time::{Duration, Instant};

fn gets_of<'a>(log: &'a [LogEntry], path: &str) -> Vec<&'a LogEntry> {
    log.iter()
        .filter(|e| e.method == "GET" && e.target == path)
        .collect()
}

/// Start of a `bytes=a-b` request range.
fn range_start(e: &LogEntry) -> Option<u64> {
    e.range
        .as_deref()?
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Run `ddm ARGS` to its end, at most `limit` (a run the limits do not end would go on).
fn run_within(env: &Env, args: &[&str], limit: Duration) -> (i32, String, Duration) {
    let t = Instant::now();
    let mut child = env.spawn(args);
    let st = wait_child(&mut child, limit);
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (st.code().unwrap_or(-1), err, t.elapsed())
}

#[test]
fn a_trickle_fails_at_the_speed_limit_from_the_flags_the_config_or_a_queued_job() {
    // One byte a second per response: alive for the stall timeout, endless for a person.
    let server = Server::start().unwrap();
    server.add(
        "/trickle.bin",
        Resource::new(pattern(256 << 10, 1401)).rate(1),
    );
    let url = server.url("/trickle.bin");
    let limit = Duration::from_secs(30);
    // The flags.
    let env = Env::new();
    let args = ["get", &url, "--speed-limit", "1K", "--speed-time", "2"];
    let (code, err, took) = run_within(&env, &args, limit);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("too slow") && err.contains("under the speed limit of 1.0 KiB/s"),
        "{err}"
    );
    assert!(err.contains("ddm resume 1"), "what to do: {err}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert_eq!(env.job(1)["error_kind"], "deadline");
    // The config, for a job queued without flags.
    let env = Env::new();
    config(
        &env,
        "lowest_speed_limit = \"1K\"\nlowest_speed_time_secs = 2\n",
    );
    env.ok(&["add", &url]);
    let (code, err, _) = run_within(&env, &["run"], limit);
    assert_eq!(code, 1, "{err}");
    let j = env.job(1);
    assert_eq!(j["error_kind"], "deadline", "{j}");
    assert!(j["error"].as_str().unwrap().contains("too slow"), "{j}");
    // A queued job keeps its own flags: --max-time.
    let env = Env::new();
    env.ok(&["add", &url, "--max-time", "2"]);
    let (code, err, took) = run_within(&env, &["run"], limit);
    assert_eq!(code, 1, "{err}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let j = env.job(1);
    assert_eq!(j["error_kind"], "deadline", "{j}");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("time limit: the run lasted 2 s"),
        "{j}"
    );
}

#[test]
fn max_time_ends_a_run_keeping_its_progress_and_resume_continues() {
    let server = Server::start().unwrap();
    let size = 4usize << 20;
    let body = pattern(size, 1402);
    server.add(
        "/f.bin",
        Resource::new(body.clone()).etag("\"m\"").rate(512 << 10),
    );
    let env = Env::new();
    let url = server.url("/f.bin");
    let (code, err, took) = run_within(
        &env,
        &["get", &url, "-c", "1", "--max-time", "3"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("time limit") && err.contains("progress is kept"),
        "{err}"
    );
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(15)).contains(&took),
        "{took:?}"
    );
    let j = env.job(1);
    assert_eq!(j["error_kind"], "deadline", "{j}");
    let kept = j["bytes_done"].as_u64().unwrap();
    assert!(kept > 0 && kept < size as u64, "{kept} bytes kept");
    let before = gets_of(&server.log(), "/f.bin").len();
    // The server is fast again: resume fetches only the rest, within the same limit.
    server.add("/f.bin", Resource::new(body.clone()).etag("\"m\""));
    env.ok(&["resume", "1"]);
    let (code, err, _) = run_within(&env, &["run"], Duration::from_secs(30));
    assert_eq!(code, 0, "{err}");
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = server.log();
    let later = &gets_of(&log, "/f.bin")[before..];
    assert!(!later.is_empty());
    assert!(
        later.iter().all(|e| range_start(e).unwrap_or(0) >= kept),
        "nothing kept is fetched again: {:?}",
        later.iter().map(|e| range_start(e)).collect::<Vec<_>>()
    );
}

#[test]
fn max_time_also_bounds_a_first_answer_that_never_comes() {
    let server = Server::start().unwrap();
    server.add(
        "/late.bin",
        Resource::new(pattern(1024, 1403)).first_byte_delay(Duration::from_secs(120)),
    );
    let env = Env::new();
    let (code, err, took) = run_within(
        &env,
        &["get", &server.url("/late.bin"), "--max-time", "2"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("time limit"), "{err}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(env.job(1)["error_kind"], "deadline");
}

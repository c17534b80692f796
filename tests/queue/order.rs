//! The order jobs start in, seen in the server's request log: priority first, then the queue
//! order `ddm move` changes, never a job before the one it waits for (`--after`), never
//! before its start time (`--at`, `--in`); a failed dependency fails its dependents with an
//! error that names it, and the server never sees their requests.

use super::{config, first_asked, id_of};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::{Duration, Instant};

const KIB: usize = 1024;

fn serve(server: &Server, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        server.add(
            &format!("/{n}"),
            Resource::new(pattern(64 * KIB, 1800 + i as u64)),
        );
    }
}

#[test]
fn jobs_start_by_priority_then_queue_order_and_after_their_dependency() {
    let server = Server::start().unwrap();
    serve(&server, &["a.bin", "b.bin", "c.bin", "d.bin", "e.bin"]);
    let env = Env::new();
    // One job at a time, so the log's order is the claim order.
    config(&env, "max_active_jobs = 1\n");
    let add = |name: &str, extra: &[&str]| {
        let mut args = vec!["add".to_string(), server.url(&format!("/{name}"))];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        id_of(&env.ok(&args))
    };
    let a = add("a.bin", &[]);
    let b = add("b.bin", &["--priority", "low"]);
    let e = add("e.bin", &[]);
    let a_id = a.to_string();
    // b (low) moves before a: it becomes normal to stand there.
    let out = env.ok(&["move", &b.to_string(), "--before", &a_id]);
    assert!(out.contains("place 1"), "{out}");
    // Added later (so later in the queue's positions), but high: they go first; d waits
    // for a.
    let c = add("c.bin", &["--priority", "high"]);
    let d = add("d.bin", &["--priority", "high", "--after", &a_id]);
    let places: Vec<(i64, i64)> = env
        .jobs()
        .iter()
        .map(|j| (j["id"].as_i64().unwrap(), j["place"].as_i64().unwrap()))
        .collect();
    assert_eq!(places, [(a, 4), (b, 3), (e, 5), (c, 1), (d, 2)]);
    assert_eq!(env.job(b)["priority"], 0);
    env.ok(&["run", "-q"]);
    // d is high but waits for a; once a is done it goes before e.
    assert_eq!(
        first_asked(&server),
        ["/c.bin", "/b.bin", "/a.bin", "/d.bin", "/e.bin"]
    );
    for j in env.jobs() {
        assert_eq!(j["state"], "done", "{j}");
    }
}

#[test]
fn a_failed_dependency_fails_the_chain_waiting_for_it_without_a_request() {
    let server = Server::start().unwrap();
    serve(&server, &["ok.bin", "b.bin", "c.bin"]);
    let env = Env::new();
    let a = id_of(&env.ok(&["add", &server.url("/missing.bin")]));
    let b = id_of(&env.ok(&["add", &server.url("/b.bin"), "--after", &a.to_string()]));
    let c = id_of(&env.ok(&["add", &server.url("/c.bin"), "--after", &b.to_string()]));
    let ok = id_of(&env.ok(&["add", &server.url("/ok.bin")]));
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "job {b} failed: job {a}, which this job waits for (--after), failed"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("job {c} failed: job {b}")), "{err}");
    assert_eq!(env.job(ok)["state"], "done");
    for id in [b, c] {
        let j = env.job(id);
        assert_eq!(
            (&j["state"], &j["error_kind"]),
            (&"failed".into(), &"dependency".into()),
            "{j}"
        );
        assert!(j["hint"].as_str().unwrap().contains("resume"), "{j}");
    }
    let asked = first_asked(&server);
    assert!(
        !asked.iter().any(|p| p == "/b.bin" || p == "/c.bin"),
        "{asked:?}"
    );
    // A dependency that failed is refused for a new job, with what to do.
    let o = env.run(&["add", &server.url("/b.bin"), "--after", &a.to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("ddm resume {a}")),
        "{}",
        stderr(&o)
    );
    // Given what it waited for, the chain goes on: a's file appears, b and c follow it.
    server.add("/missing.bin", Resource::new(pattern(KIB, 1)));
    env.ok(&["resume", &a.to_string(), &b.to_string(), &c.to_string()]);
    env.ok(&["run", "-q"]);
    for id in [a, b, c] {
        assert_eq!(env.job(id)["state"], "done");
    }
}

#[test]
fn a_job_given_a_start_time_waits_for_it_and_run_stays_up_until_then() {
    let server = Server::start().unwrap();
    serve(&server, &["now.bin", "later.bin", "at.bin"]);
    let env = Env::new();
    let added = Instant::now();
    let later = id_of(&env.ok(&["add", &server.url("/later.bin"), "--in", "3s"]));
    env.ok(&["add", &server.url("/now.bin")]);
    // --at in the clock's HH:MM:SS form: far ahead (it must not start in this test).
    let at = id_of(&env.ok(&["add", &server.url("/at.bin"), "--at", "23:59:59"]));
    let j = env.job(later);
    let starts = j["starts_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now + 1..=now + 4).contains(&starts), "{j}");
    let table = env.ok(&["status"]);
    assert!(table.contains("starts at"), "{table}");
    // Only the job without a start time may run now; `run` waits for `later`, then ends
    // (the --at job is left for its time: it holds `run` up until then, so pause it).
    env.ok(&["pause", &at.to_string()]);
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("waiting: job {later} starts at")),
        "{err}"
    );
    let ended = added.elapsed();
    assert_eq!(first_asked(&server), ["/now.bin", "/later.bin"]);
    assert!(ended >= Duration::from_secs(2), "{ended:?}");
    assert!(ended < Duration::from_secs(15), "{ended:?}");
    assert_eq!(env.job(later)["state"], "done");
    assert_eq!(env.job(at)["state"], "paused");
    // Bad times are refused with the forms that work.
    let o = env.run(&["add", &server.url("/x"), "--at", "tomorrow"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HH:MM"), "{}", stderr(&o));
}

//! Slow and capped servers: a stalled transfer is abandoned after the stall timeout while a
//! slow but live one is never killed, and connection caps (429/503) lower the connection count,
//! which the host policy remembers for the next job.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

#[test]
fn stalled_transfer_is_abandoned_after_the_stall_timeout() {
    let size = 4 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 130);
    server.add(
        "/stall.bin",
        Resource::new(body.clone()).fault(Fault::Stall {
            after: MIB as u64,
            secs: 8.0,
            times: 1,
        }),
    );
    let env = Env::new();
    config(&env, "stall_timeout_secs = 1\n");
    // One connection: no stealing can hide the stall, only the low-speed timeout.
    let took = ok_get(&env, &["get", &server.url("/stall.bin"), "-c", "1"]);
    assert_same_file(&env.out().join("stall.bin"), &body);
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: the 8 s stall was waited out (stall_timeout_secs = 1)"
    );
    let log = server.log();
    assert!(
        gets_of(&log, "/stall.bin")
            .iter()
            .any(|e| range_start(e) == Some(MIB as u64)),
        "the stalled range was not re-requested from where it stopped"
    );
}

#[test]
fn slow_but_live_transfer_is_never_killed() {
    let size = 96 * KIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 131);
    server.add(
        "/slow.bin",
        Resource::new(body.clone()).rate(40 * KIB as u64),
    );
    let env = Env::new();
    // Data arrives every ~20 ms; 2 s (not 1 s) keeps a starved test machine from looking
    // like a stall. The property is the same: a slow but live range is never cut.
    config(&env, "stall_timeout_secs = 2\n");
    let took = ok_get(&env, &["get", &server.url("/slow.bin"), "-c", "1"]);
    assert_same_file(&env.out().join("slow.bin"), &body);
    assert!(
        took >= Duration::from_secs(2),
        "{took:?}: rate not applied?"
    );
    let log = server.log();
    let transfers: Vec<_> = gets_of(&log, "/slow.bin")
        .into_iter()
        .filter(|e| is_transfer(e))
        .collect();
    assert_eq!(
        transfers.len(),
        1,
        "a slow but live range was cut and asked again: {transfers:#?}"
    );
}

fn started_connections(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "started")
        .and_then(|v| v["connections"].as_u64())
        .expect("a started event")
}

#[test]
fn connection_cap_503_lowers_the_count_and_the_host_policy_starts_the_next_job_lower() {
    let size = 6 * MIB;
    let rate = 2 << 20;
    let server = Server::start().unwrap();
    let a = pattern(size, 140);
    let b = pattern(2 * MIB, 141);
    let cap = Fault::ConnCap { max: 3, code: 503 };
    server.add(
        "/a.bin",
        Resource::new(a.clone()).rate(rate).fault(cap.clone()),
    );
    server.add("/b.bin", Resource::new(b.clone()).rate(rate).fault(cap));
    let base = fault_free_time(size, 140, Some(rate), "3");
    let env = Env::new();
    let took = ok_get(&env, &["get", &server.url("/a.bin"), "-c", "8"]);
    assert_same_file(&env.out().join("a.bin"), &a);
    let log = server.log();
    let refused = gets_of(&log, "/a.bin")
        .iter()
        .filter(|e| e.status == 503)
        .count();
    assert!(refused >= 1, "the cap was never hit");
    assert!(
        refused <= 12,
        "{refused} refusals: the connection count was not lowered"
    );
    assert_within(took, base, Duration::from_millis(1200), "capped at 3 (503)");

    // Next job on the same host starts from the learned limit, even when asked for 8.
    let out = env.ok(&["get", &server.url("/b.bin"), "-c", "8", "--json"]);
    assert_same_file(&env.out().join("b.bin"), &b);
    let n = started_connections(&out);
    assert!(
        (2..=3).contains(&n),
        "second job started with {n} connections; the server allows 3"
    );
    let log = server.log();
    let refused_b = gets_of(&log, "/b.bin")
        .iter()
        .filter(|e| e.status == 503)
        .count();
    assert_eq!(refused_b, 0, "the second job still ran into the cap");
}

#[test]
fn connection_cap_429_completes_within_2x_of_the_capped_fault_free_time() {
    let size = 6 * MIB;
    let rate = 2 << 20;
    let server = Server::start().unwrap();
    let body = pattern(size, 142);
    server.add(
        "/c.bin",
        Resource::new(body.clone())
            .rate(rate)
            .fault(Fault::ConnCap { max: 3, code: 429 }),
    );
    server.add(
        "/c2.bin",
        Resource::new(pattern(2 * MIB, 143))
            .rate(rate)
            .fault(Fault::ConnCap { max: 3, code: 429 }),
    );
    let base = fault_free_time(size, 142, Some(rate), "3");
    let env = Env::new();
    let took = ok_get(&env, &["get", &server.url("/c.bin"), "-c", "8"]);
    assert_same_file(&env.out().join("c.bin"), &body);
    let log = server.log();
    let refused = gets_of(&log, "/c.bin")
        .iter()
        .filter(|e| e.status == 429)
        .count();
    assert!((1..=12).contains(&refused), "{refused} refusals");
    assert_within(took, base, Duration::from_millis(1200), "capped at 3 (429)");
    let out = env.ok(&["get", &server.url("/c2.bin"), "-c", "8", "--json"]);
    let n = started_connections(&out);
    assert!(
        (2..=3).contains(&n),
        "second job started with {n} connections; the server allows 3"
    );
}

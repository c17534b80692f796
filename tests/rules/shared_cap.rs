//! A server that allows 4 connections per client, and 4 jobs queued on it: the cap it taught
//! is the host's, shared by the jobs on it, and the connections a job frees when it ends go
//! to the jobs still running there (not one connection each for the rest of their lives).

use super::config;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

#[test]
fn connections_freed_by_jobs_that_end_go_to_the_jobs_still_running_on_the_host() {
    let server = Server::start().unwrap();
    // Idle keep-alive sockets count too, as with servers that limit connections per client.
    server.limit_open_connections(4, 503);
    let big = pattern(16 * MIB, 1510);
    server.add(
        "/q/big.bin",
        Resource::new(big.clone()).etag("\"b\"").rate(1 << 20),
    );
    let mut urls = vec![server.url("/q/big.bin")];
    let mut small = Vec::new();
    for i in 0..3 {
        let body = pattern(2 * MIB, 1511 + i);
        let path = format!("/q/s{i}.bin");
        server.add(
            &path,
            Resource::new(body.clone())
                .etag(&format!("\"s{i}\""))
                .rate(1 << 20),
        );
        urls.push(server.url(&path));
        small.push(body);
    }
    let env = Env::new();
    // The per-host share is above what the server allows: the cap must be learned.
    config(&env, "max_connections_per_host = 16\n");
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    env.ok(&args);
    let t = Instant::now();
    let o = env.run(&["run"]);
    let took = t.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &big);
    for (i, b) in small.iter().enumerate() {
        assert_same_file(&env.out().join(format!("s{i}.bin")), b);
    }
    let log = server.log();
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        for e in &log {
            eprintln!(
                "conn {} {} {:?} -> {} {}",
                e.conn, e.target, e.range, e.status, e.body_bytes
            );
        }
        eprintln!("{}", env.log());
    }
    assert!(
        log.iter().any(|e| e.status == 503),
        "the server's cap was never met"
    );
    // 22 MiB over at most 4 connections of 1 MiB/s is 5.5 s; one connection for the big
    // file's life would be 16 s (the bound is 10 s: under 2/3 of that, with room for a loaded
    // machine).
    let conns: BTreeSet<u64> = log
        .iter()
        .filter(|e| e.target == "/q/big.bin" && e.status == 206)
        .map(|e| e.conn)
        .collect();
    assert!(
        conns.len() >= 3,
        "the big file came over {} connection(s) only: {conns:?}",
        conns.len()
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Learning the cap is said in one line, not once per job or refused request.
    let err = stderr(&o);
    let said = err.matches("refuses more connections").count();
    assert_eq!(said, 1, "said {said} times:\n{err}");
    // What is saved for the host is what the server allowed, not one job's share of it.
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["status", "--long", "--json"])).unwrap();
    let saved = v["caps"]["hosts"][0]["max_connections"].as_u64();
    assert!(
        matches!(saved, Some(3..=4)),
        "saved cap {saved:?}; the server allows 4: {v}"
    );
}

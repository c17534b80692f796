//! A request costs something (issue 15.1), checked from the server's side: one connection is
//! one request; a fast server gets a few long requests, not one per megabyte; where every
//! range answer costs the server think time, or every request a new TCP connection, ddm
//! still asks seldom.

use crate::util::*;
use ddm_testserver::{pattern, LogEntry, Resource, Server};
use std::collections::HashSet;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn gets(s: &Server, path: &str) -> Vec<LogEntry> {
    s.log()
        .into_iter()
        .filter(|e| e.method == "GET" && e.target == path)
        .collect()
}

fn conns(log: &[LogEntry]) -> usize {
    log.iter().map(|e| e.conn).collect::<HashSet<_>>().len()
}

fn describe(log: &[LogEntry]) -> Vec<(u64, Option<String>, u64)> {
    log.iter()
        .map(|e| (e.conn, e.range.clone(), e.body_bytes))
        .collect()
}

#[test]
fn one_connection_is_one_request() {
    let s = Server::start().unwrap();
    let body = pattern(24 * MIB, 1501);
    s.add("/one.bin", Resource::new(body.clone()).etag("\"o\""));
    let env = Env::new();
    env.ok(&["get", &s.url("/one.bin"), "-c", "1"]);
    assert_same_file(&env.out().join("one.bin"), &body);
    let log = gets(&s, "/one.bin");
    assert_eq!(log.len(), 1, "{:?}", describe(&log));
    assert_eq!(log[0].range.as_deref(), Some("bytes=0-"));
}

#[test]
fn a_fast_server_gets_a_few_long_requests_not_one_per_megabyte() {
    let s = Server::start().unwrap();
    let body = pattern(96 * MIB, 1502);
    s.add("/fast.bin", Resource::new(body.clone()).etag("\"f\""));
    for args in [vec![], vec!["-c", "16"]] {
        s.reset_stats();
        let env = Env::new();
        let mut a = vec!["get".to_string(), s.url("/fast.bin")];
        a.extend(args.iter().map(|x| x.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        env.ok(&a);
        assert_same_file(&env.out().join("fast.bin"), &body);
        let log = gets(&s, "/fast.bin");
        let n = conns(&log);
        eprintln!("{args:?}: {} requests on {n} connections", log.len());
        assert!(
            log.len() <= n + 8,
            "{args:?}: {} requests on {n} connections: {:?}",
            log.len(),
            describe(&log)
        );
        let sent: u64 = log.iter().map(|e| e.body_bytes).sum();
        assert!(sent <= body.len() as u64 + 8 * MIB as u64, "{sent}");
    }
}

#[test]
fn where_each_range_answer_costs_think_time_requests_stay_few() {
    // An object store: every answer to a range request costs the server 100 ms.
    let s = Server::start().unwrap();
    let body = pattern(48 * MIB, 1503);
    s.add(
        "/obj.bin",
        Resource::new(body.clone())
            .etag("\"s3\"")
            .range_delay(Duration::from_millis(100)),
    );
    let env = Env::new();
    env.ok(&["get", &s.url("/obj.bin")]);
    assert_same_file(&env.out().join("obj.bin"), &body);
    let log = gets(&s, "/obj.bin");
    // The first request, then one long request per connection (4 at the start).
    assert!(log.len() <= 6, "{:?}", describe(&log));
}

#[test]
fn through_a_proxy_that_closes_every_connection_requests_stay_few() {
    let s = Server::start().unwrap();
    let body = pattern(48 * MIB, 1504);
    s.add(
        "/closing.bin",
        Resource::new(body.clone()).etag("\"c\"").close_each(),
    );
    let env = Env::new();
    env.ok(&["get", &s.url("/closing.bin")]);
    assert_same_file(&env.out().join("closing.bin"), &body);
    let log = gets(&s, "/closing.bin");
    // Every request costs a TCP connection here: few of both.
    assert_eq!(conns(&log), log.len(), "{:?}", describe(&log));
    assert!(log.len() <= 6, "{:?}", describe(&log));
}

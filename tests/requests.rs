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

fn describe(log: &[LogEntry]) -> Vec<(u64, Option<String>, u16, u64)> {
    log.iter()
        .map(|e| (e.conn, e.range.clone(), e.status, e.body_bytes))
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
    // A job with nothing yet asks for the file as curl does: no Range header.
    assert_eq!(log[0].range, None, "{:?}", describe(&log));
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
        // Range answers are not cut here (a steal takes what lies past a request). The one
        // response that is cut is the first, asked without a Range: what it had in the
        // sockets then (at most both sides' buffers, megabytes on loopback, tens of them when
        // the reader is starved of CPU) is what the server sent for nothing.
        let ranged: u64 = log
            .iter()
            .filter(|e| e.range.is_some())
            .map(|e| e.body_bytes)
            .sum();
        assert!(ranged <= body.len() as u64 + 8 * MIB as u64, "{ranged}");
        let plain: Vec<_> = log.iter().filter(|e| e.range.is_none()).collect();
        assert_eq!(plain.len(), 1, "{:?}", describe(&log));
        let sent: u64 = log.iter().map(|e| e.body_bytes).sum();
        assert!(
            sent <= body.len() as u64 + 8 * MIB as u64 + socket_buffers(),
            "{sent}: more than one cut's socket buffers: {:?}",
            describe(&log)
        );
    }
}

/// The most one TCP connection's buffers can hold, both sides (the kernel's `tcp_rmem` and
/// `tcp_wmem` maxima): what a cut response can have had in flight.
fn socket_buffers() -> u64 {
    let max = |f: &str| {
        std::fs::read_to_string(f)
            .ok()
            .and_then(|t| t.split_whitespace().nth(2)?.parse::<u64>().ok())
            .unwrap_or(16 << 20)
    };
    max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem")
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
    // The first request asks for the whole object (no think time: it streams at once), then
    // one long range request per other connection (4 at the start).
    assert_eq!(log[0].range, None, "{:?}", describe(&log));
    assert!(log.len() <= 5, "{:?}", describe(&log));
    assert!(
        log[1..].iter().all(|e| e.status == 206),
        "{:?}",
        describe(&log)
    );
}

#[test]
fn a_server_that_offers_ranges_but_ignores_them_gets_one_stream_that_is_never_restarted() {
    // `Accept-Ranges: bytes`, yet every range request is answered 200 with the whole file.
    // The first stream (no Range) is cut at its share for the others; their 200s take that
    // cut back before the stream reaches it, so the one stream runs on to the end.
    let s = Server::start().unwrap();
    let body = pattern(8 * MIB, 1505);
    s.add(
        "/liar.bin",
        Resource::new(body.clone())
            .etag("\"l\"")
            .claims_ranges_but_ignores_them()
            .rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &s.url("/liar.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("liar.bin"), &body);
    assert!(
        stderr(&o).contains("comes in one stream"),
        "not said: {}",
        stderr(&o)
    );
    let log = gets(&s, "/liar.bin");
    let plain: Vec<_> = log.iter().filter(|e| e.range.is_none()).collect();
    assert_eq!(plain.len(), 1, "{:?}", describe(&log));
    assert_eq!(
        plain[0].body_bytes,
        body.len() as u64,
        "{:?}",
        describe(&log)
    );
    assert!(log.len() >= 2, "no range was tried: {:?}", describe(&log));
    assert_eq!(env.jobs()[0]["state"], "done");
}

#[test]
fn a_stream_cut_before_ranges_turned_out_ignored_starts_again_from_byte_zero() {
    // The same server, but its (ignored) range answers come late: the first stream (1.5 MiB
    // of 6 at 8 MiB/s) has stopped at its share by then. The file must not be saved short: one stream again
    // from byte 0, and the whole file on disk.
    let s = Server::start().unwrap();
    let body = pattern(6 * MIB, 1506);
    s.add(
        "/late.bin",
        // No ETag: the 200 to a range reads as an invalid answer, not as a changed file.
        Resource::new(body.clone())
            .claims_ranges_but_ignores_them()
            .rate(8 << 20)
            .range_delay(Duration::from_millis(700)),
    );
    let env = Env::new();
    let o = env.run(&["get", &s.url("/late.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("late.bin"), &body);
    let log = gets(&s, "/late.bin");
    let plain: Vec<_> = log.iter().filter(|e| e.range.is_none()).collect();
    assert_eq!(plain.len(), 2, "{:?}", describe(&log));
    assert_eq!(
        plain[1].body_bytes,
        body.len() as u64,
        "{:?}",
        describe(&log)
    );
    let j = &env.jobs()[0];
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["size"], body.len() as u64, "{j}");
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

#[test]
fn a_server_that_serves_ranges_without_saying_so_is_asked_once_then_gets_its_connections() {
    // No `Accept-Ranges` on the plain answer: one small range at the file's end asks first;
    // its 206 proves ranges, and the other connections start then.
    let s = Server::start().unwrap();
    let body = pattern(24 * MIB, 1507);
    s.add(
        "/quiet.bin",
        Resource::new(body.clone())
            .etag("\"q\"")
            .hides_ranges()
            .rate(4 << 20),
    );
    let env = Env::new();
    env.ok(&["get", &s.url("/quiet.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("quiet.bin"), &body);
    let log = gets(&s, "/quiet.bin");
    assert_eq!(log[0].range, None, "{:?}", describe(&log));
    let tail = format!("bytes={}-{}", body.len() - 65536, body.len() - 1);
    assert_eq!(
        log[1].range.as_deref(),
        Some(tail.as_str()),
        "{:?}",
        describe(&log)
    );
    let ranged: Vec<_> = log.iter().filter(|e| e.range.is_some()).collect();
    assert!(
        ranged.iter().all(|e| e.status == 206),
        "{:?}",
        describe(&log)
    );
    assert!(
        ranged.len() >= 3,
        "the others never started: {:?}",
        describe(&log)
    );
    assert!(conns(&log) >= 4, "{:?}", describe(&log));
}

#[test]
fn a_large_file_from_a_server_without_ranges_costs_one_dropped_range_request() {
    // No `Accept-Ranges`, and a range is answered with the whole file: the probe's 200 is
    // dropped at once and the first stream goes on alone, never restarted.
    let s = Server::start().unwrap();
    let body = pattern(16 * MIB, 1508);
    s.add(
        "/none.bin",
        Resource::new(body.clone()).no_ranges().rate(8 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &s.url("/none.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("none.bin"), &body);
    let log = gets(&s, "/none.bin");
    let plain: Vec<_> = log.iter().filter(|e| e.range.is_none()).collect();
    let ranged: Vec<_> = log.iter().filter(|e| e.range.is_some()).collect();
    assert_eq!(plain.len(), 1, "{:?}", describe(&log));
    assert_eq!(
        plain[0].body_bytes,
        body.len() as u64,
        "{:?}",
        describe(&log)
    );
    assert_eq!(ranged.len(), 1, "{:?}", describe(&log));
    assert!(
        ranged[0].body_bytes < 4 * MIB as u64,
        "the probe's whole-file answer was read: {:?}",
        describe(&log)
    );
}

#[test]
fn a_host_whose_ranges_cost_nothing_is_asked_a_ranged_window_first_from_its_next_job_on() {
    // Job 1 asks plainly and times its range answers: as fast as the plain one. The host is
    // remembered (host policy), so job 2's first request is a ranged window: no response of
    // it needs cutting.
    let s = Server::start().unwrap();
    let (a, b) = (pattern(16 * MIB, 1509), pattern(16 * MIB, 1510));
    s.add(
        "/a.bin",
        Resource::new(a.clone()).etag("\"a\"").rate(8 << 20),
    );
    s.add(
        "/b.bin",
        Resource::new(b.clone()).etag("\"b\"").rate(8 << 20),
    );
    let env = Env::new();
    env.ok(&["get", &s.url("/a.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("a.bin"), &a);
    let log = gets(&s, "/a.bin");
    assert_eq!(log[0].range, None, "{:?}", describe(&log));
    let long = env.ok(&["status", "--long"]);
    assert!(
        long.contains("range answers as fast as a plain one (measured)"),
        "{long}"
    );
    env.ok(&["get", &s.url("/b.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("b.bin"), &b);
    let log = gets(&s, "/b.bin");
    assert_eq!(
        log[0].range.as_deref(),
        Some("bytes=0-1048575"),
        "{:?}",
        describe(&log)
    );
    assert!(
        log.iter().all(|e| e.range.is_some()),
        "{:?}",
        describe(&log)
    );
}

#[test]
fn a_host_whose_ranges_cost_think_time_is_asked_plainly_again() {
    let s = Server::start().unwrap();
    let (a, b) = (pattern(16 * MIB, 1511), pattern(16 * MIB, 1512));
    for (p, body) in [("/a.bin", &a), ("/b.bin", &b)] {
        s.add(
            p,
            Resource::new(body.clone())
                .etag("\"s\"")
                .range_delay(Duration::from_millis(100)),
        );
    }
    let env = Env::new();
    env.ok(&["get", &s.url("/a.bin"), "-c", "4"]);
    let long = env.ok(&["status", "--long"]);
    assert!(
        long.contains("range answers cost it think time (measured)"),
        "{long}"
    );
    env.ok(&["get", &s.url("/b.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("b.bin"), &b);
    for p in ["/a.bin", "/b.bin"] {
        let log = gets(&s, p);
        assert_eq!(log[0].range, None, "{p}: {:?}", describe(&log));
        assert!(
            log.len() >= 2,
            "{p}: ranges were used: {:?}",
            describe(&log)
        );
    }
}

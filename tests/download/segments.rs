//! Segmented transfers: several connections give a byte-exact file, the work of a slow
//! connection is stolen, a server without ranges or a length gets one stream, and a cap on
//! open connections or `--limit-rate` is kept to.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::{Duration, Instant};

#[test]
fn multi_connection_download_is_byte_exact() {
    let server = Server::start().unwrap();
    let body = pattern(24 << 20, 7);
    // 8 MiB/s per connection: eight connections are worth opening.
    server.add(
        "/data/big.bin",
        Resource::new(body.clone())
            .etag("\"v1\"")
            .last_modified("Sat, 21 Nov 2026 10:00:00 GMT")
            .rate(8 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/data/big.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &body);
    assert!(!env.out().join("big.bin.part").exists());
    let j = &env.jobs()[0];
    assert_eq!(j["state"], "done");
    assert_eq!(j["size"], 24 << 20);
    assert_eq!(j["bytes_done"], 24 << 20);
    // Several connections really were used: the first request for the file (no Range, cut
    // at its share) and the others with Range, all with identity encoding.
    let log = server.log();
    let plain: Vec<_> = log
        .iter()
        .filter(|e| e.method == "GET" && e.range.is_none())
        .collect();
    assert_eq!(plain.len(), 1, "one plain GET, the first");
    assert_eq!(plain[0].header("accept-encoding"), Some("identity"));
    let ranged: Vec<_> = log
        .iter()
        .filter(|e| e.method == "GET" && e.status == 206 && e.body_bytes > 1)
        .collect();
    assert!(ranged.len() >= 7, "only {} ranged GETs", ranged.len());
    for e in &ranged {
        assert_eq!(e.header("accept-encoding"), Some("identity"));
        assert!(
            !e.range.as_deref().unwrap_or("").contains(','),
            "multi-range sent"
        );
    }
    let conns: std::collections::HashSet<_> = ranged.iter().chain(&plain).map(|e| e.conn).collect();
    assert!(conns.len() >= 8, "{} connections", conns.len());
}

#[test]
fn stealing_absorbs_a_20x_slower_first_connection() {
    // Four connections at 2 MiB/s each; the one that starts at offset 0 gets 100 KiB/s.
    // A static split would need 2 MiB / 100 KiB/s = 20 s; stealing finishes in about the
    // time of the fast connections (8 MiB / ~6 MiB/s).
    let server = Server::start().unwrap();
    let body = pattern(8 << 20, 3);
    server.add(
        "/s.bin",
        Resource::new(body.clone())
            .rate(2 << 20)
            .slow_from_zero(100 << 10),
    );
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&["get", &server.url("/s.bin"), "-c", "4"]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("s.bin"), &body);
    // Measured ~2.0 s in a debug build, process start and probe included.
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: the slow connection held the download"
    );
}

#[test]
fn server_without_ranges_gets_one_stream() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 4);
    server.add("/nr.bin", Resource::new(body.clone()).no_ranges());
    let env = Env::new();
    let o = env.run(&["get", &server.url("/nr.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("nr.bin"), &body);
    let gets = server
        .log()
        .iter()
        .filter(|e| e.method == "GET" && e.range.as_deref() != Some("bytes=0-0"))
        .count();
    assert_eq!(
        gets, 1,
        "one stream for a server without ranges (besides the probe)"
    );
}

#[test]
fn unknown_length_streams_until_eof() {
    let server = Server::start().unwrap();
    let body = pattern((2 << 20) + 123, 5);
    server.add(
        "/chunked",
        Resource::new(body.clone()).no_length().no_ranges(),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/chunked"), "-o", "c.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("c.bin"), &body);
    assert_eq!(env.jobs()[0]["size"], body.len() as u64);
}

#[test]
fn a_cap_on_open_connections_closes_idle_ones_and_completes() {
    // Like servers that limit connections per client: idle keep-alive sockets count too.
    let server = Server::start().unwrap();
    server.limit_open_connections(4, 503);
    let body = pattern(16 << 20, 15);
    server.add("/cap.bin", Resource::new(body.clone()).rate(4 << 20));
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&["get", &server.url("/cap.bin"), "-c", "8"]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("cap.bin"), &body);
    let refused = server.log().iter().filter(|e| e.status == 503).count();
    assert!(refused >= 1, "the cap was never hit");
    assert!(
        refused <= 16,
        "{refused} refusals: idle connections were kept open"
    );
    // 16 MiB over 4 connections at 4 MiB/s each is 1 s; allow the refusals' Retry-After.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn limit_rate_caps_the_job_speed() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 13);
    server.add("/r.bin", Resource::new(body.clone()));
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&[
        "get",
        &server.url("/r.bin"),
        "-c",
        "4",
        "--limit-rate",
        "1M",
    ]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("r.bin"), &body);
    // 3 MiB at 1 MiB/s: about 3 s (curl allows short bursts); unlimited it takes ~0.1 s.
    assert!(
        took > Duration::from_millis(2200),
        "took {took:?}: not limited"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let o = env.run(&["add", &server.url("/r.bin"), "--limit-rate", "fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a size"), "{}", stderr(&o));
}

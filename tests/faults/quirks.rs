//! Server quirks: short 206 answers, wrong or malformed Content-Range (on transfers, on the
//! probe, and forever), gzip offered although identity was asked, and an empty file whose
//! probe gets 416 (with its length, or, as RangeHTTPServer and S3-likes answer, without).

use super::common::*;
use crate::util::*;
use ddm_testserver::{answer, pattern, Fault, HeadMode, RawReply, RawServer, Resource, Server};
use std::time::Duration;

#[test]
fn short_206_keeps_what_came_and_fetches_only_the_rest() {
    // Two connections: the first request (the whole file, no Range) is cut at its share; the
    // other connection's range gets short answers (the first half of what was asked), each
    // kept, the rest asked from where it ended.
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 160);
    server.add(
        "/short.bin",
        Resource::new(body.clone()).fault(Fault::ShortRange { times: 4 }),
    );
    let env = Env::new();
    let took = ok_get(&env, &["get", &server.url("/short.bin"), "-c", "2"]);
    assert_same_file(&env.out().join("short.bin"), &body);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let log = server.log();
    dump(&log);
    let ranged: Vec<_> = gets_of(&log, "/short.bin")
        .into_iter()
        .filter(|e| is_transfer(e) && e.range.is_some())
        .collect();
    let starts: Vec<u64> = ranged.iter().map(|e| range_start(e).unwrap()).collect();
    // Every short answer is followed by a request from where it ended: one connection asks
    // ever further, and every byte of the ranges is sent exactly once.
    assert!(
        starts.len() >= 5,
        "4 short answers, then the rest: {starts:?}"
    );
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    let conns: std::collections::HashSet<u64> = ranged.iter().map(|e| e.conn).collect();
    assert_eq!(
        conns.len(),
        1,
        "one connection asked ever further: {conns:?}"
    );
    let in_ranges: u64 = ranged.iter().map(|e| e.body_bytes).sum();
    assert_eq!(
        in_ranges,
        size as u64 - starts[0],
        "short answers were thrown away and fetched again"
    );
}

#[test]
fn wrong_range_start_on_transfers_is_rejected_then_retried() {
    let size = 4 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 161);
    server.add("/wrs.bin", cut_often(&body, "\"w1\""));
    let liar = Resource::new(body.clone())
        .etag("\"w1\"")
        .fault(Fault::WrongRangeStart { times: 2 });
    let env = Env::new();
    let ((o, took), log) = watch(
        &server,
        swap_after_transfer_starts(&server, "/wrs.bin", Duration::ZERO, liar),
        || timed(&env, &["get", &server.url("/wrs.bin"), "-c", "2"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("wrs.bin"), &body);
    assert!(took < Duration::from_secs(6), "took {took:?}");
    // After the first (cut) answer, a range answer with a wrong start was served and
    // refused (the file is byte-exact). Before any good 206 that means the server cannot
    // serve ranges: the file comes in one stream (said); after one, each wrong answer is
    // retried until a right one.
    let gets: Vec<_> = log.iter().filter(|s| s.e.method == "GET").collect();
    assert!(
        gets.iter().any(|s| s.e.status == 206),
        "the wrong starts were probably never served: {log:#?}"
    );
    let one_stream = stderr(&o).contains("comes in one stream");
    assert!(
        if one_stream {
            gets.len() >= 3
        } else {
            gets.len() >= 4
        },
        "{log:#?}"
    );
}

#[test]
fn malformed_content_range_on_transfers_is_rejected_then_retried() {
    let size = 4 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 162);
    server.add("/mcr.bin", cut_often(&body, "\"g1\""));
    let liar = Resource::new(body.clone())
        .etag("\"g1\"")
        .fault(Fault::MalformedContentRange { times: 2 });
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_after_transfer_starts(&server, "/mcr.bin", Duration::ZERO, liar),
        || timed(&env, &["get", &server.url("/mcr.bin"), "-c", "2"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("mcr.bin"), &body);
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn range_lies_on_the_probe_fall_back_to_one_stream() {
    let server = Server::start().unwrap();
    let env = Env::new();
    for (i, fault) in [
        Fault::WrongRangeStart { times: 1 },
        Fault::MalformedContentRange { times: 1 },
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("/probe{i}.bin");
        let body = pattern(3 * MIB, 163 + i as u64);
        server.add(&path, Resource::new(body.clone()).fault(fault));
        ok_get(&env, &["get", &server.url(&path), "-c", "4"]);
        assert_same_file(&env.out().join(&path[1..]), &body);
    }
}

#[test]
fn wrong_range_start_forever_fails_clearly_without_an_endless_loop() {
    let size = 4 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 164);
    server.add("/lies.bin", cut_often(&body, "\"l1\""));
    let liar = Resource::new(body.clone())
        .etag("\"l1\"")
        .fault(Fault::WrongRangeStart { times: usize::MAX });
    let env = Env::new();
    let ((o, took), log) = watch(
        &server,
        swap_after_transfer_starts(&server, "/lies.bin", Duration::ZERO, liar),
        || timed(&env, &["get", &server.url("/lies.bin"), "-c", "2"]),
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Before any good 206, a wrong start means the server cannot serve ranges: the file
    // comes in one stream (plain GETs work here), said, byte-exact. After a good one, the
    // job fails clearly once each range has had its attempts.
    let err = if o.status.success() {
        assert_same_file(&env.out().join("lies.bin"), &body);
        assert!(stderr(&o).contains("comes in one stream"), "{}", stderr(&o));
        String::from("(done in one stream)")
    } else {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let (err, done) = failed(&env, 1);
        assert!(
            err.contains("range") || err.contains("Range") || err.contains("asked for bytes"),
            "{err}"
        );
        assert!(done > 0 || log.iter().any(|s| s.e.body_bytes > 0));
        err
    };
    eprintln!("wrong range start forever: {err}");
    dump(&log.iter().map(|s| s.e.clone()).collect::<Vec<_>>());
    let n = log.iter().filter(|s| is_transfer(&s.e)).count();
    assert!(
        n <= 20,
        "{n} range requests to a server that always lies (2 connections, 3 attempts per range); error: {err}"
    );
    // A failed job leaves no file that looks finished.
    assert_eq!(env.out().join("lies.bin").exists(), o.status.success());
}

#[test]
fn gzip_offered_is_declined_and_identity_bytes_are_saved() {
    let server = Server::start().unwrap();
    let ranged = pattern(4 * MIB, 180);
    let plain = pattern(2 * MIB, 181);
    server.add("/gz.bin", Resource::new(ranged.clone()).gzip());
    server.add(
        "/gzs.bin",
        Resource::new(plain.clone()).gzip().no_ranges().no_length(),
    );
    let env = Env::new();
    ok_get(&env, &["get", &server.url("/gz.bin"), "-c", "4"]);
    ok_get(&env, &["get", &server.url("/gzs.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("gz.bin"), &ranged);
    assert_same_file(&env.out().join("gzs.bin"), &plain);
    for e in server.log() {
        assert_eq!(
            e.header("accept-encoding"),
            Some("identity"),
            "{} {} asked for {:?}",
            e.method,
            e.target,
            e.header("accept-encoding")
        );
    }
}

#[test]
fn empty_file_whose_probe_gets_416_is_saved_empty() {
    let server = Server::start().unwrap();
    server.add("/empty.bin", Resource::new(Vec::new()));
    server.add(
        "/empty-nohead.bin",
        Resource::new(Vec::new()).head(HeadMode::Refuse(405)),
    );
    let env = Env::new();
    for name in ["empty.bin", "empty-nohead.bin"] {
        let (o, took) = timed(&env, &["get", &server.url(&format!("/{name}"))]);
        assert!(
            o.status.success(),
            "{name}: exit {:?} after {took:?}: {}",
            o.status.code(),
            stderr(&o)
        );
        assert_same_file(&env.out().join(name), &[]);
        assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
    }
    assert!(env.jobs().iter().all(|j| j["state"] == "done"));
}

/// A server that answers every Range with a 416 naming no length (as RangeHTTPServer does
/// for an empty file, and S3 with its XML error) and a request without one with `body`.
fn no_length_416(body: Vec<u8>, error_page: &'static [u8]) -> RawServer {
    RawServer::start(move |req| {
        RawReply::Keep(match req.range() {
            Some(_) => answer(
                416,
                &[("Content-Type", "application/xml".into())],
                error_page,
            ),
            None => answer(
                200,
                &[("Content-Type", "application/octet-stream".into())],
                &body,
            ),
        })
    })
    .unwrap()
}

#[test]
fn a_416_without_a_length_to_the_first_range_asks_once_without_a_range() {
    let s3 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRange</Code>\
               <Message>The requested range is not satisfiable</Message></Error>";
    let rangehttp = b"<html><body><h1>416 Requested Range Not Satisfiable</h1></body></html>";
    for (what, page) in [("S3", &s3[..]), ("RangeHTTPServer", &rangehttp[..])] {
        // An empty file: saved empty. A new job's first request carries no Range, so the
        // server is asked once, plainly.
        let s = no_length_416(Vec::new(), page);
        let env = Env::new();
        let o = env.run(&["get", &s.url("/empty.txt")]);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        assert_same_file(&env.out().join("empty.txt"), &[]);
        let log = s.log();
        assert_eq!(log.len(), 1, "{what}: {log:?}");
        assert!(log[0].header("range").is_none(), "{what}: {log:?}");
        assert_eq!(env.job(1)["state"], "done");
        // `probe` asks `bytes=0-0`: its 416 naming no length is asked again without a range,
        // once, and it says the same: an empty file.
        let before = s.log().len();
        let out = env.ok(&["probe", &s.url("/empty.txt"), "--json"]);
        let log = s.log().split_off(before);
        let gets: Vec<_> = log.iter().filter(|r| r.line.starts_with("GET ")).collect();
        assert_eq!(gets.len(), 2, "{what}: {log:?}");
        assert_eq!(gets[0].range(), Some((0, Some(0))), "{what}: {log:?}");
        assert!(gets[1].header("range").is_none(), "{what}: {log:?}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["size"], 0, "{what}: {v}");
        assert_eq!(v["status"], 200, "{what}: {v}");
    }
    // A file there after all: the plain answer is a server without ranges, saved whole.
    let body = pattern(3 * MIB, 1501);
    let s = no_length_416(body.clone(), &s3[..]);
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = s.log();
    let ranged = log.iter().filter(|r| r.range().is_some()).count();
    assert_eq!((ranged, log.len()), (0, 1), "{log:?}");
}

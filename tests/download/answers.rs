//! Servers as they are: HEAD refused or giving another length, error statuses, redirects to
//! other schemes, gzip sent whatever was asked, 103 Early Hints, a 200 for a range covering
//! the whole file, and a stream without ranges whose length changes between requests.

use crate::util::*;
use ddm_testserver::{pattern, HeadMode, Resource, Server};
use std::time::Duration;

#[test]
fn head_refused_falls_back_to_get() {
    let server = Server::start().unwrap();
    let body = pattern(5 << 20, 6);
    server.add(
        "/nohead.bin",
        Resource::new(body.clone()).head(HeadMode::Refuse(405)),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/nohead.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("nohead.bin"), &body);
}

#[test]
fn head_length_differing_from_get_trusts_get() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 8);
    server.add(
        "/lie.bin",
        Resource::new(body.clone()).head(HeadMode::WrongLength(1000)),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/lie.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("lie.bin"), &body);
}

#[test]
fn http_errors_fail_the_job_with_the_status() {
    let server = Server::start().unwrap();
    let env = Env::new();
    let o = env.run(&["get", &server.url("/missing.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    let j = &env.jobs()[0];
    assert_eq!(j["state"], "failed");
    assert!(j["error"].as_str().unwrap().contains("404"));
}

#[test]
fn redirects_to_other_schemes_are_refused() {
    let server = Server::start().unwrap();
    server.redirect("/to-file", "file:///etc/passwd", 302);
    let env = Env::new();
    let o = env.run(&["get", &server.url("/to-file")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("non-http"), "{}", stderr(&o));
}

#[test]
fn a_server_that_always_gzips_is_saved_as_served() {
    // It ignores `Accept-Encoding: identity`: what it sends is saved byte for byte (like
    // curl and aria2c without --compressed), with a note; nothing is decoded.
    let server = Server::start().unwrap();
    let body = pattern(1 << 20, 16);
    server.add("/z.bin", Resource::new(body.clone()).gzip_always());
    let env = Env::new();
    let o = env.run(&["get", &server.url("/z.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("saved as served"), "{}", stderr(&o));
    assert_same_file(&env.out().join("z.bin"), &ddm_testserver::gzip_bytes(&body));
    for e in server.log() {
        assert_eq!(e.header("accept-encoding"), Some("identity"), "{e:?}");
    }
}

#[test]
fn a_tar_gz_served_gzip_encoded_is_saved_as_served_with_ranges() {
    // Apache's `AddEncoding x-gzip .gz`: the stored bytes are gzip and the answer says so.
    // They are the file (like curl and aria2c save them), and ranges of them work.
    let server = Server::start().unwrap();
    let body = pattern(6 << 20, 31);
    server.add(
        "/pkg.tar.gz",
        Resource::new(body.clone())
            .etag("\"t\"")
            .content_type("application/x-tar")
            .served_encoding("gzip")
            .rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/pkg.tar.gz"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("pkg.tar.gz"), &body);
    let ranged = server.log().iter().filter(|e| e.status == 206).count();
    assert!(ranged >= 2, "ranges were used: {ranged}");
}

#[test]
fn informational_103_answers_are_skipped_not_taken_for_the_file() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 33);
    // Throttled, so that the first stream does not take the whole file before the other
    // connections (range requests, each with its own 103 first) start.
    server.add(
        "/hinted.bin",
        Resource::new(body.clone()).early_hints().rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/hinted.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("hinted.bin"), &body);
    assert!(server.log().iter().filter(|e| e.status == 206).count() >= 2);
}

#[test]
fn a_200_for_a_range_covering_the_whole_file_is_that_file() {
    let server = Server::start().unwrap();
    let body = pattern(300 * 1024, 32);
    server.add(
        "/range/300k",
        Resource::new(body.clone()).whole_range_as_200(),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/range/300k"), "-o", "r.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("r.bin"), &body);
    assert_eq!(server.log().len(), 1, "one request");
}

#[test]
fn a_stream_without_ranges_may_change_length_between_requests() {
    // Dynamic content: the first answer is cut, and the next one is longer. Nothing was kept
    // of the first (a stream without ranges starts over), so nothing "changed".
    let server = Server::start().unwrap();
    let first = pattern(2 << 20, 33);
    let second = pattern(3 << 20, 34);
    server.add(
        "/dyn",
        Resource::new(first)
            .no_ranges()
            .etag("\"d1\"")
            .fault(ddm_testserver::Fault::CutAfter {
                after: 512 * 1024,
                rst: false,
                times: 1,
            }),
    );
    server.redirect("/go", "/dyn", 302);
    let env = Env::new();
    let watcher = std::thread::scope(|s| {
        let h = s.spawn(|| {
            wait_for(Duration::from_secs(20), "the cut answer", || {
                server
                    .log()
                    .iter()
                    .any(|e| e.target == "/dyn" && e.body_bytes >= 512 * 1024)
                    .then_some(())
            });
            server.add(
                "/dyn",
                Resource::new(second.clone()).no_ranges().etag("\"d2\""),
            );
        });
        let o = env.run(&["get", &server.url("/go"), "-o", "dyn.bin"]);
        h.join().unwrap();
        o
    });
    assert!(watcher.status.success(), "{}", stderr(&watcher));
    assert_same_file(&env.out().join("dyn.bin"), &second);
}

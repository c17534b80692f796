//! Expiring signed redirects: an expired link is resolved again from the original URL (once
//! for several connections, and as often as it expires), and a link resolved again to a
//! different file is refused.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

/// A signed link (valid `ttl`) to a file served at 2 MiB/s per connection whose first
/// `cuts` responses are cut after 1 MiB (0.5 s): with `ttl` < 0.5 s the retries come after
/// the link expired.
fn expiring_link(server: &Server, size: usize, seed: u64, ttl: Duration, cuts: usize) -> Vec<u8> {
    let body = pattern(size, seed);
    server.add(
        "/files/e.bin",
        Resource::new(body.clone())
            .etag("\"e1\"")
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: MIB as u64,
                rst: false,
                times: cuts,
            }),
    );
    server.signed_redirect("/dl/e", "/files/e.bin", ttl);
    body
}

#[test]
fn expired_signed_redirect_is_resolved_again_and_the_download_continues() {
    let server = Server::start().unwrap();
    // Cut at 0.5 s: the 0.3 s link has expired by then.
    let body = expiring_link(&server, 3 * MIB, 153, Duration::from_millis(300), 1);
    let env = Env::new();
    let (o, took) = timed(
        &env,
        &["get", &server.url("/dl/e"), "-o", "e.bin", "-c", "1"],
    );
    assert!(o.status.success(), "failed after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("e.bin"), &body);
    let log = server.log();
    dump(&log);
    assert!(
        gets_of(&log, "/files/e.bin")
            .iter()
            .any(|e| e.status == 403),
        "the link never expired during the test"
    );
    let hops = log.iter().filter(|e| e.target == "/dl/e").count();
    assert!(
        hops >= 2,
        "the original URL was not resolved again ({hops} hits)"
    );
}

#[test]
fn two_connections_refused_by_the_same_expired_link_both_continue() {
    let server = Server::start().unwrap();
    // Both 2 MiB segments are cut at 0.5 s and retried after the 0.6 s link expired: both
    // retries get 403. One re-resolution must serve both.
    let body = expiring_link(&server, 4 * MIB, 154, Duration::from_millis(600), 2);
    let env = Env::new();
    let (o, took) = timed(
        &env,
        &["get", &server.url("/dl/e"), "-o", "e.bin", "-c", "2"],
    );
    let log = server.log();
    dump(&log);
    assert!(o.status.success(), "failed after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("e.bin"), &body);
}

#[test]
fn expiring_signed_redirect_is_resolved_again_each_time_it_expires() {
    // A long download through short-lived links: each response is cut after 384 KiB (0.19 s
    // at 2 MiB/s) and the link lives 0.3 s, so it expires about eight times in 3 s. Every
    // re-resolution follows progress, so there is no loop to fear: the download must finish.
    let size = 6 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 150);
    server.add(
        "/files/s.bin",
        Resource::new(body.clone())
            .etag("\"s1\"")
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: 384 * KIB as u64,
                rst: false,
                times: usize::MAX,
            }),
    );
    server.signed_redirect("/dl/s", "/files/s.bin", Duration::from_millis(300));
    let env = Env::new();
    let (o, took) = timed(
        &env,
        &["get", &server.url("/dl/s"), "-o", "s.bin", "-c", "1"],
    );
    let log = server.log();
    dump(&log);
    let refused = gets_of(&log, "/files/s.bin")
        .iter()
        .filter(|e| e.status == 403)
        .count();
    let hops = log.iter().filter(|e| e.target == "/dl/s").count();
    assert!(
        o.status.success(),
        "failed after {took:?}, {refused} expiries met, {hops} resolutions: {}",
        stderr(&o)
    );
    assert_same_file(&env.out().join("s.bin"), &body);
    assert!(
        refused >= 6,
        "the link expired only {refused} times during the test"
    );
    assert!(hops >= refused, "{hops} resolutions for {refused} expiries");
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn resolved_again_to_a_different_file_is_refused() {
    let size = 6 * MIB;
    let server = Server::start().unwrap();
    server.add(
        "/files/x.bin",
        Resource::new(pattern(size, 151))
            .etag("\"x1\"")
            .rate(1 << 20)
            .fault(Fault::CutAfter {
                after: 512 * KIB as u64,
                rst: false,
                times: usize::MAX,
            }),
    );
    server.signed_redirect("/dl/x", "/files/x.bin", Duration::from_millis(700));
    let changed = Resource::new(pattern(size, 152)).etag("\"x2\"");
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_after_transfer_starts(&server, "/files/x.bin", Duration::from_millis(300), changed),
        || {
            timed(
                &env,
                &["get", &server.url("/dl/x"), "-o", "x.bin", "-c", "2"],
            )
        },
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (err, done) = failed(&env, 1);
    assert!(
        err.contains("different file") || err.contains("changed"),
        "{err}"
    );
    assert!(done > 0, "progress kept");
    assert!(!env.out().join("x.bin").exists(), "nothing spliced");
}

#[test]
fn a_resolution_that_fails_for_a_passing_reason_is_tried_again() {
    // The link expires (0.3 s) before the cut at 1 MiB (0.5 s); by then the file answers
    // its next two GETs with 503, so the first two resolutions fail. A 503 passes: the job
    // must try the resolution again after a backoff and finish, not fail on the first one.
    let server = Server::start().unwrap();
    let body = expiring_link(&server, 3 * MIB, 155, Duration::from_millis(300), 1);
    let busy = Resource::new(body.clone())
        .etag("\"e1\"")
        .fault(Fault::Status {
            code: 503,
            retry_after: None,
            times: 2,
        });
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/files/e.bin", busy, |log| {
            transferred(log, "/files/e.bin") >= MIB as u64 / 2
        }),
        || {
            timed(
                &env,
                &["get", &server.url("/dl/e"), "-o", "e.bin", "-c", "1"],
            )
        },
    );
    let log = server.log();
    dump(&log);
    assert!(o.status.success(), "failed after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("e.bin"), &body);
    let gets = gets_of(&log, "/files/e.bin");
    assert!(
        gets.iter().any(|e| e.status == 403),
        "the link never expired"
    );
    let busy = gets.iter().filter(|e| e.status == 503).count();
    assert_eq!(busy, 2, "the 503s were not met");
    let hops = log.iter().filter(|e| e.target == "/dl/e").count();
    assert!(
        hops >= 4,
        "{hops} hits of the original URL: not resolved again after the 503s"
    );
}

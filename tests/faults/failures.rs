//! When retrying stops: final statuses fail at once (also mid-download), a spent retry budget
//! fails naming the last cause, a refused connection or a server gone mid-download fails after
//! bounded retries; progress is always kept and resume continues.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::{Duration, Instant};

#[test]
fn final_statuses_fail_at_once_without_retries() {
    let server = Server::start().unwrap();
    let env = Env::new();
    for (i, code) in [400u16, 401, 403, 404, 410].into_iter().enumerate() {
        let path = format!("/f{code}.bin");
        server.add(
            &path,
            Resource::new(pattern(100_000, 120)).fault(Fault::Status {
                code,
                retry_after: Some("1".into()),
                times: usize::MAX,
            }),
        );
        let (o, took) = timed(&env, &["get", &server.url(&path), "-c", "4"]);
        assert_eq!(o.status.code(), Some(1), "{code}: {}", stderr(&o));
        assert!(stderr(&o).contains(&code.to_string()), "{}", stderr(&o));
        assert!(took < Duration::from_secs(2), "{code}: took {took:?}");
        let (err, _) = failed(&env, i as i64 + 1);
        assert!(err.contains(&code.to_string()), "{code}: {err}");
        let log = server.log();
        let n = gets_of(&log, &path).len();
        assert_eq!(n, 1, "{code} is final: {n} GETs");
    }
}

#[test]
fn final_status_mid_download_fails_at_once_and_keeps_progress() {
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 121);
    let healthy = Resource::new(body.clone()).etag("\"m1\"");
    server.add(
        "/mid.bin",
        healthy.clone().rate(2 << 20).fault(Fault::CutAfter {
            after: 768 * KIB as u64,
            rst: false,
            times: usize::MAX,
        }),
    );
    let gone = healthy.clone().fault(Fault::Status {
        code: 404,
        retry_after: None,
        times: usize::MAX,
    });
    let env = Env::new();
    let ((o, _), log) = watch(
        &server,
        swap_after_transfer_starts(&server, "/mid.bin", Duration::from_millis(1200), gone),
        || timed(&env, &["get", &server.url("/mid.bin"), "-c", "2"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (err, done) = failed(&env, 1);
    assert!(err.contains("404"), "{err}");
    assert!(done > 0, "progress kept");
    assert!(!env.out().join("mid.bin").exists());
    let n404 = log.iter().filter(|s| s.e.status == 404).count();
    assert!(n404 <= 2, "404 is final, but it was asked {n404} times");
    // The file is back: resume continues from the kept progress.
    server.add("/mid.bin", healthy);
    let sent = server.bytes_sent("/mid.bin");
    env.ok(&["resume", "1"]);
    env.ok(&["run"]);
    assert_same_file(&env.out().join("mid.bin"), &body);
    let refetched = server.bytes_sent("/mid.bin") - sent;
    assert!(
        refetched <= size as u64 - done + (2 * MIB) as u64,
        "refetched {refetched}, {} were missing",
        size as u64 - done
    );
}

#[test]
fn spent_retry_budget_fails_with_last_cause_keeps_progress_and_resume_continues() {
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 122);
    let healthy = Resource::new(body.clone()).etag("\"b1\"");
    server.add(
        "/budget.bin",
        healthy.clone().rate(2 << 20).fault(Fault::CutAfter {
            after: 768 * KIB as u64,
            rst: false,
            times: usize::MAX,
        }),
    );
    // Swapped in shortly before the first responses are cut (at 768 KiB, 0.375 s), so the
    // retries after the cuts meet the 500s.
    let broken = healthy.clone().fault(Fault::Status {
        code: 500,
        retry_after: None,
        times: usize::MAX,
    });
    let env = Env::new();
    config(&env, "retry_budget = 4\nmax_attempts = 50\n");
    let ((o, took), log) = watch(
        &server,
        swap_when(&server, "/budget.bin", broken, move |log| {
            log.iter()
                .any(|e| is_transfer(e) && e.body_bytes >= 512 * KIB as u64)
        }),
        || timed(&env, &["get", &server.url("/budget.bin"), "-c", "2"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let (err, done) = failed(&env, 1);
    assert!(err.contains("500"), "last cause named: {err}");
    assert!(done > 0, "progress kept");
    let n500 = log.iter().filter(|s| s.e.status == 500).count();
    assert!(
        (1..=4 + 2).contains(&n500),
        "retry budget 4 with 2 connections, but {n500} requests got 500"
    );
    server.add("/budget.bin", healthy);
    env.ok(&["resume", "1"]);
    env.ok(&["run"]);
    assert_same_file(&env.out().join("budget.bin"), &body);
}

#[test]
fn connection_refused_fails_after_bounded_retries() {
    let port = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let env = Env::new();
    let url = format!("http://127.0.0.1:{port}/nothing.bin");
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (err, _) = failed(&env, 1);
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn server_gone_mid_download_fails_with_progress_kept() {
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    server.add(
        "/away.bin",
        Resource::new(pattern(size, 123))
            .etag("\"w\"")
            .rate(1 << 20),
    );
    let env = Env::new();
    config(&env, "max_attempts = 3\n");
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/away.bin"), "-c", "2"]);
    let before = wait_progress(&env, 1, 0, Duration::from_secs(15));
    let t = Instant::now();
    drop(server); // listener closed, connections cut: every retry is refused
    let st = wait_child(&mut child, Duration::from_secs(20));
    let took = t.elapsed();
    assert_eq!(st.code(), Some(1));
    assert!(took < Duration::from_secs(10), "gave up after {took:?}");
    let (err, done) = failed(&env, 1);
    assert!(
        err.contains("connection refused") || err.contains("closed") || err.contains("reset"),
        "{err}"
    );
    assert!(done >= before, "progress kept: {done} < {before}");
}

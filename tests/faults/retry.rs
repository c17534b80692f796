//! Retries that end byte-exact: connections cut or reset mid-body continue where they
//! stopped, Retry-After (seconds and HTTP date) is honoured, transient statuses are retried and
//! repeated failures of one range back off exponentially.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::{Duration, SystemTime};

#[test]
fn every_7th_response_reset_mid_body_is_byte_exact_within_2x() {
    let size = 16 * MIB;
    let rate = 2 << 20;
    let base = fault_free_time(size, 101, Some(rate), "8");
    let server = Server::start().unwrap();
    let body = pattern(size, 101);
    server.add(
        "/cut.bin",
        Resource::new(body.clone())
            .etag("\"c1\"")
            .rate(rate)
            .fault(Fault::CutEvery {
                every: 7,
                rst: true,
                times: usize::MAX,
            }),
    );
    let env = Env::new();
    let took = ok_get(&env, &["get", &server.url("/cut.bin"), "-c", "8"]);
    assert_same_file(&env.out().join("cut.bin"), &body);
    let log = server.log();
    let gets = gets_of(&log, "/cut.bin");
    assert!(gets.len() >= 7, "only {} GETs: no cut happened", gets.len());
    assert_within(
        took,
        base,
        Duration::from_millis(1500),
        "7th-response resets",
    );
    // Never lose progress: what was received before a cut is kept, not fetched again.
    let sent = server.bytes_sent("/cut.bin");
    assert!(
        sent <= size as u64 + MIB as u64,
        "{sent} bytes sent for a {size}-byte file: cut ranges were fetched again from their start"
    );
}

#[test]
fn body_cut_short_continues_where_it_stopped_fin_and_rst() {
    // One connection, so the sequence of requests is deterministic: every cut range is asked
    // again from the byte where the cut happened, never from its start.
    let size = 6 * MIB;
    // Shorter than any window ddm asks for (at least 1 MiB), so answers are cut.
    let after = (MIB / 2 + 12_345) as u64;
    for rst in [false, true] {
        let server = Server::start().unwrap();
        let body = pattern(size, 102);
        server.add(
            "/cut1.bin",
            Resource::new(body.clone()).fault(Fault::CutAfter {
                after,
                rst,
                times: 3,
            }),
        );
        let env = Env::new();
        let took = ok_get(&env, &["get", &server.url("/cut1.bin"), "-c", "1"]);
        assert_same_file(&env.out().join("cut1.bin"), &body);
        assert!(took < Duration::from_secs(5), "rst={rst}: took {took:?}");
        let log = server.log();
        dump(&log);
        let t: Vec<(u64, u64, u64)> = gets_of(&log, "/cut1.bin")
            .into_iter()
            .filter(|e| is_transfer(e))
            .map(|e| {
                let start = range_start(e).unwrap();
                // One connection asks for everything at once (`bytes=0-`).
                let end = range_end(e).map_or(size as u64, |e| e + 1);
                (start, end, e.body_bytes)
            })
            .collect();
        // Requests come in windows, however long ddm makes them; what the server cut (three
        // answers longer than `after`) is asked again from where the cut was, and every
        // other request starts where the one before ended.
        let cut: Vec<bool> = t.iter().map(|&(s, e, got)| got < e - s).collect();
        assert_eq!(
            cut.iter().filter(|&&c| c).count(),
            3,
            "rst={rst}: three cut answers: {t:?}"
        );
        assert!(t[0].0 == 0, "rst={rst}: {t:?}");
        for w in t.windows(2) {
            let ((s0, e0, got0), (s1, _, _)) = (w[0], w[1]);
            if got0 < e0 - s0 {
                if rst {
                    // A reset may drop what was in flight: the retry starts after the
                    // previous start, no later than the cut.
                    assert!(s1 > s0 && s1 <= s0 + got0, "rst: {t:?}");
                } else {
                    assert_eq!(
                        s1,
                        s0 + got0,
                        "fin: a cut answer is asked again from the cut: {t:?}"
                    );
                }
            } else {
                assert_eq!(
                    s1, e0,
                    "rst={rst}: a whole answer is followed by the next window: {t:?}"
                );
            }
        }
        if !rst {
            let sent = server.bytes_sent("/cut1.bin");
            assert_eq!(sent, size as u64, "fin: bytes fetched twice");
        }
    }
}

#[test]
fn retry_after_seconds_is_honoured() {
    let server = Server::start().unwrap();
    let body = pattern(2 * MIB, 103);
    server.add(
        "/ra.bin",
        Resource::new(body.clone()).fault(Fault::Status {
            code: 503,
            retry_after: Some("1".into()),
            times: 2,
        }),
    );
    let env = Env::new();
    let ((o, took), log) = watch(&server, nothing, || {
        timed(&env, &["get", &server.url("/ra.bin"), "-c", "2"])
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("ra.bin"), &body);
    let gets: Vec<_> = log.iter().filter(|s| s.e.method == "GET").collect();
    let refused: Vec<_> = gets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.e.status == 503)
        .collect();
    assert_eq!(refused.len(), 2, "{log:#?}");
    for (i, s) in refused {
        let next = gets.get(i + 1).expect("a request after the 503");
        let gap = next.at.saturating_sub(s.at);
        assert!(
            gap >= Duration::from_millis(950),
            "retried {gap:?} after a 503 with Retry-After: 1"
        );
    }
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn retry_after_http_date_is_honoured() {
    let server = Server::start().unwrap();
    let body = pattern(MIB, 104);
    // Whole seconds: the wait is between 1 and 2 s (the default backoff is ~0.4 s).
    let when = http_date(SystemTime::now() + Duration::from_secs(2));
    server.add(
        "/date.bin",
        Resource::new(body.clone()).fault(Fault::Status {
            code: 429,
            retry_after: Some(when.clone()),
            times: 1,
        }),
    );
    let env = Env::new();
    let ((o, took), log) = watch(&server, nothing, || {
        timed(&env, &["get", &server.url("/date.bin"), "-c", "2"])
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("date.bin"), &body);
    let gets: Vec<_> = log.iter().filter(|s| s.e.method == "GET").collect();
    let i = gets.iter().position(|s| s.e.status == 429).expect("a 429");
    let gap = gets[i + 1].at.saturating_sub(gets[i].at);
    assert!(
        gap >= Duration::from_millis(800),
        "retried {gap:?} after a 429 with Retry-After: {when}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn transient_statuses_are_retried() {
    let server = Server::start().unwrap();
    let env = Env::new();
    for (i, code) in [408u16, 500, 502, 504].into_iter().enumerate() {
        let path = format!("/t{code}.bin");
        let body = pattern(512 * KIB + i, 110 + i as u64);
        server.add(
            &path,
            Resource::new(body.clone()).fault(Fault::Status {
                code,
                retry_after: None,
                times: 1,
            }),
        );
        let took = ok_get(&env, &["get", &server.url(&path), "-c", "2"]);
        assert_same_file(&env.out().join(&path[1..]), &body);
        assert!(took < Duration::from_secs(4), "{code}: took {took:?}");
        let log = server.log();
        assert_eq!(
            gets_of(&log, &path)
                .iter()
                .filter(|e| e.status == code)
                .count(),
            1,
            "{code} answered once"
        );
    }
}

#[test]
fn repeated_failures_of_one_range_back_off_exponentially() {
    // One connection; after the first cut every request fails twice with 500 (no
    // Retry-After): the waits must grow (base 0.5 s, x2 per attempt, jitter in [0.5, 1)).
    let size = 4 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 125);
    server.add(
        "/bo.bin",
        Resource::new(body.clone())
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: MIB as u64,
                rst: false,
                times: 1,
            }),
    );
    // Swapped in 0.125 s before the cut (a range that made progress may be retried at once,
    // faster than the log is polled).
    let flaky = Resource::new(body.clone()).fault(Fault::Status {
        code: 500,
        retry_after: None,
        times: 2,
    });
    let env = Env::new();
    let ((o, took), log) = watch(
        &server,
        swap_when(&server, "/bo.bin", flaky, |log| {
            transferred(log, "/bo.bin") >= 768 * KIB as u64
        }),
        || timed(&env, &["get", &server.url("/bo.bin"), "-c", "1"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("bo.bin"), &body);
    let t: Vec<&Stamped> = log.iter().filter(|s| is_transfer(&s.e)).collect();
    let statuses: Vec<u16> = t.iter().map(|s| s.e.status).collect();
    // The first request (the whole file, no Range: a 200) is cut by the swap; the range
    // that meets the 500s is retried until it gets its 206; the file's other windows
    // (however many ddm asks for) come after, all 206.
    assert_eq!(statuses[..4], [200, 500, 500, 206], "{log:#?}");
    assert!(statuses[4..].iter().all(|&c| c == 206), "{log:#?}");
    let gaps: Vec<Duration> = t
        .windows(2)
        .map(|w| w[1].at.saturating_sub(w[0].at))
        .collect();
    // gaps[0]: cut -> retry (a range that made progress may be retried at once).
    // gaps[1], gaps[2]: the waits after the 1st and 2nd 500 of the range: backoff
    // [0.25, 0.5) s then [0.5, 1) s (or later if the cut counted as an attempt).
    assert!(
        gaps[1] >= Duration::from_millis(200) && gaps[2] >= Duration::from_millis(450),
        "waits after the 1st and 2nd 500: {:?}, {:?}",
        gaps[1],
        gaps[2]
    );
    assert!(gaps[2] >= gaps[1], "the wait did not grow: {gaps:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// A server restart or a network drop breaks every open connection at once: one event, not
/// one retry per connection. With `retry_budget = 3` and 16 connections, a wave of resets
/// (no byte of any answer) used to spend the budget at once and fail the job ("gave up after
/// 3 retries"); it now takes one retry per burst, and the job ends byte-exact.
#[test]
fn every_connection_broken_at_once_spends_one_retry_of_the_budget() {
    let size = 32 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 103);
    server.add(
        "/drop.bin",
        Resource::new(body.clone())
            .etag("\"d1\"")
            .rate(4 << 20)
            .fault(Fault::CutAfter {
                after: 0,
                rst: true,
                times: 17,
            }),
    );
    let env = Env::new();
    crate::faults::config(&env, "retry_budget = 3\n");
    let o = env.run(&["get", "-c", "16", &server.url("/drop.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("drop.bin"), &body);
    // The wave really was a wave: at least 8 answers cut at once, more than the budget.
    let cut = server
        .log()
        .iter()
        .filter(|e| e.range.is_some() && e.body_bytes == 0)
        .count();
    assert!(cut > 3, "only {cut} answers were cut: no burst to survive");
}

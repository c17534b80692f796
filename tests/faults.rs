//! Fault handling (issue 4): servers that cut connections, throttle, cap clients, lie about
//! ranges, change the file or expire links. Every scenario must end with a byte-exact file or
//! a clear, correct refusal that keeps progress, in bounded time.
//!
//! Scenarios already covered elsewhere are not repeated here: HEAD refused, HEAD length
//! differing from GET, Range ignored, no Content-Length, ETag change between runs,
//! Content-Disposition traversal and non-http redirects (download.rs, resume.rs).
//!
//! The helpers at the top (config, timed runs, a log watcher that stamps server log entries
//! and can swap a resource at a chosen moment) are shared with storage.rs.

use crate::util::*;
use ddm_testserver::{pattern, Fault, HeadMode, LogEntry, Resource, Server};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MIB: usize = 1 << 20;
const KIB: usize = 1 << 10;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Write `config.toml` into the test's home before ddm first runs.
pub(crate) fn config(env: &Env, toml: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), toml).unwrap();
}

/// Run ddm and time it.
pub(crate) fn timed(env: &Env, args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let o = env.run(args);
    (o, t.elapsed())
}

/// The job must be `failed`; returns its error and durable `bytes_done`.
pub(crate) fn failed(env: &Env, id: i64) -> (String, u64) {
    let j = env.job(id);
    assert_eq!(j["state"], "failed", "job {id}: {j}");
    let err = j["error"].as_str().unwrap_or_default().to_string();
    assert!(!err.is_empty(), "failed job {id} has no error: {j}");
    (err, j["bytes_done"].as_u64().unwrap())
}

pub(crate) fn durable(env: &Env, id: i64) -> u64 {
    env.job(id)["bytes_done"].as_u64().unwrap_or(0)
}

/// Create the job database before a runner is spawned and polled: a `status` racing the
/// runner's first open of a new database can fail (see storage.rs,
/// `status_racing_the_first_open_of_a_new_database_never_fails`), which is not what the
/// tests that poll are about.
pub(crate) fn create_db(env: &Env) {
    env.ok(&["status"]);
}

/// Wait until job `id` has durable progress above `min`.
pub(crate) fn wait_progress(env: &Env, id: i64, min: u64, limit: Duration) -> u64 {
    wait_for(limit, "durable progress", || {
        let jobs = env.jobs();
        let j = jobs.iter().find(|j| j["id"] == id)?;
        let d = j["bytes_done"].as_u64()?;
        (d > min).then_some(d)
    })
}

/// A GET that moves file data (not the resolver's `bytes=0-0` probe).
pub(crate) fn is_transfer(e: &LogEntry) -> bool {
    e.method == "GET" && e.range.as_deref() != Some("bytes=0-0")
}

pub(crate) fn gets_of<'a>(log: &'a [LogEntry], path: &str) -> Vec<&'a LogEntry> {
    log.iter()
        .filter(|e| e.method == "GET" && e.target.split('?').next() == Some(path))
        .collect()
}

/// Start of a `bytes=a-b` request range.
pub(crate) fn range_start(e: &LogEntry) -> Option<u64> {
    e.range
        .as_deref()?
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// A server log entry with the time (since the watch started) it was first seen.
#[derive(Debug, Clone)]
pub(crate) struct Stamped {
    pub at: Duration,
    pub e: LogEntry,
}

/// Run `main` while a thread polls the server log every few ms, stamping each new entry with
/// the time it was first seen and calling `on_log` with the whole log (to swap a resource at
/// the right moment). Returns `main`'s result and the stamped log.
pub(crate) fn watch<R>(
    server: &Server,
    mut on_log: impl FnMut(&[LogEntry]) + Send,
    main: impl FnOnce() -> R,
) -> (R, Vec<Stamped>) {
    let stop = AtomicBool::new(false);
    let seen: Mutex<Vec<Stamped>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    let r = std::thread::scope(|s| {
        s.spawn(|| loop {
            let done = stop.load(Ordering::Acquire);
            let log = server.log();
            {
                let mut seen = seen.lock().unwrap();
                let n = seen.len();
                for e in &log[n.min(log.len())..] {
                    seen.push(Stamped {
                        at: t0.elapsed(),
                        e: e.clone(),
                    });
                }
            }
            on_log(&log);
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(3));
        });
        let r = main();
        stop.store(true, Ordering::Release);
        r
    });
    // Refresh body byte counts with the final log.
    let log = server.log();
    let mut seen = seen.into_inner().unwrap();
    for (s, e) in seen.iter_mut().zip(log) {
        s.e = e;
    }
    (r, seen)
}

/// An `on_log` for [`watch`]: once a transfer GET for `path` has been seen and `delay` has
/// passed, replace the resource at `path` with `new` (once).
pub(crate) fn swap_after_transfer_starts<'a>(
    server: &'a Server,
    path: &'a str,
    delay: Duration,
    new: Resource,
) -> impl FnMut(&[LogEntry]) + Send + 'a {
    let mut new = Some(new);
    let mut first: Option<Instant> = None;
    move |log: &[LogEntry]| {
        if new.is_none() {
            return;
        }
        if first.is_none() && gets_of(log, path).iter().any(|e| is_transfer(e)) {
            first = Some(Instant::now());
        }
        if first.is_some_and(|t| t.elapsed() >= delay) {
            server.add(path, new.take().unwrap());
        }
    }
}

/// An `on_log` for [`watch`]: once `cond(log)` holds, replace the resource at `path` with
/// `new` (once).
pub(crate) fn swap_when<'a>(
    server: &'a Server,
    path: &'a str,
    new: Resource,
    cond: impl Fn(&[LogEntry]) -> bool + Send + 'a,
) -> impl FnMut(&[LogEntry]) + Send + 'a {
    let mut new = Some(new);
    move |log: &[LogEntry]| {
        if new.is_some() && cond(log) {
            server.add(path, new.take().unwrap());
        }
    }
}

pub(crate) fn nothing(_: &[LogEntry]) {}

/// Body bytes the server has sent so far for `path` in transfer GETs.
pub(crate) fn transferred(log: &[LogEntry], path: &str) -> u64 {
    gets_of(log, path)
        .iter()
        .filter(|e| is_transfer(e))
        .map(|e| e.body_bytes)
        .sum()
}

/// With `DDM_TEST_DUMP=1`, print the server log (for diagnosing a failure).
pub(crate) fn dump(log: &[LogEntry]) {
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        for e in log {
            eprintln!(
                "conn {:>3} {} {} {:?} -> {} ({} body bytes)",
                e.conn, e.method, e.target, e.range, e.status, e.body_bytes
            );
        }
    }
}

/// `Retry-After`/`Last-Modified` style IMF-fixdate.
pub(crate) fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Time of a fault-free `get` of a file like the one under test (own server and home).
/// Bounds are "2 × this + a small constant"; the constant covers waits the faults impose by
/// design (e.g. a `Retry-After: 1`).
pub(crate) fn fault_free_time(size: usize, seed: u64, rate: Option<u64>, conns: &str) -> Duration {
    let server = Server::start().unwrap();
    let body = pattern(size, seed);
    let mut res = Resource::new(body.clone()).etag("\"ff\"");
    if let Some(r) = rate {
        res = res.rate(r);
    }
    server.add("/ff.bin", res);
    let env = Env::new();
    let (o, took) = timed(&env, &["get", &server.url("/ff.bin"), "-c", conns]);
    assert!(o.status.success(), "fault-free run: {}", stderr(&o));
    assert_same_file(&env.out().join("ff.bin"), &body);
    took
}

fn assert_within(took: Duration, base: Duration, slack: Duration, what: &str) {
    let limit = base * 2 + slack;
    assert!(
        took <= limit,
        "{what}: took {took:?}, more than 2 × the fault-free {base:?} + {slack:?}"
    );
}

fn ok_get(env: &Env, args: &[&str]) -> Duration {
    let (o, took) = timed(env, args);
    assert!(
        o.status.success(),
        "ddm {args:?} failed ({:?}) after {took:?}\nstderr: {}",
        o.status.code(),
        stderr(&o)
    );
    took
}

// ---------------------------------------------------------------------------------------
// 1. Retry: cuts, resets, retryable and final statuses, Retry-After, budget
// ---------------------------------------------------------------------------------------

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
    let after = (MIB + 12_345) as u64;
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
        let starts: Vec<u64> = gets_of(&log, "/cut1.bin")
            .into_iter()
            .filter(|e| is_transfer(e))
            .map(|e| range_start(e).unwrap())
            .collect();
        assert_eq!(starts.len(), 4, "rst={rst}: 3 cuts + 1 full: {starts:?}");
        if rst {
            // A reset may drop what was in flight: each retry starts after the previous
            // start, no later than the cut.
            for w in starts.windows(2) {
                assert!(w[1] > w[0] && w[1] <= w[0] + after, "rst: {starts:?}");
            }
        } else {
            assert_eq!(starts, [0, after, 2 * after, 3 * after], "fin");
            let sent = server.bytes_sent("/cut1.bin");
            assert_eq!(sent, size as u64 + 1, "fin: bytes fetched twice");
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
    assert_eq!(statuses, [206, 500, 500, 206], "{log:#?}");
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

/// A plain-HTTP peer like nginx: whatever arrives, answer 400 at once and close. Returns
/// its port and a counter of accepted connections.
fn plain_http_responder() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, count)
}

#[test]
fn https_to_a_plain_http_server_is_a_final_tls_failure() {
    let (port, conns) = plain_http_responder();
    let env = Env::new();
    let url = format!("https://127.0.0.1:{port}/tls.bin");
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: TLS errors are final"
    );
    let (err, _) = failed(&env, 1);
    assert!(err.contains("TLS"), "{err}");
    let n = conns.load(Ordering::SeqCst);
    assert!(n <= 2, "{n} connections: a TLS failure was retried");
}

#[test]
fn https_handshake_that_never_completes_fails_in_bounded_time_naming_the_cause() {
    // The loopback test server waits for an HTTP head and never answers a ClientHello: the
    // handshake times out. That is a (retryable) connect timeout, bounded by
    // connect_timeout_secs and max_attempts, and must be reported as such.
    let server = Server::start().unwrap();
    server.add("/tls.bin", Resource::new(pattern(1000, 124)));
    let env = Env::new();
    config(&env, "connect_timeout_secs = 1\nmax_attempts = 2\n");
    let url = format!("https://127.0.0.1:{}/tls.bin", server.port());
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let (err, _) = failed(&env, 1);
    assert!(
        err.contains("TLS") || err.contains("connect") || err.contains("handshake"),
        "the error does not say the connection/handshake timed out: {err}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Stalls
// ---------------------------------------------------------------------------------------

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
    config(&env, "stall_timeout_secs = 1\n");
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

// ---------------------------------------------------------------------------------------
// 3. Servers that cap connections
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// 4. Expiring signed redirects
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// 5. Server quirks
// ---------------------------------------------------------------------------------------

#[test]
fn short_206_keeps_what_came_and_fetches_only_the_rest() {
    // One connection: each short answer (the first half of what was asked) is kept and the
    // rest is asked from where it ended.
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 160);
    server.add(
        "/short.bin",
        Resource::new(body.clone()).fault(Fault::ShortRange { times: 4 }),
    );
    let env = Env::new();
    let took = ok_get(&env, &["get", &server.url("/short.bin"), "-c", "1"]);
    assert_same_file(&env.out().join("short.bin"), &body);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let log = server.log();
    dump(&log);
    let starts: Vec<u64> = gets_of(&log, "/short.bin")
        .into_iter()
        .filter(|e| is_transfer(e))
        .map(|e| range_start(e).unwrap())
        .collect();
    let m = MIB as u64;
    assert_eq!(starts, [0, 4 * m, 6 * m, 7 * m, 7 * m + m / 2]);
    assert_eq!(
        server.bytes_sent("/short.bin"),
        size as u64 + 1,
        "short answers were thrown away and fetched again"
    );
}

/// A resource whose every response is cut after 256 KiB, so that after the swap the ranges
/// are asked again from the replacement.
fn cut_often(body: &[u8], etag: &str) -> Resource {
    Resource::new(body.to_vec())
        .etag(etag)
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        })
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
    assert!(
        log.len() >= 5,
        "the wrong starts were probably never served: {log:#?}"
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
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (err, done) = failed(&env, 1);
    assert!(
        err.contains("range") || err.contains("Range") || err.contains("asked for bytes"),
        "{err}"
    );
    eprintln!("wrong range start forever: {err}");
    assert!(done > 0 || log.iter().any(|s| s.e.body_bytes > 0));
    dump(&log.iter().map(|s| s.e.clone()).collect::<Vec<_>>());
    let n = log.iter().filter(|s| is_transfer(&s.e)).count();
    assert!(
        n <= 20,
        "{n} range requests to a server that always lies (2 connections, 3 attempts per range); error: {err}"
    );
    assert!(!env.out().join("lies.bin").exists());
}

/// The remote changes while a (throttled, often cut) download runs (after 1 MiB of it was
/// sent): the job must fail naming the change, keep nothing spliced and finish nothing.
fn change_mid_download(v1: Resource, v2: Resource, size: usize) -> (String, u64) {
    let server = Server::start().unwrap();
    server.add("/chg.bin", v1);
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/chg.bin", v2, |log| {
            transferred(log, "/chg.bin") >= MIB as u64
        }),
        || timed(&env, &["get", &server.url("/chg.bin"), "-c", "2"]),
    );
    let out = env.out().join("chg.bin");
    if o.status.success() {
        let got = std::fs::read(&out).unwrap();
        panic!(
            "the download succeeded although the file changed mid-download ({} bytes; spliced: {})",
            got.len(),
            got.len() == size
        );
    }
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!out.exists(), "a final file was produced");
    failed(&env, 1)
}

#[test]
fn file_changing_mid_download_is_detected_by_etag_and_never_spliced() {
    let size = 4 * MIB;
    let v1 = pattern(size, 170);
    let v2 = pattern(size, 171);
    let (err, _) = change_mid_download(
        cut_often(&v1, "\"v1\""),
        Resource::new(v2).etag("\"v2\""),
        size,
    );
    assert!(err.contains("changed") && err.contains("ETag"), "{err}");
}

#[test]
fn file_changing_mid_download_is_detected_by_last_modified_and_never_spliced() {
    let size = 4 * MIB;
    let v1 = pattern(size, 172);
    let v2 = pattern(size, 173);
    let old = Resource::new(v1)
        .last_modified("Sat, 21 Nov 2026 10:00:00 GMT")
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(v2).last_modified("Sun, 22 Nov 2026 11:00:00 GMT");
    let (err, _) = change_mid_download(old, new, size);
    assert!(err.contains("changed"), "{err}");
}

#[test]
fn file_changing_size_mid_download_without_validators_is_refused_naming_the_change() {
    let size = 4 * MIB;
    let old = Resource::new(pattern(size, 174))
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(pattern(size + 1000, 175));
    let (err, _) = change_mid_download(old, new, size);
    assert!(
        err.contains("changed") || err.contains("size"),
        "the error does not say the file changed: {err}"
    );
}

#[test]
fn file_shrinking_mid_download_is_refused_naming_the_change() {
    // Ranges past the new end get 416, the others a different total: both mean "changed".
    let size = 4 * MIB;
    let old = Resource::new(pattern(size, 176))
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(pattern(size / 2, 177));
    let (err, _) = change_mid_download(old, new, size);
    assert!(
        err.contains("changed") || err.contains("size"),
        "the error does not say the file changed: {err}"
    );
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

// ---------------------------------------------------------------------------------------
// 8. Security: TLS verification
// ---------------------------------------------------------------------------------------

/// `openssl s_server -WWW` with a fresh self-signed certificate, serving `dir`. None when the
/// openssl tool is not installed.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &std::path::Path) -> Option<TlsServer> {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-subj",
                "/CN=localhost",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        assert!(made.success(), "openssl req failed");
        let port = {
            let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let mut child = Command::new("openssl")
            .args([
                "s_server", "-WWW", "-cert", "c.pem", "-key", "k.pem", "-accept",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("ACCEPT") {
            line.clear();
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Some(TlsServer { child, port })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tls_certificate_errors_are_final_and_insecure_turns_verification_off() {
    let env = Env::new();
    let www = env.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let body = pattern(300_000, 126);
    std::fs::write(www.join("t.bin"), &body).unwrap();
    let Some(tls) = TlsServer::start(&www) else {
        skip("the openssl tool is not installed");
        return;
    };
    // s_server -WWW never answers HEAD: don't wait the default 30 s before using GET.
    config(&env, "stall_timeout_secs = 2\n");
    let url = format!("https://127.0.0.1:{}/t.bin", tls.port);
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: certificate errors are final"
    );
    let (err, _) = failed(&env, 1);
    assert!(err.contains("TLS") && err.contains("--insecure"), "{err}");
    assert!(!env.out().join("t.bin").exists());
    // Same server, verification off for this job only.
    let (o, took) = timed(&env, &["get", &url, "--insecure", "-o", "t2.bin"]);
    assert!(o.status.success(), "after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("t2.bin"), &body);
}

// ---------------------------------------------------------------------------------------
// The gauntlet
// ---------------------------------------------------------------------------------------

/// Files of the gauntlet: (path, size, seed).
const GAUNTLET: [(&str, usize, u64); 3] = [
    ("/g/a.bin", 16 * MIB, 190),
    ("/g/b.bin", 3 * MIB, 191),
    ("/g/c.bin", 8 * MIB, 192),
];
const G_RATE: u64 = 2 << 20;

fn run_queue(env: &Env, urls: &[(String, String)]) -> (Output, Duration) {
    for (url, name) in urls {
        env.ok(&["add", url, "-o", name, "-c", "8"]);
    }
    timed(env, &["run"])
}

#[test]
fn gauntlet_every_scenario_ends_byte_exact_or_refused_within_2x() {
    // Fault-free reference: the same files, sizes and rates, on a well-behaved server.
    let calm = Server::start().unwrap();
    let mut calm_urls = Vec::new();
    for (path, size, seed) in GAUNTLET {
        let mut r = Resource::new(pattern(size, seed)).rate(G_RATE);
        if path == "/g/b.bin" {
            r = r.no_ranges().no_length();
        }
        calm.add(path, r);
        calm_urls.push((calm.url(path), path[3..].to_string()));
    }
    let calm_env = Env::new();
    let (o, base) = run_queue(&calm_env, &calm_urls);
    assert!(o.status.success(), "fault-free run: {}", stderr(&o));

    let server = Server::start().unwrap();
    let bodies: Vec<Vec<u8>> = GAUNTLET.iter().map(|g| pattern(g.1, g.2)).collect();
    let flaky = Fault::CutEvery {
        every: 7,
        rst: true,
        times: usize::MAX,
    };
    // a: ranged, via expiring signed URLs, HEAD refused, gzip offered, cuts, 6-connection cap (503).
    server.add(
        "/g/a.bin",
        Resource::new(bodies[0].clone())
            .etag("\"a\"")
            .rate(G_RATE)
            .head(HeadMode::Refuse(405))
            .gzip()
            .fault(flaky.clone())
            .fault(Fault::ConnCap { max: 6, code: 503 }),
    );
    server.signed_redirect("/dl/a", "/g/a.bin", Duration::from_millis(1500));
    // b: ranges ignored, no length, gzip offered, HEAD refused, cuts.
    server.add(
        "/g/b.bin",
        Resource::new(bodies[1].clone())
            .rate(G_RATE)
            .no_ranges()
            .no_length()
            .gzip()
            .head(HeadMode::Refuse(403))
            .fault(Fault::CutEvery {
                every: 3,
                rst: false,
                times: 1,
            }),
    );
    // c: ranged, cuts, 6-connection cap (429).
    server.add(
        "/g/c.bin",
        Resource::new(bodies[2].clone())
            .etag("\"c\"")
            .rate(G_RATE)
            .fault(flaky)
            .fault(Fault::ConnCap { max: 6, code: 429 }),
    );
    // d: changes mid-download (after 1 MiB of 4 was sent): must be refused. 512 KiB/s per
    // response, cut every 128 KiB: about 1 s with 8 connections.
    let d1 = pattern(4 * MIB, 193);
    server.add(
        "/g/d.bin",
        Resource::new(d1)
            .etag("\"d1\"")
            .rate(512 * KIB as u64)
            .fault(Fault::CutAfter {
                after: 128 * KIB as u64,
                rst: false,
                times: usize::MAX,
            }),
    );
    let d2 = Resource::new(pattern(4 * MIB, 194)).etag("\"d2\"");
    let urls = vec![
        (server.url("/dl/a"), "a.bin".to_string()),
        (server.url("/g/b.bin"), "b.bin".to_string()),
        (server.url("/g/c.bin"), "c.bin".to_string()),
        (server.url("/g/d.bin"), "d.bin".to_string()),
    ];
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/g/d.bin", d2, |log| {
            transferred(log, "/g/d.bin") >= MIB as u64
        }),
        || run_queue(&env, &urls),
    );
    assert_eq!(o.status.code(), Some(1), "d must fail: {}", stderr(&o));
    for (i, name) in ["a.bin", "b.bin", "c.bin"].iter().enumerate() {
        let j = env.job(i as i64 + 1);
        assert_eq!(j["state"], "done", "{name}: {j}");
        assert_same_file(&env.out().join(name), &bodies[i]);
    }
    let (err, _) = failed(&env, 4);
    assert!(err.contains("changed"), "d: {err}");
    assert!(!env.out().join("d.bin").exists());
    // d (4 MiB, refused) is extra work the reference did not have: allow its fault-free time.
    let d_time = Duration::from_secs(1);
    assert_within(took, base + d_time, Duration::from_secs(2), "gauntlet");
}

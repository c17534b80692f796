//! Helpers shared by the fault tests and storage.rs: config, timed runs, job checks, server
//! log queries, a log watcher that stamps server log entries and can swap a resource at a
//! chosen moment, and fault-free reference times.

use crate::util::*;
use ddm_testserver::{pattern, Fault, LogEntry, Resource, Server};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const MIB: usize = 1 << 20;
pub(crate) const KIB: usize = 1 << 10;

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

/// Start of a `bytes=a-b` request range; a GET without a Range header (a job's first
/// request) asks from byte 0.
pub(crate) fn range_start(e: &LogEntry) -> Option<u64> {
    if e.range.is_none() && e.method == "GET" {
        return Some(0);
    }
    e.range
        .as_deref()?
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// Last byte of a `bytes=a-b` request range (None when open-ended).
pub(crate) fn range_end(e: &LogEntry) -> Option<u64> {
    e.range
        .as_deref()?
        .strip_prefix("bytes=")?
        .split('-')
        .nth(1)?
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

pub(crate) fn assert_within(took: Duration, base: Duration, slack: Duration, what: &str) {
    let limit = base * 2 + slack;
    assert!(
        took <= limit,
        "{what}: took {took:?}, more than 2 × the fault-free {base:?} + {slack:?}"
    );
}

pub(crate) fn ok_get(env: &Env, args: &[&str]) -> Duration {
    let (o, took) = timed(env, args);
    assert!(
        o.status.success(),
        "ddm {args:?} failed ({:?}) after {took:?}\nstderr: {}",
        o.status.code(),
        stderr(&o)
    );
    took
}

/// A resource whose every response is cut after 256 KiB, so that after the swap the ranges
/// are asked again from the replacement.
pub(crate) fn cut_often(body: &[u8], etag: &str) -> Resource {
    Resource::new(body.to_vec())
        .etag(etag)
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        })
}

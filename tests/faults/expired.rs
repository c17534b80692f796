//! Expiring links end to end (issue 15.3): a link that starts answering 403 after progress,
//! with nothing to resolve again (a presigned URL given directly), makes the job wait for a
//! fresh one instead of failing; a fresh link given from another process (`set-url`, or
//! `get`/`add` of the new URL) continues it where each range stood; and one notion of "the
//! same file" holds everywhere (a validator that goes missing is no difference).
//!
//! What was fetched is read from the server's log: the 206 answers' ranges, which must not
//! overlap (no byte fetched twice) and must cover the file.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, LogEntry, Resource, Server};
use std::time::Duration;

/// The file as served by a live link: ETag `"f1"`, `rate` bytes/s per connection.
fn live(body: &[u8], rate: u64) -> Resource {
    Resource::new(body.to_vec()).etag("\"f1\"").rate(rate)
}

/// The first link: as [`live`], but every answer longer than 1 MiB is cut there (after
/// exactly that many bytes, all kept), so the job asks again every MiB, whatever its
/// request sizes: the request after the link expired meets the 403.
fn first_link(body: &[u8], rate: u64) -> Resource {
    live(body, rate).fault(Fault::CutAfter {
        after: 1 << 20,
        rst: false,
        times: usize::MAX,
    })
}

/// The same path once its signature expired: every GET answers 403.
fn expired(body: &[u8]) -> Resource {
    Resource::new(body.to_vec())
        .etag("\"f1\"")
        .fault(Fault::Status {
            code: 403,
            retry_after: None,
            times: usize::MAX,
        })
}

/// Byte ranges of the file the server sent in 206 answers and in the plain 200 of a job's
/// first request (the resolver's 1-byte probes aside), sorted. That first stream is cut
/// where the next connection's range starts: what the server had pushed into the sockets
/// past that point when the connection closed is the cut's, not a byte fetched twice.
fn sent_ranges(log: &[LogEntry]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = log
        .iter()
        .filter(|e| is_transfer(e) && e.body_bytes > 0)
        .filter(|e| e.status == 206 || (e.status == 200 && e.range.is_none()))
        .filter_map(|e| Some((range_start(e)?, range_start(e)? + e.body_bytes)))
        .collect();
    v.sort();
    for i in 1..v.len() {
        if v[i - 1].0 == 0 && v[i].0 > 0 {
            v[i - 1].1 = v[i - 1].1.min(v[i].0);
        }
    }
    v
}

/// No byte was sent twice, and every byte of a `size`-byte file was sent.
fn assert_each_byte_once(log: &[LogEntry], size: u64) {
    let r = sent_ranges(log);
    for w in r.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "bytes {}-{} were fetched twice: {r:?}",
            w[1].0,
            w[0].1.min(w[1].1) - 1
        );
    }
    let total: u64 = r.iter().map(|(a, b)| b - a).sum();
    assert_eq!(total, size, "every byte once: {r:?}");
}

fn state(env: &Env, id: i64) -> String {
    env.job(id)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_expired_link_waits_and_a_set_url_from_another_process_finishes_it_fetching_nothing_twice() {
    let server = Server::start().unwrap();
    let size = 6 << 20;
    let body = pattern(size, 1601);
    server.add("/s1/f.bin", first_link(&body, 2 << 20));
    let env = Env::new();
    create_db(&env);
    let mut get = env.spawn(&[
        "get",
        &server.url("/s1/f.bin?sig=one"),
        "-o",
        "f.bin",
        "-c",
        "1",
    ]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    server.add("/s1/f.bin", expired(&body));
    wait_for(Duration::from_secs(20), "the job to wait", || {
        (state(&env, 1) == "waiting").then_some(())
    });
    // Waiting, not failed: why, and how to give a fresh link; the get still runs.
    let j = env.job(1);
    assert_eq!(j["error"], serde_json::Value::Null, "{j}");
    let why = j["waiting"].as_str().unwrap_or_default();
    assert!(why.contains("403") && why.contains("expired"), "{j}");
    let hint = j["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("ddm set-url 1 NEWURL") && hint.contains("ddm get NEWURL"),
        "{j}"
    );
    let table = env.ok(&["status"]);
    assert!(
        table.contains("waiting") && table.contains("set-url 1"),
        "{table}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(get.try_wait().unwrap().is_none(), "ddm get gave up waiting");
    // A fresh link for the same file, given from another process.
    server.add("/s2/f.bin", live(&body, 8 << 20));
    let out = env.ok(&["set-url", "1", &server.url("/s2/f.bin?sig=two")]);
    assert!(out.contains("same file") && out.contains("kept"), "{out}");
    let st = wait_child(&mut get, Duration::from_secs(30));
    let mut err = String::new();
    std::io::Read::read_to_string(get.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(st.success(), "{st:?}: {err}");
    assert!(err.contains("waiting for a fresh link"), "{err}");
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = server.log();
    dump(&log);
    assert!(
        gets_of(&log, "/s1/f.bin").iter().any(|e| e.status == 403),
        "the link never expired"
    );
    assert!(
        transferred(&log, "/s2/f.bin") > 0,
        "the fresh link was not used"
    );
    assert_each_byte_once(&log, size as u64);
    assert_eq!(state(&env, 1), "done");
}

/// How a job stopped before a fresh link for its file comes.
#[derive(Debug, Clone, Copy)]
enum Stopped {
    Paused,
    Failed,
    Waiting,
}

#[test]
fn get_of_a_fresh_link_continues_a_paused_failed_or_waiting_job_with_only_the_missing_bytes() {
    for how in [Stopped::Waiting, Stopped::Paused, Stopped::Failed] {
        let server = Server::start().unwrap();
        let size = 5 << 20;
        let body = pattern(size, 1602);
        server.add("/s1/f.bin", first_link(&body, 2 << 20));
        let env = Env::new();
        // A job that waits rests at once: `get` ends instead of waiting.
        config(&env, "link_wait_secs = 0\n");
        create_db(&env);
        let first = server.url("/s1/f.bin?sig=one");
        let mut get = env.spawn(&["get", &first, "-c", "1"]);
        wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
        let (code, want) = match how {
            Stopped::Paused => {
                env.ok(&["pause", "1"]);
                (6, "paused")
            }
            Stopped::Failed => {
                server.add(
                    "/s1/f.bin",
                    Resource::new(body.clone()).fault(Fault::Status {
                        code: 404,
                        retry_after: None,
                        times: usize::MAX,
                    }),
                );
                (1, "failed")
            }
            Stopped::Waiting => {
                server.add("/s1/f.bin", expired(&body));
                (7, "waiting")
            }
        };
        let st = wait_child(&mut get, Duration::from_secs(30));
        assert_eq!(st.code(), Some(code), "{how:?}");
        assert_eq!(state(&env, 1), want, "{how:?}: {}", env.job(1));
        let kept = durable(&env, 1);
        assert!(kept > 0 && kept < size as u64, "{how:?}: {kept}");
        let before = server.log().len();
        // The fresh link, a different URL for the same file.
        server.add("/s2/f.bin", live(&body, 64 << 20));
        let o = env.run(&["get", &server.url("/s2/f.bin?sig=two"), "-c", "1"]);
        assert!(o.status.success(), "{how:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("continuing job 1 with the new link"),
            "{how:?}: {}",
            stderr(&o)
        );
        assert_same_file(&env.out().join("f.bin"), &body);
        let left: Vec<String> = std::fs::read_dir(env.out())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["f.bin"], "{how:?}: no second copy, no .part left");
        assert_eq!(env.jobs().len(), 1, "{how:?}: no second job");
        // Only what the job was missing came from the fresh link.
        let log = server.log();
        dump(&log);
        let fresh = &log[before..];
        assert_eq!(
            transferred(fresh, "/s2/f.bin"),
            size as u64 - kept,
            "{how:?}: {} kept",
            kept
        );
        assert!(
            sent_ranges(fresh).iter().all(|&(a, _)| a >= 1 << 20),
            "{how:?}: the start the job had was fetched again"
        );
    }
}

#[test]
fn a_runner_stays_up_while_its_job_waits_and_a_get_of_the_fresh_link_elsewhere_continues_it() {
    let server = Server::start().unwrap();
    let size = 5 << 20;
    let body = pattern(size, 1603);
    server.add("/s1/f.bin", first_link(&body, 2 << 20));
    let other = pattern(1 << 20, 1613);
    server.add("/g.bin", Resource::new(other.clone()));
    let env = Env::new();
    // One job at a time: a job that waits for a link holds no place.
    config(&env, "max_active_jobs = 1\n");
    env.ok(&["add", &server.url("/s1/f.bin?sig=one"), "-c", "1"]);
    env.ok(&["add", &server.url("/g.bin")]);
    let mut run = env.spawn(&["run"]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    assert_eq!(state(&env, 2), "queued");
    server.add("/s1/f.bin", expired(&body));
    wait_for(Duration::from_secs(20), "the job to wait", || {
        (state(&env, 1) == "waiting").then_some(())
    });
    wait_for(Duration::from_secs(20), "the next job to run", || {
        (state(&env, 2) == "done").then_some(())
    });
    assert_same_file(&env.out().join("g.bin"), &other);
    assert_eq!(state(&env, 1), "waiting");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        run.try_wait().unwrap().is_none(),
        "ddm run exited while its job waits for a link"
    );
    server.add("/s2/f.bin", live(&body, 64 << 20));
    // From another terminal: the fresh link, handed to the runner, followed to the end.
    let o = env.run(&["get", &server.url("/s2/f.bin?sig=two"), "-c", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("continuing job 1 with the new link"),
        "{}",
        stderr(&o)
    );
    let st = wait_child(&mut run, Duration::from_secs(20));
    assert!(st.success(), "{st:?}");
    assert_same_file(&env.out().join("f.bin"), &body);
    assert_eq!(env.jobs().len(), 2, "no third job");
    assert!(!env.out().join("f (1).bin").exists());
    let log: Vec<LogEntry> = server
        .log()
        .into_iter()
        .filter(|e| e.target != "/g.bin")
        .collect();
    dump(&log);
    assert_each_byte_once(&log, size as u64);
}

#[test]
fn ctrl_c_leaves_a_waiting_job_waiting_and_add_of_a_fresh_link_queues_it_again() {
    let server = Server::start().unwrap();
    let size = 4 << 20;
    let body = pattern(size, 1604);
    server.add("/s1/f.bin", first_link(&body, 2 << 20));
    let env = Env::new();
    create_db(&env);
    let mut get = env.spawn(&["get", &server.url("/s1/f.bin?sig=one"), "-c", "1"]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    server.add("/s1/f.bin", expired(&body));
    wait_for(Duration::from_secs(20), "the job to wait", || {
        (state(&env, 1) == "waiting").then_some(())
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(get.id() as i32, libc::SIGINT) };
    let st = wait_child(&mut get, Duration::from_secs(10));
    assert_eq!(st.code(), Some(130));
    // It rests waiting, not queued: a runner does not ask the refused link again.
    assert_eq!(state(&env, 1), "waiting", "{}", env.job(1));
    let asked = server.log().len();
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        server.log().len(),
        asked,
        "the expired link was asked again"
    );
    // `add` of a fresh link for its file: that job again, its id printed.
    server.add("/s2/f.bin", live(&body, 64 << 20));
    let o = env.run(&["add", &server.url("/s2/f.bin?sig=two")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1");
    assert!(
        stderr(&o).contains("continuing job 1 with the new link"),
        "{}",
        stderr(&o)
    );
    assert_eq!(state(&env, 1), "queued");
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert_eq!(env.jobs().len(), 1);
}

#[test]
fn set_url_on_a_running_job_moves_its_next_requests_to_the_new_link() {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 8 << 20;
    let body = pattern(size, 1605);
    // Slow enough (2 x 256 KiB/s) that requests to the old link are still to come when the
    // new one is given, on a busy machine too.
    a.add("/f.bin", first_link(&body, 256 << 10));
    b.add("/f.bin", live(&body, 16 << 20));
    let env = Env::new();
    create_db(&env);
    let mut get = env.spawn(&["get", &a.url("/f.bin"), "-c", "2"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (transferred(&a.log(), "/f.bin") >= 1 << 20).then_some(())
    });
    let out = env.ok(&["set-url", "1", &b.url("/f.bin")]);
    assert!(out.contains("kept"), "{out}");
    let st = wait_child(&mut get, Duration::from_secs(30));
    assert!(st.success(), "{st:?}");
    assert_same_file(&env.out().join("f.bin"), &body);
    dump(&a.log());
    dump(&b.log());
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        eprintln!("{}", env.log());
    }
    let (from_a, from_b) = (
        transferred(&a.log(), "/f.bin"),
        transferred(&b.log(), "/f.bin"),
    );
    assert!(from_b > 0, "the new link was never used");
    assert!(
        from_a + from_b <= size as u64 + (1 << 20),
        "refetched: {from_a} + {from_b} for {size}"
    );
    assert_eq!(env.job(1)["url"], b.url("/f.bin"));
}

#[test]
fn a_validator_that_goes_missing_when_the_link_is_resolved_again_is_no_change() {
    // A signed link (0.3 s) to a file with an ETag, cut at 1 MiB: the retry meets 403 and the
    // original URL is resolved again, by when the file is served without its ETag. Resume
    // always took that as the same file; resolving again must too.
    let server = Server::start().unwrap();
    let size = 3 << 20;
    let body = pattern(size, 1606);
    server.add(
        "/files/e.bin",
        Resource::new(body.clone())
            .etag("\"e1\"")
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: 1 << 20,
                rst: false,
                times: 1,
            }),
    );
    server.signed_redirect("/dl/e", "/files/e.bin", Duration::from_millis(300));
    let untagged = Resource::new(body.clone()).rate(2 << 20);
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/files/e.bin", untagged, |log| {
            transferred(log, "/files/e.bin") >= 512 << 10
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
    assert!(
        gets_of(&log, "/files/e.bin")
            .iter()
            .any(|e| e.status == 403),
        "the link never expired"
    );
    assert!(
        log.iter().filter(|e| e.target == "/dl/e").count() >= 2,
        "the original URL was not resolved again"
    );
}

#[test]
fn a_fresh_link_without_validators_proves_it_by_its_bytes() {
    let server = Server::start().unwrap();
    let size = 4 << 20;
    let body = pattern(size, 1607);
    server.add("/s1/f.bin", first_link(&body, 2 << 20));
    let env = Env::new();
    config(&env, "link_wait_secs = 0\n");
    create_db(&env);
    let o = {
        let mut get = env.spawn(&["get", &server.url("/s1/f.bin"), "-c", "1"]);
        wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
        server.add("/s1/f.bin", expired(&body));
        wait_child(&mut get, Duration::from_secs(30))
    };
    assert_eq!(o.code(), Some(7));
    let kept = durable(&env, 1);
    // The same size, no ETag, other bytes: refused, naming the bytes; nothing changes.
    let mut other = body.clone();
    other[1000] ^= 0xff;
    server.add("/other/f.bin", Resource::new(other));
    let o = env.run(&["set-url", "1", &server.url("/other/f.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bytes 0-65535 differ") && stderr(&o).contains("kept"),
        "{}",
        stderr(&o)
    );
    assert_eq!(state(&env, 1), "waiting");
    assert_eq!(durable(&env, 1), kept);
    // A `get` of it is another file: a new job under another name, job 1 untouched.
    let o = env.run(&["get", &server.url("/other/f.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("continuing job 1"), "{}", stderr(&o));
    assert!(env.out().join("f (1).bin").exists());
    assert_eq!(state(&env, 1), "waiting");
    // The same bytes without an ETag: compared, then continued.
    server.add("/same/f.bin", Resource::new(body.clone()));
    let out = env.ok(&["set-url", "1", &server.url("/same/f.bin")]);
    assert!(out.contains("bytes 0-65535 compared"), "{out}");
    assert_eq!(state(&env, 1), "queued");
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
}

#[test]
fn a_link_that_expired_while_the_job_was_paused_waits_at_its_first_request() {
    let server = Server::start().unwrap();
    let size = 5 << 20;
    let body = pattern(size, 1608);
    server.add("/s1/f.bin", first_link(&body, 2 << 20));
    let env = Env::new();
    env.ok(&["add", &server.url("/s1/f.bin?sig=one"), "-c", "1"]);
    let mut run = env.spawn(&["run"]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    env.ok(&["pause", "1"]);
    wait_child(&mut run, Duration::from_secs(10));
    let kept = durable(&env, 1);
    // Overnight, the signature expires; the job is resumed.
    server.add("/s1/f.bin", expired(&body));
    env.ok(&["resume", "1"]);
    let mut run = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "the job to wait", || {
        (state(&env, 1) == "waiting").then_some(())
    });
    assert!(env.job(1)["waiting"]
        .as_str()
        .is_some_and(|w| w.contains("403")));
    assert!(run.try_wait().unwrap().is_none(), "the runner gave up");
    let before = server.log().len();
    server.add("/s2/f.bin", live(&body, 64 << 20));
    env.ok(&["set-url", "1", &server.url("/s2/f.bin?sig=two")]);
    let st = wait_child(&mut run, Duration::from_secs(20));
    assert!(st.success(), "{st:?}");
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = server.log();
    dump(&log);
    assert_eq!(
        transferred(&log[before..], "/s2/f.bin"),
        size as u64 - kept,
        "only the missing bytes from the fresh link"
    );
}

#[test]
fn set_url_that_moves_credentials_on_a_running_job_starts_its_run_again_with_them() {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 6 << 20;
    let body = pattern(size, 1609);
    a.add("/f.bin", first_link(&body, 256 << 10));
    b.add("/f.bin", live(&body, 16 << 20));
    let env = Env::new();
    create_db(&env);
    let token = "Authorization: Bearer tok-77";
    let mut get = env.spawn(&["get", &a.url("/f.bin"), "-c", "2", "-H", token]);
    wait_for(Duration::from_secs(20), "progress", || {
        (transferred(&a.log(), "/f.bin") >= 1 << 20).then_some(())
    });
    // The credential now belongs to the new host: the options made for the old one no
    // longer hold, so the run starts again from its first request with the new link.
    env.ok(&["set-url", "1", &b.url("/f.bin"), "--move-credentials"]);
    let st = wait_child(&mut get, Duration::from_secs(30));
    assert!(st.success(), "{st:?}");
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = b.log();
    dump(&log);
    let gets = gets_of(&log, "/f.bin");
    assert!(
        gets.iter().any(|e| is_transfer(e) && e.body_bytes > 0),
        "the new link was never used"
    );
    assert!(
        gets.iter()
            .all(|e| e.header("authorization") == Some("Bearer tok-77")),
        "the moved credential did not go to the new host: {gets:?}"
    );
}

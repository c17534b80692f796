//! Interruptions: SIGKILL at any moment, Ctrl-C (of `get` and of `ddm serve`), pause from
//! another terminal, the remote file changing between runs, and `get` continuing its own
//! unfinished job.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::{Duration, Instant};

fn sigterm_like(pid: u32, sig: i32) {
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

fn durable(env: &Env, id: i64) -> u64 {
    env.job(id)["bytes_done"].as_u64().unwrap()
}

#[test]
fn sigkill_mid_download_resumes_byte_exact_and_refetches_only_missing() {
    let server = Server::start().unwrap();
    let size = 24u64 << 20;
    let body = pattern(size as usize, 21);
    server.add(
        "/k.bin",
        Resource::new(body.clone()).etag("\"k1\"").rate(2 << 20),
    );
    let env = Env::new();
    let mut child = env.spawn(&["get", &server.url("/k.bin"), "-c", "4"]);
    // Kill once some progress is durable (checkpoints happen every second).
    wait_for(Duration::from_secs(20), "durable progress", || {
        let jobs = env.jobs();
        let done = jobs.first()?["bytes_done"].as_u64()?;
        (done > 4 << 20).then_some(())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_at_kill = durable(&env, 1);
    assert!(done_at_kill < size, "finished before the kill");
    assert_eq!(
        env.job(1)["state"],
        "running",
        "a killed runner leaves it running"
    );
    assert!(env.out().join("k.bin.part").exists());
    assert_eq!(
        env.job(1)["speed"],
        serde_json::Value::Null,
        "no live speed without a runner"
    );
    assert!(
        env.ok(&["status"]).contains("no runner is working"),
        "status says the running job is orphaned"
    );
    let sent_before = server.bytes_sent("/k.bin");
    let requests_before = server.log().len();
    // What the committed bitmap claims at the kill: none of it may be asked again.
    let job = ddm_core::store::Store::open(&env.home().join("jobs.db"))
        .unwrap()
        .get(1)
        .unwrap();
    let done = ddm_core::pieces::PieceMap::from_bytes(size, job.piece_size.unwrap(), &job.bitmap)
        .unwrap()
        .done_ranges();

    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("k.bin"), &body);
    assert!(!env.out().join("k.bin.part").exists());
    for e in &server.log()[requests_before..] {
        let r = e.range.as_deref().unwrap().strip_prefix("bytes=").unwrap();
        let (a, b) = r.split_once('-').unwrap();
        let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
        for d in &done {
            assert!(
                b < d.start || a >= d.end,
                "bytes {a}-{b} asked again, but {d:?} was committed before the kill"
            );
        }
    }
    // The server sends what was missing, plus at most what was in flight on connections cut
    // by a steal (their data past the cut point).
    let refetched = server.bytes_sent("/k.bin") - sent_before;
    assert!(
        refetched <= size - done_at_kill + 256 * 1024,
        "refetched {refetched} bytes, but only {} were missing",
        size - done_at_kill
    );
}

#[test]
fn ctrl_c_checkpoints_and_the_same_get_continues() {
    let server = Server::start().unwrap();
    let size = 16u64 << 20;
    let body = pattern(size as usize, 22);
    server.add("/c.bin", Resource::new(body.clone()).rate(2 << 20));
    let env = Env::new();
    let url = server.url("/c.bin");
    let mut child = env.spawn(&["get", &url, "-c", "2"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(600));
    sigterm_like(child.id(), libc::SIGINT);
    let st = wait_child(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(130));
    let j = env.job(1);
    assert_eq!(j["state"], "queued", "left resumable");
    let done = j["bytes_done"].as_u64().unwrap();
    assert!(done > 0 && done < size);
    // The same command continues job 1 rather than adding a second job.
    let o = env.run(&["get", &url, "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("continuing job 1"), "{}", stderr(&o));
    assert_eq!(env.jobs().len(), 1);
    assert_same_file(&env.out().join("c.bin"), &body);
}

#[test]
fn one_ctrl_c_or_sigterm_stops_ddm_serve_with_the_running_jobs_progress_kept() {
    let server = Server::start().unwrap();
    let size = 16u64 << 20;
    server.add(
        "/s.bin",
        Resource::new(pattern(size as usize, 24)).rate(2 << 20),
    );
    let env = Env::new();
    env.ok(&["add", &server.url("/s.bin"), "-c", "2"]);
    let out = env.out();
    let out = out.to_str().unwrap();
    let serve = ["serve", "--port", "0", "--secret", "t", "-d", out];
    let mut child = env.spawn(&serve);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(600));
    // One signal, as a terminal's Ctrl-C sends: the service stops (a second would end it at
    // once, without checkpoints).
    sigterm_like(child.id(), libc::SIGINT);
    let st = wait_child(&mut child, Duration::from_secs(10));
    let err = {
        use std::io::Read;
        let mut e = String::new();
        child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
        e
    };
    assert_eq!(st.code(), Some(0), "{err}");
    assert!(err.contains("ddm serve: stopped"), "{err}");
    let j = env.job(1);
    assert_eq!(j["state"], "queued", "left to the next runner");
    let done = j["bytes_done"].as_u64().unwrap();
    assert!(done > 0 && done < size, "progress kept: {done}");
    // SIGTERM (a service manager's stop) does the same, idle or not.
    env.ok(&["pause", "1"]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let mut child = env.spawn(&["serve", "--port", &port, "--secret", "t", "-d", out]);
    wait_for(Duration::from_secs(10), "the service to listen", || {
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).ok()
    });
    sigterm_like(child.id(), libc::SIGTERM);
    let st = wait_child(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(0));
    assert_eq!(env.job(1)["bytes_done"].as_u64(), Some(done));
}

#[test]
fn pause_from_another_terminal_stops_the_runner_within_a_second() {
    let server = Server::start().unwrap();
    let body = pattern(16 << 20, 23);
    server.add("/p.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    env.ok(&["add", &server.url("/p.bin"), "-c", "2"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    let t = Instant::now();
    env.ok(&["pause", "1"]);
    let st = wait_child(&mut runner, Duration::from_secs(5));
    let took = t.elapsed();
    assert!(st.success());
    assert!(
        took < Duration::from_millis(1500),
        "runner took {took:?} to stop"
    );
    let j = env.job(1);
    assert_eq!(j["state"], "paused");
    let done = j["bytes_done"].as_u64().unwrap();
    assert!(done > 0, "pause checkpoints progress");
    // Resume and finish.
    server.add("/p.bin", Resource::new(body.clone()));
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("p.bin"), &body);
}

#[test]
fn remote_change_between_runs_is_refused_then_restart_works() {
    let server = Server::start().unwrap();
    let v1 = pattern(12 << 20, 24);
    server.add(
        "/e.bin",
        Resource::new(v1.clone()).etag("\"v1\"").rate(2 << 20),
    );
    let env = Env::new();
    env.ok(&["add", &server.url("/e.bin"), "-c", "2"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(5));
    let done = durable(&env, 1);
    assert!(done > 0);

    let v2 = pattern(12 << 20, 25);
    server.add("/e.bin", Resource::new(v2.clone()).etag("\"v2\""));
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j = env.job(1);
    assert_eq!(j["state"], "failed");
    let err = j["error"].as_str().unwrap();
    assert!(err.contains("ETag"), "{err}");
    assert_eq!(j["error_kind"], "remote-changed");
    let hint = j["hint"].as_str().unwrap();
    assert!(hint.contains("ddm resume 1 --restart"), "{hint}");
    assert_eq!(durable(&env, 1), done, "progress kept after the refusal");
    assert!(!env.out().join("e.bin").exists(), "nothing spliced");

    env.ok(&["resume", "1", "--restart"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("e.bin"), &v2);
}

#[test]
fn remove_from_another_terminal_stops_the_runner() {
    let server = Server::start().unwrap();
    server.add("/r.bin", Resource::new(pattern(16 << 20, 26)).rate(1 << 20));
    let env = Env::new();
    env.ok(&["add", &server.url("/r.bin"), "-c", "2"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["remove", "1"]);
    let st = wait_child(&mut runner, Duration::from_secs(3));
    assert!(st.success());
    assert!(env.jobs().is_empty());
    assert!(!env.out().join("r.bin.part").exists());
    assert!(!env.out().join("r.bin").exists());
}

#[test]
fn second_ctrl_c_exits_at_once_and_nothing_is_corrupted() {
    let server = Server::start().unwrap();
    let size = 16u64 << 20;
    let body = pattern(size as usize, 27);
    server.add("/d.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    let url = server.url("/d.bin");
    let mut child = env.spawn(&["get", &url, "-c", "4"]);
    wait_for(Duration::from_secs(20), "durable progress", || {
        (env.jobs().first()?["bytes_done"].as_u64()? > 0).then_some(())
    });
    let t = Instant::now();
    sigterm_like(child.id(), libc::SIGINT);
    sigterm_like(child.id(), libc::SIGINT);
    let st = wait_child(&mut child, Duration::from_secs(5));
    assert_eq!(st.code(), Some(130));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    // Whatever state it was caught in, the same command finishes byte-exact.
    let o = env.run(&["get", &url, "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(env.jobs().len(), 1);
    assert_same_file(&env.out().join("d.bin"), &body);
}

#[test]
fn a_pause_inside_a_piece_keeps_every_byte_received() {
    // 1 MiB at 128 KiB/s on two connections: pieces are 256 KiB, so at a pause after
    // about a second no piece is whole. What was written is kept byte-exact (not only whole
    // pieces): the resume asks only for what is missing.
    let server = Server::start().unwrap();
    let size = 1u64 << 20;
    let body = pattern(size as usize, 27);
    server.add(
        "/p.bin",
        Resource::new(body.clone()).etag("\"p1\"").rate(128 << 10),
    );
    let env = Env::new();
    env.ok(&["status"]);
    let mut child = env.spawn(&["get", &server.url("/p.bin"), "-c", "2"]);
    wait_for(Duration::from_secs(10), "some bytes sent", || {
        (server.bytes_sent("/p.bin") > 100 << 10).then_some(())
    });
    env.ok(&["pause", "1"]);
    let st = wait_child(&mut child, Duration::from_secs(10));
    assert_eq!(st.code(), Some(6), "paused");
    let kept = durable(&env, 1);
    assert!(kept > 64 << 10, "bytes inside begun pieces kept: {kept}");
    let sent_before = server.bytes_sent("/p.bin");
    server.add("/p.bin", Resource::new(body.clone()).etag("\"p1\""));
    env.ok(&["resume", "1"]);
    env.ok(&["get", &server.url("/p.bin"), "-c", "2"]);
    assert_same_file(&env.out().join("p.bin"), &body);
    let sent_after = server.bytes_sent("/p.bin") - sent_before;
    assert!(
        sent_after <= size - kept + (64 << 10),
        "after the pause {sent_after} bytes were sent; {kept} of {size} were kept"
    );
}

//! `ddm set-url`: a job moved to another URL keeps its progress when the file there is the
//! same, is refused (or started over with `--restart`) when it is not, and asks before its
//! credentials would go to another host.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

#[test]
fn set_url_keeps_progress_for_the_same_file_and_refuses_another() {
    use std::time::Duration;
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 12usize << 20;
    let body = pattern(size, 517);
    a.add(
        "/dl",
        Resource::new(body.clone()).etag("\"v1\"").rate(2 << 20),
    );
    b.add("/same.bin", Resource::new(body.clone()).etag("\"v1\""));
    b.add(
        "/newer.bin",
        Resource::new(pattern(size, 518)).etag("\"v2\""),
    );
    b.add(
        "/shorter.bin",
        Resource::new(pattern(size - 1, 517)).etag("\"v1\""),
    );
    let env = Env::new();
    let token = "Authorization: Bearer tok-secret-77";
    env.ok(&[
        "add",
        &a.url("/dl"),
        "-c",
        "2",
        "-o",
        "big.iso",
        "-H",
        token,
    ]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.job(1)["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    let done = env.job(1)["bytes_done"].as_u64().unwrap();
    assert!(done > 0 && done < size as u64);
    // Another host, and the job has a credential: the user says where it goes first.
    let o = env.run(&["set-url", "1", &b.url("/same.bin")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--drop-credentials"), "{}", stderr(&o));
    assert!(b.log().is_empty(), "nothing was sent before the user chose");
    // Another version, another size: refused with the difference named; nothing changes.
    for (path, diff) in [
        ("/newer.bin", "ETag \"v1\" → \"v2\""),
        ("/shorter.bin", "size"),
    ] {
        let o = env.run(&["set-url", "1", &b.url(path), "--drop-credentials"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(diff) && stderr(&o).contains("kept"),
            "{}",
            stderr(&o)
        );
        assert_eq!(env.job(1)["url"], a.url("/dl"));
        assert_eq!(env.job(1)["bytes_done"].as_u64(), Some(done));
    }
    // The same file elsewhere: progress kept, the download continues from there.
    let out = env.ok(&["set-url", "1", &b.url("/same.bin"), "--drop-credentials"]);
    assert!(out.contains("kept"), "{out}");
    assert_eq!(env.job(1)["url"], b.url("/same.bin"));
    assert_eq!(env.job(1)["state"], "paused");
    let asked_before = b.log().len();
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.iso"), &body);
    let served: u64 = b.log()[asked_before..].iter().map(|e| e.body_bytes).sum();
    assert!(
        served <= (size as u64 - done) + (1 << 20),
        "only the rest came from the new URL: {served} of {size}, {done} kept"
    );
    assert!(b.log().iter().all(|e| e.header("authorization").is_none()));
    let o = env.run(&["set-url", "1", &b.url("/same.bin")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already done"), "{}", stderr(&o));
}

#[test]
fn set_url_restart_starts_a_changed_file_over_and_requeues_a_failed_job() {
    use ddm_testserver::Fault;
    use std::time::Duration;
    let a = Server::start().unwrap();
    let old = pattern(8 << 20, 519);
    let new = pattern(3 << 20, 520);
    a.add(
        "/v1.bin",
        Resource::new(old.clone()).etag("\"1\"").rate(2 << 20),
    );
    a.add("/v2.bin", Resource::new(new.clone()).etag("\"2\""));
    let env = Env::new();
    env.ok(&["add", &a.url("/v1.bin"), "-o", "f.bin", "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.job(1)["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    // The old link dies: the job fails, its progress kept.
    a.add(
        "/v1.bin",
        Resource::new(old).etag("\"1\"").fault(Fault::Status {
            code: 404,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    let r = env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{r} {} {}",
        stderr(&o),
        env.job(1)
    );
    assert_eq!(env.job(1)["state"], "failed");
    assert!(env.job(1)["bytes_done"].as_u64().unwrap() > 0);
    let o = env.run(&["set-url", "1", &a.url("/v2.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--restart"), "{}", stderr(&o));
    let out = env.ok(&["set-url", "1", &a.url("/v2.bin"), "--restart"]);
    assert!(out.contains("from zero"), "{out}");
    assert_eq!(
        env.job(1)["state"],
        "queued",
        "a failed job is queued again"
    );
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &new);
}

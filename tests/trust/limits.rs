//! Unhappy paths at the edges: a server that always cuts a stream without ranges, a full
//! data directory, hostile header bytes, a closed pipe, files whose modes are not ddm's.

use crate::faults::{config, create_db, wait_progress};
use crate::har::common::{chrome_entry, chrome_har, write_har};
use crate::storage::{is_root, Mount};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_stream_without_ranges_that_always_breaks_ends_after_the_attempt_limit() {
    let server = Server::start().unwrap();
    server.add(
        "/cut.bin",
        Resource::new(pattern(4096, 950))
            .no_ranges()
            .fault(Fault::CutAfter {
                after: 1000,
                rst: false,
                times: usize::MAX,
            }),
    );
    let env = Env::new();
    config(&env, "max_attempts = 4\n");
    let t = Instant::now();
    let o = env.run(&["get", &server.url("/cut.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    // The first request (the whole file, no Range) and at most max_attempts retries, all
    // whole-file GETs.
    let log = server.log();
    let gets: Vec<_> = log.iter().filter(|e| e.method == "GET").collect();
    assert!(gets.iter().all(|e| e.range.is_none()), "{gets:?}");
    assert!(gets.len() <= 5, "{} GETs for max_attempts = 4", gets.len());
    let j = env.job(1);
    assert_eq!(j["state"], "failed");
    assert_eq!(j["error_kind"], "gave-up", "{j}");
    assert!(
        j["error"].as_str().unwrap().contains("no ranges"),
        "{}",
        j["error"]
    );
}

#[test]
fn a_full_data_directory_is_said_as_such_and_loses_nothing() {
    if !is_root() {
        skip("mounting a small tmpfs needs root");
        return;
    }
    let env = Env::new();
    let home = env.home();
    let _mount = match Mount::tmpfs(&home, "size=1m,mode=0700") {
        Ok(m) => m,
        Err(e) => return skip(&format!("cannot mount a tmpfs: {e}")),
    };
    let server = Server::start().unwrap();
    let body = pattern(8 << 20, 951);
    server.add(
        "/big.bin",
        Resource::new(body.clone()).etag("\"b\"").rate(1 << 20),
    );
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/big.bin"), "-c", "2"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    // Fill the data directory to the last byte.
    let filler = home.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let st = wait_child(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(st.code(), Some(5), "stderr: {err}");
    assert!(
        err.contains("no space for the job database") && err.contains(home.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("done"), "{err}");
    assert!(!env.out().join("big.bin").exists());
    // Every verb says the same, not "damaged".
    let o = env.run(&["status"]);
    let e = stderr(&o);
    if !o.status.success() {
        assert_eq!(o.status.code(), Some(5), "{e}");
        assert!(e.contains("no space") && !e.contains("damaged"), "{e}");
    }
    std::fs::remove_file(&filler).unwrap();
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &body);
}

#[test]
fn an_already_full_data_directory_is_not_called_damaged() {
    if !is_root() {
        skip("mounting a small tmpfs needs root");
        return;
    }
    let env = Env::new();
    let home = env.home();
    let _mount = match Mount::tmpfs(&home, "size=512k,mode=0700") {
        Ok(m) => m,
        Err(e) => return skip(&format!("cannot mount a tmpfs: {e}")),
    };
    env.ok(&["add", "http://127.0.0.1:9/a.bin"]);
    let filler = home.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&[0u8; 4096]).is_ok() {}
    }
    for args in [
        &["status"][..],
        &["add", "http://127.0.0.1:9/b.bin"],
        &["pause", "1"],
    ] {
        let o = env.run(args);
        let e = stderr(&o);
        assert!(!e.contains("damaged"), "{args:?}: {e}");
        if !o.status.success() {
            assert_eq!(o.status.code(), Some(5), "{args:?}: {e}");
            assert!(e.contains("no space for the job database"), "{args:?}: {e}");
        }
    }
    std::fs::remove_file(&filler).unwrap();
    // With space again, the queue is intact.
    let jobs = env.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["url"], "http://127.0.0.1:9/a.bin");
}

#[test]
fn control_characters_from_a_server_never_reach_the_terminal() {
    let server = Server::start().unwrap();
    let body = pattern(256 * 1024, 952);
    let evil = "\"\u{1b}]0;pwned\u{7}\u{1b}[2J\"";
    server.add("/esc.bin", Resource::new(body.clone()).etag(evil));
    let env = Env::new();
    let out = env.ok(&["probe", &server.url("/esc.bin")]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("\\x1b"), "{out}");
    // A changed ETag is named in the error that status shows.
    server.add(
        "/slow.bin",
        Resource::new(pattern(4 << 20, 953))
            .etag(evil)
            .rate(1 << 20),
    );
    create_db(&env);
    env.ok(&["add", &server.url("/slow.bin"), "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    server.add(
        "/slow.bin",
        Resource::new(pattern(4 << 20, 953)).etag("\"\u{1b}[31mred\""),
    );
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1));
    let shown = format!("{}{}", stderr(&o), env.ok(&["status"]));
    assert!(shown.contains("ETag"), "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let env = Env::new();
    let entry = chrome_entry(
        "http://127.0.0.1:9/file.zip",
        200,
        &[("user-agent", "UA/1")],
        &[
            ("content-type", "application/zip"),
            ("content-disposition", "attachment; filename=\"file.zip\""),
        ],
        "",
        "application/zip",
        1 << 20,
    );
    let har = write_har(&env, "p.har", &chrome_har(vec![entry]));
    for args in [
        vec!["import-har", har.to_str().unwrap(), "--dry-run"],
        vec!["status", "--json"],
    ] {
        for _ in 0..5 {
            let mut child = env
                .cmd(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take()); // the reader is gone, like `| head -0`
            let o = child.wait_with_output().unwrap();
            let e = stderr(&o);
            assert!(!e.contains("panicked"), "{args:?}: {e}");
            assert_eq!(o.status.code(), Some(0), "{args:?}: {e}");
        }
    }
}

#[test]
fn modes_of_files_ddm_did_not_create_are_left_alone() {
    let env = Env::new();
    // An existing --home directory keeps its mode.
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o750)).unwrap();
    env.ok(&["status"]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.home()), 0o750);
    // A database the user made read-only stays so (as root, ddm can still use it).
    let db = env.home().join("jobs.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    let _ = env.run(&["status"]);
    assert_eq!(mode(&db), 0o400);
    // A jobs.db that is a symlink to a file elsewhere: its target's mode is not changed.
    let other = Env::new();
    std::fs::create_dir_all(other.home()).unwrap();
    let target = other.dir.path().join("shared.db");
    std::fs::copy(&db, &target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    symlink(&target, other.home().join("jobs.db")).unwrap();
    let _ = other.run(&["status"]);
    assert_eq!(mode(&target), 0o644);
    // The runner lock is never written through a link.
    let victim = other.dir.path().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    symlink(&victim, other.home().join("runner.lock")).unwrap();
    let o = other.run(&["run"]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
}

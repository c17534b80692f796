//! The data directory over time (issue 14.15, 14.16): `ddm.log` stays bounded however many
//! processes write it, a download's per-second checkpoints stay out of it, and the verbs that
//! only read work on a data directory that cannot be written.

use crate::faults::config;
use crate::storage::{is_root, Mount};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const CAP: u64 = 8 * 1024;

#[test]
fn ddm_log_is_rotated_at_its_size_cap_by_every_process_writing_it() {
    let env = Env::new();
    config(&env, &format!("log_max_size = {CAP}\nlog_keep = 2\n"));
    // Four processes at once, each queueing 80 jobs: one "queued" line of ~200 bytes each.
    let pad = "x".repeat(100);
    let url = |p: usize, i: usize| format!("http://127.0.0.1:9/{pad}/p{p}/file-{i:03}.bin");
    let urls: Vec<Vec<String>> = (0..4)
        .map(|p| (0..80).map(|i| url(p, i)).collect())
        .collect();
    let mut children: Vec<_> = urls
        .iter()
        .map(|u| {
            let mut args = vec!["add"];
            args.extend(u.iter().map(String::as_str));
            env.spawn(&args)
        })
        .collect();
    for c in &mut children {
        assert!(wait_child(c, Duration::from_secs(60)).success());
    }
    let mut names: Vec<String> = std::fs::read_dir(env.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ddm.log"))
        .collect();
    names.sort();
    assert_eq!(names, ["ddm.log", "ddm.log.1", "ddm.log.2"], "{names:?}");
    let mut lines = Vec::new();
    for n in &names {
        let p = env.home().join(n);
        let len = std::fs::metadata(&p).unwrap().len();
        // Full means at the cap after a write: at most one line over it.
        assert!(len < CAP + 512, "{n} has {len} bytes, cap {CAP}");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{n}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with('\n'), "{n} ends mid-line");
        lines.extend(text.lines().map(String::from));
    }
    // 320 lines of ~200 bytes do not fit in 3 × 8 KiB: the oldest went, none is torn or twice.
    let queued: Vec<&String> = lines.iter().filter(|l| l.contains("queued")).collect();
    assert!(queued.len() > 50 && queued.len() < 320, "{}", queued.len());
    for l in &queued {
        assert!(l.contains("file-") && l.ends_with(".bin"), "torn line: {l}");
        assert_eq!(lines.iter().filter(|m| m == l).count(), 1, "twice: {l}");
    }
    // The newest line is kept (job 320, the last queued).
    assert!(
        queued.iter().any(|l| l.contains("queued id=320 ")),
        "the newest line is missing"
    );
}

#[test]
fn a_downloads_checkpoints_stay_out_of_ddm_log() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 1501);
    server.add("/slow.bin", Resource::new(body.clone()).rate(1 << 20));
    let env = Env::new();
    // -vvv shows trace on stderr: the checkpoints are still there for whoever asks.
    let o = env.run(&["-vvv", "get", &server.url("/slow.bin"), "-c", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("slow.bin"), &body);
    assert!(
        stderr(&o).matches("checkpoint").count() >= 2,
        "{}",
        stderr(&o)
    );
    let log = env.log();
    assert!(
        !log.contains("checkpoint"),
        "ddm.log holds per-second lines:\n{log}"
    );
}

#[test]
fn reading_verbs_work_on_a_data_directory_that_cannot_be_written() {
    let server = Server::start().unwrap();
    let body = pattern(64 * 1024, 1502);
    server.add("/done.bin", Resource::new(body.clone()));
    let env = Env::new();
    env.ok(&["get", &server.url("/done.bin")]);
    env.ok(&["add", "http://127.0.0.1:9/later.bin"]);
    let db = env.home().join("jobs.db");
    let before = std::fs::read(&db).unwrap();
    // Root ignores permission bits: a read-only bind mount (EROFS) instead.
    let mount = if is_root() {
        Some(Mount::read_only(&env.home()).expect("read-only bind mount"))
    } else {
        std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let status = env.run(&["status"]);
    let json = env.run(&["status", "--json"]);
    let one = env.run(&["status", "2", "--json"]);
    let top = env.run(&["top"]);
    let add = env.run(&["add", "http://127.0.0.1:9/no.bin"]);
    match &mount {
        Some(m) => m.remount(false).unwrap(),
        None => {
            std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o700)).unwrap()
        }
    }
    drop(mount);
    for (what, o) in [
        ("status", &status),
        ("status --json", &json),
        ("status 2", &one),
        ("top", &top),
    ] {
        assert!(o.status.success(), "{what}: {}", stderr(o));
        assert!(
            !stderr(o).contains("unable to open"),
            "{what}: {}",
            stderr(o)
        );
    }
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("done.bin") && text.contains("later.bin"),
        "{text}"
    );
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    let states: Vec<&str> = jobs.iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["done", "queued"]);
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.contains("done.bin") && top.contains("later.bin"),
        "{top}"
    );
    // A verb that writes fails, and says so; nothing was changed.
    assert_eq!(add.status.code(), Some(4), "{}", stderr(&add));
    assert!(stderr(&add).contains("jobs.db"), "{}", stderr(&add));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
}

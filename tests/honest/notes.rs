//! Notes name their job and are said once: a cap learned from a server is one line, not one
//! per refused request; every note of `ddm run` says which job it is about. Stopping a
//! download from a server without byte ranges says that what came cannot be kept (it used
//! to say "progress saved" and start over from zero), and nothing claims that progress.

use super::config;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::io::Read;
use std::time::Duration;

const MIB: usize = 1 << 20;

#[test]
fn a_learned_cap_is_said_in_one_line() {
    // 16 connections asked for, 4 allowed: a dozen refusals, one line.
    let server = Server::start().unwrap();
    server.limit_open_connections(4, 503);
    let body = pattern(16 * MIB, 1560);
    server.add("/cap.bin", Resource::new(body.clone()).rate(4 << 20));
    let env = Env::new();
    let o = env.run(&["get", &server.url("/cap.bin"), "-c", "16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("cap.bin"), &body);
    let refused = server.log().iter().filter(|e| e.status == 503).count();
    assert!(refused >= 2, "only {refused} refusals: nothing to say once");
    let err = stderr(&o);
    assert_eq!(
        err.matches("refuses more connections").count(),
        1,
        "{refused} refusals:\n{err}"
    );
}

#[test]
fn every_note_of_ddm_run_names_its_job() {
    // Two jobs whose first answers bring notes (a Content-Encoding saved as served).
    let server = Server::start().unwrap();
    server.add("/a.bin", Resource::new(pattern(MIB, 1561)).gzip_always());
    server.add("/b.bin", Resource::new(pattern(MIB, 1562)).gzip_always());
    let env = Env::new();
    env.ok(&["add", &server.url("/a.bin"), &server.url("/b.bin")]);
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("note:")).collect();
    assert!(notes.len() >= 2, "{err}");
    for n in notes {
        assert!(
            n.starts_with("job 1: note:") || n.starts_with("job 2: note:"),
            "a note without its job: {n}"
        );
    }
}

#[test]
fn ctrl_c_on_a_server_without_ranges_says_nothing_can_be_kept() {
    let server = Server::start().unwrap();
    let body = pattern(8 * MIB, 1563);
    server.add(
        "/nr.bin",
        Resource::new(body.clone()).no_ranges().rate(2 << 20),
    );
    let env = Env::new();
    config(&env, "checkpoint_secs = 0.2\n");
    let mut child = env.spawn(&["get", &server.url("/nr.bin")]);
    wait_for(Duration::from_secs(10), "bytes on the wire", || {
        (server.bytes_sent("/nr.bin") > MIB as u64).then_some(())
    });
    // Progress is checkpointed for display while it runs.
    wait_for(Duration::from_secs(10), "a checkpoint", || {
        (env.job(1)["bytes_done"].as_u64()? > 0).then_some(())
    });
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let st = wait_child(&mut child, Duration::from_secs(15));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(st.code(), Some(130), "{err}");
    assert!(err.contains("cannot be kept"), "{err}");
    assert!(err.contains("starts it over from zero"), "{err}");
    assert!(!err.contains("progress saved"), "{err}");
    let j = env.job(1);
    assert_eq!(j["state"], "queued", "{j}");
    assert_eq!(j["bytes_done"], 0, "no progress is claimed: {j}");
    // The next run indeed starts from zero, and does not say it continues.
    let o = env.run(&["get", &server.url("/nr.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("continuing job 1"), "{}", stderr(&o));
    assert_same_file(&env.out().join("nr.bin"), &body);
}

//! Hooks are bounded and never fatal: a slow one is killed (with what it started) at its time
//! limit, holds neither the download nor ddm's exit past it, and dies at once on Ctrl-C; one
//! that cannot start or fails is a log line; a hook written wrongly in the config is refused.

use super::{alive, config, script, Recorder};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// A hook that records its pid and a child's, then sleeps a minute; `NAME.after` if it lives.
fn slow(dir: &Path, name: &str) -> String {
    let d = dir.display();
    let s = script(
        &dir.join(format!("{name}.sh")),
        &format!(
            "echo $$ > {d}/{name}.pid\nsleep 60 &\necho $! > {d}/{name}.child\nwait\n\
             echo survived > {d}/{name}.after\n"
        ),
    );
    format!("[{:?}]", s.display().to_string())
}

fn pids(dir: &Path, name: &str) -> Vec<i32> {
    ["pid", "child"]
        .iter()
        .map(|ext| {
            let f = dir.join(format!("{name}.{ext}"));
            let t = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            t.trim().parse().unwrap()
        })
        .collect()
}

fn assert_gone(dir: &Path, name: &str) {
    for pid in pids(dir, name) {
        wait_for(
            Duration::from_secs(3),
            &format!("{name} process {pid} to end"),
            || (!alive(pid)).then_some(()),
        );
    }
    assert!(
        !dir.join(format!("{name}.after")).exists(),
        "{name} lived on"
    );
}

#[test]
fn a_slow_hook_is_killed_at_its_time_limit_and_holds_neither_the_download_nor_get_past_it() {
    const LIMIT: u64 = 3;
    let server = Server::start().unwrap();
    let body = pattern(2 * MIB, 1901);
    server.add("/a.bin", Resource::new(body.clone()).rate(2 << 20));
    let env = Env::new();
    let rec = Recorder::new(&env);
    let dir = env.dir.path();
    config(
        &env,
        &[
            ("on_start", slow(dir, "slow")),
            ("on_complete", rec.command()),
        ],
        LIMIT,
    );
    let t = Instant::now();
    let o = env.run(&["get", &server.url("/a.bin"), "-c", "1"]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("a.bin"), &body);
    // The download went on while on_start slept: it ended before the hook's limit.
    let c = rec.of("complete");
    assert_eq!(c.len(), 1, "{:?}", rec.records());
    let secs = c[0].json["elapsed_secs"].as_f64().unwrap();
    assert!(
        secs < LIMIT as f64,
        "the download took {secs} s: it waited for on_start"
    );
    // `get` waited for the hook to be killed (not left running past its limit), no longer.
    assert!(
        took >= Duration::from_secs(LIMIT) && took < Duration::from_secs(LIMIT + 4),
        "get took {took:?} with a hook limit of {LIMIT} s"
    );
    assert!(stderr(&o).contains("waiting for 1 hook"), "{}", stderr(&o));
    assert_gone(dir, "slow");
    let log = env.log();
    assert!(
        log.contains("hook on_start (job 1)") && log.contains(&format!("killed after {LIMIT} s")),
        "{log}"
    );
}

#[test]
fn ctrl_c_while_get_waits_for_a_hook_kills_the_hook_at_once() {
    let server = Server::start().unwrap();
    server.add("/b.bin", Resource::new(pattern(MIB, 1902)));
    let env = Env::new();
    let dir = env.dir.path();
    config(&env, &[("on_complete", slow(dir, "slow"))], 600);
    let mut child = env.spawn(&["get", &server.url("/b.bin")]);
    wait_for(Duration::from_secs(20), "the hook to start", || {
        dir.join("slow.child").exists().then_some(())
    });
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "get did not wait for its hook"
    );
    let t = Instant::now();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_child(&mut child, Duration::from_secs(5));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_gone(dir, "slow");
    assert!(
        env.log().contains("killed because ddm stopped"),
        "{}",
        env.log()
    );
}

#[test]
fn a_hook_that_cannot_start_or_fails_is_logged_and_never_fails_the_download() {
    let server = Server::start().unwrap();
    let body = pattern(MIB, 1903);
    server.add("/c.bin", Resource::new(body.clone()));
    let env = Env::new();
    let rec = Recorder::new(&env);
    config(
        &env,
        &[
            ("on_start", "[\"/nonexistent/ddm-hook-prog\", \"x\"]".into()),
            (
                "on_complete",
                "[\"sh\", \"-c\", \"echo out-words; echo err-words >&2; exit 3\"]".into(),
            ),
            ("on_queue_empty", rec.command()),
        ],
        30,
    );
    let o = env.run(&["get", &server.url("/c.bin")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("c.bin"), &body);
    assert_eq!(rec.of("queue_empty").len(), 1, "later hooks still run");
    let log = env.log();
    assert!(
        log.contains("hook on_start (job 1): cannot start \"/nonexistent/ddm-hook-prog\"")
            && log.contains("No such file"),
        "{log}"
    );
    assert!(
        log.contains("hook on_complete (job 1): \"sh\" exited with status 3")
            && log.contains("out-words")
            && log.contains("err-words"),
        "{log}"
    );
    // A failing hook is a warning the user sees, not an error of the download.
    assert!(stderr(&o).contains("cannot start"), "{}", stderr(&o));
}

#[test]
fn a_hook_written_as_a_shell_line_is_refused_naming_the_key_before_any_request() {
    let server = Server::start().unwrap();
    server.add("/d.bin", Resource::new(pattern(MIB, 1904)));
    let env = Env::new();
    config(&env, &[("on_complete", "\"mv $DDM_PATH /tmp\"".into())], 30);
    let o = env.run(&["get", &server.url("/d.bin")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("hooks.on_complete") && e.contains("array") && e.contains("config.toml"),
        "{e}"
    );
    assert!(
        server.log().is_empty(),
        "a request went out: {:?}",
        server.log()
    );
}

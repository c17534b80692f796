//! Many processes, one data directory: no SQLite busy error ever reaches a user, every job
//! is claimed once, and an interrupted `add` queues all of its URLs or none.

use crate::faults::create_db;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KIB: usize = 1024;

fn ids_of(stdout: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| l.trim().parse().expect("an id per line"))
        .collect()
}

fn assert_no_store_error(what: &str, o: &std::process::Output) {
    let err = stderr(o);
    assert!(
        o.status.success(),
        "{what} failed ({:?}): {err}",
        o.status.code()
    );
    for bad in ["database", "locked", "busy", "SQLITE"] {
        assert!(!err.contains(bad), "{what}: {err}");
    }
}

#[test]
fn a_runner_and_eight_busy_terminals_share_one_store_without_a_database_error() {
    let server = Server::start().unwrap();
    let env = Env::new();
    create_db(&env);
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut urls = Vec::new();
    for i in 0..300 {
        let body = pattern(64 * KIB, 1000 + i);
        server.add(&format!("/q/f{i}.bin"), Resource::new(body.clone()));
        urls.push(server.url(&format!("/q/f{i}.bin")));
        bodies.insert(format!("f{i}.bin"), body);
    }
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    let first = ids_of(env.ok(&args).as_bytes());
    assert_eq!(first.len(), 300);

    let mut runner = env.spawn(&["run", "-q"]);
    let stop = AtomicBool::new(false);
    let added: Mutex<Vec<i64>> = Mutex::new(first.clone());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (env, server, stop, added, errors) = (&env, &server, &stop, &added, &errors);
            s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = ((n * 7919 + t * 104_729) % 300 + 1).to_string();
                    let (what, o) = match (n + t) % 4 {
                        0 => {
                            let path = format!("/x/t{t}-{n}.bin");
                            server.add(&path, Resource::new(pattern(16 * KIB, t * 1000 + n)));
                            let o = env.run(&["add", &server.url(&path)]);
                            if o.status.success() {
                                added.lock().unwrap().extend(ids_of(&o.stdout));
                            }
                            ("add", o)
                        }
                        1 => {
                            let o = env.run(&["status", "--json"]);
                            if o.status.success()
                                && serde_json::from_slice::<serde_json::Value>(&o.stdout).is_err()
                            {
                                errors
                                    .lock()
                                    .unwrap()
                                    .push("status --json: not JSON".into());
                            }
                            ("status --json", o)
                        }
                        2 => ("pause", env.run(&["pause", &id])),
                        _ => ("resume", env.run(&["resume", &id])),
                    };
                    let err = stderr(&o);
                    let bad = ["database", "locked", "busy", "SQLITE"];
                    if !o.status.success() || bad.iter().any(|b| err.contains(b)) {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{what} exited {:?}: {err}", o.status.code()));
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(20));
        stop.store(true, Ordering::Relaxed);
    });
    let errors = errors.into_inner().unwrap();
    assert!(
        errors.is_empty(),
        "{} errors, first: {}",
        errors.len(),
        errors[0]
    );
    assert!(t0.elapsed() < Duration::from_secs(40));

    // The runner may have found the queue empty (everything paused) and left: finish the
    // rest with another run, as a user would.
    let st = wait_child(&mut runner, Duration::from_secs(120));
    let mut err = String::new();
    std::io::Read::read_to_string(runner.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(st.success(), "runner exited {st:?}: {err}");
    assert_no_store_error("resume --all", &env.run(&["resume", "--all"]));
    assert_no_store_error("run", &env.run(&["run", "-q"]));

    let added = added.into_inner().unwrap();
    let unique: BTreeSet<i64> = added.iter().copied().collect();
    assert_eq!(unique.len(), added.len(), "an id was handed out twice");
    let jobs = env.jobs();
    let listed: Vec<i64> = jobs.iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert_eq!(
        listed.iter().copied().collect::<BTreeSet<_>>(),
        unique,
        "every id present once"
    );
    assert_eq!(listed.len(), unique.len());
    for j in &jobs {
        assert_eq!(j["state"], "done", "{j}");
    }
    for (name, body) in &bodies {
        assert_same_file(&env.out().join(name), body);
    }
    // No name was taken twice: every extra file is there once, under its own name.
    let names: Vec<String> = std::fs::read_dir(env.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(" (1)")), "{names:?}");
    assert_eq!(names.len(), jobs.len());
}

#[test]
fn an_add_killed_at_any_moment_queues_all_of_its_urls_or_none() {
    let env = Env::new();
    create_db(&env);
    let urls: Vec<String> = (0..20_000)
        .map(|i| format!("http://127.0.0.1:9/a/file-{i}.bin"))
        .collect();
    let mut expected = 0usize;
    for trial in 0..12u64 {
        let mut cmd: Command = env.cmd(&["add"]);
        cmd.args(&urls)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // Spread the kills over the whole run of `add` (about 0.1-0.3 s here).
        std::thread::sleep(Duration::from_millis(10 + trial * 23));
        let _ = child.kill();
        let st = child.wait().unwrap();
        let n = env.jobs().len();
        assert!(
            n == expected || n == expected + urls.len(),
            "trial {trial} ({st:?}): {n} jobs, expected {expected} or {}",
            expected + urls.len()
        );
        expected = n;
    }
}

/// A job paused and resumed at once is queued again before its run has stopped (the run
/// notices the pause within a quarter of a second). The runner must not claim it again until
/// that run has ended: two runs of one job would share its `.part` (the soak found one that
/// failed with "the partial file was deleted or replaced", its first run having finished and
/// renamed it under the second). Seen from the runner's own NDJSON: a job never starts again
/// before its run ended, however often it is paused and resumed.
#[test]
fn a_job_paused_and_resumed_at_once_is_never_run_twice_at_the_same_time() {
    use std::io::BufRead;
    let server = Server::start().unwrap();
    let body = pattern(6 << 20, 991);
    server.add("/pr.bin", Resource::new(body.clone()).rate(512 << 10));
    let env = Env::new();
    env.ok(&["add", "-c", "2", &server.url("/pr.bin")]);
    let mut child = env
        .cmd(&["run", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let events = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = events.clone();
    let reader = std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["job"] == 1 {
                    seen.lock()
                        .unwrap()
                        .push(v["event"].as_str().unwrap_or("").to_string());
                }
            }
        }
    });
    for _ in 0..6 {
        wait_for(Duration::from_secs(20), "the job running", || {
            (events
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|e| *e != "progress" && *e != "note")
                == Some(&"started".to_string()))
            .then_some(())
        });
        env.ok(&["pause", "1"]);
        env.ok(&["resume", "1"]);
    }
    // Whether the run noticed the last pause (and the runner claimed the job again) or went
    // on through it, `status` says running again within a moment, not queued.
    wait_for(Duration::from_secs(2), "status to say running", || {
        (env.job(1)["state"] == "running").then_some(())
    });
    let st = wait_child(&mut child, Duration::from_secs(60));
    reader.join().unwrap();
    assert!(st.success(), "run exited {st:?}");
    assert_same_file(&env.out().join("pr.bin"), &body);
    // Between two starts, the first run ended (paused).
    let runs: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| *e != "progress" && *e != "note")
        .cloned()
        .collect();
    for pair in runs.windows(2) {
        assert!(
            !(pair[0] == "started" && pair[1] == "started"),
            "job 1 started again before its run ended: {runs:?}"
        );
    }
    assert_eq!(runs.last().map(String::as_str), Some("done"), "{runs:?}");
}

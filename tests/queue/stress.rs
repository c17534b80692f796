//! Eight processes adding jobs (with priorities) and moving them about beside a runner: no
//! job is lost or run twice (each file requested once and saved once), no id is handed out
//! twice, no database error reaches a user, and the queue order stays one order.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const KIB: usize = 1024;

fn ids_of(stdout: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| l.trim().parse().expect("an id per line"))
        .collect()
}

#[test]
fn eight_processes_moving_and_adding_beside_a_runner_never_lose_or_repeat_a_job() {
    let server = Server::start().unwrap();
    let env = Env::new();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut urls = Vec::new();
    for i in 0..150u64 {
        let body = pattern(32 * KIB, 2000 + i);
        server.add(&format!("/s/f{i}.bin"), Resource::new(body.clone()));
        urls.push(server.url(&format!("/s/f{i}.bin")));
        bodies.insert(format!("f{i}.bin"), body);
    }
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    let first = ids_of(env.ok(&args).as_bytes());
    let mut runner = env.spawn(&["run", "-q"]);
    let stop = AtomicBool::new(false);
    let added: Mutex<Vec<i64>> = Mutex::new(first.clone());
    let bodies = Mutex::new(bodies);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let moved = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (env, server, stop, added, errors, bodies, moved) =
                (&env, &server, &stop, &added, &errors, &bodies, &moved);
            s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let pick = |k: u64| {
                        let a = added.lock().unwrap();
                        a[((n * 7919 + t * 104_729 + k) % a.len() as u64) as usize].to_string()
                    };
                    let (what, o) = match (n + t) % 5 {
                        0 | 1 => {
                            let name = format!("t{t}-{n}.bin");
                            let body = pattern(16 * KIB, t * 10_000 + n);
                            server.add(&format!("/x/{name}"), Resource::new(body.clone()));
                            bodies.lock().unwrap().insert(name.clone(), body);
                            let prio = ["high", "low", "normal", "7"][(n % 4) as usize];
                            let o = env.run(&[
                                "add",
                                &server.url(&format!("/x/{name}")),
                                "--priority",
                                prio,
                            ]);
                            if o.status.success() {
                                added.lock().unwrap().extend(ids_of(&o.stdout));
                            }
                            ("add", o)
                        }
                        2 => {
                            let id = pick(0);
                            let o = env.run(&["move", &id, "--first"]);
                            ("move --first", o)
                        }
                        3 => {
                            let (id, other) = (pick(1), pick(2));
                            let how = if n % 2 == 0 { "--before" } else { "--after" };
                            ("move beside", env.run(&["move", &id, how, &other]))
                        }
                        _ => ("status --json", env.run(&["status", "--json"])),
                    };
                    let err = stderr(&o);
                    // A move of a job that is running or done is refused (exit 2) with why.
                    let refused = o.status.code() == Some(2)
                        && what.starts_with("move")
                        && (err.contains("not in the queue") || err.contains("beside itself"));
                    if o.status.success() && what.starts_with("move") {
                        moved.fetch_add(1, Ordering::Relaxed);
                    }
                    let bad = ["database", "locked", "busy", "SQLITE"];
                    if !(o.status.success() || refused) || bad.iter().any(|b| err.contains(b)) {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{what} exited {:?}: {err}", o.status.code()));
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(12));
        stop.store(true, Ordering::Relaxed);
    });
    let errors = errors.into_inner().unwrap();
    assert!(
        errors.is_empty(),
        "{} errors, first: {}",
        errors.len(),
        errors[0]
    );
    assert!(moved.into_inner() > 20, "moves were made");
    let st = wait_child(&mut runner, Duration::from_secs(120));
    assert!(st.success(), "runner exited {st:?}");
    // What was added after the runner left.
    env.ok(&["run", "-q"]);

    let added = added.into_inner().unwrap();
    let unique: BTreeSet<i64> = added.iter().copied().collect();
    assert_eq!(unique.len(), added.len(), "an id was handed out twice");
    let jobs = env.jobs();
    let listed: BTreeSet<i64> = jobs.iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, unique, "every job is there, once");
    for j in &jobs {
        assert_eq!(j["state"], "done", "{j}");
    }
    // Each file was asked for once (one request each: small files), and saved once.
    let mut asked: HashMap<String, usize> = HashMap::new();
    for e in server.log().iter().filter(|e| e.method == "GET") {
        *asked.entry(e.target.clone()).or_default() += 1;
    }
    assert!(
        asked.values().all(|&n| n == 1),
        "a file was fetched twice: {asked:?}"
    );
    assert_eq!(asked.len(), unique.len());
    let bodies = bodies.into_inner().unwrap();
    for (name, body) in &bodies {
        assert_same_file(&env.out().join(name), body);
    }
    let names = std::fs::read_dir(env.out()).unwrap().count();
    assert_eq!(names, jobs.len(), "no file saved twice under another name");
}

//! The job-manager CLI: verbs, round trips, errors and exit codes, file modes, the runner lock.

use crate::util::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn help_lists_every_verb() {
    let env = Env::new();
    let out = env.ok(&["--help"]);
    for verb in [
        "add",
        "run",
        "status",
        "pause",
        "resume",
        "remove",
        "get",
        "probe",
        "import-har",
        "bench",
        "demo",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(verb)),
            "{verb} missing from --help:\n{out}"
        );
    }
}

#[test]
fn add_status_pause_resume_remove_round_trip() {
    let env = Env::new();
    let id: i64 = env
        .ok(&["add", "http://127.0.0.1:9/file.iso", "-H", "X-Test: 1"])
        .trim()
        .parse()
        .unwrap();
    let j = env.job(id);
    assert_eq!(j["state"], "queued");
    assert_eq!(j["url"], "http://127.0.0.1:9/file.iso");
    assert_eq!(j["size"], serde_json::Value::Null);
    assert_eq!(j["bytes_done"], 0);
    for key in ["id", "state", "url", "path", "size", "bytes_done", "error"] {
        assert!(j.get(key).is_some(), "status --json lacks {key}: {j}");
    }
    assert!(env.ok(&["pause", &id.to_string()]).contains("paused"));
    assert_eq!(env.job(id)["state"], "paused");
    env.ok(&["resume", &id.to_string()]);
    assert_eq!(env.job(id)["state"], "queued");
    env.ok(&["pause", "--all"]);
    assert_eq!(env.job(id)["state"], "paused");
    env.ok(&["resume", "--all"]);
    assert_eq!(env.job(id)["state"], "queued");
    env.ok(&["remove", &id.to_string()]);
    assert!(env.jobs().is_empty());
    // The table view works too.
    assert!(env.ok(&["status"]).contains("no jobs"));
}

#[test]
fn database_and_directory_are_private() {
    let env = Env::new();
    env.ok(&["add", "https://example.org/a"]);
    let db = env.home().join("jobs.db");
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "jobs.db mode");
    let dmode = std::fs::metadata(env.home()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dmode, 0o700, "data directory mode");
}

#[test]
fn bad_input_is_exit_2_with_a_reason() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["add", "ftp://example.org/f"], "not supported"),
        (&["add", "example.org/file"], "not a URL"),
        (&["add", "http://"], "not a valid URL"),
        (&["add", "http://h/f", "-H", "NoColon"], "Name: value"),
        (
            &["add", "http://h/a", "http://h/b", "-o", "x"],
            "several URLs",
        ),
        (
            &["add", "http://h/a", "-d", "/proc/no/such/dir"],
            "cannot create the destination directory",
        ),
        (&["status", "99"], "no job with id 99"),
        (&["pause", "99"], "no job with id 99"),
        (&["remove", "99"], "no job with id 99"),
        (&["add", "http://h/a", "--connections", "0"], "connections"),
        (&["add", "http://h/a", "--connections", "65"], "connections"),
    ];
    for (args, want) in cases {
        let o = env.run(args);
        assert_eq!(o.status.code(), Some(2), "ddm {args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(want),
            "ddm {args:?} said: {}",
            stderr(&o)
        );
    }
    // Nothing was queued by the failed adds (all-or-nothing).
    assert!(env.jobs().is_empty());
}

#[test]
fn unknown_config_key_names_key_and_file() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), "conections = 4\n").unwrap();
    let o = env.run(&["status"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("conections") && e.contains("config.toml"), "{e}");
}

#[test]
fn corrupt_database_is_refused_and_kept() {
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let db = env.home().join("jobs.db");
    let junk = vec![0x42u8; 8192];
    std::fs::write(&db, &junk).unwrap();
    let o = env.run(&["status"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("jobs.db"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&db).unwrap(), junk, "the file was modified");
}

#[test]
fn run_with_empty_queue_exits_zero() {
    let env = Env::new();
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing queued"));
}

#[test]
fn second_runner_is_refused_with_the_holder_pid() {
    use ddm_testserver::{pattern, Resource, Server};
    let server = Server::start().unwrap();
    server.add(
        "/slow.bin",
        Resource::new(pattern(4 << 20, 1)).rate(256 << 10),
    );
    let env = Env::new();
    env.ok(&["add", &server.url("/slow.bin"), "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(10), "the runner to start", || {
        (env.jobs()[0]["state"] == "running").then_some(())
    });
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&runner.id().to_string()),
        "{}",
        stderr(&o)
    );
    runner.kill().unwrap();
    runner.wait().unwrap();
}

#[test]
fn status_lists_many_jobs() {
    // 10,000 jobs: status must stay usable (the timing target is checked by a benchmark,
    // see docs/benchmarks.md; here we check it answers with all of them).
    let env = Env::new();
    env.ok(&["status"]); // create the database
    {
        let mut store = ddm_core::store::Store::open(&env.home().join("jobs.db")).unwrap();
        for i in 0..10_000 {
            store
                .add(&ddm_core::store::NewJob {
                    url: format!("https://example.org/f{i}"),
                    dest_dir: env.out(),
                    file_name: None,
                    settings: Default::default(),
                    queue: Default::default(),
                })
                .unwrap();
        }
    }
    let start = std::time::Instant::now();
    let table = env.ok(&["status"]);
    let took = start.elapsed();
    assert_eq!(table.lines().count(), 10_001);
    assert_eq!(env.jobs().len(), 10_000);
    assert!(took < Duration::from_secs(5), "status took {took:?}");
}

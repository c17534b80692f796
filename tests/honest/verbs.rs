//! Verbs do what their help says: `ddm limit` without arguments shows the caps, `ddm status
//! --long` where the data is, who works it and the caps in force, `ddm remove --failed`,
//! `--done`, `--all` pick jobs by state.

use super::config;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};

#[test]
fn limit_without_arguments_shows_the_caps_in_force() {
    let env = Env::new();
    config(&env, "max_rate = \"8M\"\n");
    env.ok(&["add", "http://127.0.0.1:9/a.bin"]);
    env.ok(&["add", "http://127.0.0.1:9/b.bin", "--limit-rate", "500K"]);
    let out = env.ok(&["limit"]);
    assert!(
        out.contains("global limit: 8.0 MiB/s (config max_rate)"),
        "{out}"
    );
    assert!(out.contains("2: limit 500.0 KiB/s"), "{out}");
    assert!(
        !out.contains("1: limit"),
        "job 1 has no limit of its own: {out}"
    );
    env.ok(&["limit", "--global", "2M"]);
    env.ok(&["limit", "2", "none"]);
    let out = env.ok(&["limit"]);
    assert!(
        out.contains("global limit: 2.0 MiB/s (ddm limit --global)"),
        "{out}"
    );
    assert!(out.contains("no job has a limit of its own"), "{out}");
}

#[test]
fn limit_and_status_long_show_the_schedule_window_in_force() {
    // A window that covers every moment of the week, with a cap and a held queue.
    let env = Env::new();
    config(
        &env,
        "[[schedule]]\nstart = \"00:00\"\nend = \"24:00\"\nmax_rate = \"300K\"\nqueue = \"hold\"\n",
    );
    let out = env.ok(&["limit"]);
    assert!(out.contains("schedule: window 1 ("), "{out}");
    assert!(
        out.contains("caps all jobs at 300.0 KiB/s and holds the queue now"),
        "{out}"
    );
    let out = env.ok(&["limit", "--global"]);
    assert!(out.contains("schedule: window 1 ("), "{out}");
    let out = env.ok(&["status", "--long"]);
    assert!(out.contains("schedule: window 1 ("), "{out}");
    // `top` (its plain form: stdout is not a terminal here) says it first.
    let out = env.ok(&["top"]);
    assert_eq!(
        out.lines().next(),
        Some("schedule window 1: 300.0 KiB/s cap, queue held"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["status", "--long", "--json"])).unwrap();
    let s = &v["caps"]["schedule"];
    assert_eq!(
        (&s["window"], &s["max_rate"], &s["hold"]),
        (&1.into(), &(300 * 1024).into(), &true.into()),
        "{v}"
    );
    // Without a window in force: nothing said, null in JSON.
    let env = Env::new();
    let out = env.ok(&["limit"]);
    assert!(!out.contains("schedule:"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["status", "--long", "--json"])).unwrap();
    assert!(v["caps"]["schedule"].is_null(), "{v}");
}

#[test]
fn status_long_says_where_the_data_is_who_works_it_and_the_caps() {
    let server = Server::start().unwrap();
    server.add(
        "/c.bin",
        Resource::new(pattern(4 << 20, 1590))
            .rate(2 << 20)
            .fault(Fault::ConnCap { max: 2, code: 503 }),
    );
    let env = Env::new();
    config(&env, "max_connections_per_host = 6\n");
    env.ok(&["get", &server.url("/c.bin"), "-c", "6"]);
    env.ok(&["add", "http://127.0.0.1:9/q.bin", "-d", "sub"]);
    let out = env.ok(&["status", "--long"]);
    let home = env.home().display().to_string();
    assert!(out.contains(&format!("data directory: {home}")), "{out}");
    assert!(out.contains("config file: "), "{out}");
    assert!(out.contains("runner: none"), "{out}");
    assert!(out.contains("6 per host"), "{out}");
    let host = format!("host http://127.0.0.1:{}: refuses more than", server.port());
    assert!(out.contains(&host), "the learned cap: {out}");
    assert!(
        out.contains(&format!("into {}", env.out().join("sub").display())),
        "each job's directory: {out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["status", "--long", "--json"])).unwrap();
    assert_eq!(v["data_directory"], home.as_str());
    assert_eq!(v["caps"]["max_connections_per_host"], 6);
    assert_eq!(v["caps"]["hosts"][0]["max_connections"], 2, "{v}");
    assert_eq!(v["jobs"].as_array().unwrap().len(), 2);
}

#[test]
fn remove_picks_failed_done_or_all_jobs_by_state() {
    let server = Server::start().unwrap();
    let body = pattern(100_000, 1591);
    server.add("/ok.bin", Resource::new(body.clone()));
    server.add(
        "/gone.bin",
        Resource::new(pattern(10, 1592)).fault(Fault::Status {
            code: 404,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    let env = Env::new();
    env.ok(&["get", &server.url("/ok.bin")]);
    let o = env.run(&["get", &server.url("/gone.bin")]);
    assert_eq!(o.status.code(), Some(1));
    env.ok(&["add", "http://127.0.0.1:9/later.bin"]);
    let out = env.ok(&["remove", "--failed"]);
    assert_eq!(out.trim(), "2: removed", "{out}");
    let ids: Vec<i64> = env
        .jobs()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(
        env.ok(&["remove", "--failed"]).trim(),
        "no failed jobs to remove"
    );
    assert_eq!(env.ok(&["remove", "--done"]).trim(), "1: removed");
    assert_same_file(&env.out().join("ok.bin"), &body);
    assert_eq!(env.ok(&["remove", "--all"]).trim(), "3: removed");
    assert!(env.jobs().is_empty());
    let o = env.run(&["remove"]);
    assert_eq!(o.status.code(), Some(2), "ids or a state are needed");
}

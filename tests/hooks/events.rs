//! Which hook runs when, and what it is told: `get` and `run`, success and failure.

use super::{config, config_with, env_matches_json, Recorder};
use crate::faults::{create_db, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use sha2::Digest;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn all_hooks(rec: &Recorder) -> Vec<(&'static str, String)> {
    ["on_start", "on_complete", "on_error", "on_queue_empty"]
        .into_iter()
        .map(|k| (k, rec.command()))
        .collect()
}

#[test]
fn get_tells_its_hooks_the_job_on_stdin_and_in_the_environment_without_secrets() {
    let server = Server::start().unwrap();
    let body = pattern(3 * MIB, 1601);
    server.add(
        "/report.pdf",
        Resource::new(body.clone()).basic_auth("alice", "Pa55-hook-secret"),
    );
    let env = Env::new();
    let rec = Recorder::new(&env);
    config(&env, &all_hooks(&rec), 30);
    let url = server
        .url("/report.pdf")
        .replace("http://", "http://alice:Pa55-hook-secret@");
    let sum = sha256(&body);
    // A `DDM_*` variable in ddm's own environment never reaches a hook as if ddm said it.
    let o = env
        .cmd(&[
            "get",
            &url,
            "--checksum",
            &format!("sha256:{}", sum.to_uppercase()),
            "-H",
            "X-Api-Key: K3y-hook-secret",
            "-H",
            "Cookie: sid=C00kie-hook-secret",
        ])
        .env("DDM_JOB_ID", "999")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = env.out().join("report.pdf");
    assert_same_file(&path, &body);
    // `get` waited for its hooks: every record is there when it has exited.
    let (start, complete, empty) = (rec.of("start"), rec.of("complete"), rec.of("queue_empty"));
    assert_eq!(
        (
            start.len(),
            complete.len(),
            empty.len(),
            rec.of("error").len()
        ),
        (1, 1, 1, 0),
        "{:?}",
        rec.records()
    );
    let shown_url = server
        .url("/report.pdf")
        .replace("http://", "http://alice:***@");
    let c = &complete[0].json;
    assert_eq!(c["id"], 1, "{c}");
    assert_eq!(c["gid"], "0000000000000001", "{c}");
    assert_eq!(c["runner"], "get", "{c}");
    assert_eq!(c["status"], "done", "{c}");
    assert_eq!(c["url"], shown_url.as_str(), "{c}");
    assert_eq!(c["path"], path.display().to_string(), "{c}");
    assert_eq!(c["name"], "report.pdf", "{c}");
    assert_eq!(c["dir"], env.out().display().to_string(), "{c}");
    assert_eq!(c["size"], body.len(), "{c}");
    assert_eq!(c["received"], body.len(), "{c}");
    assert_eq!(c["sha256"], sum.as_str(), "{c}");
    assert_eq!(c["checksum"], format!("sha256:{sum}"), "{c}");
    assert!(
        c["error_kind"].is_null() && c["error_message"].is_null(),
        "{c}"
    );
    let (t0, t1) = (
        c["started_at"].as_f64().unwrap(),
        c["ended_at"].as_f64().unwrap(),
    );
    assert!(t0 > 1.6e9 && t0 <= t1, "{c}");
    assert!(c["elapsed_secs"].as_f64().unwrap() >= 0.0, "{c}");
    assert!(
        complete[0].file_present,
        "the file was not in place for on_complete"
    );
    let s = &start[0].json;
    assert_eq!(
        (&s["status"], &s["id"], &s["path"], &s["size"]),
        (&"running".into(), &1.into(), &c["path"], &c["size"]),
        "{s}"
    );
    assert!(s["ended_at"].is_null() && s["sha256"].is_null(), "{s}");
    for r in start.iter().chain(&complete) {
        env_matches_json(r);
    }
    let e = &empty[0].json;
    assert_eq!(
        (
            &e["runner"],
            &e["jobs_ran"],
            &e["jobs_done"],
            &e["jobs_failed"]
        ),
        (&"get".into(), &1.into(), &1.into(), &0.into()),
        "{e}"
    );
    assert_eq!(empty[0].env["DDM_EVENT"], "queue_empty");
    assert_eq!(empty[0].env.get("DDM_JOB_ID"), None, "{:?}", empty[0].env);
    for r in rec.records() {
        for secret in ["Pa55-hook-secret", "K3y-hook-secret", "C00kie-hook-secret"] {
            assert!(
                !r.given.contains(secret),
                "{secret} given to a hook: {}",
                r.given
            );
        }
    }
    // Each hook's exit and output are in the log.
    let log = env.log();
    for event in ["start", "complete", "queue_empty"] {
        assert!(
            log.contains(&format!("hook-stdout-{event}"))
                && log.contains(&format!("hook-stderr-{event}")),
            "{event}: {log}"
        );
    }
    assert!(log.contains("hook on_complete (job 1)"), "{log}");
    assert!(log.contains("exited 0"), "{log}");
}

#[test]
fn run_fires_each_jobs_hook_once_and_on_queue_empty_once_at_its_end() {
    let server = Server::start().unwrap();
    let env = Env::new();
    let rec = Recorder::new(&env);
    config(&env, &all_hooks(&rec), 30);
    let mut done_ids = Vec::new();
    let mut failed_ids = Vec::new();
    let mut id = 0;
    // Rounds of six jobs at once (five files and a 404): each `run` ends once, so it runs
    // `on_queue_empty` once, told what it ran.
    for round in 0..3 {
        let mut urls = Vec::new();
        for i in 0..5 {
            let p = format!("/r{round}-f{i}.bin");
            server.add(&p, Resource::new(pattern(256 << 10, 1700 + round * 10 + i)));
            urls.push(server.url(&p));
        }
        urls.push(server.url(&format!("/r{round}-gone.bin")));
        let mut args = vec!["add"];
        args.extend(urls.iter().map(String::as_str));
        env.ok(&args);
        done_ids.extend(id + 1..=id + 5);
        failed_ids.push(id + 6);
        id += 6;
        let o = env.run(&["run"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let empty = rec.of("queue_empty");
        assert_eq!(empty.len(), round as usize + 1, "round {round}: {empty:?}");
        let mut runs: Vec<_> = empty.iter().map(|r| &r.json).collect();
        runs.sort_by(|a, b| {
            a["ended_at"]
                .as_f64()
                .partial_cmp(&b["ended_at"].as_f64())
                .unwrap()
        });
        let last = runs.last().unwrap();
        assert_eq!(
            (
                &last["runner"],
                &last["jobs_ran"],
                &last["jobs_done"],
                &last["jobs_failed"]
            ),
            (&"run".into(), &6.into(), &5.into(), &1.into()),
            "round {round}: {last}"
        );
        let ids = |event: &str| -> Vec<i64> {
            let mut v: Vec<i64> = rec
                .of(event)
                .iter()
                .map(|r| r.json["id"].as_i64().unwrap())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids("complete"), done_ids, "round {round}");
        assert_eq!(ids("start"), done_ids, "round {round}: a 404 never starts");
        assert_eq!(ids("error"), failed_ids, "round {round}");
    }
    for r in rec.of("complete") {
        assert!(r.file_present, "{}", r.json);
        assert_eq!(r.json["runner"], "run");
        assert_eq!(r.json["size"], 256 << 10);
        assert!(
            r.json["sha256"].is_null(),
            "no checksum was given: {}",
            r.json
        );
        env_matches_json(&r);
    }
    for r in rec.of("error") {
        let j = &r.json;
        assert_eq!(
            (&j["status"], &j["error_kind"]),
            (&"failed".into(), &"not-found".into()),
            "{j}"
        );
        assert!(j["error_message"].as_str().unwrap().contains("404"), "{j}");
        env_matches_json(&r);
    }
}

#[test]
fn a_checksum_mismatch_runs_on_error_with_its_kind_and_never_on_complete() {
    let server = Server::start().unwrap();
    server.add("/x.iso", Resource::new(pattern(MIB, 1801)));
    let env = Env::new();
    let rec = Recorder::new(&env);
    config(&env, &all_hooks(&rec), 30);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let o = env.run(&["get", &server.url("/x.iso"), "--checksum", &wrong]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(rec.of("complete").is_empty(), "{:?}", rec.records());
    let err = rec.of("error");
    assert_eq!(err.len(), 1, "{:?}", rec.records());
    let j = &err[0].json;
    assert_eq!(
        (&j["status"], &j["error_kind"]),
        (&"failed".into(), &"checksum".into()),
        "{j}"
    );
    assert!(
        j["sha256"].is_null(),
        "a checksum that did not match is not the file's: {j}"
    );
    assert!(!err[0].file_present, "no file is in place after a mismatch");
    env_matches_json(&err[0]);
    assert_eq!(rec.of("queue_empty").len(), 1);
}

#[test]
fn a_job_left_waiting_for_a_fresh_link_runs_on_error_with_status_waiting() {
    let server = Server::start().unwrap();
    let body = pattern(4 * MIB, 1802);
    // A presigned link: each answer cut after 1 MiB, so the job asks again; then it expires.
    server.add(
        "/s/f.bin",
        Resource::new(body.clone())
            .etag("\"f1\"")
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: 1 << 20,
                rst: false,
                times: usize::MAX,
            }),
    );
    let env = Env::new();
    let rec = Recorder::new(&env);
    // It rests at once instead of waiting for a fresh link.
    config_with(&env, "link_wait_secs = 0\n", &all_hooks(&rec), 30);
    create_db(&env);
    let mut get = env.spawn(&["get", &server.url("/s/f.bin?sig=one"), "-c", "1"]);
    wait_progress(&env, 1, 1 << 20, Duration::from_secs(20));
    server.add(
        "/s/f.bin",
        Resource::new(body).etag("\"f1\"").fault(Fault::Status {
            code: 403,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    assert_eq!(
        wait_child(&mut get, Duration::from_secs(30)).code(),
        Some(7)
    );
    assert!(rec.of("complete").is_empty(), "{:?}", rec.records());
    let err = rec.of("error");
    assert_eq!(err.len(), 1, "{:?}", rec.records());
    let j = &err[0].json;
    assert_eq!(j["status"], "waiting", "{j}");
    assert!(j["error_kind"].is_null(), "{j}");
    assert!(!j["error_message"].as_str().unwrap().is_empty(), "{j}");
    env_matches_json(&err[0]);
}

#[test]
fn a_hook_is_told_the_rule_that_routed_the_job() {
    // A rule on the file's name applies with the first answer: on_start already says it,
    // in the JSON and in DDM_RULE; a job no rule routed gets null and an empty DDM_RULE.
    let server = Server::start().unwrap();
    let clip = pattern(MIB, 1611);
    server.add("/clip.mp4", Resource::new(clip.clone()));
    let other = pattern(MIB, 1612);
    server.add("/notes.txt", Resource::new(other.clone()));
    let env = Env::new();
    let rec = Recorder::new(&env);
    let videos = env.out().join("Videos");
    let rules = format!(
        "[[rule]]\nname = \"video\"\nfile = \"*.mp4\"\ndir = \"{}\"\n\n",
        videos.display()
    );
    config_with(
        &env,
        &rules,
        &[("on_start", rec.command()), ("on_complete", rec.command())],
        30,
    );
    env.ok(&["get", &server.url("/clip.mp4")]);
    assert_same_file(&videos.join("clip.mp4"), &clip);
    for r in rec.of("start").iter().chain(&rec.of("complete")) {
        let rule = &r.json["rule"];
        assert_eq!(rule["name"], "video", "{}", r.json);
        assert_eq!(rule["index"], 1, "{}", r.json);
        assert_eq!(rule["label"], "video (rule 1)", "{}", r.json);
        assert_eq!(r.env["DDM_RULE"], "video (rule 1)", "{:?}", r.env);
    }
    env.ok(&["get", &server.url("/notes.txt")]);
    let done = rec.of("complete");
    let last = done.last().unwrap();
    assert!(last.json["rule"].is_null(), "{}", last.json);
    assert_eq!(last.env["DDM_RULE"], "", "{:?}", last.env);
}

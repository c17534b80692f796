//! The verbs around a download: `ddm run` works the queue in order and exits 1 when a job
//! fails, `--json` prints NDJSON progress and notes (passwords hidden), and `ddm probe`
//! reports redirects, size, ranges and validators.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

#[test]
fn run_works_the_queue_in_order() {
    let server = Server::start().unwrap();
    let a = pattern(1 << 20, 10);
    let b = pattern(2 << 20, 11);
    server.add("/a.bin", Resource::new(a.clone()));
    server.add("/b.bin", Resource::new(b.clone()));
    let env = Env::new();
    env.ok(&["add", &server.url("/a.bin"), &server.url("/b.bin")]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("a.bin"), &a);
    assert_same_file(&env.out().join("b.bin"), &b);
    assert!(env.jobs().iter().all(|j| j["state"] == "done"));
}

#[test]
fn run_exits_1_when_a_job_fails() {
    let server = Server::start().unwrap();
    server.add("/ok.bin", Resource::new(pattern(1000, 1)));
    let env = Env::new();
    env.ok(&["add", &server.url("/nope"), &server.url("/ok.bin")]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let jobs = env.jobs();
    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(jobs[1]["state"], "done");
}

#[test]
fn json_progress_is_ndjson() {
    let server = Server::start().unwrap();
    server.add("/j.bin", Resource::new(pattern(4 << 20, 2)).rate(4 << 20));
    let env = Env::new();
    let out = env.ok(&["get", &server.url("/j.bin"), "--json", "-c", "2"]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert!(events.iter().any(|e| e["event"] == "progress"));
    let last = events.last().unwrap();
    assert_eq!(last["event"], "done");
    assert_eq!(last["size"], 4 << 20);
}

#[test]
fn json_notes_carry_their_kind_and_fields_with_passwords_hidden() {
    let server = Server::start().unwrap();
    let body = pattern(300_000, 7);
    server.add("/m.bin", Resource::new(body.clone()));
    let env = Env::new();
    // The job's URL is not there (404): the mirror, with a password in its URL, is asked.
    let gone = server.url("/gone.bin");
    let mirror = server
        .url("/m.bin")
        .replace("http://", "http://mu:mirror-pw@");
    let out = env.ok(&["get", &gone, "--mirror", &mirror, "-o", "f.bin", "--json"]);
    assert!(!out.contains("mirror-pw"), "a password in NDJSON: {out}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let note = events
        .iter()
        .find(|e| e["event"] == "note" && e["kind"] == "trying_mirror")
        .unwrap_or_else(|| panic!("no trying_mirror note in {out}"));
    assert_eq!(note["job"], 1);
    assert_eq!(note["failed"], gone.as_str());
    assert!(
        note["mirror"].as_str().unwrap().ends_with("/m.bin")
            && note["mirror"].as_str().unwrap().contains("mu:"),
        "{note}"
    );
    assert!(note["why"].as_str().unwrap().contains("404"), "{note}");
    // The sentence the terminal prints is there too.
    assert!(
        note["message"].as_str().unwrap().contains("trying mirror"),
        "{note}"
    );
    assert_eq!(events.last().unwrap()["event"], "done");
    assert_eq!(std::fs::read(env.out().join("f.bin")).unwrap(), body);
}

#[test]
fn probe_reports_redirects_size_ranges_and_validators() {
    let server = Server::start().unwrap();
    server.add(
        "/files/real.iso",
        Resource::new(pattern(123_456, 12))
            .etag("W/\"weak-1\"")
            .last_modified("Sat, 21 Nov 2026 10:00:00 GMT"),
    );
    server.redirect("/go", "/files/real.iso", 302);
    server.add("/nr", Resource::new(pattern(1000, 1)).no_ranges());
    let env = Env::new();
    let out = env.ok(&["probe", &server.url("/go"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["final_url"], server.url("/files/real.iso"));
    assert_eq!(v["size"], 123_456);
    assert_eq!(v["ranges"], true);
    assert_eq!(v["etag"], "W/\"weak-1\"");
    assert_eq!(v["last_modified"], "Sat, 21 Nov 2026 10:00:00 GMT");
    assert_eq!(v["filename"], "real.iso");
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["probe", &server.url("/nr"), "--json"])).unwrap();
    assert_eq!(
        v["ranges"], false,
        "a 200 to a range request means no ranges"
    );
    let human = env.ok(&["probe", &server.url("/go")]);
    assert!(
        human.contains("final url:") && human.contains("206 confirmed"),
        "{human}"
    );
    let o = env.run(&["probe", &server.url("/absent")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("404"));
}

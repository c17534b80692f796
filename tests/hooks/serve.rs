//! `ddm serve` runs the hooks of the jobs RPC clients add, and `on_queue_empty` each time it
//! goes idle after work; no RPC call can set a hook.

use super::{config, env_matches_json, Recorder};
use crate::rpc::daemon::{Backend, Daemon};
use crate::rpc::wire;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use serde_json::json;
use std::time::Duration;

#[test]
fn serve_runs_the_hooks_of_rpc_jobs_and_on_queue_empty_each_time_it_goes_idle() {
    let server = Server::start().unwrap();
    for (i, p) in ["/s1.bin", "/s2.bin"].iter().enumerate() {
        server.add(p, Resource::new(pattern(512 << 10, 2001 + i as u64)));
    }
    let env = Env::new();
    let rec = Recorder::new(&env);
    let hooks =
        ["on_start", "on_complete", "on_error", "on_queue_empty"].map(|k| (k, rec.command()));
    config(&env, &hooks, 30);
    let d = Daemon::start(Backend::Ddm, env.dir.path());
    let canary = env.dir.path().join("set-over-rpc");
    let planted = format!("/bin/sh -c 'touch {}'", canary.display());
    // Hooks come from the config only: aria2's hook options are refused, for a new job and
    // for the whole service, and the refused add queues nothing.
    for (method, params) in [
        (
            "aria2.addUri",
            vec![
                json!([server.url("/s1.bin")]),
                json!({"on-download-complete": planted}),
            ],
        ),
        (
            "aria2.changeGlobalOption",
            vec![json!({"on-download-start": planted})],
        ),
        (
            "aria2.changeGlobalOption",
            vec![json!({"on-download-error": planted})],
        ),
    ] {
        let r = wire::call(d.port, Some(&d.secret), method, &params).unwrap();
        let v = r.json();
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("cannot be set over RPC"), "{method}: {v}");
    }
    let gid1 = d
        .call("aria2.addUri", &[json!([server.url("/s1.bin")])])
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(gid1, "0000000000000001", "the refused add took an id");
    wait_for(Duration::from_secs(20), "the first idle", || {
        (rec.of("queue_empty").len() == 1).then_some(())
    });
    let c = rec.of("complete");
    assert_eq!(c.len(), 1, "{:?}", rec.records());
    assert_eq!(c[0].json["gid"], gid1, "{}", c[0].json);
    assert_eq!(c[0].json["runner"], "serve", "{}", c[0].json);
    assert_eq!(
        c[0].json["path"],
        d.dir.join("s1.bin").display().to_string(),
        "{}",
        c[0].json
    );
    assert!(c[0].file_present);
    env_matches_json(&c[0]);
    // A second batch: one file, one 404; the service goes idle again: a second run.
    let gid2 = d
        .call("aria2.addUri", &[json!([server.url("/s2.bin")])])
        .as_str()
        .unwrap()
        .to_string();
    let gid3 = d
        .call("aria2.addUri", &[json!([server.url("/gone.bin")])])
        .as_str()
        .unwrap()
        .to_string();
    wait_for(Duration::from_secs(20), "the second idle", || {
        (rec.of("queue_empty").len() == 2).then_some(())
    });
    let gids = |event: &str| -> Vec<String> {
        let mut v: Vec<String> = rec
            .of(event)
            .iter()
            .map(|r| r.json["gid"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(gids("complete"), [gid1.clone(), gid2.clone()]);
    assert_eq!(gids("start"), [gid1, gid2]);
    assert_eq!(gids("error"), [gid3]);
    let mut idle: Vec<_> = rec.of("queue_empty").into_iter().map(|r| r.json).collect();
    idle.sort_by(|a, b| {
        a["ended_at"]
            .as_f64()
            .partial_cmp(&b["ended_at"].as_f64())
            .unwrap()
    });
    for (run, (ran, done, failed)) in idle.iter().zip([(1, 1, 0), (2, 1, 1)]) {
        assert_eq!(
            (
                &run["runner"],
                &run["jobs_ran"],
                &run["jobs_done"],
                &run["jobs_failed"]
            ),
            (&"serve".into(), &ran.into(), &done.into(), &failed.into()),
            "{run}"
        );
    }
    // Idle is said once per time it goes idle, not again while it stays so.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rec.of("queue_empty").len(), 2);
    assert!(!canary.exists(), "a command given over RPC ran");
}

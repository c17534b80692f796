//! ddm's own methods (`ddm.*`) and its page: what the page reads (lanes, completion map,
//! runner, jobs with their secrets hidden), what it changes (the connection budget), what
//! it adds (a pasted "Copy as cURL" command), and the live feed: `ddm.onUpdate` only to
//! sessions that subscribed, at most five a second however fast the service reports.

use crate::client::*;
use crate::mock::{job, running, view, Mock};
use ddm_core::model::{Credentials, Header};
use ddm_core::service::{Happening, Logged, Notice, Track};
use ddm_core::store::JobState;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn token() -> Value {
    json!(format!("token:{SECRET}"))
}

#[test]
fn the_page_reads_lanes_and_never_a_secret() {
    let mut r = running(1);
    std::sync::Arc::make_mut(&mut r.job).settings.headers = vec![
        Header::new("Authorization", "Bearer TOPSECRET-1"),
        Header::new("X-Trace", "visible"),
        Header {
            secret: true,
            ..Header::new("X-Tenant", "TOPSECRET-2")
        },
    ];
    std::sync::Arc::make_mut(&mut r.job).settings.user = Some(Credentials {
        user: "me".into(),
        password: "TOPSECRET-3".into(),
    });
    let s = serve(Mock::with(vec![r, view(job(2, JobState::Queued))]));
    let list = ok(s.addr, "ddm.listJobs", json!([]));
    let text = list.to_string();
    assert!(!text.contains("TOPSECRET"), "{text}");
    let j = &list[0];
    assert_eq!(j["state"], "running");
    assert_eq!(j["connections"], 2);
    assert_eq!(j["maxConnections"], 4);
    assert_eq!(
        j["settings"]["headers"],
        json!([
            {"name": "Authorization", "value": "***", "secret": true},
            {"name": "X-Trace", "value": "visible", "secret": false},
            {"name": "X-Tenant", "value": "***", "secret": true},
        ])
    );
    assert_eq!(j["settings"]["user"], "me");
    assert_eq!(list[1]["state"], "queued");
    let c = ok(s.addr, "ddm.getConnections", json!(["0000000000000001"]));
    assert_eq!(c["lanes"].as_array().unwrap().len(), 2);
    assert_eq!(c["lanes"][1]["id"], 1);
    assert_eq!(c["lanes"][1]["ttfbMs"], 12);
    assert_eq!(c["numPieces"], 4);
    assert_eq!(c["bitfield"], "a0");
    let g = ok(s.addr, "ddm.getJob", json!(["0000000000000001"]));
    assert!(!g.to_string().contains("TOPSECRET"));
    assert_eq!(g["track"], json!({"history": [], "events": []}));
    let r = ok(s.addr, "ddm.getRunner", json!([]));
    assert_eq!(
        r["hosts"][0],
        json!({"host": "http://127.0.0.1:9", "open": 2, "cap": null})
    );
    assert_eq!(
        (r["maxConnections"].clone(), r["maxPerHost"].clone()),
        (json!(32), json!(8))
    );
    let e = err(s.addr, "ddm.getConnections", json!(["9"]));
    assert_eq!(e, "GID 9 is not found");
}

#[test]
fn the_runner_changes_live_and_bad_values_change_nothing() {
    let s = serve(Mock::with(vec![]));
    ok(
        s.addr,
        "ddm.changeRunner",
        json!([{"maxConnections": 16, "maxPerHost": 4, "maxRate": 1048576, "maxActive": 3}]),
    );
    assert_eq!(
        s.mock.calls(),
        vec!["budget 16 4", "global_rate Some(1048576)", "max_active 3"]
    );
    let e = err(
        s.addr,
        "ddm.changeRunner",
        json!([{"maxPerHost": 0, "maxRate": 5}]),
    );
    assert!(e.contains("maxPerHost must be between 1 and 4096"), "{e}");
    let e = err(
        s.addr,
        "ddm.changeRunner",
        json!([{"maxConnections": "many"}]),
    );
    assert!(e.contains("whole number"), "{e}");
    assert_eq!(s.mock.calls().len(), 3, "nothing more changed");
    // Over HTTP there is no session to push to.
    let e = err(s.addr, "ddm.subscribe", json!([{}]));
    assert!(e.contains("WebSocket"), "{e}");
}

#[test]
fn a_pasted_curl_command_becomes_the_job_it_asks_for() {
    let s = serve(Mock::with(vec![]));
    let cmd = "curl 'https://files.example/a.iso' -H 'authorization: Bearer T' -b 'sid=1' \
               -H 'accept-encoding: br' --compressed";
    let a = ok(
        s.addr,
        "ddm.addCurl",
        json!([cmd, {"split": "8", "header": ["X-Mine: 1"], "secret-header": ["X-Mine"]}]),
    );
    assert_eq!(a["gid"], "0000000000000001");
    assert_eq!(
        a["ignored"],
        json!(["accept-encoding header", "--compressed"])
    );
    let added = s.mock.added.lock().unwrap();
    let spec = &added[0];
    assert_eq!(spec.urls, vec!["https://files.example/a.iso"]);
    assert_eq!(spec.connections, Some(8));
    let h: Vec<(String, String, bool)> = spec
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone(), h.is_secret()))
        .collect();
    assert_eq!(
        h,
        vec![
            ("authorization".into(), "Bearer T".into(), true),
            ("Cookie".into(), "sid=1".into(), true),
            ("X-Mine".into(), "1".into(), true),
        ]
    );
    drop(added);
    let e = err(s.addr, "ddm.addCurl", json!(["curl https://h/x -d a=1"]));
    assert!(e.contains("sends a body"), "{e}");
    assert_eq!(s.mock.added.lock().unwrap().len(), 1, "nothing more added");
}

/// Read messages for `secs`: the `ddm.onUpdate` ones, and whether anything else came.
fn updates_for(w: &mut Ws, secs: f64) -> Vec<Value> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    w.get_mut()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut got = Vec::new();
    while Instant::now() < until {
        match w.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["method"] == "ddm.onUpdate" {
                    got.push(v["params"][0].clone());
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
    got
}

#[test]
fn updates_go_to_subscribers_at_most_five_a_second() {
    let s = serve(Mock::with(vec![running(1), view(job(2, JobState::Queued))]));
    let mut page = ws(s.addr, None).unwrap();
    let mut other = ws(s.addr, None).unwrap();
    let a = ws_call(
        &mut page,
        &json!({"id": 1, "method": "ddm.subscribe", "params": [token(), {"job": "0000000000000001"}]}),
        &mut vec![],
    );
    assert_eq!(a["result"]["job"], "0000000000000001");
    ws_call(
        &mut other,
        &json!({"id": 1, "method": "system.listMethods"}),
        &mut vec![],
    );
    *s.mock.track.lock().unwrap() = Track {
        history: vec![],
        events: vec![Logged {
            seq: 7,
            at_ms: 1,
            what: Happening::Steal {
                from: 0,
                at: 4096,
                end: 8192,
            },
        }],
    };
    // The service reports progress a hundred times a second for two seconds.
    let mock = s.mock.clone();
    let reporter = std::thread::spawn(move || {
        for i in 0..200 {
            mock.notify(Notice::Progress(1));
            if i == 50 {
                mock.notify(Notice::Happened(1));
                mock.notify(Notice::Changed(2));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let got = updates_for(&mut page, 2.3);
    reporter.join().unwrap();
    assert!(
        (6..=12).contains(&got.len()),
        "about five a second for two seconds, not one per report: {}",
        got.len()
    );
    assert!(got.iter().all(
        |u| u["connections"]["lanes"].as_array().map(Vec::len) == Some(2)
            || u["connections"].is_null()
    ));
    assert!(got
        .iter()
        .any(|u| u["connections"]["gid"] == "0000000000000001"));
    let ev: Vec<&Value> = got.iter().filter(|u| !u["events"].is_null()).collect();
    assert_eq!(ev.len(), 1, "the happening once");
    assert_eq!(ev[0]["events"][0]["kind"], "steal");
    assert_eq!(ev[0]["events"][0]["at"], 4096);
    assert!(got
        .iter()
        .any(|u| u["jobs"].as_array().unwrap().iter().any(|j| j["id"] == 2)));
    assert!(got.iter().all(|u| !u["runner"].is_null()));
    // A session that did not subscribe (aria2's clients) gets none of it.
    assert!(updates_for(&mut other, 0.3).is_empty());
}

#[test]
fn the_page_is_served_with_its_own_files_only() {
    let s = serve(Mock::with(vec![]));
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    for script in [
        "rpc.js", "queue.js", "job.js", "graph.js", "add.js", "app.js",
    ] {
        assert!(r.body.contains(&format!("/ui/{script}")), "{script}");
        let f = get(s.addr, &format!("/ui/{script}"));
        assert_eq!(f.status, 200, "{script}");
        assert!(
            !f.body.contains("http://") && !f.body.contains("https://"),
            "{script} fetches nothing from elsewhere"
        );
    }
    assert_eq!(get(s.addr, "/ui/nope.js").status, 404);
    assert_eq!(get(s.addr, "/../etc/passwd").status, 404);
}

#[test]
fn the_page_is_told_the_rule_the_hold_and_the_priority_of_a_job() {
    let mut routed = job(1, JobState::Paused);
    routed.rule = Some(ddm_core::rules::Applied {
        index: 2,
        name: Some("video".into()),
        why: "the name \"a.mkv\" matches \"*.mkv\"".into(),
    });
    routed.held = Some("nights".into());
    routed.priority = 10;
    let s = serve(Mock::with(vec![
        view(routed),
        view(job(2, JobState::Queued)),
    ]));
    let list = ok(s.addr, "ddm.listJobs", json!([]));
    let a = &list[0];
    assert_eq!(a["rule"]["name"], "video", "{a}");
    assert_eq!(a["rule"]["index"], 2, "{a}");
    assert_eq!(
        a["rule"]["why"], "the name \"a.mkv\" matches \"*.mkv\"",
        "{a}"
    );
    assert_eq!(a["held"], "nights", "{a}");
    assert_eq!(a["priority"], 10, "{a}");
    let b = &list[1];
    assert!(b["rule"].is_null() && b["held"].is_null(), "{b}");
    assert_eq!(b["priority"], 0, "{b}");
}

//! The long lists front-ends poll (`tellActive`, `tellWaiting`, `tellStopped`, alone or in a
//! `system.multicall` as webui-aria2 sends them): every job in them reads exactly as
//! `tellStatus` gives it, credentials hidden, and a job that changes is listed changed at
//! the next call.

use crate::client::*;
use crate::mock::{job, running, view, Mock};
use ddm_core::model::{ErrorKind, JobError};
use ddm_core::store::JobState;
use serde_json::{json, Value};
use std::sync::Arc;

/// One job of every kind a list shows: running, paused with progress, queued, failed with a
/// password in its URL, done, resting for a fresh link, removed.
fn every_kind() -> Mock {
    let mut paused = job(2, JobState::Paused);
    paused.file_name = Some("movie.mkv".into());
    paused.size = Some(1 << 20);
    paused.piece_size = Some(256 << 10);
    paused.bitmap = vec![0b0100_0000];
    paused.bytes_done = 256 << 10;
    paused.settings.mirrors = vec!["http://127.0.0.1:9/mirror/movie.mkv".into()];
    let mut failed = job(
        4,
        JobState::Failed(JobError::new(
            ErrorKind::Probe,
            "http://u:secretpw@127.0.0.1:9/x: HTTP 404 (not found)",
        )),
    );
    failed.url = "http://u:secretpw@127.0.0.1:9/x".into();
    let mut done = job(5, JobState::Done);
    done.file_name = Some("done.iso".into());
    done.size = Some(3 << 20);
    done.bytes_done = 3 << 20;
    let resting = job(
        6,
        JobState::Waiting("the download link expired (HTTP 403)".into()),
    );
    let mut removed = view(job(7, JobState::Paused));
    removed.removed = true;
    Mock::with(vec![
        running(1),
        view(paused),
        view(job(3, JobState::Queued)),
        view(failed),
        view(done),
        view(resting),
        removed,
    ])
}

fn lists(addr: std::net::SocketAddr) -> Vec<(&'static str, Value)> {
    vec![
        ("tellActive", ok(addr, "aria2.tellActive", json!([]))),
        (
            "tellWaiting",
            ok(addr, "aria2.tellWaiting", json!([0, 1000])),
        ),
        (
            "tellStopped",
            ok(addr, "aria2.tellStopped", json!([-1, 1000])),
        ),
    ]
}

#[test]
fn every_list_gives_each_job_the_status_tell_status_gives() {
    let s = serve(every_kind());
    let mut seen = Vec::new();
    for (name, list) in lists(s.addr) {
        for st in list.as_array().unwrap() {
            let gid = st["gid"].as_str().unwrap().to_string();
            assert_eq!(
                *st,
                ok(s.addr, "aria2.tellStatus", json!([gid])),
                "{name}: {gid}"
            );
            assert!(!st.to_string().contains("secretpw"), "{name}: {st}");
            seen.push(gid);
        }
    }
    seen.sort();
    let all: Vec<String> = (1..=7).map(|i| format!("{i:016x}")).collect();
    assert_eq!(seen, all, "each job in exactly one list");

    // webui-aria2's poll: the three lists in one multicall, each result wrapped in [ ].
    let tok = format!("token:{SECRET}");
    let multi = ok(
        s.addr,
        "system.multicall",
        json!([[
            {"methodName": "aria2.tellActive", "params": [tok]},
            {"methodName": "aria2.tellWaiting", "params": [tok, 0, 1000]},
            {"methodName": "aria2.tellStopped", "params": [tok, -1, 1000]},
            {"methodName": "aria2.getGlobalStat", "params": [tok]},
        ]]),
    );
    let alone = lists(s.addr);
    for (i, (name, list)) in alone.iter().enumerate() {
        assert_eq!(multi[i], json!([list]), "{name} in a multicall");
    }
    assert_eq!(multi[3][0]["numActive"], "0");
}

#[test]
fn a_job_that_changes_is_listed_changed_at_the_next_call() {
    let s = serve(every_kind());
    let before = lists(s.addr);
    // Asked again unchanged: the same answers.
    assert_eq!(lists(s.addr), before);
    // The paused job gets progress, the queued one a name, the done one is removed.
    for v in s.mock.views.lock().unwrap().iter_mut() {
        match v.job.id {
            2 => Arc::make_mut(&mut v.job).bytes_done = 512 << 10,
            3 => Arc::make_mut(&mut v.job).file_name = Some("named.bin".into()),
            5 => v.removed = true,
            _ => {}
        }
    }
    let waiting = ok(s.addr, "aria2.tellWaiting", json!([0, 1000]));
    let of = |list: &Value, gid: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["gid"] == gid)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        of(&waiting, "0000000000000002")["completedLength"],
        "524288"
    );
    assert_eq!(
        of(&waiting, "0000000000000003")["files"][0]["path"],
        "/srv/downloads/named.bin"
    );
    let stopped = ok(s.addr, "aria2.tellStopped", json!([-1, 1000]));
    assert_eq!(of(&stopped, "0000000000000005")["status"], "removed");
    // A GID a client chose names its job in the lists from then on.
    let gid = ok(
        s.addr,
        "aria2.addUri",
        json!([["http://127.0.0.1:9/new.bin"], {"gid": "2089b05ecca3d829", "pause": "true"}]),
    );
    assert_eq!(gid, "2089b05ecca3d829");
    let waiting = ok(s.addr, "aria2.tellWaiting", json!([0, 1000]));
    assert_eq!(of(&waiting, "2089b05ecca3d829")["status"], "paused");
}

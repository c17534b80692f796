//! What real clients send, each seen in a client's source (shared/notes/aria2-rpc.md).

use crate::client::*;
use crate::mock::{job, view, Mock};
use base64::Engine;
use ddm_core::store::JobState;
use serde_json::{json, Value};

fn token() -> Value {
    json!(format!("token:{SECRET}"))
}

#[test]
fn jsonrpc_as_a_number_the_json_rpc_key_or_none_at_all_are_all_answered() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    for envelope in [
        // webui-aria2
        json!({"jsonrpc": 2.0, "id": "webui", "method": "aria2.getGlobalStat", "params": [token()]}),
        // aria2.js
        json!({"json-rpc": "2.0", "id": 3, "method": "aria2.getGlobalStat", "params": [token()]}),
        json!({"id": null, "method": "aria2.getGlobalStat", "params": [token()]}),
    ] {
        let r = post(
            s.addr,
            &envelope.to_string(),
            &["Content-Type: application/json"],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let a = r.json();
        assert_eq!(a["id"], envelope["id"]);
        assert_eq!(a["jsonrpc"], "2.0");
        assert_eq!(a["result"]["numActive"], "0", "{a}");
    }
}

#[test]
fn a_post_with_text_plain_or_no_content_type_is_a_call() {
    let s = serve(Mock::with(vec![]));
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "aria2.getVersion", "params": [token()]})
            .to_string();
    // download_with_aria2 sends text/plain (no preflight); aria2p sends no Content-Type.
    for headers in [&["Content-Type: text/plain;charset=UTF-8"][..], &[][..]] {
        let r = post(s.addr, &body, headers);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["result"]["version"], "0.1.0");
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json-rpc")
        );
    }
}

#[test]
fn params_may_be_omitted_and_system_calls_take_a_token_or_none() {
    let s = serve(Mock::with(vec![]));
    let methods = json!({"jsonrpc": "2.0", "id": 1, "method": "system.listMethods"});
    let a = post(s.addr, &methods.to_string(), &[]).json();
    let list = a["result"].as_array().unwrap();
    assert!(list.contains(&json!("aria2.addUri")) && list.contains(&json!("system.multicall")));
    assert_eq!(list.len(), 36, "every aria2 method: {a}");
    // aria2.js sends the token on system.* calls too; a wrong one is ignored there.
    for t in [token(), json!("token:wrong")] {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "system.listNotifications",
                          "params": [t]});
        let a = post(s.addr, &body.to_string(), &[]).json();
        assert_eq!(
            a["result"],
            json!([
                "aria2.onDownloadStart",
                "aria2.onDownloadPause",
                "aria2.onDownloadStop",
                "aria2.onDownloadComplete",
                "aria2.onDownloadError"
            ])
        );
    }
}

#[test]
fn everything_wrapped_in_system_multicall_is_answered_call_by_call() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    // webui-aria2: each call its own token, params omitted when empty.
    let body = json!({"jsonrpc": 2.0, "id": "webui", "method": "system.multicall", "params": [[
        {"methodName": "aria2.getGlobalStat", "params": [token()]},
        {"methodName": "aria2.tellWaiting", "params": [token(), 0, 1000, ["gid", "status"]]},
        {"methodName": "system.listNotifications"},
        {"methodName": "aria2.nope", "params": [token()]},
        {"methodName": "aria2.pause", "params": [token(), "0000000000000001"]},
    ]]});
    let r = post(s.addr, &body.to_string(), &[]);
    assert_eq!(r.status, 200);
    let res = r.json()["result"].clone();
    assert_eq!(res[0][0]["numWaiting"], "0");
    assert_eq!(
        res[1][0],
        json!([{"gid": "0000000000000001", "status": "waiting"}])
    );
    assert_eq!(res[2][0].as_array().unwrap().len(), 5);
    assert_eq!(
        res[3],
        json!({"code": 1, "message": "No such method: aria2.nope"})
    );
    assert_eq!(res[4], json!(["0000000000000001"]));
    assert_eq!(s.mock.calls(), vec!["pause 1 false"]);
}

#[test]
fn a_batch_array_gets_an_array_of_answers() {
    let s = serve(Mock::with(vec![]));
    let body = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "aria2.getSessionInfo", "params": [token()]},
        {"jsonrpc": "2.0", "id": 2, "method": "aria2.saveSession", "params": [token()]},
        {"jsonrpc": "2.0", "method": "aria2.getVersion", "params": [token()]},
        7,
    ]);
    let r = post(s.addr, &body.to_string(), &[]);
    assert_eq!(r.status, 200);
    let a = r.json();
    assert_eq!(a[0]["id"], 1);
    assert_eq!(a[0]["result"]["sessionId"].as_str().unwrap().len(), 40);
    assert_eq!(a[1], json!({"id": 2, "jsonrpc": "2.0", "result": "OK"}));
    assert_eq!(a[2]["error"]["code"], -32600, "id is required: {a}");
    assert_eq!(a[3]["error"]["code"], -32600);
}

#[test]
fn ariang_get_mode_with_base64_params_and_jsonp() {
    let s = serve(Mock::with(vec![view(job(5, JobState::Paused))]));
    let params = base64::engine::general_purpose::STANDARD
        .encode(json!([token(), "0000000000000005", ["gid", "status"]]).to_string());
    let q = percent_encoding::utf8_percent_encode(&params, percent_encoding::NON_ALPHANUMERIC);
    let r = get(
        s.addr,
        &format!("/jsonrpc?jsonrpc=2.0&method=aria2.tellStatus&id=QXJpYU5n&params={q}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"id": "QXJpYU5n", "jsonrpc": "2.0",
               "result": {"gid": "0000000000000005", "status": "paused"}})
    );
    let r = get(
        s.addr,
        &format!("/jsonrpc?method=aria2.tellStatus&id=1&params={q}&jsoncallback=cb"),
    );
    assert_eq!(r.header("content-type").as_deref(), Some("text/javascript"));
    assert!(
        r.body.starts_with("cb({") && r.body.ends_with("})"),
        "{}",
        r.body
    );
    // A callback that is not a name is never reflected.
    let r = get(
        s.addr,
        "/jsonrpc?method=x&id=1&jsoncallback=alert(document.cookie)",
    );
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("alert("), "{}", r.body);
}

#[test]
fn errors_have_aria2s_codes_and_http_statuses() {
    let s = serve(Mock::with(vec![]));
    let cases = [
        // unknown method: a method error, code 1, HTTP 400
        (
            json!({"id": 1, "method": "aria2.nope", "params": [token()]}),
            400,
            1,
        ),
        // no id
        (
            json!({"method": "aria2.getVersion", "params": [token()]}),
            400,
            -32600,
        ),
        // no method
        (json!({"id": 1}), 400, -32600),
        // named params
        (
            json!({"id": 1, "method": "aria2.getVersion", "params": {"a": 1}}),
            500,
            -32602,
        ),
        (json!("a string"), 400, -32600),
    ];
    for (body, status, code) in cases {
        let r = post(s.addr, &body.to_string(), &[]);
        assert_eq!(
            (r.status, r.json()["error"]["code"].clone()),
            (status, json!(code)),
            "{body}"
        );
    }
    let r = post(
        s.addr,
        r#"{"id": 1, "method": "aria2.nope", "params": ["token:"#,
        &[],
    );
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (500, json!(-32700))
    );
    let a = call(s.addr, "aria2.nope", json!([]));
    assert_eq!(a["error"]["message"], "No such method: aria2.nope");
}

#[test]
fn tell_stopped_from_the_end_is_newest_first_and_tell_waiting_in_queue_order() {
    let stopped = |id, state, updated| {
        let mut j = job(id, state);
        j.updated_at = updated;
        view(j)
    };
    let mut removed = stopped(4, JobState::Queued, 40);
    removed.removed = true;
    let mut waiting = vec![
        view(job(6, JobState::Queued)),
        view(job(7, JobState::Paused)),
    ];
    waiting[0].position = 9;
    waiting[1].position = 2;
    let mut views = vec![
        stopped(1, JobState::Done, 30),
        stopped(2, JobState::Done, 10),
        stopped(
            3,
            JobState::Failed(ddm_core::model::JobError::new(
                ddm_core::model::ErrorKind::NoSpace,
                "no space left on /srv",
            )),
            20,
        ),
        removed,
    ];
    views.extend(waiting);
    let s = serve(Mock::with(views));
    let keys = json!(["gid", "status", "errorCode"]);
    let r = ok(s.addr, "aria2.tellStopped", json!([-1, 1000, keys]));
    let gids: Vec<_> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["gid"].clone())
        .collect();
    assert_eq!(
        gids,
        [
            json!("0000000000000004"),
            json!("0000000000000001"),
            json!("0000000000000003"),
            json!("0000000000000002")
        ]
    );
    assert_eq!(r[0]["status"], "removed");
    assert_eq!(
        r[2],
        json!({"gid": "0000000000000003", "status": "error", "errorCode": "9"})
    );
    let r = ok(s.addr, "aria2.tellStopped", json!([0, 2, keys]));
    assert_eq!(r[0]["gid"], "0000000000000002", "oldest first from 0: {r}");
    assert_eq!(r.as_array().unwrap().len(), 2);
    let r = ok(
        s.addr,
        "aria2.tellWaiting",
        json!([0, 1000, ["gid", "status"]]),
    );
    assert_eq!(
        r,
        json!([{"gid": "0000000000000007", "status": "paused"},
                         {"gid": "0000000000000006", "status": "waiting"}])
    );
}

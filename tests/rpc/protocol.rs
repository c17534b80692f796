//! The protocol from our own client ([`wire`]), where the third-party ones cannot look: the
//! exact answer to a wrong or missing token (AriaNg and webui-aria2 compare the text
//! `Unauthorized`), that such a call does nothing, and 50 clients at once all answered.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use super::daemon::{Backend, Daemon};
use super::site::Site;
use super::tools::require;
use super::wire::{self, Conn};
use crate::util::Env;

/// A wrong token, no token, and a token without its `token:` prefix all get HTTP 400 and
/// exactly `{"code": 1, "message": "Unauthorized"}`, for a read and for an addUri that then
/// fetches nothing; inside `system.multicall` only the call with the wrong token fails.
pub fn wrong_token(backend: Backend) {
    if require(backend.needs()).is_none() {
        return;
    }
    let env = Env::new();
    let site = Site::start(51);
    let d = Daemon::start(backend, env.dir.path());
    let url = site.url("/file.bin");
    let wrong = format!("{}x", d.secret);
    let unauthorized = |r: wire::Reply, what: &str| {
        let v = r.json();
        assert_eq!(r.status, 400, "{what}: HTTP {} {v}", r.status);
        assert_eq!(v["error"]["message"], "Unauthorized", "{what}: {v}");
        assert_eq!(v["error"]["code"], 1, "{what}: {v}");
        assert_eq!(v["id"], "t", "{what}: {v}");
        assert!(v.get("result").is_none(), "{what}: {v}");
    };
    // aria2 holds every refusal for a second or two: ask all at once.
    let auth = |t: &str| format!("token:{t}");
    let calls: Vec<(&str, Option<String>, &str, Vec<Value>)> = vec![
        (
            "wrong token",
            Some(auth(&wrong)),
            "aria2.getGlobalStat",
            vec![],
        ),
        ("no token", None, "aria2.getGlobalStat", vec![]),
        (
            "wrong token",
            Some(auth(&wrong)),
            "aria2.addUri",
            vec![json!([url])],
        ),
        ("no token", None, "aria2.addUri", vec![json!([url])]),
        (
            "the secret without token:",
            Some(d.secret.clone()),
            "aria2.tellActive",
            vec![],
        ),
    ];
    let port = d.port;
    let asked: Vec<_> = calls
        .into_iter()
        .map(|(what, first, method, params)| {
            std::thread::spawn(move || {
                let mut p: Vec<Value> = first.map(Value::from).into_iter().collect();
                p.extend(params);
                let r = wire::call(port, None, method, &p).unwrap();
                (format!("{method}, {what}"), r)
            })
        })
        .collect();
    let inner = [auth(&wrong), auth(&d.secret)];
    let multi = std::thread::spawn(move || {
        let calls = inner.map(|t| json!({"methodName": "aria2.getGlobalStat", "params": [t]}));
        wire::call(port, None, "system.multicall", &[json!(calls)]).unwrap()
    });
    for t in asked {
        let (what, r) = t.join().unwrap();
        unauthorized(r, &what);
    }
    let multi = multi.join().unwrap();
    let v = multi.json();
    assert_eq!(multi.status, 200, "multicall: {v}");
    assert_eq!(
        v["result"][0],
        json!({"code": 1, "message": "Unauthorized"}),
        "multicall, the call with a wrong token: {v}"
    );
    assert!(
        v["result"][1][0]["numActive"].is_string(),
        "multicall, the call with the right token: {v}"
    );

    // Nothing was added, nothing fetched; the right token still works.
    for m in ["aria2.tellActive", "aria2.tellWaiting", "aria2.tellStopped"] {
        let p: &[Value] = if m == "aria2.tellActive" {
            &[]
        } else {
            &[json!(0), json!(100)]
        };
        assert_eq!(d.call(m, p), json!([]), "{m} after refused calls");
    }
    assert!(
        site.server.log().is_empty(),
        "a refused addUri reached the HTTP server: {:?}",
        site.server.log()
    );
}

/// 50 clients, each on its own connection, all connected before any asks: each sends
/// `getGlobalStat` and `tellActive` twice while a download runs, and every answer comes,
/// with its own id and the running download listed.
pub fn fifty_clients(backend: Backend) {
    if require(backend.needs()).is_none() {
        return;
    }
    let env = Env::new();
    let site = Site::start(61);
    let d = Daemon::start(backend, env.dir.path());
    let running = d.call(
        "aria2.addUri",
        &[
            json!([site.url("/gone.bin")]),
            json!({"out": "running.bin"}),
        ],
    );
    let running = running.as_str().expect("addUri answers a gid").to_string();
    crate::util::wait_for(
        std::time::Duration::from_secs(10),
        "the download to run",
        || {
            let a = d.call("aria2.tellActive", &[json!(["gid"])]);
            (a.to_string().contains(&running)).then_some(())
        },
    );

    const CLIENTS: usize = 50;
    let gate = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let gate = gate.clone();
            let (port, secret, running) = (d.port, d.secret.clone(), running.clone());
            std::thread::spawn(move || -> Result<usize, String> {
                let conn = Conn::open(port);
                gate.wait();
                let mut conn = conn.map_err(|e| format!("client {i}: connect: {e}"))?;
                let mut answered = 0;
                for k in 0..4 {
                    let id = format!("c{i}-{k}");
                    let method = ["aria2.getGlobalStat", "aria2.tellActive"][k % 2];
                    let params: Vec<Value> = if k % 2 == 1 {
                        vec![json!(["gid", "status"])]
                    } else {
                        vec![]
                    };
                    let r = conn
                        .post(&wire::request(&id, method, Some(&secret), &params))
                        .map_err(|e| format!("client {i}, {method}: {e}"))?;
                    let v = r.json();
                    if r.status != 200 || v["id"] != id.as_str() {
                        return Err(format!("client {i}, {method}: HTTP {} {v}", r.status));
                    }
                    let ok = match k % 2 {
                        0 => v["result"]["numActive"] == "1",
                        _ => v["result"][0]["gid"] == running.as_str(),
                    };
                    if !ok {
                        return Err(format!("client {i}, {method}: {v}"));
                    }
                    answered += 1;
                }
                Ok(answered)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {CLIENTS} clients failed: {failed:#?}",
        failed.len()
    );
    let answered: usize = results.iter().map(|r| *r.as_ref().unwrap()).sum();
    assert_eq!(answered, CLIENTS * 4);
}

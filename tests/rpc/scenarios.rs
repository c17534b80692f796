//! One function per third-party client: start the loopback [`Site`] and the server under test,
//! run the client's script, then check from outside: the files' bytes, the HTTP server's log
//! and byte counters (taken while the script holds a download paused), the gids and statuses
//! the client reported, and the status the server (and ddm's own CLI) gives for them.

use serde_json::{json, Value};

use super::client::{self, gid, steps};
use super::daemon::{Backend, Daemon};
use super::site::Site;
use super::tools::{require, Need};
use crate::util::{assert_same_file, Env};

fn needs(backend: Backend, client: Need) -> Vec<Need> {
    let mut n = backend.needs().to_vec();
    n.push(client);
    n
}

/// The gids of the `N` `complete` lines, in order, each reported `complete`.
fn completed<const N: usize>(lines: &[Value]) -> [String; N] {
    let gids: Vec<String> = steps(lines, "complete")
        .into_iter()
        .map(|l| {
            assert_eq!(l["status"], "complete", "{l}");
            gid(l)
        })
        .collect();
    gids.try_into()
        .unwrap_or_else(|g| panic!("want {N} completed downloads, got {g:?}: {lines:?}"))
}

/// aria2p's Python API: add with dir/out/header, wait, pause/resume, remove an active
/// download and a finished one, get_downloads, get_stats.
pub fn aria2p_api(backend: Backend) {
    let Some(tools) = require(&needs(backend, Need::Aria2p)) else {
        return;
    };
    let env = Env::new();
    let mut site = Site::start(11);
    let d = Daemon::start(backend, env.dir.path());
    let mut cmd = client::python(tools, "aria2p_api.py", &d);
    cmd.args(["--url", &site.url("/file.bin")])
        .args(["--slow-url", &site.url("/slow.bin")])
        .args(["--gone-url", &site.url("/gone.bin")])
        .args(["--header", "X-Ddm-Client: aria2p-api"])
        .args(["--header", "X-Ddm-Second: 2"]);
    let gone_len = 1 << 20;
    let lines = client::run(cmd, &d, |l| match l["step"].as_str() {
        Some("paused") => site.on_slow_paused(),
        Some("removed-active") => {
            let sent = site.assert_still("/gone.bin", "the client removed the download");
            assert!(sent < gone_len, "/gone.bin finished before its removal");
        }
        _ => {}
    });

    let [file, slow] = completed(&lines);
    assert_same_file(&d.dir.join("api.bin"), &site.file);
    assert_same_file(&d.dir.join("slow.bin"), &site.slow);
    site.assert_header("/file.bin", "X-Ddm-Client", "aria2p-api");
    site.assert_header("/file.bin", "X-Ddm-Second", "2");
    site.assert_slow_resumed();
    d.assert_done(&slow, "slow.bin");
    // The finished download whose result the client removed is gone from the server too.
    let active = d.call("aria2.tellActive", &[json!(["gid"])]);
    assert_eq!(active, json!([]), "nothing runs after the script");
    let stopped = d.call("aria2.tellStopped", &[json!(0), json!(100), json!(["gid"])]);
    assert!(
        !stopped.to_string().contains(&file),
        "{file} is still listed after remove: {stopped}"
    );
    let stats = &steps(&lines, "stats")[0];
    assert_eq!(stats["num_active"], 0, "{stats}");
}

/// aria2p's command line: add, show, pause, resume, remove, a wrong secret.
pub fn aria2p_cli(backend: Backend) {
    let Some(tools) = require(&needs(backend, Need::Aria2p)) else {
        return;
    };
    let env = Env::new();
    let mut site = Site::start(21);
    let d = Daemon::start(backend, env.dir.path());
    let mut cmd = client::python(tools, "aria2p_cli.py", &d);
    cmd.args(["--url", &site.url("/file.bin")])
        .args(["--slow-url", &site.url("/slow.bin")]);
    let lines = client::run(cmd, &d, |l| {
        if l["step"] == "paused" {
            site.on_slow_paused();
        }
    });

    let [file, slow] = completed(&lines);
    assert_eq!(steps(&lines, "complete")[0]["name"], "cli.bin");
    assert_same_file(&d.dir.join("cli.bin"), &site.file);
    assert_same_file(&d.dir.join("cli-slow.bin"), &site.slow);
    site.assert_slow_resumed();
    d.assert_done(&slow, "cli-slow.bin");
    let removed = &steps(&lines, "removed")[0];
    assert_eq!(gid(removed), file);
    assert_eq!(
        removed["left"],
        json!([slow]),
        "show after remove: {removed}"
    );
    assert_ne!(steps(&lines, "unauthorized")[0]["exit"], 0);
}

/// aria2.js over HTTP: addUri, polling, system.multicall, a wrong secret.
pub fn aria2js_http(backend: Backend) {
    let Some(tools) = require(&needs(backend, Need::Aria2js)) else {
        return;
    };
    let env = Env::new();
    let site = Site::start(31);
    let d = Daemon::start(backend, env.dir.path());
    let mut cmd = client::node(tools, "aria2js.js", &d);
    cmd.args(["--transport", "http", "--url", &site.url("/file.bin")]);
    let lines = client::run(cmd, &d, |_| {});

    let [file] = completed(&lines);
    assert_same_file(&d.dir.join("js-http.bin"), &site.file);
    d.assert_done(&file, "js-http.bin");
    let m = &steps(&lines, "multicall")[0];
    assert_eq!(m["totalLength"], site.file.len().to_string(), "{m}");
    assert_eq!(steps(&lines, "unauthorized")[0]["message"], "Unauthorized");
}

/// aria2.js over WebSocket: notifications for start, pause, start again and completion, in
/// that order; system.multicall; a wrong secret.
pub fn aria2js_ws(backend: Backend) {
    let Some(tools) = require(&needs(backend, Need::Aria2js)) else {
        return;
    };
    let env = Env::new();
    let mut site = Site::start(41);
    let d = Daemon::start(backend, env.dir.path());
    let mut cmd = client::node(tools, "aria2js.js", &d);
    cmd.args(["--transport", "ws", "--url", &site.url("/file.bin")])
        .args(["--slow-url", &site.url("/slow.bin")]);
    let lines = client::run(cmd, &d, |l| {
        if l["step"] == "paused" {
            site.on_slow_paused();
        }
    });

    let [file, slow] = completed(&lines);
    assert_same_file(&d.dir.join("js-ws.bin"), &site.file);
    assert_same_file(&d.dir.join("js-slow.bin"), &site.slow);
    site.assert_slow_resumed();
    d.assert_done(&file, "js-ws.bin");
    d.assert_done(&slow, "js-slow.bin");
    let events = |g: &str| -> Vec<String> {
        steps(&lines, "notification")
            .into_iter()
            .filter(|l| l["gid"] == g)
            .map(|l| l["event"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        events(&file),
        ["onDownloadStart", "onDownloadComplete"],
        "notifications for the download waited for"
    );
    assert_eq!(
        events(&slow),
        [
            "onDownloadStart",
            "onDownloadPause",
            "onDownloadStart",
            "onDownloadComplete"
        ],
        "notifications for the paused download"
    );
    assert_eq!(steps(&lines, "unauthorized")[0]["message"], "Unauthorized");
}

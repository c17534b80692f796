//! Each method translated onto the service: what reaches `Jobs` (the mock's record) and
//! what the client reads back.

use crate::client::*;
use crate::mock::{job, running, view, Mock};
use ddm_core::model::{Credentials, Header};
use ddm_core::service::Notice;
use ddm_core::store::JobState;
use serde_json::json;

#[test]
fn a_running_job_reads_as_aria2s_status_struct_all_strings() {
    let s = serve(Mock::with(vec![running(3)]));
    let st = ok(s.addr, "aria2.tellStatus", json!(["0000000000000003"]));
    assert_eq!(st["gid"], "0000000000000003");
    assert_eq!(st["status"], "active");
    assert_eq!(st["totalLength"], "1048576");
    assert_eq!(st["completedLength"], (600 << 10).to_string());
    assert_eq!(st["downloadSpeed"], "3000");
    assert_eq!(st["uploadSpeed"], "0");
    assert_eq!(st["uploadLength"], "0");
    assert_eq!(st["connections"], "2");
    // pieces 0 and 2 of 4 done: high bit first.
    assert_eq!(st["bitfield"], "a0");
    assert_eq!(st["pieceLength"], "262144");
    assert_eq!(st["numPieces"], "4");
    assert_eq!(st["dir"], "/srv/downloads");
    assert_eq!(st["files"][0]["path"], "/srv/downloads/file3.iso");
    assert_eq!(st["files"][0]["index"], "1");
    assert_eq!(st["files"][0]["selected"], "true");
    assert_eq!(
        st["files"][0]["uris"],
        json!([{"uri": "http://127.0.0.1:9/file3.iso", "status": "used"}])
    );
    assert!(st.get("verifiedLength").is_none() && st.get("verifyIntegrityPending").is_none());
    assert!(st.get("errorCode").is_none());
    for (k, v) in st.as_object().unwrap() {
        assert!(v.is_string() || k == "files", "{k} is not a string: {v}");
    }
    // keys filter; a key aria2 does not have is left out.
    let st = ok(
        s.addr,
        "aria2.tellStatus",
        json!(["0000000000000003", ["status", "nope"]]),
    );
    assert_eq!(st, json!({"status": "active"}));
    let servers = ok(s.addr, "aria2.getServers", json!(["0000000000000003"]));
    assert_eq!(servers[0]["index"], "1");
    let list = servers[0]["servers"].as_array().unwrap();
    assert_eq!(list.len(), 2, "one entry per open connection");
    assert_eq!(list[1]["downloadSpeed"], "2000");
    assert_eq!(list[1]["currentUri"], "http://127.0.0.1:9/file3.iso");
    assert_eq!(
        ok(s.addr, "aria2.getPeers", json!(["0000000000000003"])),
        json!([])
    );
    let active = ok(s.addr, "aria2.tellActive", json!([["gid", "connections"]]));
    assert_eq!(
        active,
        json!([{"gid": "0000000000000003", "connections": "2"}])
    );
}

#[test]
fn a_paused_job_reports_its_path_and_failed_and_waiting_ones_say_why() {
    let mut paused = job(1, JobState::Paused);
    paused.file_name = Some("movie.mkv".into());
    let failed = job(
        2,
        JobState::Failed(ddm_core::model::JobError::new(
            ddm_core::model::ErrorKind::Probe,
            "http://u:***@h/x: HTTP 404 (not found: check the URL)",
        )),
    );
    let resting = job(
        3,
        JobState::Waiting("the download link expired (HTTP 403)".into()),
    );
    let s = serve(Mock::with(vec![view(paused), view(failed), view(resting)]));
    let st = ok(
        s.addr,
        "aria2.tellStatus",
        json!(["0000000000000001", ["status", "files"]]),
    );
    assert_eq!(st["status"], "paused");
    assert_eq!(st["files"][0]["path"], "/srv/downloads/movie.mkv");
    let st = ok(s.addr, "aria2.tellStatus", json!(["0000000000000002"]));
    assert_eq!(
        (st["status"].as_str(), st["errorCode"].as_str()),
        (Some("error"), Some("3"))
    );
    assert!(st["errorMessage"].as_str().unwrap().contains("HTTP 404"));
    let st = ok(s.addr, "aria2.tellStatus", json!(["0000000000000003"]));
    assert_eq!(
        st["status"], "paused",
        "waiting for a fresh link: nothing starts it by itself"
    );
    assert!(st["errorMessage"]
        .as_str()
        .unwrap()
        .contains("link expired"));
    let e = err(s.addr, "aria2.getServers", json!(["0000000000000001"]));
    assert_eq!(e, "No active download for GID#0000000000000001");
}

#[test]
fn add_uri_maps_aria2_options_onto_the_jobs_settings() {
    let s = serve(Mock::with(vec![]));
    let sha = "ab".repeat(32);
    let gid = ok(
        s.addr,
        "aria2.addUri",
        json!([
            ["https://example.com/a.iso", "https://mirror.example.com/a.iso"],
            {
                // Aria2-Explorer sends headers as an array.
                "header": ["Cookie: session=abc", "X-Trace: 1"],
                "referer": "https://example.com/",
                "user-agent": "Mozilla/5.0",
                "dir": "/srv/downloads/isos",
                "out": "a.iso",
                "split": "64",
                "max-connection-per-server": "64",
                "max-download-limit": "2M",
                "checksum": format!("sha-256={sha}"),
                "https-proxy": "http://proxy.local:3128",
                "all-proxy": "http://other.local:3128",
                "no-proxy": "localhost",
                "http-user": "me",
                "http-passwd": "pw",
                "check-certificate": "false",
                "pause": "true",
                "allow-overwrite": "true",
                "auto-file-renaming": "false",
                "bt-tracker": "ignored: unknown to ddm",
            },
            3
        ]),
    );
    assert_eq!(gid, "0000000000000001");
    let spec = s.mock.added.lock().unwrap()[0].clone();
    assert_eq!(
        spec.urls,
        [
            "https://example.com/a.iso",
            "https://mirror.example.com/a.iso"
        ]
    );
    let headers: Vec<String> = spec.headers.iter().map(Header::wire).collect();
    assert_eq!(
        headers,
        [
            "Cookie: session=abc",
            "X-Trace: 1",
            "Referer: https://example.com/",
            "User-Agent: Mozilla/5.0"
        ]
    );
    assert_eq!(
        spec.dir.as_deref(),
        Some(std::path::Path::new("/srv/downloads/isos"))
    );
    assert_eq!(spec.out.as_deref(), Some("a.iso"));
    assert_eq!(spec.connections, Some(64), "no 16 cap");
    assert_eq!(spec.rate_limit, Some(2 << 20));
    assert_eq!(spec.checksum, Some(format!("sha256:{sha}")));
    assert_eq!(
        spec.network.proxy.as_deref(),
        Some("http://proxy.local:3128"),
        "https URL: https-proxy"
    );
    assert_eq!(spec.network.noproxy.as_deref(), Some("localhost"));
    assert_eq!(
        spec.user,
        Some(Credentials {
            user: "me".into(),
            password: "pw".into()
        })
    );
    assert!(spec.insecure && spec.paused && spec.overwrite);
    assert_eq!(spec.position, Some(3));
}

#[test]
fn a_bad_option_value_is_an_error_naming_it_and_nothing_is_added() {
    let s = serve(Mock::with(vec![]));
    let url = json!(["http://example.com/a"]);
    for (opts, starts) in [
        (json!({"split": "0"}), "split: "),
        (json!({"split": "65"}), "split: "),
        (
            json!({"max-download-limit": "fast"}),
            "max-download-limit: ",
        ),
        (json!({"check-certificate": "yes"}), "check-certificate: "),
        (json!({"checksum": "sha-256=abc"}), "checksum: "),
        (json!({"out": "../../.bashrc"}), "out: "),
        (json!({"out": "/etc/cron.d/x"}), "out: "),
        (json!({"header": "Authorization Bearer x"}), "header: "),
        (json!({"all-proxy": "gopher://h"}), "all-proxy: "),
        (json!({"gid": "xyz"}), "gid: "),
        (
            json!({"on-download-complete": "/tmp/evil.sh"}),
            "on-download-complete cannot be set over RPC",
        ),
        (
            json!({"log": "/home/u/.bashrc"}),
            "log cannot be set over RPC",
        ),
    ] {
        let e = err(s.addr, "aria2.addUri", json!([url, opts]));
        assert!(e.starts_with(starts), "{opts}: {e}");
    }
    // The header's text is never repeated (it may be a secret).
    let e = err(
        s.addr,
        "aria2.addUri",
        json!([url, {"header": "Authorization Bearer x"}]),
    );
    assert!(!e.contains("Bearer"), "{e}");
    assert_eq!(
        err(s.addr, "aria2.addUri", json!([[]])),
        "URI is not provided."
    );
    // The service's refusal comes back as it said it.
    let e = err(s.addr, "aria2.addUri", json!([["ftp://h/x"]]));
    assert_eq!(e, "only http and https URLs can be downloaded");
    assert!(s.mock.calls().is_empty(), "{:?}", s.mock.calls());
}

#[test]
fn the_gid_option_names_the_job_and_a_unique_prefix_finds_it() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    let gid = ok(
        s.addr,
        "aria2.addUri",
        json!([["http://h/x"], {"gid": "2089B05ECCA3D829"}]),
    );
    assert_eq!(gid, "2089b05ecca3d829");
    let st = ok(
        s.addr,
        "aria2.tellStatus",
        json!(["2089b05ecca3d829", ["gid"]]),
    );
    assert_eq!(st["gid"], "2089b05ecca3d829");
    // A prefix of it, and the job's own id, name it too.
    assert_eq!(
        ok(s.addr, "aria2.pause", json!(["2089b"])),
        "2089b05ecca3d829"
    );
    ok(s.addr, "aria2.unpause", json!(["0000000000000002"]));
    assert_eq!(s.mock.calls(), ["add 2", "pause 2 false", "resume 2"]);
    let e = err(
        s.addr,
        "aria2.addUri",
        json!([["http://h/y"], {"gid": "2089b05ecca3d829"}]),
    );
    assert!(e.contains("already used"), "{e}");
    // Notifications use the chosen GID.
    let mut w = ws(s.addr, None).unwrap();
    ws_call(
        &mut w,
        &json!({"id": 0, "method": "system.listMethods"}),
        &mut vec![],
    );
    s.mock.notify(Notice::Complete(2));
    assert_eq!(
        ws_next(&mut w)["params"],
        json!([{"gid": "2089b05ecca3d829"}])
    );
    // "0000" is both jobs' prefix? No: job 2 shows its chosen GID; "0" names job 1 alone.
    assert_eq!(
        ok(s.addr, "aria2.tellStatus", json!(["0", ["gid"]]))["gid"],
        "0000000000000001"
    );
    let e = err(s.addr, "aria2.tellStatus", json!(["9"]));
    assert_eq!(e, "GID 9 is not found");
    let e = err(s.addr, "aria2.tellStatus", json!(["not-hex"]));
    assert!(e.starts_with("Invalid GID"), "{e}");
}

#[test]
fn an_ambiguous_gid_prefix_is_refused() {
    let s = serve(Mock::with(vec![
        view(job(1, JobState::Queued)),
        view(job(2, JobState::Queued)),
    ]));
    let e = err(s.addr, "aria2.pause", json!(["000000000000000"]));
    assert!(e.contains("is not unique"), "{e}");
    assert!(s.mock.calls().is_empty());
}

#[test]
fn commands_reach_the_service_and_answer_as_aria2_does() {
    let mut done = job(4, JobState::Done);
    done.updated_at = 99;
    let s = serve(Mock::with(vec![
        running(1),
        view(job(2, JobState::Queued)),
        view(job(3, JobState::Queued)),
        view(done),
    ]));
    let g = |n: i64| format!("{n:016x}");
    assert_eq!(ok(s.addr, "aria2.pause", json!([g(1)])), g(1));
    assert_eq!(ok(s.addr, "aria2.forcePause", json!([g(2)])), g(2));
    assert_eq!(ok(s.addr, "aria2.unpause", json!([g(1)])), g(1));
    assert_eq!(ok(s.addr, "aria2.pauseAll", json!([])), "OK");
    assert_eq!(ok(s.addr, "aria2.forcePauseAll", json!([])), "OK");
    assert_eq!(ok(s.addr, "aria2.unpauseAll", json!([])), "OK");
    assert_eq!(
        ok(s.addr, "aria2.changePosition", json!([g(3), 0, "POS_SET"])),
        0
    );
    assert_eq!(
        ok(s.addr, "aria2.changePosition", json!([g(3), -1, "POS_CUR"])),
        0
    );
    assert_eq!(
        ok(s.addr, "aria2.changePosition", json!([g(3), 0, "POS_END"])),
        0
    );
    let e = err(s.addr, "aria2.changePosition", json!([g(3), 0, "POS_NOPE"]));
    assert!(e.starts_with("Illegal argument"), "{e}");
    let r = ok(
        s.addr,
        "aria2.changeUri",
        json!([g(2), 1, ["http://a/"], ["http://b/", "http://c/"]]),
    );
    assert_eq!(r, json!([1, 2]));
    let e = err(
        s.addr,
        "aria2.changeUri",
        json!([g(2), 2, [], ["http://b/"]]),
    );
    assert!(e.starts_with("fileIndex is out of range"), "{e}");
    assert_eq!(ok(s.addr, "aria2.remove", json!([g(2)])), g(2));
    assert_eq!(ok(s.addr, "aria2.forceRemove", json!([g(3)])), g(3));
    // A removed job stays listed as removed until purged.
    let st = ok(s.addr, "aria2.tellStatus", json!([g(2), ["status"]]));
    assert_eq!(st["status"], "removed");
    assert_eq!(
        ok(s.addr, "aria2.removeDownloadResult", json!([g(4)])),
        "OK"
    );
    assert_eq!(ok(s.addr, "aria2.purgeDownloadResult", json!([])), "OK");
    assert_eq!(ok(s.addr, "aria2.saveSession", json!([])), "OK");
    assert_eq!(
        s.mock.calls(),
        [
            "pause 1 false",
            "pause 2 true",
            "resume 1",
            "pause_all false",
            "pause_all true",
            "resume_all",
            "move 3 Set(0)",
            "move 3 Cur(-1)",
            "move 3 End(0)",
            r#"uris 2 -["http://a/"] +["http://b/", "http://c/"]"#,
            "remove 2 false",
            "remove 3 true",
            "forget 4",
            "purge",
        ]
    );
    let e = err(s.addr, "aria2.tellStatus", json!([g(2)]));
    assert_eq!(e, "GID 0000000000000002 is not found", "purged");
    for m in ["aria2.addTorrent", "aria2.addMetalink"] {
        let e = err(s.addr, m, json!(["ZGF0YQ==", [], {}]));
        assert!(
            e.contains("not supported by ddm yet") && e.contains("aria2.addUri"),
            "{e}"
        );
    }
}

#[test]
fn options_change_live_and_fixed_ones_are_refused_by_name() {
    let s = serve(Mock::with(vec![running(1)]));
    let g = "0000000000000001";
    let r = ok(
        s.addr,
        "aria2.changeOption",
        json!([g, {"max-download-limit": "100K", "split": "8"}]),
    );
    assert_eq!(r, "OK");
    ok(
        s.addr,
        "aria2.changeOption",
        json!([g, {"max-download-limit": "0", "bt-max-peers": "9"}]),
    );
    let e = err(
        s.addr,
        "aria2.changeOption",
        json!([g, {"dir": "/tmp", "max-download-limit": "1K"}]),
    );
    assert!(
        e.starts_with("dir cannot be changed on a download that exists"),
        "{e}"
    );
    let e = err(s.addr, "aria2.changeOption", json!([g, {"split": "100"}]));
    assert!(e.starts_with("split: "), "{e}");
    assert_eq!(
        s.mock.calls(),
        ["rate 1 Some(102400)", "connections 1 8", "rate 1 None"]
    );
    assert_eq!(
        ok(
            s.addr,
            "aria2.changeGlobalOption",
            json!([{
                "max-overall-download-limit": "1M", "max-concurrent-downloads": "3",
                "split": "16", "dir": "/ignored",
            }])
        ),
        "OK"
    );
    let e = err(
        s.addr,
        "aria2.changeGlobalOption",
        json!([{"save-session": "/etc/x", "max-concurrent-downloads": "9"}]),
    );
    assert!(e.starts_with("save-session cannot be set over RPC"), "{e}");
    assert_eq!(
        s.mock.calls()[3..],
        ["global_rate Some(1048576)", "max_active 3"]
    );
    s.mock.globals.lock().unwrap().max_rate = Some(1 << 20);
    let g = ok(s.addr, "aria2.getGlobalOption", json!([]));
    assert_eq!(
        g,
        json!({"dir": "/srv/downloads", "max-overall-download-limit": "1048576",
                         "max-concurrent-downloads": "0"})
    );
}

#[test]
fn get_option_never_gives_credentials_back() {
    let mut j = job(1, JobState::Queued);
    j.settings.headers = vec![
        Header::new("Cookie", "session=SEKRIT1"),
        Header::new("Authorization", "Bearer SEKRIT2"),
        Header::new("X-Amz-Security-Token", "SEKRIT3"),
        Header::new("Referer", "https://example.com/"),
        Header::new("Accept-Language", "en"),
    ];
    j.settings.user = Some(Credentials {
        user: "SEKRIT4".into(),
        password: "SEKRIT5".into(),
    });
    j.settings.network.proxy = Some("http://puser:SEKRIT6@proxy:3128".into());
    j.settings.rate_limit = Some(5000);
    j.settings.connections = Some(8);
    j.url = "https://user:SEKRIT7@example.com/f".into();
    let s = serve(Mock::with(vec![view(j)]));
    let o = ok(s.addr, "aria2.getOption", json!(["0000000000000001"]));
    assert_eq!(o["header"], "Accept-Language: en");
    assert_eq!(o["referer"], "https://example.com/");
    assert_eq!(o["max-download-limit"], "5000");
    assert_eq!(
        (o["split"].as_str(), o["max-connection-per-server"].as_str()),
        (Some("8"), Some("8"))
    );
    assert_eq!(o["all-proxy"], "http://puser:***@proxy:3128");
    let mut everything = o.to_string();
    everything += &ok(s.addr, "aria2.tellStatus", json!(["0000000000000001"])).to_string();
    everything += &ok(s.addr, "aria2.getUris", json!(["0000000000000001"])).to_string();
    assert!(!everything.contains("SEKRIT"), "{everything}");
    assert!(!everything.contains("http-passwd") && !everything.contains("http-user"));
}

#[test]
fn shutdown_answers_ok_then_tells_the_service() {
    let s = serve(Mock::with(vec![]));
    assert_eq!(ok(s.addr, "aria2.forceShutdown", json!([])), "OK");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !s.mock.calls().contains(&"shutdown true".to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the service was never told"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let v = ok(s.addr, "aria2.getVersion", json!([]));
    assert_eq!(v["version"], "0.1.0");
    assert!(v["enabledFeatures"]
        .as_array()
        .unwrap()
        .contains(&json!("HTTPS")));
}

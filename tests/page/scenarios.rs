//! The page's scenarios, each checked from outside the browser.

use super::{drive, rpc, serve, shots};
use crate::har::common::{chrome_entry, chrome_har, write_har};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use serde_json::json;
use std::time::Duration;

const MIB: usize = 1 << 20;
const SECRET: &str = "PAGE-S3CRET-51f0";

/// The bitfield's pieces as byte ranges that are done.
fn done_ranges(bitfield: &str, piece: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for (i, c) in bitfield.chars().enumerate() {
        let nibble = c.to_digit(16).unwrap() as u64;
        for b in 0..4 {
            if nibble & (8 >> b) != 0 {
                let p = i as u64 * 4 + b;
                out.push((p * piece, ((p + 1) * piece).min(size)));
            }
        }
    }
    out
}

#[test]
fn page_logs_in_from_the_fragment_adds_a_url_and_it_reaches_100_percent() {
    let server = Server::start().unwrap();
    let body = pattern(6 * MIB, 1701);
    server.add("/six.bin", Resource::new(body.clone()).etag("\"6\""));
    let env = Env::new();
    let s = serve(&env);
    let Some(r) = drive(
        &s,
        "add-url",
        "add-url",
        json!({"url": server.url("/six.bin"), "name": "six.bin",
               "header": format!("X-Tenant: {SECRET}"), "secretName": "X-Tenant"}),
        |_, _| {},
    ) else {
        return;
    };
    assert_same_file(&s.dl.join("six.bin"), &body);
    assert_eq!(r["pct"], "100.0%");
    assert_eq!(r["hash"], "", "the token left the address bar");
    assert_eq!(r["kept"], true, "the token is kept in local storage");
    // The header marked secret in the form went to the server, never onto the page.
    assert!(server
        .log()
        .iter()
        .all(|e| e.header("x-tenant") == Some(SECRET)));
    assert!(!r["body"].as_str().unwrap().contains(SECRET));
    // Light and dark really differ; the screenshots are there.
    for at in ["desktop", "phone"] {
        assert_ne!(r[at]["light"], r[at]["dark"], "{at}: {}", r[at]);
    }
    for f in [
        "desktop-job-light",
        "desktop-job-dark",
        "phone-queue-light",
        "phone-queue-dark",
    ] {
        let p = shots("add-url").join(format!("{f}.png"));
        assert!(
            std::fs::metadata(&p).is_ok_and(|m| m.len() > 5000),
            "{}",
            p.display()
        );
    }
}

#[test]
fn page_curl_paste_sends_authorization_to_its_origin_only_and_shows_server_errors() {
    // A redirects to B (another port): B serves the file.
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let body = pattern(5 * MIB, 1702);
    b.add(
        "/f.bin",
        Resource::new(body.clone()).etag("\"f\"").rate(512 << 10),
    );
    a.redirect("/get", &b.url("/f.bin"), 302);
    let command = format!(
        "curl '{}' \\\n  -H 'accept: */*' \\\n  -H 'authorization: Bearer {SECRET}' \\\n  \
         -b 'sid={SECRET}' \\\n  -H 'x-trace: visible' \\\n  --compressed",
        a.url("/get")
    );
    let env = Env::new();
    let s = serve(&env);
    let Some(r) = drive(
        &s,
        "curl",
        "curl",
        json!({"command": command, "name": "pasted.bin"}),
        |_, _| {},
    ) else {
        return;
    };
    assert_same_file(&s.dl.join("pasted.bin"), &body);
    let alog = a.log();
    assert!(!alog.is_empty());
    for e in &alog {
        assert_eq!(
            e.header("authorization"),
            Some(format!("Bearer {SECRET}").as_str())
        );
        assert!(e.header("cookie").is_some_and(|c| c.contains(SECRET)));
    }
    let blog = b.log();
    assert!(!blog.is_empty());
    for e in &blog {
        assert!(e.header("authorization").is_none() && e.header("cookie").is_none());
        assert_eq!(e.header("x-trace"), Some("visible"));
    }
    let fixed = r["fixed"].as_str().unwrap();
    assert!(fixed.contains("authorization: ***"), "{fixed}");
    assert!(fixed.contains("Cookie: ***"), "{fixed}");
    assert!(!r["body"].as_str().unwrap().contains(SECRET));
    // The server's refusals are shown, in its words: a new URL for a finished job, a URL
    // that is not http(s).
    assert!(
        r["banner"].as_str().unwrap().contains("is done"),
        "{}",
        r["banner"]
    );
    assert!(
        r["addError"].as_str().unwrap().contains("http"),
        "{}",
        r["addError"]
    );
}

#[test]
fn page_reorders_the_queue_by_drag_and_pauses_and_resumes_by_button() {
    let server = Server::start().unwrap();
    let slow = pattern(8 * MIB, 1703);
    server.add(
        "/a.bin",
        Resource::new(slow.clone()).etag("\"a\"").rate(512 << 10),
    );
    server.add("/b.bin", Resource::new(pattern(MIB, 1704)).etag("\"b\""));
    server.add("/c.bin", Resource::new(pattern(MIB, 1705)).etag("\"c\""));
    let env = Env::new();
    let s = serve(&env);
    // One job at a time: a runs, b then c wait in the queue.
    rpc(&s, "ddm.changeRunner", json!([{"maxActive": 1}]));
    let add = |p: &str| {
        rpc(&s, "aria2.addUri", json!([[server.url(p)], {"split": "2"}]))
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ga, gb, gc) = (add("/a.bin"), add("/b.bin"), add("/c.bin"));
    let first_request = |path: &str| {
        server
            .log()
            .iter()
            .position(|e| e.target == path)
            .unwrap_or(usize::MAX)
    };
    let Some(_) = drive(
        &s,
        "queue",
        "queue",
        json!({"a": ga, "b": gb, "c": gc}),
        |at, _| match at {
            "reordered" => {
                // The service has c before b now.
                let waiting = rpc(&s, "aria2.tellWaiting", json!([0, 10, ["gid"]]));
                let order: Vec<&str> = waiting
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w["gid"].as_str().unwrap())
                    .collect();
                assert_eq!(order, vec![gc.as_str(), gb.as_str()]);
            }
            "paused" => {
                let id = i64::from_str_radix(&ga, 16).unwrap();
                assert_eq!(env.job(id)["state"], "paused");
                // Nothing more of a flows, and the runner takes c first: the new order.
                let before = server.bytes_sent("/a.bin");
                std::thread::sleep(Duration::from_millis(600));
                assert_eq!(server.bytes_sent("/a.bin"), before, "a paused");
                wait_for(Duration::from_secs(20), "b and c done", || {
                    let jobs = env.jobs();
                    (jobs.iter().filter(|j| j["state"] == "done").count() == 2).then_some(())
                });
                assert!(
                    first_request("/c.bin") < first_request("/b.bin"),
                    "c was claimed before b"
                );
            }
            "resumed" => {}
            other => panic!("unexpected checkpoint {other}"),
        },
    ) else {
        return;
    };
    wait_for(Duration::from_secs(60), "a done", || {
        s.dl.join("a.bin").exists().then_some(())
    });
    assert_same_file(&s.dl.join("a.bin"), &slow);
}

#[test]
fn page_shows_eight_lanes_covering_what_is_missing() {
    let server = Server::start().unwrap();
    let size = 16 * MIB;
    let body = pattern(size, 1706);
    server.add(
        "/big.bin",
        // Every 4th connection crawls: the others take over its work (the event log).
        Resource::new(body.clone())
            .etag("\"g\"")
            .rate(128 << 10)
            .fault(Fault::SlowConnections {
                every: 4,
                divisor: 40,
            }),
    );
    let env = Env::new();
    let s = serve(&env);
    let gid = rpc(
        &s,
        "aria2.addUri",
        json!([[server.url("/big.bin")], {"split": "8",
               "header": [format!("X-Tenant: {SECRET}")], "secret-header": ["X-Tenant"]}]),
    );
    let Some(r) = drive(
        &s,
        "lanes",
        "lanes",
        json!({"gid": gid, "lanes": 8}),
        |_, _| {},
    ) else {
        return;
    };
    // A header marked secret shows as ***, and its value nowhere on the page.
    let fixed = r["fixed"].as_str().unwrap();
    assert!(fixed.contains("X-Tenant: ***"), "{fixed}");
    assert!(!r["body"].as_str().unwrap().contains(SECRET));
    assert!(server
        .log()
        .iter()
        .all(|e| e.header("x-tenant") == Some(SECRET)));
    let lanes = r["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 8, "{lanes:?}");
    let size = r["size"].as_u64().unwrap();
    assert_eq!(size, body.len() as u64);
    // Every byte is done (the bitfield), received by a lane (from..pos) or in a lane's range
    // still to come (pos..to): the lanes cover what is missing, without overlapping.
    let mut spans: Vec<(u64, u64)> = lanes
        .iter()
        .map(|l| (l["from"].as_u64().unwrap(), l["to"].as_u64().unwrap()))
        .collect();
    for l in lanes {
        let (from, pos, to) = (
            l["from"].as_u64().unwrap(),
            l["pos"].as_u64().unwrap(),
            l["to"].as_u64().unwrap(),
        );
        assert!(from <= pos && pos <= to && to <= size, "{l}");
        assert!(l["text"].as_str().unwrap().contains("127.0.0.1"), "{l}");
    }
    let mut sorted = spans.clone();
    sorted.sort();
    assert!(
        sorted.windows(2).all(|w| w[0].1 <= w[1].0),
        "lanes overlap: {sorted:?}"
    );
    spans.extend(done_ranges(
        r["bitfield"].as_str().unwrap_or(""),
        r["pieceLength"].as_u64().unwrap(),
        size,
    ));
    spans.sort();
    let mut covered = 0;
    for (a, b) in spans {
        assert!(a <= covered, "a gap at {covered}..{a} nobody fetches");
        covered = covered.max(b);
    }
    assert_eq!(covered, size);
    assert!(
        r["mapDrawn"].as_u64().unwrap() >= 2,
        "the map shows more than one colour"
    );
    assert!(r["graphPoints"].as_u64().unwrap() >= 1);
    assert_ne!(r["desktop"]["light"], r["desktop"]["dark"]);
    // The log of happenings: what the page showed is what the service recorded.
    let events = r["events"].as_array().unwrap();
    assert!(!events.is_empty());
    let track = rpc(&s, "ddm.getTrack", json!([gid]));
    let kinds: Vec<&str> = track["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for e in events {
        assert!(
            kinds.contains(&e["kind"].as_str().unwrap()),
            "{e} not in {kinds:?}"
        );
    }
    // Let it finish: the bytes are the file's.
    wait_for(Duration::from_secs(90), "the download", || {
        s.dl.join("big.bin").exists().then_some(())
    });
    assert_same_file(&s.dl.join("big.bin"), &body);
}

#[test]
fn page_takes_a_dropped_har_by_import_hars_rules() {
    // The capture shows A answering with the session cookie; now A redirects to B: the
    // cookie (carried: the box was ticked) stays with A.
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let body = pattern(2 * MIB, 1708);
    b.add("/f.bin", Resource::new(body.clone()).etag("\"h\""));
    a.redirect("/dl", &b.url("/f.bin"), 302);
    let env = Env::new();
    let entry = chrome_entry(
        &a.url("/dl"),
        200,
        &[
            ("cookie", &format!("session={SECRET}")),
            ("user-agent", "UA/1"),
        ],
        &[
            ("content-type", "application/octet-stream"),
            (
                "content-disposition",
                "attachment; filename=\"captured.bin\"",
            ),
            ("content-length", "2097152"),
        ],
        "",
        "application/octet-stream",
        2 << 20,
    );
    let har = write_har(&env, "c.har", &chrome_har(vec![entry]));
    let s = serve(&env);
    let Some(r) = drive(
        &s,
        "har",
        "har",
        json!({"file": har.to_str().unwrap()}),
        |_, _| {},
    ) else {
        return;
    };
    // Named as the server that answers now names it (as `ddm import-har` does).
    assert_eq!(r["name"], "f.bin");
    assert_same_file(&s.dl.join("f.bin"), &body);
    assert!(a
        .log()
        .iter()
        .all(|e| e.header("cookie").is_some_and(|c| c.contains(SECRET))
            && e.header("user-agent") == Some("UA/1")));
    assert!(b.log().iter().all(|e| e.header("cookie").is_none()));
}

#[test]
fn page_with_a_wrong_token_shows_a_login_error_and_lists_nothing() {
    let server = Server::start().unwrap();
    server.add("/x.bin", Resource::new(pattern(MIB, 1707)));
    let env = Env::new();
    let s = serve(&env);
    rpc(
        &s,
        "aria2.addUri",
        json!([[server.url("/x.bin")], {"pause": "true"}]),
    );
    let Some(r) = drive(&s, "login", "login", json!({}), |_, _| {}) else {
        return;
    };
    let e = r["loginError"].as_str().unwrap_or_default();
    assert!(e.contains("Unauthorized"), "{r}");
    assert_eq!(r["listedBefore"], 0, "nothing shown before the right token");
    assert_eq!(r["kept"], true);
}

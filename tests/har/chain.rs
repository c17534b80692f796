//! Captured redirect chains on the loopback server: the job starts at the final URL with the
//! captured headers (cookies only on request and never printed), and an expired signed link is
//! resolved again from the capture's first URL.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const LANG: &str = "en-GB,en;q=0.9,fr;q=0.8";
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// What Chrome sends for a download navigation, and what must not be replayed
/// (pseudo-headers are added by `chrome_entry`).
fn browser_request(referer: &str) -> Vec<(&str, &str)> {
    vec![
        ("accept", ACCEPT),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", LANG),
        ("cookie", "session=SECRET-COOKIE-93c1f0"),
        ("cookie", "theme=dark"),
        ("priority", "u=0, i"),
        ("range", "bytes=0-"),
        ("referer", referer),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-site", "same-origin"),
        ("upgrade-insecure-requests", "1"),
        ("connection", "keep-alive"),
        ("user-agent", UA),
    ]
}

/// A capture of: the downloads page, a script, then a click on /dl/start that goes
/// 302 → /dl/mid → 302 (relative Location, no redirectURL) → /files/report.bin (attachment;
/// Chrome records net::ERR_ABORTED and no body when a navigation becomes a download), and the
/// favicon.
fn redirect_capture(server: &Server, size: usize) -> Value {
    let page = server.url("/downloads.html");
    let req = browser_request(&page);
    let len = size.to_string();
    let mut script = chrome_entry(
        &server.url("/app.js"),
        200,
        &[("user-agent", UA)],
        &[
            ("content-type", "application/javascript"),
            ("content-length", "40000"),
        ],
        "",
        "application/javascript",
        40000,
    );
    script["_resourceType"] = json!("script");
    let mut last = chrome_entry(
        &server.url("/files/report.bin"),
        200,
        &req,
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", &len),
            ("content-disposition", "attachment; filename=\"report.bin\""),
            ("accept-ranges", "bytes"),
        ],
        "",
        "application/octet-stream",
        0,
    );
    last["response"]["_error"] = json!("net::ERR_ABORTED");
    chrome_har(vec![
        chrome_entry(
            &page,
            200,
            &[
                ("user-agent", UA),
                ("cookie", "session=SECRET-COOKIE-93c1f0"),
            ],
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("content-length", "5123"),
            ],
            "",
            "text/html",
            5123,
        ),
        script,
        chrome_entry(
            &server.url("/dl/start"),
            302,
            &req,
            &[("location", "/dl/mid"), ("content-length", "0")],
            &server.url("/dl/mid"),
            "x-unknown",
            0,
        ),
        chrome_entry(
            &server.url("/dl/mid"),
            302,
            &req,
            &[("location", "/files/report.bin"), ("content-length", "0")],
            "",
            "x-unknown",
            0,
        ),
        last,
        chrome_entry(
            &server.url("/favicon.ico"),
            200,
            &[("user-agent", UA)],
            &[("content-type", "image/x-icon"), ("content-length", "1150")],
            "",
            "image/x-icon",
            1150,
        ),
    ])
}

/// A raw GET without following redirects: (status, Location).
fn raw_get(port: u16, target: &str) -> (u16, Option<String>) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        c,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the response head");
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let location = text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    (status, location)
}

#[test]
fn redirect_chain_capture_downloads_with_the_captured_headers() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 21);
    server.redirect("/dl/start", "/dl/mid", 302);
    server.redirect("/dl/mid", "/files/report.bin", 302);
    server.add(
        "/files/report.bin",
        Resource::new(body.clone()).content_disposition("attachment; filename=\"report.bin\""),
    );
    let final_url = server.url("/files/report.bin");
    let start_url = server.url("/dl/start");
    let referer = server.url("/downloads.html");

    // Without --allow-cookies.
    let env = Env::new();
    let har = write_har(&env, "capture.har", &redirect_capture(&server, body.len()));
    let o = env.run(&["import-har", s(&har)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = parse_id(&stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("queued job {id}: {final_url} (3.0 MiB)")),
        "{err}"
    );
    assert!(err.contains(&format!("first URL: {start_url}")), "{err}");
    assert!(
        err.contains("carried: User-Agent, Referer, Accept, Accept-Language\n"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
    assert!(server.log().is_empty(), "import-har touched the network");
    let j = env.job(id);
    assert_eq!(j["url"], final_url.as_str());
    assert_eq!(j["state"], "queued");
    let job = stored(&env, id);
    assert_eq!(job.settings.origin_url.as_deref(), Some(start_url.as_str()));
    assert_eq!(
        header_names(&job),
        ["User-Agent", "Referer", "Accept", "Accept-Language"]
    );

    let run = env.run(&["run"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_same_file(&env.out().join("report.bin"), &body);
    assert_eq!(env.job(id)["state"], "done");
    let log = server.log();
    assert!(
        log.iter().all(|e| !e.target.starts_with("/dl/")),
        "the job did not start at the final URL: {log:?}"
    );
    let file_reqs: Vec<_> = log
        .iter()
        .filter(|e| e.target == "/files/report.bin")
        .collect();
    assert!(file_reqs.iter().any(|e| e.status == 206));
    for e in &file_reqs {
        assert_eq!(e.header("user-agent"), Some(UA), "{e:?}");
        assert_eq!(e.header("referer"), Some(referer.as_str()), "{e:?}");
        assert_eq!(e.header("accept-language"), Some(LANG), "{e:?}");
        assert_eq!(e.header("accept"), Some(ACCEPT), "{e:?}");
        assert_eq!(
            e.header("cookie"),
            None,
            "cookie sent without --allow-cookies"
        );
        assert_eq!(e.header("accept-encoding"), Some("identity"), "{e:?}");
        assert_ne!(
            e.range.as_deref(),
            Some("bytes=0-"),
            "captured Range replayed"
        );
        for dropped in [
            "sec-fetch-mode",
            "priority",
            "upgrade-insecure-requests",
            ":authority",
        ] {
            assert_eq!(e.header(dropped), None, "{dropped} replayed: {e:?}");
        }
        let ua_count = e
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("user-agent"));
        assert_eq!(ua_count.count(), 1, "{e:?}");
    }

    // With --allow-cookies: a dry run first queues nothing and shows no secret.
    let env = Env::new();
    let har = write_har(&env, "capture.har", &redirect_capture(&server, body.len()));
    let fresh = env.out().join("not-yet");
    let o = env.run(&[
        "import-har",
        s(&har),
        "--allow-cookies",
        "--dry-run",
        "-d",
        s(&fresh),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!fresh.exists(), "a dry run created {}", fresh.display());
    let out = stdout(&o);
    for needle in [
        format!("url:        {final_url}"),
        format!("first url:  {start_url}"),
        "report.bin".into(),
        "3.0 MiB (3145728 bytes)".into(),
        format!("header:     User-Agent: {UA}"),
        format!("header:     Referer: {referer}"),
        "header:     Cookie: <redacted>".into(),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in:\n{out}");
    }
    assert!(
        stderr(&o).contains("would be stored in the job database"),
        "{}",
        stderr(&o)
    );
    assert!(!out.contains(SECRET) && !stderr(&o).contains(SECRET));
    assert!(
        !out.contains("Accept-Encoding") && !out.contains("Range"),
        "{out}"
    );
    assert!(env.jobs().is_empty(), "--dry-run queued a job");

    let o = env.run(&["import-har", s(&har), "--allow-cookies"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = parse_id(&stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("carried: User-Agent, Referer, Accept, Accept-Language, Cookie"),
        "{err}"
    );
    assert!(
        err.contains("stored in the job database (private to you)"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
    let job = stored(&env, id);
    assert_eq!(
        job.settings.headers.last().unwrap().wire(),
        format!("Cookie: session={SECRET}; theme=dark")
    );
    let seen = server.log().len();
    let run = env.run(&["run"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_same_file(&env.out().join("report.bin"), &body);
    let log = server.log();
    let file_reqs: Vec<_> = log[seen..]
        .iter()
        .filter(|e| e.target == "/files/report.bin")
        .collect();
    assert!(!file_reqs.is_empty());
    for e in &file_reqs {
        let want = format!("session={SECRET}; theme=dark");
        assert_eq!(e.header("cookie"), Some(want.as_str()), "{e:?}");
        assert_eq!(e.header("user-agent"), Some(UA));
    }
    // The secret never leaves the database: not in status, run output or the log file.
    let status = env.ok(&["status", "--json"]) + &env.ok(&["status"]);
    assert!(!status.contains(SECRET), "{status}");
    assert!(!stderr(&run).contains(SECRET) && !stdout(&run).contains(SECRET));
    let log_file = env.log();
    assert!(!log_file.contains(SECRET), "secret in ddm.log");
}

#[test]
fn expired_signed_link_is_resolved_again_from_the_first_url() {
    let server = Server::start().unwrap();
    let body = pattern(1 << 20, 33);
    server.signed_redirect("/start", "/signed/f.bin", Duration::from_millis(300));
    server.add(
        "/signed/f.bin",
        Resource::new(body.clone()).content_disposition("attachment; filename=\"f.bin\""),
    );
    // The "browser" follows /start to a freshly signed link and captures the chain.
    let (status, location) = raw_get(server.port(), "/start");
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(location.starts_with("/signed/f.bin?sig="), "{location}");
    let signed = server.url(&location);
    let start = server.url("/start");
    let issued = Instant::now();
    let len = body.len().to_string();
    let env = Env::new();
    let har = write_har(
        &env,
        "signed.har",
        &chrome_har(vec![
            chrome_entry(
                &start,
                302,
                &[("user-agent", UA)],
                &[("location", &location)],
                &signed,
                "x-unknown",
                0,
            ),
            chrome_entry(
                &signed,
                200,
                &[("user-agent", UA), ("referer", &start)],
                &[
                    ("content-type", "application/octet-stream"),
                    ("content-length", &len),
                    ("content-disposition", "attachment; filename=\"f.bin\""),
                ],
                "",
                "application/octet-stream",
                0,
            ),
        ]),
    );
    // Import and run only once the captured link has expired.
    std::thread::sleep(Duration::from_millis(500).saturating_sub(issued.elapsed()));
    assert_eq!(
        raw_get(server.port(), &location).0,
        403,
        "the link should have expired"
    );
    let id = parse_id(&env.ok(&["import-har", s(&har)]));
    assert_eq!(env.job(id)["url"], signed.as_str());
    assert_eq!(
        stored(&env, id).settings.origin_url.as_deref(),
        Some(start.as_str())
    );

    let seen = server.log().len();
    let run = env.run(&["run"]);
    let log = server.log()[seen..].to_vec();
    assert!(
        run.status.success(),
        "run failed ({:?})\nstderr: {}\nrequests: {:#?}",
        run.status.code(),
        stderr(&run),
        log.iter()
            .map(|e| format!("{} {} {:?} -> {}", e.method, e.target, e.range, e.status))
            .collect::<Vec<_>>()
    );
    assert_same_file(&env.out().join("f.bin"), &body);
    let j = env.job(id);
    assert_eq!(j["state"], "done");
    // The expired link was tried and refused, then /start was resolved again.
    assert!(
        log.iter().any(|e| e.target == location && e.status == 403),
        "{log:?}"
    );
    assert!(log.iter().any(|e| e.target == "/start"), "{log:?}");
    assert!(
        log.iter()
            .any(|e| e.target.starts_with("/signed/f.bin?sig=")
                && e.target != location
                && (e.status == 200 || e.status == 206)),
        "{log:?}"
    );
    assert!(
        stderr(&run).contains("resolving the original URL again"),
        "{}",
        stderr(&run)
    );
}

//! `ddm import-har`: the real captures in tests/data/har, HAR files built around redirect
//! chains on the loopback server (final URL, replayed headers, cookies only on request and
//! never printed), choosing among several candidates, malformed files, and an expired
//! signed link that the engine resolves again from the capture's first URL.

use crate::util::*;
use ddm_core::store::{Job, Store};
use ddm_testserver::{pattern, Resource, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/126.0.0.0 Safari/537.36 ddm-har-test";
const LANG: &str = "en-GB,en;q=0.9,fr;q=0.8";
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const SECRET: &str = "SECRET-COOKIE-93c1f0";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/har")
}

/// A corpus file as JSON (BOM stripped), for patching.
fn corpus_json(name: &str) -> Value {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).unwrap()
}

/// Writes `v` as `name` next to the test's home and returns the path.
fn write_har(env: &Env, name: &str, v: &Value) -> PathBuf {
    let p = env.dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2 with exactly one stderr line `ddm: ...` containing `needle`; nothing on stdout.
fn assert_one_line_error(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("ddm: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    err
}

fn parse_id(out: &str) -> i64 {
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a job id: {out:?}"))
}

/// The stored job, read directly (status does not show headers or origin_url).
fn stored(env: &Env, id: i64) -> Job {
    Store::open(&env.home().join("jobs.db"))
        .unwrap()
        .get(id)
        .unwrap()
}

fn header_names(j: &Job) -> Vec<&str> {
    j.settings.headers.iter().map(|h| h.name.as_str()).collect()
}

/// Turns entry `i` of a HAR into a `size`-byte attachment `name` of type `mime`.
fn make_download(v: &mut Value, i: usize, name: &str, mime: &str, size: u64) {
    let resp = &mut v["log"]["entries"][i]["response"];
    let headers = resp["headers"].as_array_mut().unwrap();
    headers.retain(|h| {
        let n = h["name"].as_str().unwrap_or("").to_ascii_lowercase();
        !n.starts_with("content-")
    });
    headers.push(json!({"name": "content-type", "value": mime}));
    headers.push(json!({"name": "content-length", "value": size.to_string()}));
    headers.push(json!({"name": "content-disposition",
                        "value": format!("attachment; filename=\"{name}\"")}));
    resp["content"] = json!({"size": size, "mimeType": mime});
}

fn pairs(list: &[(&str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

/// An entry shaped like Chrome's export (HTTP/2 style lower-case names, pseudo-headers,
/// Chrome's private `_resourceType`/`_error` fields).
fn chrome_entry(
    url: &str,
    status: u16,
    req_headers: &[(&str, &str)],
    resp_headers: &[(&str, &str)],
    redirect_url: &str,
    mime: &str,
    content_size: i64,
) -> Value {
    let parsed = ddm_core::urls::parse_http_url(url).unwrap();
    let authority = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port_or_known_default().unwrap()
    );
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut req = vec![
        (":authority", authority.as_str()),
        (":method", "GET"),
        (":path", path.as_str()),
        (":scheme", parsed.scheme()),
    ];
    req.extend_from_slice(req_headers);
    json!({
        "_initiator": {"type": "other"},
        "_priority": "VeryHigh",
        "_resourceType": "document",
        "cache": {},
        "connection": "4711",
        "pageref": "page_1",
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "http/2.0",
            "headers": pairs(&req),
            "queryString": [],
            "cookies": [{"name": "session", "value": SECRET, "path": "/", "domain": "127.0.0.1",
                         "expires": null, "httpOnly": true, "secure": false}],
            "headersSize": -1,
            "bodySize": 0
        },
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "http/2.0",
            "headers": pairs(resp_headers),
            "cookies": [],
            "content": {"size": content_size, "mimeType": mime},
            "redirectURL": redirect_url,
            "headersSize": -1,
            "bodySize": -1,
            "_transferSize": 300,
            "_error": null
        },
        "serverIPAddress": "127.0.0.1",
        "startedDateTime": "2025-03-14T09:26:53.589Z",
        "time": 12.3,
        "timings": {"blocked": 1.0, "dns": -1, "ssl": -1, "connect": -1, "send": 0.1,
                    "wait": 10.0, "receive": 1.2, "_blocked_queueing": 0.5}
    })
}

fn chrome_har(entries: Vec<Value>) -> Value {
    json!({"log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": "2025-03-14T09:26:53.000Z", "id": "page_1",
                   "title": "Downloads", "pageTimings": {"onContentLoad": 120.5, "onLoad": 300.1}}],
        "entries": entries
    }})
}

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
fn corpus_files_are_refused_with_one_line_reasons() {
    // None of the real captures holds a file download (see ddm-core's har corpus tests):
    // each must be refused cleanly, never crash, never queue.
    let env = Env::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 8, "corpus: {files:?}");
    for f in &files {
        for extra in [&["--dry-run"][..], &[], &["--allow-cookies"]] {
            let mut args = vec!["import-har", s(f)];
            args.extend_from_slice(extra);
            let o = env.run(&args);
            let err = assert_one_line_error(&o, "no entry looks like a file download");
            assert!(err.contains(s(f)), "path not named: {err}");
            assert!(err.contains("-v lists every entry"), "{err}");
        }
    }
    assert!(env.jobs().is_empty());
    // -v says why each entry was skipped.
    let chrome = corpus_dir().join("mitmproxy-chrome.har");
    let o = env.run(&["-v", "import-har", s(&chrome), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "skipped entry 0: https://mitmproxy.org/: 304 Not Modified",
        "skipped entry 1: https://www.google.com/: request failed (net::ERR_INTERNET_DISCONNECTED)",
        "skipped entry 2: https://www.google.com/images/",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
}

#[test]
fn corpus_capture_with_a_download_becomes_a_job_with_final_url_and_headers() {
    // The Playwright capture (HTTP/2, pseudo-headers, split cookie headers, a 301 → 301
    // chain) with its final entry turned into an ISO attachment.
    let env = Env::new();
    let mut v = corpus_json("playwright-har-redirect.har");
    make_download(
        &mut v,
        2,
        "verge.iso",
        "application/x-iso9660-image",
        700 << 20,
    );
    let har = write_har(&env, "playwright.har", &v);
    let cookie = "vmidv1=9faf31ab-1415-4b90-b367-24b670205f41; _chorus_geoip_continent=NA";

    let o = env.run(&["import-har", s(&har)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = parse_id(&stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("queued job")
            && err.contains("https://www.theverge.com/ (700.0 MiB)")
            && err.contains("carried: User-Agent, Accept, Accept-Language\n"),
        "{err}"
    );
    assert!(
        err.contains("not carried") && err.contains("--allow-cookies"),
        "{err}"
    );
    let j = stored(&env, id);
    assert_eq!(j.url, "https://www.theverge.com/");
    assert_eq!(
        j.settings.origin_url.as_deref(),
        Some("https://theverge.com/")
    );
    assert_eq!(
        header_names(&j),
        ["User-Agent", "Accept", "Accept-Language"]
    );
    assert!(j.settings.headers[0]
        .value
        .starts_with("Mozilla/5.0 (X11; Linux x86_64)"));
    assert_eq!(j.settings.headers[2].value, "en-US,en;q=0.9");
    assert_eq!(j.file_name, None);
    assert_eq!(env.job(id)["state"], "queued");

    // With --allow-cookies: the split cookie headers joined, a warning, never printed.
    let o = env.run(&[
        "import-har",
        s(&har),
        "--allow-cookies",
        "-o",
        "v.iso",
        "-c",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id2 = parse_id(&stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("carried: User-Agent, Accept, Accept-Language, Cookie (credentials"),
        "{err}"
    );
    assert!(
        err.contains("warning: the captured Cookie header is stored in the job database"),
        "{err}"
    );
    assert!(!err.contains("9faf31ab") && !stdout(&o).contains("9faf31ab"));
    let j = stored(&env, id2);
    assert_eq!(
        header_names(&j),
        ["User-Agent", "Accept", "Accept-Language", "Cookie"]
    );
    assert_eq!(j.settings.headers[3].value, cookie);
    assert_eq!(j.file_name.as_deref(), Some("v.iso"));
    assert_eq!(j.settings.connections, Some(3));
    let status = env.ok(&["status", "--json"]) + &env.ok(&["status"]);
    assert!(!status.contains("9faf31ab"), "{status}");

    // -H: a user header with a captured name replaces it; others are appended.
    let o = env.run(&[
        "import-har",
        s(&har),
        "-H",
        "user-agent: mine/1.0",
        "-H",
        "X-Extra: 1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = stored(&env, parse_id(&stdout(&o)));
    let got: Vec<String> = j.settings.headers.iter().map(|h| h.wire()).collect();
    assert_eq!(
        got,
        [
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.9",
            "Accept-Language: en-US,en;q=0.9",
            "user-agent: mine/1.0",
            "X-Extra: 1",
        ]
    );
    assert_eq!(env.jobs().len(), 3);
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
    let o = env.run(&["import-har", s(&har), "--allow-cookies", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
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
    let log_file = std::fs::read_to_string(env.home().join("ddm.log")).unwrap_or_default();
    assert!(!log_file.contains(SECRET), "secret in ddm.log");
}

#[test]
fn several_candidates_are_listed_and_pick_or_match_chooses() {
    let env = Env::new();
    let media = |path: &str, mib: u64| {
        let url = format!("http://127.0.0.1:9{path}");
        let size = (mib << 20).to_string();
        chrome_entry(
            &url,
            200,
            &[("user-agent", UA)],
            &[("content-type", "video/mp4"), ("content-length", &size)],
            "",
            "video/mp4",
            (mib << 20) as i64,
        )
    };
    let har = write_har(
        &env,
        "media.har",
        &chrome_har(vec![
            chrome_entry(
                "http://127.0.0.1:9/watch",
                200,
                &[("user-agent", UA)],
                &[("content-type", "text/html")],
                "",
                "text/html",
                30000,
            ),
            media("/media/clip-small.mp4", 16),
            media("/media/clip-big.mp4", 64),
            media("/other/trailer.mp4", 32),
        ]),
    );
    let p = s(&har);

    // Sizes 64/32/16 MiB of the same kind: none stands out.
    let o = env.run(&["import-har", p]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], format!("candidates in {p}:"), "{err}");
    let row = |n: usize, size: &str, path: &str| {
        let line = lines
            .iter()
            .find(|l| l.ends_with(path))
            .unwrap_or_else(|| panic!("{path} not listed:\n{err}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], n.to_string(), "{line}");
        assert_eq!(cols[1..3].join(" "), size, "{line}");
        assert_eq!(cols[3], "video/mp4", "{line}");
    };
    row(1, "64.0 MiB", "/media/clip-big.mp4");
    row(2, "32.0 MiB", "/other/trailer.mp4");
    row(3, "16.0 MiB", "/media/clip-small.mp4");
    assert!(err.contains("64.0 MiB; video/mp4"), "why missing:\n{err}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("ddm: {p}: 3 entries look like downloads"))
            && err.contains("--pick N or --match TEXT"),
        "{err}"
    );
    assert!(
        !err.contains("/watch"),
        "the HTML page is not a candidate:\n{err}"
    );

    // --pick N takes the N-th of that list.
    let id = parse_id(&env.ok(&["import-har", p, "--pick", "2"]));
    assert_eq!(env.job(id)["url"], "http://127.0.0.1:9/other/trailer.mp4");
    // --match: case-insensitive substring of the URL.
    let id = parse_id(&env.ok(&["import-har", p, "--match", "CLIP-SMALL"]));
    assert_eq!(
        env.job(id)["url"],
        "http://127.0.0.1:9/media/clip-small.mp4"
    );
    // A --match hitting several lists those, numbered as for --pick.
    let o = env.run(&["import-har", p, "--match", "/media/"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("2 entries look like downloads"), "{err}");
    assert!(!err.contains("trailer"), "{err}");
    let listed: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("http://"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(listed, ["1", "3"], "{err}");
    // Bad choices are one-line errors.
    assert_one_line_error(
        &env.run(&["import-har", p, "--pick", "7"]),
        "--pick 7 is out of range: there are 3 candidates; use 1 to 3",
    );
    assert_one_line_error(
        &env.run(&["import-har", p, "--match", "nothing-like-it"]),
        "no candidate URL contains \"nothing-like-it\"",
    );
    let o = env.run(&["import-har", p, "--pick", "1", "--match", "clip"]);
    assert_eq!(o.status.code(), Some(2), "--pick with --match accepted");
    assert_eq!(env.jobs().len(), 2);
}

#[test]
fn malformed_files_are_one_line_errors_naming_the_file() {
    let env = Env::new();
    let write = |name: &str, bytes: &[u8]| {
        let p = env.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // A real export cut short, as a failed save leaves it.
    let full = std::fs::read(corpus_dir().join("mitmproxy-firefox.har")).unwrap();
    let cut = write("cut.har", &full[..full.len() / 2]);
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write(
                "syntax.har",
                b"{\n  \"log\": {\n    \"entries\": [,]\n  }\n}",
            ),
            "not valid JSON at line 3, column 17: expected value",
        ),
        (cut, "not valid JSON at line "),
        (
            write("empty.har", b""),
            "not valid JSON at line 1, column 0",
        ),
        (
            write("page.har", b"<!doctype html><html></html>"),
            "not valid JSON at line 1, column 1",
        ),
        (
            write("array.har", b"[1, 2]"),
            "not a HAR file: the top level is an array",
        ),
        (
            write("nolog.har", br#"{"version": "1.2"}"#),
            "not a HAR file: no \"log\" object",
        ),
        (
            write(
                "noentries.har",
                br#"{"log": {"version": "1.2", "entries": []}}"#,
            ),
            "the HAR file has no entries",
        ),
        (
            env.dir.path().join("missing.har"),
            "cannot read the HAR file",
        ),
        (env.dir.path().to_path_buf(), "cannot read the HAR file"),
    ];
    for (path, needle) in &cases {
        for extra in [&[][..], &["--dry-run"]] {
            let mut args = vec!["import-har", s(path)];
            args.extend_from_slice(extra);
            let err = assert_one_line_error(&env.run(&args), needle);
            assert!(err.contains(s(path)), "path not named: {err}");
        }
    }
    assert!(env.jobs().is_empty());
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

//! Helpers shared by the import-har tests: the captured browser identity, the corpus
//! directory, HAR files shaped like Chrome's export, and checks of one-line errors and stored
//! jobs.

use crate::util::*;
use ddm_core::store::{Job, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

pub(crate) const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 ddm-har-test";
pub(crate) const SECRET: &str = "SECRET-COOKIE-93c1f0";

pub(crate) fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/har")
}

/// Writes `v` as `name` next to the test's home and returns the path.
pub(crate) fn write_har(env: &Env, name: &str, v: &Value) -> PathBuf {
    let p = env.dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2 with exactly one stderr line `ddm: ...` containing `needle`; nothing on stdout.
pub(crate) fn assert_one_line_error(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("ddm: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    err
}

pub(crate) fn parse_id(out: &str) -> i64 {
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a job id: {out:?}"))
}

/// The stored job, read directly (status does not show headers or origin_url).
pub(crate) fn stored(env: &Env, id: i64) -> Job {
    Store::open(&env.home().join("jobs.db"))
        .unwrap()
        .get(id)
        .unwrap()
}

pub(crate) fn header_names(j: &Job) -> Vec<&str> {
    j.settings.headers.iter().map(|h| h.name.as_str()).collect()
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

/// An entry shaped like Chrome's export (HTTP/2 style lower-case names, pseudo-headers,
/// Chrome's private `_resourceType`/`_error` fields).
pub(crate) fn chrome_entry(
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

pub(crate) fn chrome_har(entries: Vec<Value>) -> Value {
    json!({"log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": "2025-03-14T09:26:53.000Z", "id": "page_1",
                   "title": "Downloads", "pageTimings": {"onContentLoad": 120.5, "onLoad": 300.1}}],
        "entries": entries
    }})
}

//! Tests for the HAR importer: shared helpers, plus `corpus` (the real exports in
//! tests/data/har), `parse` (bad and odd input), `synthetic` (hand-written HAR JSON) and
//! `units` (pieces in isolation).

use serde_json::{json, Value};

use crate::har::{candidates, parse, Analysis, Har, Options};

mod corpus;
mod parse;
mod synthetic;
mod units;

/// Every capture in tests/data/har from another project (none holds a download; the
/// README's `chrome-download-redirect.har` does, and is tested by the import-har tests).
pub(super) const CORPUS: &[&str] = &[
    "gatling-chrome61-redirect-post.har",
    "gatling-firefox56-redirect-post.har",
    "mitmproxy-chrome.har",
    "mitmproxy-firefox.har",
    "mitmproxy-head-content-length.har",
    "mitmproxy-with-bom.har",
    "pagexray-redirect-arcelormittal.com.har",
    "playwright-har-redirect.har",
];

/// Raw bytes of a corpus file.
pub(super) fn corpus_bytes(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/har/");
    std::fs::read(format!("{dir}{name}")).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// A corpus file as JSON, for patching (BOM stripped).
pub(super) fn corpus_json(name: &str) -> Value {
    let bytes = corpus_bytes(name);
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).expect("corpus file is JSON")
}

/// Parses a JSON value as a HAR.
pub(super) fn har_of(v: &Value) -> Har {
    parse(&serde_json::to_vec(v).unwrap()).expect("valid HAR")
}

pub(super) fn analyse(har: &Har, allow_cookies: bool) -> Analysis {
    candidates(har, &Options { allow_cookies })
}

/// The `i`-th entry of a HAR JSON value.
pub(super) fn entry_mut(v: &mut Value, i: usize) -> &mut Value {
    &mut v["log"]["entries"][i]
}

/// Makes entry `i` of `v` answer with an attachment of this type and size.
pub(super) fn make_download(v: &mut Value, i: usize, name: &str, mime: &str, size: u64) {
    let resp = &mut entry_mut(v, i)["response"];
    let headers = resp["headers"].as_array_mut().expect("headers array");
    headers.retain(|h| {
        let n = h["name"].as_str().unwrap_or("").to_ascii_lowercase();
        !matches!(
            n.as_str(),
            "content-type" | "content-length" | "content-encoding" | "content-disposition"
        )
    });
    headers.push(json!({"name": "Content-Type", "value": mime}));
    headers.push(json!({"name": "Content-Length", "value": size.to_string()}));
    headers.push(
        json!({"name": "Content-Disposition", "value": format!("attachment; filename=\"{name}\"")}),
    );
    resp["content"] = json!({"size": size, "mimeType": mime});
}

/// A synthetic HAR with these entries.
pub(super) fn har_json(entries: Vec<Value>) -> Value {
    json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "0"}, "entries": entries}})
}

/// A synthetic entry. `resp_headers` are (name, value) pairs.
pub(super) fn entry(
    method: &str,
    url: &str,
    status: u16,
    resp_headers: &[(&str, &str)],
    redirect: &str,
) -> Value {
    let headers: Vec<Value> = resp_headers
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let mime = resp_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map_or("x-unknown", |(_, v)| v);
    json!({
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "time": 12.5,
        "request": {
            "method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [
                {"name": "User-Agent", "value": "TestAgent/1.0"},
                {"name": "Accept-Encoding", "value": "gzip"}
            ],
            "queryString": [], "headersSize": -1, "bodySize": 0
        },
        "response": {
            "status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": headers,
            "content": {"size": -1, "mimeType": mime},
            "redirectURL": redirect, "headersSize": -1, "bodySize": -1
        },
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 1}
    })
}

/// A 200 GET attachment of `size` bytes.
pub(super) fn download(url: &str, mime: &str, size: &str) -> Value {
    entry(
        "GET",
        url,
        200,
        &[
            ("Content-Type", mime),
            ("Content-Length", size),
            ("Content-Disposition", "attachment"),
        ],
        "",
    )
}

/// A 200 GET without attachment.
pub(super) fn plain(url: &str, mime: &str, size: &str) -> Value {
    entry(
        "GET",
        url,
        200,
        &[("Content-Type", mime), ("Content-Length", size)],
        "",
    )
}

/// Adds a request header to a synthetic entry.
pub(super) fn with_req_header(mut e: Value, name: &str, value: &str) -> Value {
    e["request"]["headers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": name, "value": value}));
    e
}

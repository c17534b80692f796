//! The captures in tests/data/har: the real ones from other projects are refused with a
//! one-line reason (none holds a file download), one patched to hold a download becomes a job
//! with the final URL and the captured headers (cookies only with --allow-cookies, never
//! printed), and `chrome-download-redirect.har` (Chrome's export of a download behind a
//! redirect, the README's example) is queued as it is.

use super::common::*;
use crate::util::*;
use serde_json::{json, Value};
use std::path::PathBuf;

/// A corpus file as JSON (BOM stripped), for patching.
fn corpus_json(name: &str) -> Value {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).unwrap()
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

/// The capture of a download, a newcomer's first `import-har` (README).
const DOWNLOAD: &str = "chrome-download-redirect.har";

#[test]
fn corpus_files_are_refused_with_one_line_reasons() {
    // None of the real captures from other projects holds a file download (see ddm-core's
    // har corpus tests): each must be refused cleanly, never crash, never queue.
    let env = Env::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with(DOWNLOAD))
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
fn the_readme_capture_of_a_download_is_queued_as_it_is() {
    // Chrome's export of a click on a download link: the page, its stylesheet and icon, the
    // link's 302 (with the site's session cookie) and the signed CDN URL the browser turned
    // into a download (recorded as net::ERR_ABORTED, size 0: only the headers say 46 MiB).
    let env = Env::new();
    let har = corpus_dir().join(DOWNLOAD);
    let final_url = "https://dl.example.net/releases/2.4.1/tool-2.4.1-x86_64-linux.tar.gz?\
                     Expires=1764339191&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=";
    let o = env.run(&["import-har", s(&har), "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "would queue (dry run, nothing saved)",
        final_url,
        "first url:  https://tool.example.org/download/latest/tool-linux-x86_64.tar.gz",
        "name:       tool-2.4.1-x86_64-linux.tar.gz",
        "size:       46.1 MiB (48312911 bytes)",
        "browser reported net::ERR_ABORTED; via 1 redirect",
        "header:     Referer: https://tool.example.org/download/",
    ] {
        assert!(out.contains(needle), "{needle:?} not in:\n{out}");
    }
    assert!(!out.contains("tool_session"), "{out}");
    assert!(env.jobs().is_empty(), "a dry run queues nothing");

    let o = env.run(&["import-har", s(&har)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = stored(&env, parse_id(&stdout(&o)));
    assert!(j.url.starts_with(final_url), "{}", j.url);
    assert_eq!(
        j.settings.origin_url.as_deref(),
        Some("https://tool.example.org/download/latest/tool-linux-x86_64.tar.gz")
    );
    assert_eq!(
        header_names(&j),
        ["User-Agent", "Referer", "Accept", "Accept-Language"]
    );
    // The site's session cookie went to the link's host, not to the CDN: none is carried.
    assert!(j
        .settings
        .headers
        .iter()
        .all(|h| !h.value.contains("tool_session")));
    assert_eq!(env.job(1)["state"], "queued");
}

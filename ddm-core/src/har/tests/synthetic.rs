//! Tests on hand-written HAR JSON: redirect chains, scoring and picking.

use serde_json::json;

use super::*;
use crate::har::{pick, Pick, PickError};

fn one(entries: Vec<Value>) -> crate::har::Candidate {
    let a = analyse(&har_of(&har_json(entries)), false);
    pick(&a, &Pick::Auto).unwrap_or_else(|e| panic!("{e}: {a:?}"))
}

#[test]
fn local_redirect_chain_302_302_200_attachment() {
    let c = one(vec![
        plain("https://example.com/", "text/html", "5000"),
        entry(
            "GET",
            "https://example.com/dl?id=7",
            302,
            &[("Location", "https://cdn.example.net/t/abc")],
            "https://cdn.example.net/t/abc",
        ),
        entry(
            "GET",
            "https://cdn.example.net/t/abc",
            302,
            &[],
            "https://files.example.org/x/file.zip?sig=1",
        ),
        with_req_header(
            download(
                "https://files.example.org/x/file.zip?sig=1",
                "application/zip",
                "123456789",
            ),
            "Referer",
            "https://example.com/",
        ),
    ]);
    assert_eq!(c.entry, 3);
    assert_eq!(c.first_url, "https://example.com/dl?id=7");
    assert_eq!(c.final_url, "https://files.example.org/x/file.zip?sig=1");
    assert_eq!((c.status, c.size), (200, Some(123_456_789)));
    assert_eq!(c.content_disposition.as_deref(), Some("attachment"));
    assert_eq!(
        c.why,
        "attachment; 117.7 MiB; application/zip; via 2 redirects"
    );
    assert_eq!(
        c.headers,
        vec![
            ("User-Agent".into(), "TestAgent/1.0".into()),
            ("Referer".into(), "https://example.com/".into())
        ]
    );
}

#[test]
fn relative_redirect_url_and_location_fallback() {
    let c = one(vec![
        entry(
            "GET",
            "https://example.com/a/b/start",
            301,
            &[],
            "../files/x.tar.gz",
        ),
        entry(
            "GET",
            "https://example.com/a/files/x.tar.gz",
            307,
            &[("Location", "/mirror/x.tar.gz#frag")],
            "",
        ),
        download(
            "https://example.com/mirror/x.tar.gz",
            "application/gzip",
            "9999999",
        ),
    ]);
    assert_eq!(c.first_url, "https://example.com/a/b/start");
    assert_eq!(c.final_url, "https://example.com/mirror/x.tar.gz");
}

#[test]
fn redirect_to_same_url_links_to_the_next_request() {
    let url = "https://example.com/get";
    let c = one(vec![
        entry("GET", url, 302, &[("Set-Cookie", "a=1\nb=2")], url),
        download(url, "application/octet-stream", "4000000"),
    ]);
    assert_eq!((c.entry, c.first_url.as_str()), (1, url));
    // A bounce to itself with nothing after it is a dead end, not a loop.
    let a = analyse(
        &har_of(&har_json(vec![entry("GET", url, 302, &[], url)])),
        false,
    );
    assert_eq!(
        a.skipped[0].reason,
        "redirect (302) to https://example.com/get, which is not in the capture"
    );
}

#[test]
fn internal_redirect_is_not_the_chain_start() {
    let mut hsts = entry(
        "GET",
        "http://example.com/f.bin",
        307,
        &[("Non-Authoritative-Reason", "HSTS")],
        "https://example.com/f.bin",
    );
    hsts["response"]["statusText"] = json!("Internal Redirect");
    let c = one(vec![
        hsts,
        download(
            "https://example.com/f.bin",
            "application/octet-stream",
            "5000000",
        ),
    ]);
    assert_eq!(c.first_url, "https://example.com/f.bin");
    assert!(!c.why.contains("via"));
}

fn ambiguous_pair() -> Analysis {
    analyse(
        &har_of(&har_json(vec![
            download("https://a.example/Alpha.zip", "application/zip", "10000000"),
            download("https://b.example/Beta.zip", "application/zip", "12000000"),
            plain("https://a.example/index.html", "text/html", "3000"),
        ])),
        false,
    )
}

#[test]
fn ambiguity_pick_and_match() {
    let a = ambiguous_pair();
    assert_eq!(a.candidates.len(), 2);
    assert_eq!(a.candidates[0].entry, 1, "bigger first");
    let err = pick(&a, &Pick::Auto).unwrap_err();
    assert!(matches!(&err, PickError::Ambiguous(l) if l.len() == 2));
    assert_eq!(
        err.to_string(),
        "2 entries look like downloads; choose one with --pick N or --match TEXT"
    );
    assert_eq!(pick(&a, &Pick::Index(2)).unwrap().entry, 0);
    assert_eq!(pick(&a, &Pick::Index(1)).unwrap().entry, 1);
    for n in [0, 3] {
        let err = pick(&a, &Pick::Index(n)).unwrap_err();
        assert!(matches!(err, PickError::NoSuchIndex { n: m, count: 2 } if m == n));
        assert!(err.to_string().contains("use 1 to 2"));
    }
    assert_eq!(pick(&a, &Pick::Match("ALPHA".into())).unwrap().entry, 0);
    assert!(
        matches!(pick(&a, &Pick::Match(".zip".into())), Err(PickError::Ambiguous(l)) if l.len() == 2)
    );
    let err = pick(&a, &Pick::Match("gamma".into())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no candidate URL contains \"gamma\"; run without --match to list the candidates"
    );
}

#[test]
fn auto_picks_a_clear_winner() {
    // The only attachment against a same-size octet-stream.
    let c = one(vec![
        plain(
            "https://a.example/blob",
            "application/octet-stream",
            "20000000",
        ),
        download(
            "https://a.example/get",
            "application/octet-stream",
            "20000000",
        ),
    ]);
    assert_eq!(c.entry, 1);
    // Much larger than the next.
    let c = one(vec![
        download("https://a.example/small.zip", "application/zip", "10000000"),
        download("https://a.example/big.zip", "application/zip", "2000000000"),
    ]);
    assert_eq!(c.entry, 1);
}

#[test]
fn range_requests_of_one_video_are_one_candidate() {
    let part = |range: &str, len: &str| {
        entry(
            "GET",
            "https://v.example/movie.mp4",
            206,
            &[
                ("Content-Type", "video/mp4"),
                ("Content-Range", range),
                ("Content-Length", len),
            ],
            "",
        )
    };
    let a = analyse(
        &har_of(&har_json(vec![
            part("bytes 0-1048575/734003200", "1048576"),
            part("bytes 1048576-2097151/734003200", "1048576"),
        ])),
        false,
    );
    assert_eq!(a.candidates.len(), 1);
    assert_eq!(a.candidates[0].size, Some(734_003_200));
    assert_eq!(a.candidates[0].why, "700.0 MiB; video/mp4; HTTP 206");
    assert_eq!(a.skipped[0].reason, "same URL as entry 0 (kept that one)");
}

#[test]
fn download_the_browser_aborted_is_still_a_candidate() {
    let mut e = download("https://a.example/f.msi", "application/x-msi", "30000000");
    e["response"]["_error"] = json!("net::ERR_ABORTED");
    let c = one(vec![e]);
    assert!(
        c.why.ends_with("browser reported net::ERR_ABORTED"),
        "{}",
        c.why
    );
}

#[test]
fn a_chain_of_thousands_of_hops_is_followed_end_to_end() {
    // A server bouncing through 20,000 redirects (two alternating URLs, so every URL appears
    // 10,000 times): linking and reporting must stay linear, not rescan the chain per hop.
    const HOPS: usize = 20_000;
    let url = |i: usize| format!("https://example.com/bounce/{}", i % 2);
    let mut entries: Vec<Value> = (0..HOPS)
        .map(|i| entry("GET", &url(i), 302, &[], &url(i + 1)))
        .collect();
    entries.push(download(&url(HOPS), "application/zip", "4096"));
    let a = analyse(&har_of(&har_json(entries)), false);
    let c = pick(&a, &Pick::Auto).unwrap();
    assert_eq!(c.entry, HOPS);
    assert_eq!(c.first_url, url(0));
    assert_eq!(c.final_url, url(HOPS));
    assert!(
        c.why.ends_with(&format!("via {HOPS} redirects")),
        "{}",
        c.why
    );
    assert_eq!(a.skipped.len(), HOPS);
    let chain_end = format!("(chain ends at entry {HOPS})");
    assert!(a.skipped.iter().all(|s| s.reason.ends_with(&chain_end)));
}

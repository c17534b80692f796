//! Tests on the real exports in tests/data/har. None of them holds a real download, so
//! besides checking each quirk as captured, some tests patch one entry into an
//! attachment to see the chain and header logic work on real data.

use serde_json::json;

use super::*;
use crate::har::chain;
use crate::har::classify::body_size;
use crate::har::{pick, Pick, PickError};

fn skip_reason(a: &Analysis, entry: usize) -> &str {
    let s = a.skipped.iter().find(|s| s.entry == entry);
    &s.unwrap_or_else(|| panic!("entry {entry} not skipped: {a:?}"))
        .reason
}

#[test]
fn every_file_parses_and_every_entry_is_accounted_for() {
    for name in CORPUS {
        let har = parse(&corpus_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            har.entries.iter().all(Result::is_ok),
            "{name}: an entry failed to decode"
        );
        for allow_cookies in [false, true] {
            let a = analyse(&har, allow_cookies);
            let mut seen: Vec<usize> = a
                .candidates
                .iter()
                .map(|c| c.entry)
                .chain(a.skipped.iter().map(|s| s.entry))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..har.entries.len()).collect::<Vec<_>>(), "{name}");
            assert!(
                a.skipped
                    .iter()
                    .all(|s| !s.reason.is_empty() && s.url.is_some()),
                "{name}"
            );
            // Finding: no corpus file captures an actual file download.
            assert!(a.candidates.is_empty(), "{name}: {:?}", a.candidates);
            let err = pick(&a, &Pick::Auto).unwrap_err();
            assert!(
                matches!(err, PickError::NoCandidate { skipped } if skipped == har.entries.len()),
                "{name}"
            );
        }
    }
}

#[test]
fn bom_file_parses() {
    let bytes = corpus_bytes("mitmproxy-with-bom.har");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let har = parse(&bytes).unwrap();
    assert_eq!(har.version.as_deref(), Some("1.2"));
    assert_eq!(har.creator.as_deref(), Some("WebInspector"));
    let a = analyse(&har, false);
    assert!(skip_reason(&a, 0).starts_with("POST request"), "{a:?}");
}

#[test]
fn har_1_1_with_null_time() {
    let har = parse(&corpus_bytes("gatling-firefox56-redirect-post.har")).unwrap();
    assert_eq!(har.version.as_deref(), Some("1.1"));
    assert_eq!(har.entries[0].as_ref().unwrap().time, None);
    assert_eq!(har.entries[1].as_ref().unwrap().time, Some(59.0));
}

#[test]
fn chrome_failed_request_304_base64_and_h3() {
    let har = parse(&corpus_bytes("mitmproxy-chrome.har")).unwrap();
    let e0 = har.entries[0].as_ref().unwrap();
    assert_eq!(
        e0.response
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .encoding
            .as_deref(),
        Some("base64")
    );
    let a = analyse(&har, true);
    assert!(skip_reason(&a, 0).starts_with("304"));
    assert_eq!(
        skip_reason(&a, 1),
        "request failed (net::ERR_INTERNET_DISCONNECTED)"
    );
    assert_eq!(skip_reason(&a, 2), "image (image/png, 6.9 KiB)");
}

#[test]
fn firefox_cached_entries_without_sizes() {
    let har = parse(&corpus_bytes("mitmproxy-firefox.har")).unwrap();
    let e1 = har.entries[1].as_ref().unwrap();
    assert!(e1
        .response
        .as_ref()
        .unwrap()
        .content
        .as_ref()
        .unwrap()
        .size
        .is_none());
    assert_eq!(body_size(e1), None); // content.size absent, bodySize -1
    let a = analyse(&har, false);
    assert_eq!(skip_reason(&a, 1), "image (image/png, size unknown)");
    assert!(skip_reason(&a, 6).starts_with("script, text/javascript"));
    assert!(skip_reason(&a, 11).starts_with("API response, application/xml"));
    assert_eq!(skip_reason(&a, 13), "favicon (95.8 KiB)");
}

#[test]
fn head_request_is_not_a_download_but_its_get_would_be() {
    let mut v = corpus_json("mitmproxy-head-content-length.har");
    let har = har_of(&v);
    let a = analyse(&har, false);
    assert!(skip_reason(&a, 0).starts_with("HEAD request"));
    // content.size is 0 for HEAD; Content-Length tells the real size.
    assert_eq!(body_size(har.entries[0].as_ref().unwrap()), Some(78258));
    entry_mut(&mut v, 0)["request"]["method"] = json!("GET");
    let a = analyse(&har_of(&v), false);
    let c = pick(&a, &Pick::Auto).unwrap();
    assert_eq!(c.size, Some(78258));
    assert_eq!(c.mime_type.as_deref(), Some("application/octet-stream"));
    assert!(c.final_url.ends_with("/tqdm-4.66.1-py3-none-any.whl"));
    assert_eq!(c.first_url, c.final_url);
    assert_eq!(
        c.headers,
        vec![
            ("User-Agent".into(), "puffin".into()),
            ("Accept".into(), "*/*".into())
        ]
    );
    assert_eq!(c.why, "76.4 KiB; application/octet-stream");
}

#[test]
fn pagexray_chain_with_same_url_bounce() {
    let mut v = corpus_json("pagexray-redirect-arcelormittal.com.har");
    let links = chain::link(&har_of(&v));
    // 301 -> 301 -> 302 to itself (cookie bounce) -> 302 -> 200
    assert_eq!(links.next[..5], [Some(1), Some(2), Some(3), Some(4), None]);
    assert_eq!(links.chain_to(4), vec![0, 1, 2, 3, 4]);
    let a = analyse(&har_of(&v), false);
    assert!(skip_reason(&a, 2).contains("followed to entry 3 (chain ends at entry 4)"));
    assert_eq!(
        skip_reason(&a, 4),
        "HTML page, text/html (20.1 KiB) (after 4 redirects)"
    );
    // Fonts served as octet-stream attachments are still fonts; banner JPEGs are decoration.
    assert_eq!(skip_reason(&a, 32), "font (23.5 KiB)");
    assert!(skip_reason(&a, 28).starts_with("image (image/jpeg, 296.9 KiB)"));

    make_download(&mut v, 4, "report.zip", "application/zip", 50 << 20);
    for allow_cookies in [false, true] {
        let c = pick(&analyse(&har_of(&v), allow_cookies), &Pick::Auto).unwrap();
        assert_eq!(
            (c.entry, c.first_url.as_str()),
            (4, "http://www.arcelormittal.com/")
        );
        assert_eq!(c.final_url, "http://m.corporate.arcelormittal.com/");
        assert_eq!(
            c.why,
            "attachment; 50.0 MiB; application/zip; via 4 redirects"
        );
        let names: Vec<&str> = c.headers.iter().map(|(n, _)| n.as_str()).collect();
        // Set-Cookie (joined with a newline in this capture) is never replayed.
        let expect: &[&str] = if allow_cookies {
            &["User-Agent", "Accept", "Cookie"]
        } else {
            &["User-Agent", "Accept"]
        };
        assert_eq!(names, expect);
        assert_eq!(c.secrets, allow_cookies);
        if allow_cookies {
            assert!(c.headers[2]
                .1
                .ends_with("nlbi_475759=/wVjdRzjy1SA7O3KtxEiwwAAAAAzWCaDj7erQxiVfD9JYegD"));
            assert!(!format!("{c:?}").contains("nlbi_475759"));
        }
    }
}

#[test]
fn pagexray_internal_redirect_is_transparent() {
    let mut v = corpus_json("pagexray-redirect-arcelormittal.com.har");
    let a = analyse(&har_of(&v), false);
    assert!(skip_reason(&a, 35).starts_with(
        "internal redirect (browser-synthesised) to https://www.google-analytics.com/ga.js"
    ));
    // 37 (synthetic 307) -> 38 (302) -> 39: one real redirect.
    assert!(
        skip_reason(&a, 39).ends_with("(after 1 redirect)"),
        "{}",
        skip_reason(&a, 39)
    );

    make_download(&mut v, 36, "ga.zip", "application/zip", 3 << 20);
    let c = pick(&analyse(&har_of(&v), false), &Pick::Auto).unwrap();
    assert_eq!(c.entry, 36);
    assert_eq!(c.first_url, "https://www.google-analytics.com/ga.js");
    assert_eq!(c.final_url, c.first_url);
    assert!(!c.why.contains("via"));
    // h2 capture: pseudo-headers dropped, lower-case names normalised.
    assert_eq!(
        c.headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["User-Agent", "Referer", "Accept"]
    );
}

#[test]
fn playwright_chain_pseudo_headers_and_cookies() {
    let mut v = corpus_json("playwright-har-redirect.har");
    assert_eq!(chain::link(&har_of(&v)).chain_to(2), vec![0, 1, 2]);
    make_download(
        &mut v,
        2,
        "verge.iso",
        "application/x-iso9660-image",
        700 << 20,
    );
    let plain = pick(&analyse(&har_of(&v), false), &Pick::Auto).unwrap();
    assert_eq!(plain.first_url, "https://theverge.com/");
    assert_eq!(plain.final_url, "https://www.theverge.com/");
    let names: Vec<&str> = plain.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["User-Agent", "Accept", "Accept-Language"]);
    assert!(!plain.secrets);

    let with = pick(&analyse(&har_of(&v), true), &Pick::Auto).unwrap();
    let cookie = with.headers.iter().find(|(n, _)| n == "Cookie").unwrap();
    assert_eq!(
        cookie.1,
        "vmidv1=9faf31ab-1415-4b90-b367-24b670205f41; _chorus_geoip_continent=NA"
    );
    assert!(with.secrets);
    assert!(!format!("{with:?}").contains("9faf31ab"));
    assert!(with
        .headers
        .iter()
        .all(|(n, _)| !n.eq_ignore_ascii_case("set-cookie")));
}

#[test]
fn gatling_post_303_relative_redirect() {
    for name in [
        "gatling-chrome61-redirect-post.har",
        "gatling-firefox56-redirect-post.har",
    ] {
        let mut v = corpus_json(name);
        let links = chain::link(&har_of(&v));
        assert_eq!(
            links.next[0],
            Some(1),
            "{name}: relative redirectURL \"/computers\""
        );
        assert_eq!(
            links.target[0].as_ref().unwrap().as_str(),
            "http://computer-database.gatling.io/computers"
        );
        make_download(&mut v, 1, "computers.csv", "text/csv", 2 << 20);
        let c = pick(&analyse(&har_of(&v), true), &Pick::Auto).unwrap();
        // The chain starts with a POST: first_url is the GET after it.
        assert_eq!(c.first_url, "http://computer-database.gatling.io/computers");
        assert!(c.why.ends_with("via 1 redirect"), "{name}: {}", c.why);
        // Firefox's `cookies` array is empty beside the Cookie header: the header wins.
        let cookie = &c.headers.iter().find(|(n, _)| n == "Cookie").unwrap().1;
        assert!(
            cookie.starts_with("_ga=GA1.2.") && cookie.contains("PLAY_FLASH="),
            "{name}"
        );
        let no = pick(&analyse(&har_of(&v), false), &Pick::Auto).unwrap();
        assert!(no.headers.iter().all(|(n, _)| n != "Cookie") && !no.secrets);
        assert!(no
            .headers
            .iter()
            .any(|(n, v)| n == "Referer" && v.ends_with("/computers/new")));
    }
}

//! Unit tests of the pieces: header fates, header replay (incl. a Cookie rebuilt from a
//! corpus `cookies` array), redaction, sizes, scores.

use serde_json::json;

use super::*;
use crate::har::classify::{self, human_size, mime_essence, Facts};
use crate::har::headers::{fate, Fate};
use crate::har::{pick, Candidate, Pick, PickError};

#[test]
fn header_fates() {
    for carried in ["user-agent", "REFERER", "Accept", "accept-language"] {
        assert!(matches!(fate(carried), Fate::Carry(_)), "{carried}");
    }
    assert_eq!(fate("user-agent"), Fate::Carry("User-Agent"));
    assert_eq!(fate("cookie"), Fate::Secret("Cookie"));
    assert_eq!(fate("AUTHORIZATION"), Fate::Secret("Authorization"));
    for dropped in [
        ":authority",
        ":method",
        ":path",
        ":scheme",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
        "Range",
        "If-Range",
        "Accept-Encoding",
        "Content-Length",
        "Content-Type",
        "Origin",
        "If-None-Match",
        "If-Modified-Since",
        "Set-Cookie",
        "sec-fetch-mode",
        "sec-ch-ua",
        "X-Client-Data",
        "DNT",
        "Cache-Control",
        "Pragma",
        "Upgrade-Insecure-Requests",
    ] {
        assert_eq!(fate(dropped), Fate::Drop, "{dropped}");
    }
}

#[test]
fn replay_joins_split_cookies_and_rejects_header_injection() {
    let mut e = download("https://a.example/f.zip", "application/zip", "9000000");
    e = with_req_header(e, "cookie", "a=1");
    e = with_req_header(e, "cookie", "b=2");
    e = with_req_header(e, "authorization", "Bearer s3cr3t");
    e = with_req_header(e, "Referer", "https://evil.example/\r\nX-Injected: 1");
    e = with_req_header(e, ":path", "/f.zip");
    e = with_req_header(e, "Range", "bytes=0-");
    let har = har_of(&har_json(vec![e]));
    let c = pick(&analyse(&har, true), &Pick::Auto).unwrap();
    assert_eq!(
        c.headers,
        vec![
            ("User-Agent".into(), "TestAgent/1.0".into()),
            ("Cookie".into(), "a=1; b=2".into()),
            ("Authorization".into(), "Bearer s3cr3t".into()),
        ]
    );
    assert!(c.secrets);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("s3cr3t") && !dbg.contains("a=1"), "{dbg}");
    assert!(
        dbg.contains("<redacted 13 bytes>") && dbg.contains("TestAgent/1.0"),
        "{dbg}"
    );
    let amb = PickError::Ambiguous(vec![c.clone(), c]);
    assert!(!format!("{amb:?}").contains("s3cr3t"));
    let no = pick(&analyse(&har, false), &Pick::Auto).unwrap();
    assert_eq!(
        no.headers,
        vec![("User-Agent".to_owned(), "TestAgent/1.0".to_owned())]
    );
    assert!(!no.secrets);
}

#[test]
fn model_debug_redacts_credentials() {
    let mut e = with_req_header(
        plain("https://a.example/", "text/html", "5"),
        "Cookie",
        "sid=TOPSECRET",
    );
    e["request"]["cookies"] = json!([{"name": "sid", "value": "TOPSECRET"}]);
    let har = har_of(&har_json(vec![e]));
    let dbg = format!("{har:?}");
    assert!(
        !dbg.contains("TOPSECRET") && dbg.contains("\"sid\""),
        "{dbg}"
    );
}

#[test]
fn missing_headers_fall_back_to_earlier_hops_but_cookies_do_not() {
    let mut hop = entry(
        "GET",
        "https://a.example/go",
        302,
        &[],
        "https://b.example/f.zip",
    );
    hop = with_req_header(hop, "Referer", "https://a.example/page");
    hop = with_req_header(hop, "Cookie", "hop=1");
    let mut last = download("https://b.example/f.zip", "application/zip", "9000000");
    last["request"]["headers"] = json!([{"name": "Accept", "value": "*/*"}]);
    let c = pick(
        &analyse(&har_of(&har_json(vec![hop, last])), true),
        &Pick::Auto,
    )
    .unwrap();
    let names: Vec<&str> = c.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["User-Agent", "Referer", "Accept"]);
    assert!(!c.secrets);
}

#[test]
fn sizes_and_mime() {
    assert_eq!(human_size(0), "0 B");
    assert_eq!(human_size(1023), "1023 B");
    assert_eq!(human_size(1536), "1.5 KiB");
    assert_eq!(human_size(5 << 30), "5.0 GiB");
    assert_eq!(
        mime_essence(Some("Application/ZIP; charset=binary")).as_deref(),
        Some("application/zip")
    );
    assert_eq!(mime_essence(Some("x-unknown")), None);
    assert_eq!(mime_essence(Some("")), None);
    let negative = plain("https://a.example/f.bin", "application/octet-stream", "-5");
    let mut negative = negative;
    negative["response"]["bodySize"] = json!(-116);
    let har = har_of(&har_json(vec![negative]));
    assert_eq!(classify::body_size(har.entries[0].as_ref().unwrap()), None);
}

fn score(
    mime: &str,
    disposition: Option<&str>,
    size: Option<u64>,
    url: &str,
) -> Result<i32, String> {
    let facts = Facts {
        method: "GET".into(),
        status: Some(200),
        mime: mime_essence(Some(mime)),
        disposition: disposition.map(str::to_owned),
        size,
        ..Facts::default()
    };
    classify::classify(&facts, &url::Url::parse(url).unwrap()).map(|(s, _)| s)
}

#[test]
fn scoring_rules() {
    let u = "https://a.example/file";
    // 1 MiB of octet-stream: 60 type + 100 size.
    assert_eq!(
        score("application/octet-stream", None, Some(1 << 20), u),
        Ok(160)
    );
    assert_eq!(
        score(
            "application/octet-stream",
            Some("attachment"),
            Some(1 << 20),
            u
        ),
        Ok(310)
    );
    assert_eq!(
        score(
            "application/zip",
            None,
            Some(1 << 30),
            "https://a.example/x.zip"
        ),
        Ok(290)
    );
    assert_eq!(score("video/mp4", None, None, u), Ok(50));
    assert_eq!(score("image/jpeg", None, Some(5 << 20), u), Ok(133));
    assert_eq!(
        score(
            "application/pdf",
            Some("inline; filename=\"a.pdf\""),
            Some(1 << 20),
            u
        ),
        Ok(220)
    );
    // Attachments override the web-page filters, not the font/favicon/empty ones.
    assert!(score(
        "text/html",
        Some("attachment; filename=page.html"),
        Some(9000),
        u
    )
    .is_ok());
    assert!(score("application/json", Some("attachment"), Some(9000), u).is_ok());
    assert_eq!(
        score(
            "application/octet-stream",
            Some("attachment; filename*=UTF-8''f%C3%A9.woff2"),
            Some(9000),
            u
        ),
        Err("font (8.8 KiB)".into())
    );
    assert_eq!(
        score("font/woff2", None, Some(9000), u),
        Err("font (8.8 KiB)".into())
    );
    assert_eq!(
        score("application/zip", Some("attachment"), Some(0), u),
        Err("empty body".into())
    );
    assert_eq!(
        score("image/x-icon", None, Some(9000), u),
        Err("favicon (8.8 KiB)".into())
    );
    assert!(score("application/vnd.apple.mpegurl", None, Some(9000), u)
        .unwrap_err()
        .starts_with("streaming manifest"));
    assert!(score("video/mp2t", None, Some(900_000), u)
        .unwrap_err()
        .starts_with("media segment"));
    assert_eq!(
        score("application/octet-stream", None, Some(500), u),
        Err("tiny response (500 B)".into())
    );
    assert_eq!(
        score("text/css", None, Some(5000), u),
        Err("stylesheet, text/css (4.9 KiB)".into())
    );
    assert_eq!(
        score("application/json", None, Some(5000), u),
        Err("API response, application/json (4.9 KiB)".into())
    );
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    assert_eq!(score(xlsx, None, Some(1 << 20), u), Ok(160));
    assert_eq!(score("image/svg+xml", None, Some(2 << 20), u), Ok(120));
    assert!(score("application/ld+json", None, Some(5000), u)
        .unwrap_err()
        .starts_with("API"));
    assert!(score("text/xml", None, Some(5000), u)
        .unwrap_err()
        .starts_with("API"));
    assert_eq!(
        score("image/png", None, Some(900_000), u),
        Err("image (image/png, 878.9 KiB)".into())
    );
}

#[test]
fn pick_on_an_empty_analysis() {
    let a = Analysis::default();
    for how in [Pick::Auto, Pick::Index(1), Pick::Match("x".into())] {
        assert!(matches!(
            pick(&a, &how),
            Err(PickError::NoCandidate { skipped: 0 })
        ));
    }
    let one: Vec<Candidate> = Vec::new();
    assert_eq!(PickError::Ambiguous(one).to_string().lines().count(), 1);
}

#[test]
fn cookie_rebuilt_from_array_when_header_absent() {
    let mut v = corpus_json("gatling-chrome61-redirect-post.har");
    make_download(&mut v, 1, "computers.csv", "text/csv", 2 << 20);
    let headers = entry_mut(&mut v, 1)["request"]["headers"]
        .as_array_mut()
        .unwrap();
    headers.retain(|h| h["name"] != "Cookie");
    let c = pick(&analyse(&har_of(&v), true), &Pick::Auto).unwrap();
    let cookie = &c.headers.iter().find(|(n, _)| n == "Cookie").unwrap().1;
    assert_eq!(
        cookie,
        "_ga=GA1.2.792303348.1499639945; _gid=GA1.2.416588724.1508401824; \
         PLAY_FLASH=\"success=Computer+Foo+has+been+created\""
    );
}

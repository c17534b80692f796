//! Tests of `parse` and lenient decoding on hand-written input: not JSON, not HAR,
//! no entries, odd entries, other encodings.

use serde_json::json;

use super::*;
use crate::har::{pick, HarError, Pick, PickError};

#[test]
fn not_json_reports_line_and_column() {
    let err = parse(b"{\n  \"log\": {\n    \"entries\": [,]\n  }\n}").unwrap_err();
    let HarError::Json { line, column, msg } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*line, *column), (3, 17));
    assert_eq!(msg, "expected value");
    assert_eq!(
        err.to_string(),
        "not valid JSON at line 3, column 17: expected value"
    );
    assert!(matches!(parse(b""), Err(HarError::Json { line: 1, .. })));
    assert!(matches!(
        parse(b"\xEF\xBB\xBF<html>"),
        Err(HarError::Json {
            line: 1,
            column: 1,
            ..
        })
    ));
}

#[test]
fn json_but_not_har() {
    for (text, needle) in [
        (
            "[1, 2]",
            "the top level is an array, not an object with a \"log\" member",
        ),
        ("\"log\"", "the top level is a string"),
        ("-1.5", "the top level is a number"),
        ("{\"foo\": 1}", "no \"log\" object"),
        ("{\"log\": null}", "no \"log\" object"),
        ("{\"log\": {\"version\": \"1.2\"}}", "no \"entries\" array"),
        (
            "{\"log\": {\"entries\": 5}}",
            "invalid type: integer `5`, expected a sequence",
        ),
        ("{\"log\": 3}", "expected a HAR \"log\" object"),
    ] {
        match parse(text.as_bytes()) {
            Err(HarError::NotHar(msg)) => assert!(msg.contains(needle), "{text}: {msg}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn no_entries_and_no_candidate() {
    let err = parse(br#"{"log": {"version": "1.2", "entries": []}}"#).unwrap_err();
    assert!(matches!(err, HarError::NoEntries));
    let a = analyse(
        &har_of(&har_json(vec![plain(
            "https://a.example/",
            "text/html",
            "9000",
        )])),
        false,
    );
    let err = pick(&a, &Pick::Match("a".into())).unwrap_err();
    assert!(matches!(err, PickError::NoCandidate { skipped: 1 }));
    assert!(err
        .to_string()
        .starts_with("no entry looks like a file download (1 entry skipped)"));
}

#[test]
fn odd_entries_are_skipped_with_reasons() {
    let mut weird = download("https://a.example/w.zip", "application/zip", "x");
    weird["response"]["status"] = json!("200");
    weird["response"]["bodySize"] = json!(-1.5);
    weird["response"]["content"]["size"] = json!(3.0e7);
    weird["time"] = json!(null);
    let mut bad_type = plain("https://a.example/r", "text/plain", "1");
    bad_type["response"] = json!("oops");
    let v = har_json(vec![
        json!("not an entry"),
        json!({}),
        plain("data:image/png;base64,AAAA", "image/png", "3"),
        plain("chrome-extension://abc/x.js", "text/javascript", "3"),
        plain("not a url", "text/plain", "3"),
        bad_type,
        weird,
        entry(
            "POST",
            "https://a.example/api",
            200,
            &[("Content-Type", "application/zip")],
            "",
        ),
        plain("https://a.example/gone.zip", "application/zip", "100000"),
    ]);
    let a = analyse(&har_of(&v), false);
    let reasons: Vec<&str> = a.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons[0], "entry is not an object (a string)");
    assert_eq!(reasons[1], "entry has no request URL");
    assert_eq!(reasons[2], "not an http(s) URL (data:)");
    assert_eq!(reasons[3], "not an http(s) URL (chrome-extension:)");
    assert_eq!(reasons[4], "request URL is not a valid absolute URL");
    assert!(
        reasons[5].starts_with("malformed entry: invalid type: string \"oops\""),
        "{}",
        reasons[5]
    );
    assert_eq!(
        reasons[6],
        "POST request: only GET downloads can be replayed"
    );
    let sizes: Vec<(usize, Option<u64>)> = a.candidates.iter().map(|c| (c.entry, c.size)).collect();
    assert_eq!(sizes, [(6, Some(30_000_000)), (8, Some(100_000))]);
}

#[test]
fn utf16_and_invalid_utf8_are_tolerated() {
    let text = serde_json::to_string(&har_json(vec![download(
        "https://a.example/é.zip",
        "application/zip",
        "5000",
    )]))
    .unwrap();
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for bytes in [le, be] {
        assert_eq!(parse(&bytes).unwrap().entries.len(), 1);
    }
    let mut broken = text.into_bytes();
    let at = broken.windows(9).position(|w| w == b"a.example").unwrap();
    broken.insert(at, 0xFF); // not UTF-8: becomes U+FFFD
    assert_eq!(parse(&broken).unwrap().entries.len(), 1);
}

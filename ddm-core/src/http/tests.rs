//! Unit tests of handle setup helpers: secrets in `Debug`, credential scope, head parsing.

#[test]
fn debug_shows_no_secret() {
    let cfg = crate::config::Config::default();
    let mut o = HttpOptions::from_config(
        &cfg,
        vec![crate::model::Header::new(
            "Authorization",
            "Bearer hdr-secret",
        )],
        false,
    )
    .scoped_to("https://u:url-secret@a.example/f")
    .with_network(&crate::model::Network {
        proxy: Some("http://p:proxy-secret@proxy.example:3128".into()),
        ..Default::default()
    });
    o.cookies =
        crate::cookies::parse("a.example\tFALSE\t/\tFALSE\t0\tsid\tcookie-secret\n", 0).cookies;
    let shown = format!("{o:?}");
    for secret in ["hdr-secret", "url-secret", "proxy-secret", "cookie-secret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

use super::*;
use crate::model::Header;
use crate::retry::Failure;
use std::time::Duration;

#[test]
fn credentials_stay_with_their_origin() {
    let mut marked = Header::new("X-Session", "m");
    marked.secret = true;
    let o = HttpOptions {
        user_agent: "t".into(),
        headers: vec![
            Header::new("Cookie", "s=1"),
            Header::new("Referer", "r"),
            marked,
        ],
        connect_timeout: Duration::from_secs(1),
        stall_timeout: Duration::from_secs(1),
        insecure: false,
        scope: None,
        userinfo: None,
        cookies: Vec::new(),
        proxy: None,
        noproxy: None,
        cacert: None,
        capath: None,
        http1: false,
    }
    .scoped_to("https://u:p%40ss@a.example/start");
    assert_eq!(o.userinfo, Some(("u".into(), "p@ss".into())));
    let names = |u: &str| {
        o.headers_for(&url::Url::parse(u).unwrap())
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("https://a.example/f?sig=1").len(), 3);
    for other in [
        "https://cdn.example/f",
        "http://a.example/f",
        "https://a.example:8443/f",
    ] {
        assert_eq!(names(other), vec!["Referer".to_string()], "{other}");
    }
}

#[test]
fn head_keeps_only_last_response() {
    let mut h = Head::default();
    for l in [
        "HTTP/1.1 302 Found\r\n",
        "Location: /b\r\n",
        "\r\n",
        "HTTP/1.1 206 Partial Content\r\n",
        "Content-Range: bytes 0-0/1234\r\n",
        "ETag: \"x\"\r\n",
        "\r\n",
    ] {
        h.feed(l.as_bytes());
    }
    assert_eq!(h.status, 206);
    assert!(h.complete);
    assert_eq!(h.get("location"), None);
    assert_eq!(h.get("etag"), Some("\"x\""));
    assert_eq!(
        h.content_range(),
        Some(ContentRange {
            first: 0,
            last: 0,
            total: Some(1234)
        })
    );
}

#[test]
fn http2_status_lines_have_no_reason_phrase() {
    let mut h = Head::default();
    for l in [
        "HTTP/2 206\r\n",
        "content-range: bytes 0-0/1234\r\n",
        "\r\n",
    ] {
        h.feed(l.as_bytes());
    }
    assert_eq!((h.version.as_str(), h.status), ("HTTP/2", 206));
    assert!(h.complete);
    assert_eq!(h.content_range().unwrap().total, Some(1234));
}

#[test]
fn http2_errors_are_resets() {
    for code in [curl_sys::CURLE_HTTP2, curl_sys::CURLE_HTTP2_STREAM] {
        assert_eq!(
            classify_curl(&curl::Error::new(code)),
            Failure::Reset,
            "{code}"
        );
    }
}

#[test]
fn latin1_header_bytes_keep_their_characters() {
    let mut h = Head::default();
    h.feed(b"HTTP/1.1 200 OK\r\n");
    h.feed(b"Content-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"\r\n");
    let cd = h.get("content-disposition").unwrap();
    assert_eq!(
        crate::filename::from_content_disposition(cd).as_deref(),
        Some("r\u{e9}sum\u{e9}.pdf")
    );
}

#[test]
fn content_range_parsing() {
    assert_eq!(
        parse_content_range("bytes 100-199/1000"),
        Some(ContentRange {
            first: 100,
            last: 199,
            total: Some(1000)
        })
    );
    assert_eq!(parse_content_range("bytes 0-9/*").unwrap().total, None);
    for bad in [
        "bytes */1000",
        "bytes 10-5/100",
        "bytes 0-100/100",
        "items 0-1/2",
        "bytes a-b/c",
        "garbage",
        "",
    ] {
        assert_eq!(parse_content_range(bad), None, "{bad}");
    }
}

#[test]
fn encoding_detection() {
    let mut h = Head::default();
    h.feed(b"HTTP/1.1 200 OK\r\n");
    assert_eq!(h.encoded(), None);
    h.feed(b"Content-Encoding: identity\r\n");
    assert_eq!(h.encoded(), None);
    h.feed(b"Content-Encoding: gzip\r\n");
    assert_eq!(h.encoded(), Some("gzip"));
}

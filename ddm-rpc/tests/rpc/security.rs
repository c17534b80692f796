//! Secure by default: the token, CORS, page origins on WebSocket, body limits, malformed
//! input, and floods of connections that must not take the service down.

use crate::client::*;
use crate::mock::{job, view, Mock};
use ddm_core::store::JobState;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn a_wrong_or_missing_token_is_unauthorized_after_a_delay_that_holds_no_one_else_back() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    let addr = s.addr;
    for params in [
        json!(["token:wrong", "0000000000000001"]),
        json!(["0000000000000001"]),
        json!([format!("token:{SECRET}x"), "0000000000000001"]),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "aria2.pause", "params": params});
        // While one client waits for its refusal, another is answered: before it.
        let t = Instant::now();
        let bad = std::thread::spawn(move || (post(addr, &body.to_string(), &[]), t.elapsed()));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(ok(addr, "aria2.getVersion", json!([]))["version"], "0.1.0");
        let other = t.elapsed();
        let (r, waited) = bad.join().unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["error"],
            json!({"code": 1, "message": "Unauthorized"})
        );
        assert!(
            waited >= Duration::from_millis(450),
            "answered after {waited:?}"
        );
        assert!(
            other < waited && other < Duration::from_millis(450),
            "another client was answered after {other:?}, the refused one after {waited:?}"
        );
    }
    // A refused call inside a multicall delays the whole answer and does nothing.
    let body = json!({"id": 1, "method": "system.multicall", "params": [[
        {"methodName": "aria2.pause", "params": ["token:nope", "0000000000000001"]},
        {"methodName": "aria2.getVersion", "params": [format!("token:{SECRET}")]},
    ]]});
    let t = Instant::now();
    let a = post(addr, &body.to_string(), &[]).json();
    assert!(t.elapsed() >= Duration::from_millis(450));
    assert_eq!(
        a["result"][0],
        json!({"code": 1, "message": "Unauthorized"})
    );
    assert_eq!(a["result"][1][0]["version"], "0.1.0");
    assert!(s.mock.calls().is_empty(), "{:?}", s.mock.calls());
}

#[test]
fn the_front_refuses_to_start_without_a_secret_or_with_a_bad_origin() {
    let cfg = ddm_rpc::ServeConfig::new("127.0.0.1:0".parse().unwrap(), "");
    let e = ddm_rpc::start(cfg, std::sync::Arc::new(Mock::with(vec![]))).unwrap_err();
    assert!(e.to_string().contains("token is always required"), "{e}");
    let mut cfg = ddm_rpc::ServeConfig::new("127.0.0.1:0".parse().unwrap(), SECRET);
    cfg.allow_origin = Some("localhost:6880/x".into());
    let e = ddm_rpc::start(cfg, std::sync::Arc::new(Mock::with(vec![]))).unwrap_err();
    assert!(e.to_string().contains("is not an origin"), "{e}");
    // The secret never shows in Debug.
    let cfg = ddm_rpc::ServeConfig::new("127.0.0.1:0".parse().unwrap(), SECRET);
    assert!(!format!("{cfg:?}").contains(SECRET));
}

fn preflight(addr: std::net::SocketAddr, origin: &str) -> Resp {
    let req = format!(
        "OPTIONS /jsonrpc HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,x-requested-with\r\n\r\n"
    );
    raw(addr, req.as_bytes())
}

#[test]
fn cors_headers_only_for_the_allowed_origin() {
    let page = "http://localhost:6880";
    let none = serve(Mock::with(vec![]));
    let r = preflight(none.addr, page);
    assert_eq!(r.status, 200);
    assert!(
        !r.head.to_ascii_lowercase().contains("access-control-"),
        "{}",
        r.head
    );
    let body =
        json!({"id": 1, "method": "aria2.getVersion", "params": [format!("token:{SECRET}")]})
            .to_string();
    let r = post(none.addr, &body, &[&format!("Origin: {page}")]);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let one = serve_with(Mock::with(vec![]), |c| c.allow_origin = Some(page.into()));
    let r = preflight(one.addr, page);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(page)
    );
    assert_eq!(
        r.header("access-control-allow-methods").as_deref(),
        Some("POST, GET, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers").as_deref(),
        Some("content-type,x-requested-with")
    );
    assert_eq!(
        r.header("access-control-max-age").as_deref(),
        Some("1728000")
    );
    let r = post(
        one.addr,
        &body,
        &[&format!("Origin: {page}"), "Content-Type: application/json"],
    );
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(page)
    );
    // The refusal a page reads carries the header too, so it can show "Unauthorized".
    let r = post(
        one.addr,
        r#"{"id":1,"method":"aria2.getVersion"}"#,
        &[&format!("Origin: {page}")],
    );
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(page)
    );
    // Another page (another port is another origin) gets nothing.
    let r = preflight(one.addr, "http://localhost:6881");
    assert!(
        !r.head.to_ascii_lowercase().contains("access-control-"),
        "{}",
        r.head
    );
    let r = post(one.addr, &body, &["Origin: http://evil.example"]);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let any = serve_with(Mock::with(vec![]), |c| c.allow_origin = Some("*".into()));
    let r = preflight(any.addr, "http://evil.example");
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[test]
fn a_websocket_from_a_page_that_is_not_allowed_is_refused() {
    let s = serve(Mock::with(vec![]));
    let own = format!("http://{}", s.addr);
    for page in ["http://evil.example", "https://localhost:6880", "null"] {
        match ws(s.addr, Some(page)) {
            Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403, "{page}"),
            other => panic!("{page}: not refused: {:?}", other.map(|_| ())),
        }
    }
    // Not a web page: no Origin (aria2p, node), the service's own origin (python's
    // websocket-client sends it), a browser extension.
    for origin in [
        None,
        Some(own.as_str()),
        Some("chrome-extension://abcdefghijklmnop"),
    ] {
        let mut w = ws(s.addr, origin).unwrap_or_else(|e| panic!("{origin:?}: {e}"));
        let a = ws_call(
            &mut w,
            &json!({"id": 1, "method": "system.listNotifications"}),
            &mut vec![],
        );
        assert_eq!(a["result"].as_array().unwrap().len(), 5);
    }
    let allowed = serve_with(Mock::with(vec![]), |c| {
        c.allow_origin = Some("http://localhost:6880".into())
    });
    assert!(ws(allowed.addr, Some("http://localhost:6880")).is_ok());
    assert!(ws(allowed.addr, Some("http://localhost:6881")).is_err());
}

#[test]
fn an_oversized_body_is_refused_with_413_and_nothing_is_done() {
    let s = serve_with(Mock::with(vec![]), |c| c.max_body = 64 << 10);
    let big = format!(
        r#"{{"id":1,"method":"aria2.addUri","params":["token:{SECRET}",["http://h/{}"]]}}"#,
        "a".repeat(70 << 10)
    );
    let r = post(s.addr, &big, &[]);
    assert_eq!(r.status, 413);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 65536 bytes"));
    // Chunked, with no length said in advance: cut when it passes the limit.
    let mut req = format!(
        "POST /jsonrpc HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        s.addr
    )
    .into_bytes();
    for chunk in big.as_bytes().chunks(8192) {
        req.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend(chunk);
        req.extend(b"\r\n");
    }
    req.extend(b"0\r\n\r\n");
    assert_eq!(raw(s.addr, &req).status, 413);
    assert!(s.mock.calls().is_empty());
    // Just under the limit is fine.
    let small = format!(
        r#"{{"id":1,"method":"aria2.addUri","params":["token:{SECRET}",["http://h/{}"]]}}"#,
        "a".repeat(60 << 10)
    );
    assert_eq!(post(s.addr, &small, &[]).status, 200);
}

#[test]
fn malformed_json_is_a_parse_error_and_the_next_call_works() {
    let s = serve(Mock::with(vec![]));
    for junk in ["{", "{\"id\":1,", "\u{0}\u{1}", "[{]", "", "null"] {
        let r = post(s.addr, junk, &[]);
        let code = r.json()["error"]["code"].clone();
        if junk == "null" {
            assert_eq!((r.status, code), (400, json!(-32600)));
        } else {
            assert_eq!((r.status, code), (500, json!(-32700)), "{junk:?}");
        }
    }
    let r = raw(
        s.addr,
        b"POST /jsonrpc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\n{}{}{",
    );
    assert_eq!(r.status, 400, "conflicting lengths: {}", r.head);
    let r = raw(s.addr, b"GARBAGE\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        ok(s.addr, "aria2.getVersion", json!([]))["version"],
        "0.1.0"
    );
}

#[test]
fn other_paths_and_methods_are_not_served() {
    let s = serve(Mock::with(vec![]));
    // `/` is ddm's page (issue 17); any other path is nothing.
    assert_eq!(get(s.addr, "/").status, 200);
    assert_eq!(get(s.addr, "/index.html").status, 404);
    assert_eq!(get(s.addr, "/jsonrpc/../etc/passwd").status, 404);
    let r = raw(
        s.addr,
        format!(
            "PUT /jsonrpc HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            s.addr
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 405);
}

/// Read what a connection gets within `wait`: None if it was closed with nothing.
fn answer_within(c: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    c.set_read_timeout(Some(wait)).unwrap();
    let mut out = Vec::new();
    match c.read_to_end(&mut out) {
        Ok(_) if out.is_empty() => None,
        Ok(_) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        Err(e) => panic!("nothing within {wait:?}: {e}"),
    }
}

#[test]
fn slow_headers_and_idle_connections_are_cut_while_others_are_served() {
    let s = serve_with(Mock::with(vec![]), |c| {
        c.header_timeout = Duration::from_millis(800);
        c.idle_timeout = Duration::from_millis(1500);
    });
    // A slowloris: a byte of headers every 200 ms, never done.
    let mut slow = TcpStream::connect(s.addr).unwrap();
    let t = Instant::now();
    let loris = std::thread::spawn(move || {
        for b in b"POST /jsonrpc HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        t.elapsed()
    });
    // An idle connection that never sends anything.
    let mut idle = TcpStream::connect(s.addr).unwrap();
    let t_idle = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            ok(s.addr, "aria2.getVersion", json!([]))["version"],
            "0.1.0"
        );
    }
    let cut = loris.join().unwrap();
    assert!(
        cut < Duration::from_secs(5),
        "the slow client was let write for {cut:?}"
    );
    let got = answer_within(&mut idle, Duration::from_secs(5));
    assert!(
        got.is_none_or(|g| g.starts_with(b"HTTP/1.1 408")),
        "idle connection answered"
    );
    assert!(
        t_idle.elapsed() < Duration::from_secs(4),
        "idle for {:?}",
        t_idle.elapsed()
    );
}

#[test]
fn a_flood_of_connections_past_the_cap_is_closed_and_service_resumes() {
    let s = serve_with(Mock::with(vec![]), |c| {
        c.max_connections = 8;
        c.idle_timeout = Duration::from_secs(1);
        c.header_timeout = Duration::from_secs(1);
    });
    let held: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Past the cap: closed at once, not queued forever.
    let mut extra = TcpStream::connect(s.addr).unwrap();
    let _ =
        extra.write_all(b"GET /jsonrpc?method=system.listMethods&id=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    let t = Instant::now();
    assert_eq!(answer_within(&mut extra, Duration::from_secs(3)), None);
    assert!(t.elapsed() < Duration::from_secs(1));
    // Once the idle ones are cut, everyone is served again.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        ok(s.addr, "aria2.getVersion", json!([]))["version"],
        "0.1.0"
    );
    drop(held);
}

#[test]
fn stopping_the_front_closes_its_port_and_its_sessions() {
    let mut s = serve(Mock::with(vec![]));
    let mut w = ws(s.addr, None).unwrap();
    let a = ws_call(
        &mut w,
        &json!({"id": 1, "method": "system.listMethods"}),
        &mut vec![],
    );
    assert!(a["result"].is_array());
    let t = Instant::now();
    s.handle.take().unwrap().stop();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        t.elapsed()
    );
    let ended = loop {
        match w.read() {
            Ok(tungstenite::Message::Close(_)) | Err(_) => break true,
            Ok(_) => continue,
        }
    };
    assert!(ended);
    assert!(TcpStream::connect(s.addr).is_err(), "still listening");
}

//! WebSocket sessions: calls and answers as text frames, notifications to every session
//! whatever caused them, and a broken session that never takes the others down.

use crate::client::*;
use crate::mock::{job, view, Mock};
use ddm_core::service::Notice;
use ddm_core::store::JobState;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::Message;

fn token() -> Value {
    json!(format!("token:{SECRET}"))
}

/// Wait until the session is served (its first answer), so it gets every notice after.
fn ready(w: &mut Ws) {
    let a = ws_call(
        w,
        &json!({"jsonrpc": "2.0", "id": "ready", "method": "system.listMethods"}),
        &mut vec![],
    );
    assert_eq!(a["id"], "ready");
}

#[test]
fn calls_over_websocket_are_answered_with_every_quirk() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    let mut w = ws(s.addr, None).unwrap();
    let mut seen = vec![];
    let a = ws_call(
        &mut w,
        &json!({"jsonrpc": 2.0, "id": 9, "method": "aria2.tellStatus",
                                    "params": [token(), "0000000000000001", ["status"]]}),
        &mut seen,
    );
    assert_eq!(
        a,
        json!({"id": 9, "jsonrpc": "2.0", "result": {"status": "waiting"}})
    );
    let a = ws_call(
        &mut w,
        &json!([
            {"json-rpc": "2.0", "id": 1, "method": "aria2.getGlobalStat", "params": [token()]},
            {"id": 2, "method": "system.multicall", "params": [[{"methodName": "aria2.pause", "params": [token(), "00000000000000"]}]]},
        ]),
        &mut seen,
    );
    assert_eq!(a[0]["result"]["numActive"], "0");
    assert_eq!(a[1]["result"], json!([["0000000000000001"]]));
    let a = ws_call(
        &mut w,
        &json!({"id": 3, "method": "aria2.nope", "params": [token()]}),
        &mut seen,
    );
    assert_eq!(
        a["error"],
        json!({"code": 1, "message": "No such method: aria2.nope"})
    );
    w.send(Message::Text("{not json".into())).unwrap();
    assert_eq!(ws_next(&mut w)["error"]["code"], -32700);
    assert_eq!(s.mock.calls(), ["pause 1 false"]);
}

#[test]
fn notifications_reach_every_open_session_whatever_caused_them() {
    let s = serve(Mock::with(vec![view(job(3, JobState::Queued))]));
    let mut a = ws(s.addr, None).unwrap();
    let mut b = ws(s.addr, Some(&format!("http://{}", s.addr))).unwrap();
    ready(&mut a);
    ready(&mut b);
    // As the service reports them: from RPC, from `ddm pause` in another terminal, a failure.
    let notices = [
        (Notice::Started(3), "aria2.onDownloadStart"),
        (Notice::Paused(3), "aria2.onDownloadPause"),
        (Notice::Stopped(3), "aria2.onDownloadStop"),
        (Notice::Complete(3), "aria2.onDownloadComplete"),
        (Notice::Error(3), "aria2.onDownloadError"),
    ];
    for (n, _) in notices {
        s.mock.notify(n);
    }
    for w in [&mut a, &mut b] {
        for (_, method) in notices {
            assert_eq!(
                ws_next(w),
                json!({"jsonrpc": "2.0", "method": method, "params": [{"gid": "0000000000000003"}]})
            );
        }
    }
}

#[test]
fn a_refused_token_holds_back_its_answer_but_not_the_notifications() {
    let s = serve(Mock::with(vec![view(job(1, JobState::Queued))]));
    let mut w = ws(s.addr, None).unwrap();
    ready(&mut w);
    let t = Instant::now();
    w.send(Message::Text(
        json!({"id": 5, "method": "aria2.remove", "params": ["token:x", "0000000000000001"]})
            .to_string()
            .into(),
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.mock.notify(Notice::Paused(1));
    let first = ws_next(&mut w);
    assert_eq!(first["method"], "aria2.onDownloadPause", "{first}");
    assert!(t.elapsed() < Duration::from_millis(450));
    let second = ws_next(&mut w);
    assert_eq!(
        second["error"],
        json!({"code": 1, "message": "Unauthorized"})
    );
    assert!(t.elapsed() >= Duration::from_millis(450));
    assert!(s.mock.calls().is_empty());
}

/// A WebSocket opened by hand, to send frames no library would.
fn raw_ws(addr: std::net::SocketAddr) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        c,
        "GET /jsonrpc HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        c.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    c
}

/// Whether the server ends the session within the read timeout (a close frame, then EOF or
/// a reset), with nothing else said.
fn ends(mut c: TcpStream) -> bool {
    let mut buf = Vec::new();
    match c.read_to_end(&mut buf) {
        Ok(_) => buf.is_empty() || buf[0] == 0x88,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn a_malformed_frame_ends_that_session_and_the_others_go_on() {
    let s = serve_with(Mock::with(vec![view(job(1, JobState::Queued))]), |c| {
        c.max_body = 64 << 10
    });
    let mut good = ws(s.addr, None).unwrap();
    ready(&mut good);
    let frames: [&[u8]; 4] = [
        // a reserved opcode (0x3), masked
        &[0x83, 0x80, 1, 2, 3, 4],
        // an unmasked text frame from a client
        &[0x81, 0x02, b'{', b'}'],
        // a text frame that is not UTF-8 (mask 0: payload as is)
        &[0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe],
        // a frame that says it is 2^62 bytes long
        &[0x81, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for f in frames {
        let mut c = raw_ws(s.addr);
        c.write_all(f).unwrap();
        assert!(ends(c), "{f:?}: session not ended");
    }
    // A message over the cap ends that session too.
    let mut big = ws(s.addr, None).unwrap();
    let huge = format!(
        r#"{{"id":1,"method":"aria2.addUri","params":["x",["{}"]]}}"#,
        "a".repeat(70 << 10)
    );
    let _ = big.send(Message::Text(huge.into()));
    let closed = loop {
        match big.read() {
            Ok(Message::Close(_)) | Err(_) => break true,
            Ok(Message::Text(t)) => panic!("answered an oversized message: {t}"),
            Ok(_) => continue,
        }
    };
    assert!(closed);
    // The other session still answers and still hears notifications.
    let a = ws_call(
        &mut good,
        &json!({"id": 1, "method": "aria2.getVersion", "params": [token()]}),
        &mut vec![],
    );
    assert_eq!(a["result"]["version"], "0.1.0");
    s.mock.notify(Notice::Started(1));
    assert_eq!(ws_next(&mut good)["method"], "aria2.onDownloadStart");
    assert!(s.mock.calls().is_empty());
}

#[test]
fn a_session_whose_client_stops_answering_pings_is_dropped_and_a_live_one_stays() {
    let s = serve_with(Mock::with(vec![]), |c| {
        c.idle_timeout = Duration::from_millis(900)
    });
    // A live client: tungstenite answers the pings while it reads.
    let mut live = ws(s.addr, None).unwrap();
    ready(&mut live);
    live.get_mut()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(2500) {
        match live.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("the live session was dropped: {e}"),
        }
    }
    live.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let a = ws_call(
        &mut live,
        &json!({"id": 1, "method": "system.listMethods"}),
        &mut vec![],
    );
    assert!(a["result"].is_array());
    // A dead one: it never answers the pings; the server ends it.
    let mut dead = raw_ws(s.addr);
    let t = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "not ended after {:?}",
            t.elapsed()
        );
        match dead.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not ended: {e}"),
        }
    }
    assert!(buf.starts_with(&[0x89, 0x00]), "pinged first: {buf:?}");
}

//! The tests' side of the wire: a front started on 127.0.0.1 with a free port in front of a
//! [`Mock`], raw HTTP/1.1 over `TcpStream` (so a test writes exactly what a client sends,
//! malformed or not), and a WebSocket client (`tungstenite`).

use crate::mock::Mock;
use ddm_rpc::{Handle, ServeConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

pub const SECRET: &str = "s3cret-Token-0123456789abcdef";

pub struct Server {
    pub mock: Arc<Mock>,
    pub addr: SocketAddr,
    pub handle: Option<Handle>,
}

pub fn serve(mock: Mock) -> Server {
    serve_with(mock, |_| {})
}

pub fn serve_with(mock: Mock, f: impl FnOnce(&mut ServeConfig)) -> Server {
    let mut cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), SECRET);
    f(&mut cfg);
    let mock = Arc::new(mock);
    let handle = ddm_rpc::start(cfg, mock.clone()).expect("start the front");
    Server {
        mock,
        addr: handle.addr(),
        handle: Some(handle),
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// The header lines, as sent.
    pub head: String,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Send `request` as it is on a new connection and read the answer to its end.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

pub fn parse(out: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(out).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// POST `body` to /jsonrpc with these header lines (none: no Content-Type at all).
pub fn post(addr: SocketAddr, body: &str, headers: &[&str]) -> Resp {
    let mut req = format!(
        "POST /jsonrpc HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    raw(addr, req.as_bytes())
}

pub fn get(addr: SocketAddr, path_and_query: &str) -> Resp {
    let req = format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw(addr, req.as_bytes())
}

/// One call with the token, as JSON; the whole answer.
pub fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let mut p = vec![json!(format!("token:{SECRET}"))];
    p.extend(params.as_array().cloned().unwrap_or_default());
    let body = json!({"jsonrpc": "2.0", "id": "t", "method": method, "params": p});
    post(addr, &body.to_string(), &["Content-Type: application/json"]).json()
}

/// One call that must succeed: its result.
pub fn ok(addr: SocketAddr, method: &str, params: Value) -> Value {
    let a = call(addr, method, params);
    assert!(a.get("error").is_none(), "{method} failed: {a}");
    a["result"].clone()
}

/// One call that must fail with a method error: its message.
pub fn err(addr: SocketAddr, method: &str, params: Value) -> String {
    let a = call(addr, method, params);
    assert_eq!(a["error"]["code"], 1, "{method} did not fail: {a}");
    a["error"]["message"].as_str().unwrap().to_string()
}

pub type Ws = WebSocket<TcpStream>;

/// Open a WebSocket to /jsonrpc, with this Origin header if given.
pub fn ws(addr: SocketAddr, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://{addr}/jsonrpc")
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    tungstenite::client::client(req, stream)
        .map(|(ws, _)| ws)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => panic!("handshake interrupted"),
        })
}

/// The next text message as JSON (pings are answered by tungstenite).
pub fn ws_next(ws: &mut Ws) -> Value {
    loop {
        match ws.read().expect("a message") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

/// Send a message and read the answer to it (the next message with an `id`), keeping the
/// notifications seen on the way.
pub fn ws_call(ws: &mut Ws, msg: &Value, seen: &mut Vec<Value>) -> Value {
    ws.send(Message::Text(msg.to_string().into())).unwrap();
    loop {
        let m = ws_next(ws);
        if m.get("id").is_some() || m.is_array() {
            return m;
        }
        seen.push(m);
    }
}

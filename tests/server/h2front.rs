//! An HTTP/2 front for the loopback server (feature `h2`): TLS as in [`crate::TlsFront`]
//! (a certificate for `localhost` and 127.0.0.1 from a throw-away CA), but ALPN offers `h2`
//! before `http/1.1`. Each request (stream) of an h2 connection becomes one HTTP/1.1 request
//! on a new connection to the backend [`crate::Server`] (`Connection: close`), and its
//! answer goes back on the stream, so ranges, faults and the server's request log work as
//! over HTTP/1.1 (the server's `conn` ids then count streams, not client connections). A
//! body the backend cuts short ends the stream with RST_STREAM (INTERNAL_ERROR), as an h2
//! proxy or CDN does. A client that does not pick h2 is relayed byte for byte, as by
//! `TlsFront`. [`H2Front::connections`] lists the client's TLS connections with the
//! protocol each used and the requests each carried.
//!
//! Built on `h2` (hyper's HTTP/2 implementation) over tokio and `tokio-openssl`, on one
//! thread of its own.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::Bytes;
use openssl::ssl::{select_next_proto, AlpnError, Ssl, SslAcceptor};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::lock;

/// One TLS connection a client made to the front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontConn {
    /// `h2`, or `http/1.1` (chosen by ALPN, or none offered).
    pub protocol: String,
    /// Requests (streams) it carried; counted for h2 only (HTTP/1.1 is relayed as bytes).
    pub requests: usize,
}

type Log = Arc<Mutex<Vec<FrontConn>>>;

/// A running HTTP/2 front on 127.0.0.1; it runs until the test process ends.
#[derive(Debug)]
pub struct H2Front {
    port: u16,
    ca_pem: Vec<u8>,
    conns: Log,
}

impl H2Front {
    /// Terminate TLS (ALPN: h2, http/1.1) on a new port, forwarding to `backend_port`.
    pub fn start(backend_port: u16) -> io::Result<H2Front> {
        let (mut b, ca_pem) = crate::tls::acceptor_builder(crate::tls::Cert::Good)?;
        b.set_alpn_select_callback(|_, offered| {
            select_next_proto(b"\x02h2\x08http/1.1", offered).ok_or(AlpnError::NOACK)
        });
        let acceptor = b.build();
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let conns = Log::default();
        let log = conns.clone();
        thread::spawn(move || {
            rt.block_on(async move {
                let Ok(l) = TcpListener::from_std(listener) else {
                    return;
                };
                loop {
                    if let Ok((tcp, _)) = l.accept().await {
                        tokio::spawn(connection(tcp, acceptor.clone(), backend_port, log.clone()));
                    }
                }
            })
        });
        Ok(H2Front {
            port,
            ca_pem,
            conns,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://localhost:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// The CA certificate (PEM) that signed the front's certificate.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// The TLS connections clients made so far, in accept order (after their handshake).
    pub fn connections(&self) -> Vec<FrontConn> {
        lock(&self.conns).clone()
    }
}

async fn connection(tcp: TcpStream, acceptor: SslAcceptor, backend: u16, log: Log) {
    let _ = tcp.set_nodelay(true);
    let Ok(ssl) = Ssl::new(acceptor.context()) else {
        return;
    };
    let Ok(mut tls) = tokio_openssl::SslStream::new(ssl, tcp) else {
        return;
    };
    if Pin::new(&mut tls).accept().await.is_err() {
        return;
    }
    let h2 = tls.ssl().selected_alpn_protocol() == Some(b"h2");
    let idx = {
        let mut l = lock(&log);
        l.push(FrontConn {
            protocol: if h2 { "h2" } else { "http/1.1" }.into(),
            requests: 0,
        });
        l.len() - 1
    };
    if !h2 {
        if let Ok(mut up) = TcpStream::connect(("127.0.0.1", backend)).await {
            let _ = up.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
        }
        return;
    }
    let Ok(mut conn) = h2::server::handshake(tls).await else {
        return;
    };
    // Polling `accept` also drives the connection's I/O for the streams already answered.
    while let Some(Ok((req, respond))) = conn.accept().await {
        lock(&log)[idx].requests += 1;
        tokio::spawn(async move {
            let _ = stream(req, respond, backend).await;
        });
    }
}

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

/// Answer one stream from the backend's HTTP/1.1 answer to the same request.
async fn stream(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    backend: u16,
) -> Result<(), BoxErr> {
    let head_only = req.method() == http::Method::HEAD;
    let up = TcpStream::connect(("127.0.0.1", backend)).await?;
    up.set_nodelay(true)?;
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let host = req.uri().authority().map_or("localhost", |a| a.as_str());
    let mut head = format!("{} {target} HTTP/1.1\r\nHost: {host}\r\n", req.method()).into_bytes();
    for (k, v) in req.headers() {
        if k != http::header::HOST {
            head.extend_from_slice(k.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(v.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut up = BufReader::with_capacity(64 * 1024, up);
    up.get_mut().write_all(&head).await?;
    // The final answer's head (informational 1xx answers are not passed on).
    let (status, headers) = loop {
        let (status, headers) = read_head(&mut up).await?;
        if !(100..200).contains(&status) {
            break (status, headers);
        }
    };
    let mut resp = http::Response::builder().status(status);
    let (mut length, mut chunked) = (None, false);
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        match k.as_str() {
            // Connection-specific: not allowed in HTTP/2.
            "connection" | "keep-alive" | "proxy-connection" | "upgrade" => continue,
            "transfer-encoding" => {
                chunked = v.to_ascii_lowercase().ends_with(b"chunked");
                continue;
            }
            "content-length" => {
                length = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
            }
            _ => {}
        }
        resp = resp.header(k, v);
    }
    let empty = head_only || status == 204 || status == 304 || (!chunked && length == Some(0));
    let mut send = respond.send_response(resp.body(())?, empty)?;
    if empty {
        return Ok(());
    }
    match body(&mut up, &mut send, chunked, length).await {
        Ok(true) => send.send_data(Bytes::new(), true)?,
        // Cut short by the backend (or unreadable): the stream ends in a reset, never in a
        // clean end that would pass a short body off as complete.
        _ => send.send_reset(h2::Reason::INTERNAL_ERROR),
    }
    Ok(())
}

/// Copy the backend's body to the stream; false if it ended before its length said.
async fn body(
    up: &mut (impl AsyncBufRead + Unpin),
    send: &mut h2::SendStream<Bytes>,
    chunked: bool,
    length: Option<u64>,
) -> Result<bool, BoxErr> {
    if !chunked {
        return copy(up, send, length).await;
    }
    loop {
        let line = read_line(up).await?;
        let size = String::from_utf8_lossy(&line);
        let size = u64::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            while !read_line(up).await?.is_empty() {}
            return Ok(true);
        }
        if !copy(up, send, Some(size)).await? {
            return Ok(false);
        }
        read_line(up).await?;
    }
}

/// Copy `limit` bytes (or up to EOF when None); false if EOF came first.
async fn copy(
    up: &mut (impl AsyncBufRead + Unpin),
    send: &mut h2::SendStream<Bytes>,
    limit: Option<u64>,
) -> Result<bool, BoxErr> {
    let mut left = limit;
    loop {
        if left == Some(0) {
            return Ok(true);
        }
        let buf = up.fill_buf().await?;
        if buf.is_empty() {
            return Ok(left.is_none());
        }
        let n = buf
            .len()
            .min(left.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)));
        let mut data = Bytes::copy_from_slice(&buf[..n]);
        up.consume(n);
        if let Some(l) = &mut left {
            *l -= n as u64;
        }
        // Within the client's flow-control window.
        while !data.is_empty() {
            send.reserve_capacity(data.len());
            match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(0)) => {}
                Some(Ok(cap)) => send.send_data(data.split_to(cap.min(data.len())), false)?,
                Some(Err(e)) => return Err(e.into()),
                None => return Err("stream closed by the client".into()),
            }
        }
    }
}

/// A line without its CRLF; EOF before a line ends is an error.
async fn read_line(up: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    if up.read_until(b'\n', &mut line).await? == 0 || !line.ends_with(b"\n") {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(line)
}

type Headers = Vec<(String, Vec<u8>)>;

async fn read_head(up: &mut (impl AsyncBufRead + Unpin)) -> Result<(u16, Headers), BoxErr> {
    let line = read_line(up).await?;
    let status = String::from_utf8_lossy(&line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("the backend's status line is unreadable")?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(up).await?;
        if line.is_empty() {
            return Ok((status, headers));
        }
        if let Some(i) = line.iter().position(|b| *b == b':') {
            let v = line[i + 1..].trim_ascii().to_vec();
            headers.push((String::from_utf8_lossy(&line[..i]).trim().to_string(), v));
        }
    }
}

//! Loopback proxies for the tests: an HTTP proxy (absolute-form requests forwarded, `CONNECT`
//! tunnelled) and a SOCKS5 proxy (no authentication, or user/password), each logging what it
//! was asked, optionally requiring credentials.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request a proxy handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEntry {
    /// `GET`, `CONNECT` (HTTP proxy) or `SOCKS5`.
    pub method: String,
    /// The absolute URL, or `host:port` for tunnels.
    pub target: String,
    /// The `Proxy-Authorization` header (HTTP), or `user:password` (SOCKS5), if any.
    pub auth: Option<String>,
    /// What the proxy answered (`407` when credentials were missing or wrong).
    pub status: u16,
}

/// Which protocol a [`Proxy`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    Http,
    Socks5,
}

/// A running proxy on 127.0.0.1. It runs until the test process ends.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    log: Arc<Mutex<Vec<ProxyEntry>>>,
}

impl Proxy {
    /// Start a proxy; with `auth` (`user`, `password`) it requires those credentials.
    pub fn start(kind: ProxyKind, auth: Option<(&str, &str)>) -> io::Result<Proxy> {
        let l = TcpListener::bind(("127.0.0.1", 0))?;
        let port = l.local_addr()?.port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let auth = auth.map(|(u, p)| (u.to_string(), p.to_string()));
        let (log2, auth2) = (log.clone(), auth.clone());
        thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (log, auth) = (log2.clone(), auth2.clone());
                thread::spawn(move || {
                    let _ = match kind {
                        ProxyKind::Http => http_client(s, &log, auth.as_ref()),
                        ProxyKind::Socks5 => socks_client(s, &log, auth.as_ref()),
                    };
                });
            }
        });
        Ok(Proxy { port, log })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything asked so far.
    pub fn log(&self) -> Vec<ProxyEntry> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Names under `.proxy.test` exist only for the proxies (they reach 127.0.0.1): a download
/// from such a name proves it went through the proxy, and, over SOCKS, that the proxy
/// resolved the name.
pub const PROXY_ONLY_DOMAIN: &str = "proxy.test";

fn upstream(target: &str) -> io::Result<TcpStream> {
    match target.rsplit_once(':') {
        Some((host, port)) if host.ends_with(&format!(".{PROXY_ONLY_DOMAIN}")) => {
            TcpStream::connect(format!("127.0.0.1:{port}"))
        }
        _ => TcpStream::connect(target),
    }
}

fn record(log: &Mutex<Vec<ProxyEntry>>, e: ProxyEntry) {
    log.lock().unwrap_or_else(|e| e.into_inner()).push(e);
}

/// Copy both ways until either side closes.
fn tunnel(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = match (a.try_clone(), b.try_clone()) {
        (Ok(x), Ok(y)) => (x, y),
        _ => return,
    };
    let t = thread::spawn(move || {
        let mut b = b;
        let mut a = a;
        let _ = io::copy(&mut b, &mut a);
        let _ = a.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut a2, &mut b2);
    let _ = b2.shutdown(Shutdown::Write);
    let _ = t.join();
}

fn read_head(r: &mut BufReader<TcpStream>) -> io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

fn header<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn http_client(
    client: TcpStream,
    log: &Mutex<Vec<ProxyEntry>>,
    auth: Option<&(String, String)>,
) -> io::Result<()> {
    let mut r = BufReader::new(client.try_clone()?);
    let mut w = client;
    while let Some(head) = read_head(&mut r)? {
        let mut parts = head[0].split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let given = header(&head, "proxy-authorization").map(str::to_string);
        let ok = auth.is_none_or(|(u, p)| {
            given.as_deref()
                == Some(&format!(
                    "Basic {}",
                    crate::base64(format!("{u}:{p}").as_bytes())
                ))
        });
        let status = if ok { 200 } else { 407 };
        record(
            log,
            ProxyEntry {
                method: method.clone(),
                target: target.clone(),
                auth: given,
                status,
            },
        );
        if !ok {
            w.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
            )?;
            continue;
        }
        if method == "CONNECT" {
            let up = upstream(&target)?;
            w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            // Bytes the client sent after the head are in `r`'s buffer: forward them first.
            let mut up_w = up.try_clone()?;
            up_w.write_all(r.buffer())?;
            tunnel(w, up);
            return Ok(());
        }
        // Absolute form: http://host:port/path.
        let rest = target.strip_prefix("http://").unwrap_or(&target);
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut up = upstream(hostport)?;
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        for l in &head[1..] {
            let name = l.split(':').next().unwrap_or("").trim();
            if !name.eq_ignore_ascii_case("proxy-authorization")
                && !name.eq_ignore_ascii_case("proxy-connection")
            {
                req.push_str(l);
                req.push_str("\r\n");
            }
        }
        req.push_str("\r\n");
        up.write_all(req.as_bytes())?;
        // Relay the answer: its head, then Content-Length bytes (or to the end).
        let mut ur = BufReader::new(up.try_clone()?);
        let Some(rhead) = read_head(&mut ur)? else {
            return Ok(());
        };
        let mut out = String::new();
        for l in &rhead {
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        w.write_all(out.as_bytes())?;
        let no_body = method == "HEAD" || rhead[0].contains(" 304 ") || rhead[0].contains(" 204 ");
        match header(&rhead, "content-length").and_then(|v| v.parse::<u64>().ok()) {
            _ if no_body => {}
            Some(n) => {
                let copied = io::copy(&mut (&mut ur).take(n), &mut w)?;
                if copied < n {
                    return Ok(()); // the origin cut it: cut ours too
                }
            }
            None => {
                io::copy(&mut ur, &mut w)?;
                return Ok(());
            }
        }
    }
    Ok(())
}

fn socks_client(
    mut c: TcpStream,
    log: &Mutex<Vec<ProxyEntry>>,
    auth: Option<&(String, String)>,
) -> io::Result<()> {
    let mut hello = [0u8; 2];
    c.read_exact(&mut hello)?;
    let mut methods = vec![0u8; hello[1] as usize];
    c.read_exact(&mut methods)?;
    let mut given = None;
    if let Some((u, p)) = auth {
        if !methods.contains(&2) {
            c.write_all(&[5, 0xff])?;
            return Ok(());
        }
        c.write_all(&[5, 2])?;
        // RFC 1929: ver, ulen, user, plen, pass.
        let mut v = [0u8; 2];
        c.read_exact(&mut v)?;
        let mut user = vec![0u8; v[1] as usize];
        c.read_exact(&mut user)?;
        let mut pl = [0u8; 1];
        c.read_exact(&mut pl)?;
        let mut pass = vec![0u8; pl[0] as usize];
        c.read_exact(&mut pass)?;
        let (user, pass) = (
            String::from_utf8_lossy(&user),
            String::from_utf8_lossy(&pass),
        );
        given = Some(format!("{user}:{pass}"));
        let ok = *u == user && *p == pass;
        c.write_all(&[1, if ok { 0 } else { 1 }])?;
        if !ok {
            record(
                log,
                ProxyEntry {
                    method: "SOCKS5".into(),
                    target: String::new(),
                    auth: given,
                    status: 407,
                },
            );
            return Ok(());
        }
    } else {
        c.write_all(&[5, 0])?;
    }
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            let mut name = vec![0u8; n[0] as usize];
            c.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    c.read_exact(&mut port)?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    record(
        log,
        ProxyEntry {
            method: "SOCKS5".into(),
            target: target.clone(),
            auth: given,
            status: 200,
        },
    );
    let up = match upstream(&target) {
        Ok(u) => u,
        Err(_) => {
            c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
            return Ok(());
        }
    };
    c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    tunnel(c, up);
    Ok(())
}

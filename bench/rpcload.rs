//! Load generator for bench/rpc.sh: N clients polling an aria2 JSON-RPC server the way
//! AriaNg does, each on its own kept-alive HTTP/1.1 connection, every INTERVAL:
//! `aria2.tellActive`, `aria2.tellWaiting(0, 1000)`, `aria2.tellStopped(-1, 1000)` and
//! `aria2.getGlobalStat`, one after the other (POST, the token first), for DURATION.
//!
//! Standard library only, built with `rustc -O` (no Cargo, no crates), so it costs the machine
//! little beside the server it measures and its clocks are not shared like a Python
//! interpreter's (one GIL for ten clients would add its own waits to the latencies).
//!
//! ```sh
//! rustc -O --edition 2021 bench/rpcload.rs -o target/bench/rpcload
//! target/bench/rpcload HOST:PORT TOKEN CLIENTS INTERVAL_MS DURATION_S OUT
//! ```
//!
//! Ticks are on a fixed schedule (client i starts i/N of an interval after the first); a
//! round that takes longer than the interval makes the next start at once (counted as late).
//! OUT gets one line per call: `start_unix_ns client method latency_us bytes entries ok`,
//! where latency is from the first byte of the request written to the last byte of the
//! answer read, entries counts the `"gid":` keys in the answer (the statuses listed), and ok
//! is 1 for an HTTP 200 whose JSON-RPC answer carries the call's id and a `result`, 0
//! otherwise (a refused connection, a timeout, an error answer). A summary goes to stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const METHODS: [(&str, &str); 4] = [
    ("aria2.tellActive", ""),
    ("aria2.tellWaiting", ",0,1000"),
    ("aria2.tellStopped", ",-1,1000"),
    ("aria2.getGlobalStat", ""),
];
/// A call that takes longer counts as failed (and its connection is opened again).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

struct Record {
    start_ns: u128,
    client: usize,
    method: usize,
    latency_us: u64,
    bytes: usize,
    entries: usize,
    ok: bool,
}

struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

fn connect(addr: &str) -> std::io::Result<Conn> {
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(CALL_TIMEOUT))?;
    s.set_write_timeout(Some(CALL_TIMEOUT))?;
    Ok(Conn {
        r: BufReader::with_capacity(1 << 16, s.try_clone()?),
        w: s,
    })
}

/// One request and its whole answer: (HTTP status, body).
fn call(c: &mut Conn, host: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let req = format!(
        "POST /jsonrpc HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.w.write_all(req.as_bytes())?;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    if c.r.read_line(&mut line)? == 0 {
        return Err(bad("connection closed before the answer"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if c.r.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v.contains("close"),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            line.clear();
            c.r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            let at = out.len();
            out.resize(at + size, 0);
            c.r.read_exact(&mut out[at..])?;
            line.clear();
            c.r.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        c.r.read_exact(&mut out)?;
    } else {
        c.r.read_to_end(&mut out)?;
        close = true;
    }
    if close {
        return Err(bad("the server closed the connection (no keep-alive)"));
    }
    Ok((status, out))
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 6 {
        eprintln!("usage: rpcload HOST:PORT TOKEN CLIENTS INTERVAL_MS DURATION_S OUT");
        std::process::exit(2);
    }
    let addr = a[0].clone();
    let token = a[1].clone();
    let num = |s: &str, what: &str| -> u64 {
        s.parse().unwrap_or_else(|_| {
            eprintln!("rpcload: {what} must be a whole number, not {s:?}");
            std::process::exit(2)
        })
    };
    let clients = num(&a[2], "CLIENTS") as usize;
    let interval = Duration::from_millis(num(&a[3], "INTERVAL_MS"));
    let duration = Duration::from_secs(num(&a[4], "DURATION_S"));
    let out = a[5].clone();
    let records = Arc::new(Mutex::new(Vec::<Record>::new()));
    let late = Arc::new(Mutex::new(0usize));
    let t0 = Instant::now();
    let end = t0 + duration;
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (addr, token, records, late) =
                (addr.clone(), token.clone(), records.clone(), late.clone());
            std::thread::spawn(move || {
                let start = t0 + interval * client as u32 / clients.max(1) as u32;
                let mut conn: Option<Conn> = None;
                let mut mine = Vec::new();
                let mut id = 0u64;
                for tick in 0u32.. {
                    let at = start + interval * tick;
                    let now = Instant::now();
                    if at >= end || now >= end {
                        break;
                    }
                    if now < at {
                        std::thread::sleep(at - now);
                    } else if tick > 0 && now - at > interval / 10 {
                        *late.lock().unwrap() += 1;
                    }
                    for (m, (method, params)) in METHODS.iter().enumerate() {
                        id += 1;
                        let body = format!(
                            "{{\"jsonrpc\":\"2.0\",\"id\":\"c{client}-{id}\",\"method\":\
                             \"{method}\",\"params\":[\"token:{token}\"{params}]}}"
                        );
                        let start_ns = now_ns();
                        let t = Instant::now();
                        let answer = match conn.as_mut() {
                            Some(c) => call(c, &addr, &body),
                            None => connect(&addr).and_then(|mut c| {
                                let r = call(&mut c, &addr, &body);
                                conn = Some(c);
                                r
                            }),
                        };
                        let latency_us = t.elapsed().as_micros() as u64;
                        let (ok, bytes, entries) = match &answer {
                            Ok((status, b)) => {
                                // The envelope's keys come before the result (ddm and aria2c
                                // alike): its first bytes say whether it is this call's answer.
                                let head = &b[..b.len().min(256)];
                                let idk = format!("\"id\":\"c{client}-{id}\"");
                                let good = *status == 200
                                    && contains(head, idk.as_bytes())
                                    && contains(head, b"\"result\":")
                                    && !contains(head, b"\"error\":");
                                (good, b.len(), count(b, b"\"gid\":"))
                            }
                            Err(_) => (false, 0, 0),
                        };
                        if answer.is_err() {
                            conn = None;
                        }
                        mine.push(Record {
                            start_ns,
                            client,
                            method: m,
                            latency_us,
                            bytes,
                            entries,
                            ok,
                        });
                    }
                }
                records.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let records = records.lock().unwrap();
    let mut text = String::with_capacity(records.len() * 48);
    for r in records.iter() {
        text.push_str(&format!(
            "{} {} {} {} {} {} {}\n",
            r.start_ns,
            r.client,
            METHODS[r.method].0,
            r.latency_us,
            r.bytes,
            r.entries,
            u8::from(r.ok)
        ));
    }
    if let Err(e) = std::fs::write(&out, text) {
        eprintln!("rpcload: cannot write {out}: {e}");
        std::process::exit(1);
    }
    let errors = records.iter().filter(|r| !r.ok).count();
    eprintln!(
        "rpcload: {} calls by {clients} clients in {:.1} s, {errors} failed, {} late ticks",
        records.len(),
        t0.elapsed().as_secs_f64(),
        *late.lock().unwrap()
    );
}

//! End-to-end tests of the server over real loopback sockets, with a minimal hand-written
//! HTTP/1.1 client (no client crate).

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Client {
    r: BufReader<TcpStream>,
}

impl Client {
    fn new(server: &Server) -> Client {
        let s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.r.get_mut().write_all(req.as_bytes()).unwrap();
    }

    fn read_head(&mut self) -> io::Result<(u16, Vec<(String, String)>)> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l)?;
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            headers.push((n.to_string(), v.trim().to_string()));
        }
        Ok((status, headers))
    }

    /// Read one complete response (Content-Length, chunked or close-delimited).
    fn read(&mut self, head_req: bool) -> io::Result<Resp> {
        let (status, headers) = self.read_head()?;
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if head_req {
            return Ok(resp);
        }
        if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let mut l = String::new();
                self.r.read_line(&mut l)?;
                let n = usize::from_str_radix(l.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.r.read_exact(&mut chunk)?;
                assert_eq!(&chunk[n..], b"\r\n");
                if n == 0 {
                    break;
                }
                resp.body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(cl) = resp.header("content-length") {
            let mut body = vec![0; cl.parse().unwrap()];
            self.r.read_exact(&mut body)?;
            resp.body = body;
        } else {
            self.r.read_to_end(&mut resp.body)?;
        }
        Ok(resp)
    }

    fn get(&mut self, target: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", target, headers);
        self.read(false).unwrap()
    }

    fn head(&mut self, target: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("HEAD", target, headers);
        self.read(true).unwrap()
    }
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Resp {
    Client::new(server).get(target, headers)
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Server>();
    check::<Resource>();
    check::<Fault>();
    check::<LogEntry>();
}

#[test]
fn pattern_is_deterministic() {
    let a = pattern(1000, 1);
    assert_eq!(a, pattern(1000, 1));
    assert_ne!(a, pattern(1000, 2));
    assert_eq!(&pattern(1003, 1)[..1000], &a[..]);
    assert_eq!(pattern(0, 5).len(), 0);
    // Not trivially repetitive.
    assert!(a.iter().filter(|&&b| b == 0).count() < 20);
}

#[test]
fn full_get_and_ranges() {
    let s = Server::start().unwrap();
    let body = pattern(10_000, 3);
    s.add(
        "/f.bin",
        Resource::new(body.clone())
            .etag("\"v1\"")
            .last_modified("Mon, 01 Jan 2024 00:00:00 GMT")
            .content_disposition("attachment; filename=\"x.bin\""),
    );
    let r = get(&s, "/f.bin", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("etag"), Some("\"v1\""));
    assert_eq!(
        r.header("last-modified"),
        Some("Mon, 01 Jan 2024 00:00:00 GMT")
    );
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"x.bin\"")
    );

    let r = get(&s, "/f.bin", &[("Range", "bytes=100-199")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/10000"));
    assert_eq!(r.header("content-length"), Some("100"));
    assert_eq!(r.body, &body[100..200]);

    let r = get(&s, "/f.bin", &[("range", "bytes=9990-")]);
    assert_eq!(r.header("content-range"), Some("bytes 9990-9999/10000"));
    assert_eq!(r.body, &body[9990..]);

    let r = get(&s, "/f.bin", &[("Range", "bytes=-5")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[9995..]);

    let r = get(&s, "/f.bin", &[("Range", "bytes=10000-")]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */10000"));
    assert!(r.body.is_empty());

    let r = get(&s, "/f.bin", &[("Range", "bytes=0-1,5-6")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);

    // If-Range: matching strong ETag honours the range, anything else gives the full body.
    let r = get(
        &s,
        "/f.bin",
        &[("Range", "bytes=0-9"), ("If-Range", "\"v1\"")],
    );
    assert_eq!(r.status, 206);
    let r = get(
        &s,
        "/f.bin",
        &[("Range", "bytes=0-9"), ("If-Range", "\"v0\"")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 10_000);

    let log = s.log();
    assert_eq!(log.len(), 8);
    assert_eq!(log[1].range.as_deref(), Some("bytes=100-199"));
    assert_eq!(log[1].status, 206);
    assert_eq!(log[1].body_bytes, 100);
    assert_eq!(log[1].method, "GET");
    assert_eq!(log[1].target, "/f.bin");
    assert_eq!(
        s.bytes_sent("/f.bin"),
        log.iter().map(|e| e.body_bytes).sum::<u64>()
    );
}

#[test]
fn head_mirrors_get() {
    let s = Server::start().unwrap();
    s.add(
        "/f",
        Resource::new(pattern(5000, 1))
            .etag("\"e\"")
            .content_type("text/x"),
    );
    s.add(
        "/refuse",
        Resource::new(vec![1; 10]).head(HeadMode::Refuse(405)),
    );
    s.add(
        "/liar",
        Resource::new(vec![1; 10]).head(HeadMode::WrongLength(99)),
    );
    let mut c = Client::new(&s);
    let r = c.head("/f", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5000"));
    assert_eq!(r.header("etag"), Some("\"e\""));
    assert_eq!(r.header("content-type"), Some("text/x"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    // The connection is still usable: no body was sent.
    let r = c.head("/f", &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 10-19/5000"));
    assert_eq!(c.head("/refuse", &[]).status, 405);
    assert_eq!(c.get("/refuse", &[]).body, vec![1; 10]);
    assert_eq!(c.head("/liar", &[]).header("content-length"), Some("99"));
    assert_eq!(c.get("/liar", &[]).body.len(), 10);
    assert_eq!(c.head("/nope", &[]).status, 404);
    assert_eq!(s.bytes_sent("/f"), 0);
}

#[test]
fn keep_alive_serves_several_requests() {
    let s = Server::start().unwrap();
    s.add("/a", Resource::new(pattern(70_000, 1)));
    s.add("/b", Resource::new(pattern(300, 2)));
    let mut c = Client::new(&s);
    assert_eq!(c.get("/a", &[]).body, pattern(70_000, 1));
    assert_eq!(c.get("/b", &[]).body, pattern(300, 2));
    assert_eq!(c.get("/missing", &[]).status, 404);
    // Pipelined requests work too.
    c.send("GET", "/b", &[]);
    c.send("GET", "/b", &[("Connection", "close")]);
    assert_eq!(c.read(false).unwrap().body.len(), 300);
    let last = c.read(false).unwrap();
    assert_eq!(last.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(c.r.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(s.connections(), 1);
    assert!(s.log().iter().all(|e| e.conn == 1));
    assert_eq!(s.log().len(), 5);
}

#[test]
fn methods_and_malformed_requests() {
    let s = Server::start().unwrap();
    s.add("/a", Resource::new(vec![7; 10]));
    let mut c = Client::new(&s);
    c.r.get_mut()
        .write_all(b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(c.read(false).unwrap().status, 405);
    // The body was skipped: the connection still works.
    assert_eq!(c.get("/a", &[]).body, vec![7; 10]);

    for garbage in [
        &b"NONSENSE\r\n\r\n"[..],
        b"GET /a HTTP/9.9\r\n\r\n",
        b"GET /a HTTP/1.1\r\nno colon here\r\n\r\n",
        b"\x00\x01\x02 \xff\xfe HTTP/1.1\r\n\r\n",
    ] {
        let mut c = Client::new(&s);
        c.r.get_mut().write_all(garbage).unwrap();
        let r = c.read(false).unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.header("connection"), Some("close"));
        let mut rest = Vec::new();
        assert_eq!(c.r.read_to_end(&mut rest).unwrap(), 0);
    }
    // Oversized head.
    let mut c = Client::new(&s);
    let big = format!("GET /a HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    let _ = c.r.get_mut().write_all(big.as_bytes());
    assert_eq!(c.read(false).unwrap().status, 400);
    // Client closing mid-body is harmless.
    s.add("/big", Resource::new(pattern(20 << 20, 1)));
    let mut c = Client::new(&s);
    c.send("GET", "/big", &[]);
    let mut some = [0u8; 1000];
    c.r.read_exact(&mut some).unwrap();
    drop(c);
    assert_eq!(get(&s, "/a", &[]).status, 200);
}

#[test]
fn throttle_rate_is_accurate() {
    let s = Server::start().unwrap();
    let body = pattern(1 << 20, 9);
    s.add(
        "/slow",
        Resource::new(body.clone())
            .rate(2 << 20)
            .slow_from_zero(8 << 20),
    );
    // A range not starting at 0 uses `rate`.
    let t = Instant::now();
    let r = get(&s, "/slow", &[("Range", "bytes=1-")]);
    let el = t.elapsed().as_secs_f64();
    assert_eq!(r.body, &body[1..]);
    assert!((0.45..0.65).contains(&el), "took {el}");
    // From 0 uses `slow_from_zero`: 1 MiB at 8 MiB/s.
    let t = Instant::now();
    let r = get(&s, "/slow", &[]);
    let el = t.elapsed().as_secs_f64();
    assert_eq!(r.body, body);
    assert!((0.10..0.20).contains(&el), "took {el}");
}

#[test]
fn unthrottled_is_fast() {
    let s = Server::start().unwrap();
    let body = Arc::new(pattern(64 << 20, 4));
    s.add("/big", Resource::shared(body.clone()));
    let t = Instant::now();
    let mut c = Client::new(&s);
    c.send("GET", "/big", &[]);
    let (status, _) = c.read_head().unwrap();
    assert_eq!(status, 200);
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    while n < body.len() {
        n += c.r.read(&mut buf).unwrap();
    }
    let el = t.elapsed().as_secs_f64();
    assert!(el < 3.0, "64 MiB took {el}s");
}

#[test]
fn cut_after_fin_then_recovers() {
    let s = Server::start().unwrap();
    let body = pattern(100_000, 5);
    s.add(
        "/f",
        Resource::new(body.clone()).fault(Fault::CutAfter {
            after: 12_345,
            rst: false,
            times: 1,
        }),
    );
    let mut c = Client::new(&s);
    c.send("GET", "/f", &[]);
    let (status, headers) = c.read_head().unwrap();
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(n, v)| n == "Content-Length" && v == "100000"));
    let mut got = Vec::new();
    c.r.read_to_end(&mut got).unwrap();
    assert_eq!(got, &body[..12_345]);
    // Only once.
    let r = get(&s, "/f", &[("Range", "bytes=12345-")]);
    assert_eq!(r.body, &body[12_345..]);
    // The server counts a chunk after its write returns, which can be just after the client
    // has read it: give the count a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while s.bytes_sent("/f") < 100_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(s.bytes_sent("/f"), 100_000);
}

#[test]
fn cut_after_rst() {
    let s = Server::start().unwrap();
    s.add(
        "/f",
        Resource::new(pattern(1 << 20, 5)).fault(Fault::CutAfter {
            after: 1000,
            rst: true,
            times: usize::MAX,
        }),
    );
    let mut c = Client::new(&s);
    c.send("GET", "/f", &[]);
    c.read_head().unwrap();
    let mut got = Vec::new();
    let res = c.r.read_to_end(&mut got);
    assert!(got.len() <= 1000);
    if cfg!(target_os = "linux") {
        // Linux delivers the queued bytes, then reports the reset.
        assert_eq!(got.len(), 1000);
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    }
    // Still cut on the next request (times = MAX), short bodies are not cut.
    let r = get(&s, "/f", &[("Range", "bytes=0-999")]);
    assert_eq!(r.body.len(), 1000);
}

#[test]
fn cut_every_is_deterministic() {
    let s = Server::start().unwrap();
    let body = pattern(50_000, 1);
    s.add(
        "/f",
        Resource::new(body.clone()).fault(Fault::CutEvery {
            every: 2,
            rst: false,
            times: 2,
        }),
    );
    let mut lens = Vec::new();
    for _ in 0..6 {
        let mut c = Client::new(&s);
        c.send("GET", "/f", &[]);
        c.read_head().unwrap();
        // Content-Length is 50 000; a cut connection ends early with EOF.
        let mut got = Vec::new();
        (&mut c.r).take(50_000).read_to_end(&mut got).unwrap();
        assert_eq!(got, &body[..got.len()]);
        lens.push(got.len());
    }
    assert_eq!(lens[0], 50_000);
    assert!(lens[1] < 50_000 && lens[1] > 0);
    assert_eq!(lens[2], 50_000);
    assert!(lens[3] < 50_000 && lens[3] > 0);
    assert_eq!(&lens[4..], &[50_000, 50_000]);
}

#[test]
fn status_fault_counts_down() {
    let s = Server::start().unwrap();
    s.add(
        "/f",
        Resource::new(vec![1; 100]).fault(Fault::Status {
            code: 503,
            retry_after: Some("2".into()),
            times: 2,
        }),
    );
    let mut c = Client::new(&s);
    // HEAD is not affected and does not consume.
    assert_eq!(c.head("/f", &[]).status, 200);
    for _ in 0..2 {
        let r = c.get("/f", &[]);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("2"));
        assert!(!r.body.is_empty());
    }
    let r = c.get("/f", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, vec![1; 100]);
    let statuses: Vec<u16> = s.log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 503, 503, 200]);
}

#[test]
fn conn_cap_limits_concurrency() {
    let s = Server::start().unwrap();
    s.add(
        "/f",
        Resource::new(pattern(200_000, 1))
            .rate(1_000_000)
            .fault(Fault::ConnCap { max: 1, code: 429 }),
    );
    let mut slow = Client::new(&s);
    slow.send("GET", "/f", &[]);
    assert_eq!(slow.read_head().unwrap().0, 200);
    let r = get(&s, "/f", &[]);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    // HEAD is not capped.
    assert_eq!(Client::new(&s).head("/f", &[]).status, 200);
    let mut rest = vec![0; 200_000];
    slow.r.read_exact(&mut rest).unwrap();
    // Once the first finished, a new one is allowed (the guard is released right after the
    // body is written, so allow a moment).
    let t = Instant::now();
    loop {
        let r = get(&s, "/f", &[("Range", "bytes=0-9")]);
        if r.status == 206 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stall_pauses_then_continues() {
    let s = Server::start().unwrap();
    let body = pattern(100_000, 2);
    s.add(
        "/f",
        Resource::new(body.clone()).fault(Fault::Stall {
            after: 50_000,
            secs: 0.3,
            times: 1,
        }),
    );
    let t = Instant::now();
    let r = get(&s, "/f", &[]);
    assert_eq!(r.body, body);
    assert!(t.elapsed() >= Duration::from_millis(290));
    let t = Instant::now();
    get(&s, "/f", &[]);
    assert!(t.elapsed() < Duration::from_millis(250));
}

#[test]
fn range_faults() {
    let s = Server::start().unwrap();
    let body = pattern(1000, 8);
    s.add(
        "/f",
        Resource::new(body.clone())
            .fault(Fault::ShortRange { times: 1 })
            .fault(Fault::WrongRangeStart { times: 1 })
            .fault(Fault::MalformedContentRange { times: 1 }),
    );
    // A 200 does not consume range faults.
    assert_eq!(get(&s, "/f", &[]).status, 200);
    let r = get(&s, "/f", &[("Range", "bytes=100-199")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 100-149/1000"));
    assert_eq!(r.body, &body[100..150]);
    let r = get(&s, "/f", &[("Range", "bytes=100-199")]);
    assert_eq!(r.header("content-range"), Some("bytes 50-149/1000"));
    assert_eq!(r.body, &body[50..150]);
    let r = get(&s, "/f", &[("Range", "bytes=100-199")]);
    let cr = r.header("content-range").unwrap();
    assert!(!cr.starts_with("bytes 100-199/"));
    assert_eq!(r.body, &body[100..200]);
    let r = get(&s, "/f", &[("Range", "bytes=100-199")]);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/1000"));
}

#[test]
fn redirects_and_signed_redirect_expiry() {
    let s = Server::start().unwrap();
    s.add("/real", Resource::new(pattern(500, 3)));
    s.redirect("/moved", "/real", 301);
    let r = get(&s, "/moved", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/real"));

    s.signed_redirect("/dl", "/real", Duration::from_millis(300));
    let r = get(&s, "/dl", &[]);
    assert_eq!(r.status, 302);
    let loc1 = r.header("location").unwrap().to_string();
    assert!(loc1.starts_with("/real?sig="), "{loc1}");
    let r = Client::new(&s).head("/dl", &[]);
    assert_eq!(r.status, 302);
    let loc2 = r.header("location").unwrap().to_string();
    assert_ne!(loc1, loc2);

    let r = get(&s, &loc1, &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &pattern(500, 3)[10..20]);
    assert_eq!(get(&s, "/real", &[]).status, 403);
    assert_eq!(get(&s, "/real?sig=999999", &[]).status, 403);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(get(&s, &loc1, &[]).status, 403);
    // A fresh hit gives a fresh, valid signature.
    let loc3 = get(&s, "/dl", &[]).header("location").unwrap().to_string();
    assert_eq!(get(&s, &loc3, &[]).status, 200);
}

#[test]
fn gzip_only_when_asked() {
    let s = Server::start().unwrap();
    let body = b"hello hello hello hello hello hello hello\n".repeat(100);
    s.add("/t.txt", Resource::new(body.clone()).gzip());
    let r = get(&s, "/t.txt", &[("Range", "bytes=0-9")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-encoding"), None);
    let r = get(&s, "/t.txt", &[("Accept-Encoding", "gzip;q=0, identity")]);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, body);
    let r = get(
        &s,
        "/t.txt",
        &[("Accept-Encoding", "gzip, deflate"), ("Range", "bytes=0-9")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.body.len() < body.len());
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, body);
}

#[test]
fn no_length_uses_chunked() {
    let s = Server::start().unwrap();
    let body = pattern(300_000, 6);
    s.add("/c", Resource::new(body.clone()).no_length().no_ranges());
    let mut c = Client::new(&s);
    let r = c.get("/c", &[("Range", "bytes=0-9")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("accept-ranges"), None);
    assert_eq!(r.body, body);
    let r = c.head("/c", &[]);
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), None);
    // Keep-alive still works after a chunked body.
    assert_eq!(c.get("/c", &[]).body.len(), 300_000);

    // HTTP/1.0 gets a close-delimited body.
    let mut c = Client::new(&s);
    c.r.get_mut().write_all(b"GET /c HTTP/1.0\r\n\r\n").unwrap();
    let r = c.read(false).unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.body, body);

    // HTTP/1.0 keep-alive is acknowledged.
    s.add("/k", Resource::new(vec![3; 10]));
    let mut c = Client::new(&s);
    for _ in 0..2 {
        c.r.get_mut()
            .write_all(b"GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let r = c.read(false).unwrap();
        assert_eq!(r.header("connection"), Some("keep-alive"));
        assert_eq!(r.body, vec![3; 10]);
    }
}

#[test]
fn replace_changes_etag_and_body() {
    let s = Server::start().unwrap();
    s.add("/f", Resource::new(pattern(100, 1)).etag("\"v1\""));
    let mut c = Client::new(&s);
    assert_eq!(c.head("/f", &[]).header("etag"), Some("\"v1\""));
    s.add("/f", Resource::new(pattern(200, 2)).etag("\"v2\""));
    let r = c.get("/f", &[("Range", "bytes=50-"), ("If-Range", "\"v1\"")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"v2\""));
    assert_eq!(r.body, pattern(200, 2));
}

#[test]
fn drop_shuts_down_promptly() {
    let s = Server::start().unwrap();
    s.add("/slow", Resource::new(pattern(1 << 20, 1)).rate(10_000));
    let port = s.port();
    let mut idle = Client::new(&s);
    assert_eq!(idle.head("/slow", &[]).status, 200);
    let mut busy = Client::new(&s);
    busy.send("GET", "/slow", &[]);
    busy.read_head().unwrap();
    let t = Instant::now();
    drop(s);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let mut rest = Vec::new();
    assert_eq!(idle.r.read_to_end(&mut rest).unwrap_or(0), 0);
    let _ = busy.r.read_to_end(&mut rest);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn first_byte_delay_applies_to_every_response() {
    let s = Server::start().unwrap();
    let d = Duration::from_millis(150);
    s.add("/d", Resource::new(pattern(1000, 1)).first_byte_delay(d));
    s.add(
        "/d405",
        Resource::new(pattern(10, 1))
            .first_byte_delay(d)
            .head(HeadMode::Refuse(405)),
    );
    s.add("/now", Resource::new(pattern(10, 1)));
    let mut c = Client::new(&s);
    // Every request on a kept-alive connection waits, GET and HEAD alike.
    for i in 0..3 {
        let t = Instant::now();
        let r = if i == 1 {
            c.head("/d", &[])
        } else {
            c.get("/d", &[("Range", "bytes=0-9")])
        };
        let el = t.elapsed();
        assert!(r.status == 200 || r.status == 206, "{}", r.status);
        assert!(el >= d, "request {i} took {el:?}");
        assert!(el < d * 4, "request {i} took {el:?}");
    }
    // Refused HEAD waits too; another resource does not.
    let t = Instant::now();
    assert_eq!(c.head("/d405", &[]).status, 405);
    assert!(t.elapsed() >= d);
    let t = Instant::now();
    assert_eq!(c.get("/now", &[]).status, 200);
    assert!(t.elapsed() < d, "{:?}", t.elapsed());
    assert_eq!(s.connections(), 1);
    assert_eq!(s.requests_per_connection(), vec![(1, 5)]);
}

#[test]
fn first_byte_delay_does_not_delay_shutdown() {
    let s = Server::start().unwrap();
    s.add(
        "/d",
        Resource::new(vec![1; 10]).first_byte_delay(Duration::from_secs(30)),
    );
    let mut c = Client::new(&s);
    c.send("GET", "/d", &[]);
    std::thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    drop(s);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let mut rest = Vec::new();
    let _ = c.r.read_to_end(&mut rest);
    assert!(rest.is_empty());
}

#[test]
fn slow_connections_divide_the_rate() {
    let s = Server::start().unwrap();
    let body = pattern(50_000, 5);
    // 0.1 s normally, 1 s on every 4th connection.
    s.add(
        "/f",
        Resource::new(body.clone())
            .rate(500_000)
            .fault(Fault::SlowConnections {
                every: 4,
                divisor: 10,
            }),
    );
    // Without a rate the fault does nothing.
    s.add(
        "/free",
        Resource::new(body.clone()).fault(Fault::SlowConnections {
            every: 1,
            divisor: 1000,
        }),
    );
    let mut clients = Vec::new();
    for conn in 1..=5u64 {
        let mut c = Client::new(&s);
        let t = Instant::now();
        let r = c.get("/f", &[]);
        let el = t.elapsed().as_secs_f64();
        assert_eq!(r.body, body);
        assert_eq!(s.log().last().unwrap().conn, conn);
        if conn == 4 {
            assert!((0.9..1.5).contains(&el), "conn {conn} took {el}");
        } else {
            assert!(el < 0.4, "conn {conn} took {el}");
        }
        clients.push(c);
    }
    // The slow path stays slow for every request on that connection (ranges too) ...
    let t = Instant::now();
    let r = clients[3].get("/f", &[("Range", "bytes=25000-")]);
    assert_eq!(r.body, &body[25_000..]);
    let el = t.elapsed().as_secs_f64();
    assert!((0.45..0.8).contains(&el), "took {el}");
    // ... but not for an unthrottled resource.
    let t = Instant::now();
    assert_eq!(clients[3].get("/free", &[]).body, body);
    assert!(t.elapsed() < Duration::from_millis(200));
}

/// Send `n` GETs at once on `n` connections; their statuses and Retry-After values.
fn burst(s: &Server, path: &str, n: usize) -> Vec<(u16, Option<String>)> {
    let mut clients: Vec<Client> = (0..n).map(|_| Client::new(s)).collect();
    for c in &mut clients {
        c.send("GET", path, &[]);
    }
    let mut out: Vec<(u16, Option<String>)> = clients
        .iter_mut()
        .map(|c| {
            let (status, headers) = c.read_head().unwrap();
            let ra = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .map(|(_, v)| v.clone());
            (status, ra)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn conn_cap_admits_exactly_max_of_a_burst() {
    let s = Server::start().unwrap();
    // Admitted responses stay in flight for 2 s (throttled), longer than the test needs.
    let slow = || {
        Resource::new(pattern(200_000, 1))
            .rate(100_000)
            .first_byte_delay(Duration::from_millis(40))
    };
    s.add("/cap6", slow().fault(Fault::ConnCap { max: 6, code: 503 }));
    let got = burst(&s, "/cap6", 10);
    let ok = got.iter().filter(|(st, _)| *st == 200).count();
    let refused: Vec<_> = got.iter().filter(|(st, _)| *st == 503).collect();
    assert_eq!(ok, 6, "{got:?}");
    assert_eq!(refused.len(), 4, "{got:?}");
    assert!(refused.iter().all(|(_, ra)| ra.as_deref() == Some("1")));
    assert_eq!(s.stats("/cap6").errors, 4);
    assert_eq!(s.stats("/cap6").requests, 10);

    s.add(
        "/cap2",
        slow().fault(Fault::ConnCapAfter {
            max: 2,
            code: 429,
            retry_after: Some("7".to_string()),
        }),
    );
    let got = burst(&s, "/cap2", 4);
    assert_eq!(
        got,
        vec![
            (200, None),
            (200, None),
            (429, Some("7".to_string())),
            (429, Some("7".to_string()))
        ]
    );
    s.add(
        "/cap1",
        slow().fault(Fault::ConnCapAfter {
            max: 1,
            code: 503,
            retry_after: None,
        }),
    );
    assert_eq!(burst(&s, "/cap1", 2), vec![(200, None), (503, None)]);
}

/// `f()` equals `want` within 2 s (byte counters are updated just after each write, so a
/// client can have a body a moment before the server has counted it).
fn eventually<T: PartialEq + std::fmt::Debug>(want: T, f: impl Fn() -> T) {
    let t = Instant::now();
    while f() != want && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(f(), want);
}

#[test]
fn requests_per_connection_and_stats() {
    let s = Server::start().unwrap();
    s.add("/a", Resource::new(pattern(1000, 1)));
    s.add(
        "/d/b",
        Resource::new(pattern(500, 2)).head(HeadMode::Refuse(403)),
    );
    s.add("/d/c", Resource::new(pattern(300, 3)));
    let mut c1 = Client::new(&s);
    c1.get("/a", &[]);
    c1.get("/a", &[("Range", "bytes=0-99")]);
    c1.get("/d/b", &[]);
    let mut c2 = Client::new(&s);
    c2.head("/a", &[]);
    c2.head("/d/b", &[]);
    c2.get("/d/c", &[]);
    assert_eq!(get(&s, "/nothing", &[]).status, 404);
    assert_eq!(s.requests_per_connection(), vec![(1, 3), (2, 3), (3, 1)]);
    eventually(
        PathStats {
            sent: 1100,
            requests: 2,
            heads: 1,
            errors: 0,
            connections: 2,
        },
        || s.stats("/a"),
    );
    assert_eq!(s.stats("/d/b").heads, 1);
    eventually(
        PathStats {
            sent: 800,
            requests: 2,
            heads: 1,
            errors: 0,
            connections: 2,
        },
        || s.stats_prefix("/d/"),
    );
    assert_eq!(s.stats("/nothing").errors, 1);
    assert_eq!(s.stats("/none"), PathStats::default());
    eventually(10, || s.bytes_sent("/nothing"));

    s.reset_stats();
    assert!(s.log().is_empty());
    assert_eq!(s.bytes_sent("/a"), 0);
    assert_eq!(s.stats_prefix("/"), PathStats::default());
    assert!(s.requests_per_connection().is_empty());
    // Connection ids keep counting after a reset.
    c1.get("/a", &[]);
    get(&s, "/a", &[]);
    assert_eq!(s.requests_per_connection(), vec![(1, 1), (4, 1)]);
    eventually(2000, || s.stats("/a").sent);
    assert_eq!(s.connections(), 4);
}

#[test]
fn stats_endpoints_over_http() {
    // A fixed port works (find a free one first).
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Server::start_on(port).unwrap();
    assert_eq!(s.port(), port);
    s.add("/x/f.bin", Resource::new(pattern(1234, 1)));
    assert_eq!(get(&s, "/_stats?path=/x/f.bin", &[]).status, 404);
    s.add_stats_endpoints();
    let mut c = Client::new(&s);
    c.get("/x/f.bin", &[]);
    c.get("/x/f.bin?cache=1", &[("Range", "bytes=0-0")]);
    let text = |r: Resp| String::from_utf8(r.body).unwrap();
    assert_eq!(
        text(c.get("/_stats?path=/x/f.bin", &[])),
        "sent=1235 requests=2 connections=1 heads=0 errors=0\n"
    );
    assert_eq!(
        text(c.get("/_stats?prefix=%2Fx%2F", &[])),
        "sent=1235 requests=2 connections=1 heads=0 errors=0\n"
    );
    assert_eq!(c.get("/_stats", &[]).status, 400);
    assert_eq!(c.get("/_stats?x=1", &[]).status, 400);
    assert_eq!(text(c.get("/_reset", &[])), "ok\n");
    assert_eq!(
        text(c.get("/_stats?path=/x/f.bin", &[])),
        "sent=0 requests=0 connections=0 heads=0 errors=0\n"
    );
    // All of it on one kept-alive connection.
    assert_eq!(s.connections(), 2);
}

//! `ddm-faultserver`: the test server as a standalone process serving fixed "hostile link"
//! scenarios on 127.0.0.1, for benchmarking ddm against other downloaders
//! (`bench/faults.sh`). Runs until killed.
//!
//! ```text
//! ddm-faultserver [--port N] [--dump DIR] [--big MIB]
//! ```
//!
//! Scenarios (bodies from `ddm_testserver::pattern`, ranges and an ETag everywhere):
//!
//! | path | body | behaviour |
//! |---|---|---|
//! | `/plain/f.bin` | 64 MiB | 4 MiB/s per response, 40 ms before every status line |
//! | `/nohead/f.bin` | same | same, HEAD answered 405 |
//! | `/slow4/f.bin` | same | same, every 4th TCP connection (server-wide accept order) at 1/40 of the rate |
//! | `/cap6/f.bin` | same | same, more than 6 GETs in flight: 503 + `Retry-After: 1` |
//! | `/cap6-429/f.bin` | same | same with 429 |
//! | `/fast/f256.bin` | 256 MiB | unthrottled, no delay |
//! | `/cost/f256.bin` | the same body | unthrottled; every answer to a `Range` request waits 120 ms first (an object store's per-range cost), a whole GET does not |
//! | `/closing/f256.bin` | the same body | unthrottled; every response closes its connection (a proxy that keeps no client connection alive) |
//! | `/q/f1.bin`..`/q/f100.bin` | 256 KiB each | unthrottled, 40 ms before every status line |
//! | `/q0/f1.bin`..`/q0/f100.bin` | the same bodies | unthrottled, no delay |
//! | `/big/f.bin` | `--big MIB` MiB (only when given) | unthrottled, no delay (`bench/checkpoint.sh`) |
//!
//! `GET /_stats?path=P` (or `?prefix=P`) answers `sent=N requests=N connections=N heads=N
//! errors=N` for that path (bytes of body sent, GETs, distinct TCP connections, HEADs, GETs
//! answered >= 400); `GET /_reset` zeroes all counters.
//!
//! Once listening (and after `--dump`), prints `ready PORT` on stdout.
//!
//! `--dump DIR` writes every body before that: `DIR/plain`, `DIR/nohead`, `DIR/slow4`,
//! `DIR/cap6`, `DIR/cap6-429` (hard links to one file: the five share a body), `DIR/fast`,
//! and `DIR/q/fI.bin` and `DIR/q0/fI.bin` (hard links, same bodies), so a script can compare
//! downloads with `sha256sum`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ddm_testserver::{pattern, Fault, HeadMode, Resource, Server};

const DEFAULT_PORT: u16 = 18090;
const MIB: usize = 1 << 20;

/// Sizes and counts of the scenarios (the real ones are [`Layout::FULL`]; tests use small).
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Body of the throttled 64 MiB scenarios.
    big: usize,
    /// Body of `/fast`.
    fast: usize,
    /// Each queue file.
    small: usize,
    /// Queue files per queue scenario.
    files: usize,
    /// Body rate of the throttled scenarios, bytes/s per response.
    rate: u64,
    /// First-byte delay of the delayed scenarios.
    delay: Duration,
    /// Think time of each range answer in `/cost`.
    range_cost: Duration,
}

impl Layout {
    const FULL: Layout = Layout {
        big: 64 * MIB,
        fast: 256 * MIB,
        small: 256 * 1024,
        files: 100,
        rate: 4 << 20,
        delay: Duration::from_millis(40),
        range_cost: Duration::from_millis(120),
    };
}

/// Names (dump file names) of the scenarios that share the 64 MiB body, with their paths.
const BIG: [(&str, &str); 5] = [
    ("plain", "/plain/f.bin"),
    ("nohead", "/nohead/f.bin"),
    ("slow4", "/slow4/f.bin"),
    ("cap6", "/cap6/f.bin"),
    ("cap6-429", "/cap6-429/f.bin"),
];

/// The bodies installed, for `--dump`.
struct Bodies {
    big: Arc<Vec<u8>>,
    fast: Arc<Vec<u8>>,
    small: Vec<Arc<Vec<u8>>>,
}

/// Add every scenario (and the stats endpoints) to `server`.
fn install(server: &Server, l: Layout) -> Bodies {
    let big = Arc::new(pattern(l.big, 64));
    let throttled = |extra: Option<Fault>| {
        let r = Resource::shared(big.clone())
            .etag("\"ddm-bench-64\"")
            .rate(l.rate)
            .first_byte_delay(l.delay);
        match extra {
            Some(f) => r.fault(f),
            None => r,
        }
    };
    server.add(BIG[0].1, throttled(None));
    server.add(BIG[1].1, throttled(None).head(HeadMode::Refuse(405)));
    server.add(
        BIG[2].1,
        throttled(Some(Fault::SlowConnections {
            every: 4,
            divisor: 40,
        })),
    );
    server.add(
        BIG[3].1,
        throttled(Some(Fault::ConnCap { max: 6, code: 503 })),
    );
    server.add(
        BIG[4].1,
        throttled(Some(Fault::ConnCap { max: 6, code: 429 })),
    );

    let fast = Arc::new(pattern(l.fast, 256));
    server.add(
        "/fast/f256.bin",
        Resource::shared(fast.clone()).etag("\"ddm-bench-256\""),
    );
    server.add(
        "/cost/f256.bin",
        Resource::shared(fast.clone())
            .etag("\"ddm-bench-256\"")
            .range_delay(l.range_cost),
    );
    server.add(
        "/closing/f256.bin",
        Resource::shared(fast.clone())
            .etag("\"ddm-bench-256\"")
            .close_each(),
    );

    let small: Vec<Arc<Vec<u8>>> = (1..=l.files)
        .map(|i| Arc::new(pattern(l.small, 1000 + i as u64)))
        .collect();
    for (i, body) in small.iter().enumerate() {
        let n = i + 1;
        let res = Resource::shared(body.clone()).etag(&format!("\"ddm-bench-q{n}\""));
        server.add(
            &format!("/q/f{n}.bin"),
            res.clone().first_byte_delay(l.delay),
        );
        server.add(&format!("/q0/f{n}.bin"), res);
    }
    server.add_stats_endpoints();
    Bodies { big, fast, small }
}

/// `dst` becomes a hard link to `src` (a copy where links are impossible).
fn link(src: &Path, dst: &Path) -> io::Result<()> {
    match fs::remove_file(dst) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    fs::hard_link(src, dst).or_else(|_| fs::copy(src, dst).map(|_| ()))
}

/// Write every scenario body under `dir` (layout in the module docs).
fn dump(dir: &Path, b: &Bodies) -> io::Result<()> {
    fs::create_dir_all(dir.join("q"))?;
    fs::create_dir_all(dir.join("q0"))?;
    let first = dir.join(BIG[0].0);
    fs::write(&first, &**b.big)?;
    for (name, _) in &BIG[1..] {
        link(&first, &dir.join(name))?;
    }
    fs::write(dir.join("fast"), &**b.fast)?;
    for (i, body) in b.small.iter().enumerate() {
        let name = format!("f{}.bin", i + 1);
        let q = dir.join("q").join(&name);
        fs::write(&q, &***body)?;
        link(&q, &dir.join("q0").join(&name))?;
    }
    Ok(())
}

const USAGE: &str = "usage: ddm-faultserver [--port N] [--dump DIR]\n\
  Serves fixed fault scenarios on 127.0.0.1:N (default 18090) until killed; prints \
  'ready N' once listening.\n\
  --dump DIR  first write every scenario body under DIR (for sha256sum checks)\n\
  Scenarios: /plain/f.bin /nohead/f.bin /slow4/f.bin /cap6/f.bin /cap6-429/f.bin \
  /fast/f256.bin /q/f{1..100}.bin /q0/f{1..100}.bin\n\
  --big MIB   also serve /big/f.bin of MIB MiB, unthrottled (dumped as DIR/big)\n\
  Counters: GET /_stats?path=P (or ?prefix=P), GET /_reset\n";

fn main() -> ExitCode {
    let mut port = DEFAULT_PORT;
    let mut dump_dir: Option<String> = None;
    let mut big_mib: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--port" | "-p" => match value().and_then(|v| v.parse().ok()) {
                Some(p) => port = p,
                None => {
                    eprint!("--port needs a number 0-65535\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--dump" => match value() {
                Some(d) => dump_dir = Some(d),
                None => {
                    eprint!("--dump needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--big" => match value().and_then(|v| v.parse().ok()).filter(|&m| m > 0) {
                Some(m) => big_mib = Some(m),
                None => {
                    eprint!("--big needs a size in MiB\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprint!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let server = match Server::start_on(port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ddm-faultserver: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bodies = install(&server, Layout::FULL);
    let big = big_mib.map(|m| {
        let body = Arc::new(pattern(m * MIB, 2048));
        server.add(
            "/big/f.bin",
            Resource::shared(body.clone()).etag("\"ddm-bench-big\""),
        );
        body
    });
    if let Some(d) = dump_dir {
        let big = big.as_ref().map_or(Ok(()), |b| {
            fs::create_dir_all(&d).and_then(|_| fs::write(Path::new(&d).join("big"), &***b))
        });
        if let Err(e) = dump(Path::new(&d), &bodies).and(big) {
            eprintln!("ddm-faultserver: cannot write bodies under {d}: {e}");
            return ExitCode::FAILURE;
        }
    }
    drop(big);
    // Bodies stay alive in the server; the local handles are not needed any more.
    drop(bodies);
    // If nobody reads stdout, still serve.
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "ready {}", server.port()).and_then(|_| out.flush());
    drop(out);
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpStream;

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        String::from_utf8_lossy(&resp).into_owned()
    }

    #[test]
    fn scenarios_dump_and_stats() {
        let l = Layout {
            big: 4096,
            fast: 8192,
            small: 100,
            files: 3,
            rate: 1 << 20,
            delay: Duration::from_millis(5),
            range_cost: Duration::from_millis(5),
        };
        let server = Server::start().unwrap();
        let bodies = install(&server, l);
        let dir = std::env::temp_dir().join(format!("ddm-faultserver-test-{}", std::process::id()));
        dump(&dir, &bodies).unwrap();
        for (name, _) in BIG {
            assert_eq!(fs::read(dir.join(name)).unwrap(), pattern(4096, 64));
        }
        assert_eq!(fs::read(dir.join("fast")).unwrap(), pattern(8192, 256));
        assert_eq!(fs::read(dir.join("q0/f3.bin")).unwrap(), pattern(100, 1003));
        // Dumping again over existing files works.
        dump(&dir, &bodies).unwrap();
        fs::remove_dir_all(&dir).unwrap();

        let p = server.port();
        for (_, path) in BIG {
            assert!(get(p, path).starts_with("HTTP/1.1 200"), "{path}");
        }
        assert!(get(p, "/q/f3.bin").starts_with("HTTP/1.1 200"));
        assert!(get(p, "/q0/f1.bin").starts_with("HTTP/1.1 200"));
        assert!(get(p, "/fast/f256.bin").starts_with("HTTP/1.1 200"));
        assert!(get(p, "/cost/f256.bin").starts_with("HTTP/1.1 200"));
        let closing = get(p, "/closing/f256.bin");
        assert!(closing.contains("Connection: close"), "{closing}");
        assert!(get(p, "/_stats?path=/plain/f.bin")
            .ends_with("\r\n\r\nsent=4096 requests=1 connections=1 heads=0 errors=0\n"));
        assert!(get(p, "/_stats?prefix=/q").contains("sent=200 requests=2 connections=2"));
        assert!(get(p, "/_reset").ends_with("ok\n"));
        assert!(get(p, "/_stats?path=/plain/f.bin").contains("sent=0 requests=0 connections=0"));
    }
}

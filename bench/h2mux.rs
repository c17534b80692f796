//! Throw-away benchmark client for bench/h2.sh: one file fetched as N equal byte ranges,
//! either as N streams multiplexed on ONE HTTP/2 connection (`mux`: a curl multi handle,
//! CURLPIPE_MULTIPLEX, at most one connection to the host, every handle waiting for it) or
//! over N connections, one thread and one easy handle each, as ddm's workers do (`conns`).
//! Same libcurl (static, with nghttp2) and the same writer in both modes, so the difference
//! is the connection sharing alone. Bytes go to their offsets in one file in 256 KiB writes,
//! as ddm's workers write them, but are not fdatasync'ed (ddm's times include its fsync and
//! its bookkeeping; these measure the transport).
//!
//! ```sh
//! cargo build --release -p ddm-core --example h2mux
//! target/release/examples/h2mux mux 8 https://localhost:18443/f.bin /tmp/out.bin --cacert cert.pem
//! target/release/examples/h2mux conns 8 https://localhost:18443/f.bin /tmp/out.bin --cacert cert.pem [--http1.1]
//! ```
//!
//! Prints one line: mode, ranges, seconds, MiB/s, the protocol answered and the number of
//! connections libcurl opened (CURLINFO_NUM_CONNECTS summed over the handles).

use curl::easy::{Easy2, Handler, HttpVersion, WriteError};
use curl::multi::Multi;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Part {
    file: Arc<File>,
    /// Where `buf` goes.
    at: u64,
    buf: Vec<u8>,
    got: u64,
    status_line: String,
    failed: Option<String>,
}

impl Handler for Part {
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        self.buf.extend_from_slice(data);
        self.got += data.len() as u64;
        if self.buf.len() >= BATCH && !self.flush() {
            return Ok(0);
        }
        Ok(data.len())
    }
    fn header(&mut self, data: &[u8]) -> bool {
        if data.starts_with(b"HTTP/") {
            self.status_line = String::from_utf8_lossy(data).trim_end().to_string();
        }
        true
    }
}

const BATCH: usize = 256 * 1024;

impl Part {
    fn flush(&mut self) -> bool {
        if let Err(e) = self.file.write_all_at(&self.buf, self.at) {
            self.failed = Some(e.to_string());
            return false;
        }
        self.at += self.buf.len() as u64;
        self.buf.clear();
        true
    }
}

struct Opts {
    cacert: Option<String>,
    http11: bool,
}

fn handle(url: &str, o: &Opts, part: Part) -> Result<Easy2<Part>, curl::Error> {
    let mut e = Easy2::new(part);
    e.url(url)?;
    e.http_version(if o.http11 {
        HttpVersion::V11
    } else {
        HttpVersion::V2TLS
    })?;
    if let Some(c) = &o.cacert {
        e.cainfo(c)?;
    }
    e.buffer_size(256 * 1024)?;
    e.tcp_nodelay(true)?;
    e.signal(false)?;
    Ok(e)
}

fn size_of(url: &str, o: &Opts) -> Result<u64, curl::Error> {
    let mut e = curl::easy::Easy::new();
    e.url(url)?;
    e.nobody(true)?;
    if let Some(c) = &o.cacert {
        e.cainfo(c)?;
    }
    e.perform()?;
    Ok(e.content_length_download()? as u64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: h2mux mux|conns N URL OUT [--cacert FILE] [--http1.1]";
    if args.len() < 4 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let (mode, n, url, out) = (
        args[0].as_str(),
        args[1].parse::<u64>().expect(usage),
        args[2].as_str(),
        args[3].as_str(),
    );
    let mut o = Opts {
        cacert: None,
        http11: false,
    };
    let mut rest = args[4..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--cacert" => o.cacert = rest.next().cloned(),
            "--http1.1" => o.http11 = true,
            _ => panic!("{usage}"),
        }
    }
    let t0 = Instant::now();
    let size = size_of(url, &o).expect("HEAD");
    let file = File::create(out).expect("create OUT");
    file.set_len(size).expect("set_len");
    let file = Arc::new(file);
    let ranges: Vec<(u64, u64)> = (0..n)
        .map(|i| (size * i / n, size * (i + 1) / n - 1))
        .collect();
    let part = |at| Part {
        file: file.clone(),
        at,
        buf: Vec::with_capacity(BATCH + 256 * 1024),
        got: 0,
        status_line: String::new(),
        failed: None,
    };
    // (bytes, status line, connections) per range.
    let results: Vec<(u64, String, u64)> = match mode {
        "mux" => {
            let mut m = Multi::new();
            m.pipelining(false, true).expect("multiplex");
            m.set_max_host_connections(1).expect("one connection");
            let hs: Vec<_> = ranges
                .iter()
                .map(|&(a, b)| {
                    let mut e = handle(url, &o, part(a)).expect("setup");
                    e.range(&format!("{a}-{b}")).expect("range");
                    e.pipewait(true).expect("pipewait");
                    m.add2(e).expect("add")
                })
                .collect();
            while m.perform().expect("perform") > 0 {
                m.wait(&mut [], Duration::from_millis(100)).expect("wait");
            }
            let mut errs = Vec::new();
            m.messages(|msg| {
                for h in &hs {
                    if let Some(Err(e)) = msg.result_for2(h) {
                        errs.push(e.to_string());
                    }
                }
            });
            assert!(errs.is_empty(), "transfers failed: {errs:?}");
            hs.into_iter()
                .map(|h| {
                    let mut e = m.remove2(h).expect("remove");
                    let c = e.num_connects().unwrap_or(0);
                    e.get_mut().flush();
                    let p = e.get_ref();
                    assert!(p.failed.is_none(), "{:?}", p.failed);
                    (p.got, p.status_line.clone(), c)
                })
                .collect()
        }
        "conns" => {
            let threads: Vec<_> = ranges
                .iter()
                .map(|&(a, b)| {
                    let mut e = handle(url, &o, part(a)).expect("setup");
                    e.range(&format!("{a}-{b}")).expect("range");
                    std::thread::spawn(move || {
                        e.perform().expect("transfer");
                        e.get_mut().flush();
                        let p = e.get_ref();
                        assert!(p.failed.is_none(), "{:?}", p.failed);
                        (p.got, p.status_line.clone(), e.num_connects().unwrap_or(0))
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("thread"))
                .collect()
        }
        _ => panic!("{usage}"),
    };
    let secs = t0.elapsed().as_secs_f64();
    for ((a, b), (got, line, _)) in ranges.iter().zip(&results) {
        assert_eq!(*got, b - a + 1, "range {a}-{b}: {line}");
        assert!(line.contains(" 206"), "range {a}-{b}: {line}");
    }
    let protocol = results[0].1.split_whitespace().next().unwrap_or("?");
    let conns: u64 = results.iter().map(|r| r.2).sum();
    println!(
        "{mode} ranges={n} secs={secs:.3} MiB/s={:.1} protocol={protocol} connections={conns}",
        size as f64 / secs / (1 << 20) as f64
    );
}

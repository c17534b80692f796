//! HTTP/2 (issue 10): offered by ALPN on https, HTTP/1.1 where the server does not choose
//! it and on cleartext http; each worker keeps its own connection, also under h2 (measured
//! in docs/benchmarks.md, "HTTP/2"). Against `H2Front` (ALPN h2 + http/1.1, every stream
//! forwarded to the loopback server) and `TlsFront` (no ALPN: HTTP/1.1 only).

use crate::util::*;
use ddm_testserver::{pattern, Fault, H2Front, Resource, Server, TlsFront};

const MIB: usize = 1 << 20;

/// Write the front's CA where ddm can be pointed at it (`--cacert`).
fn trust(env: &Env, pem: &[u8]) -> String {
    let ca = env.dir.path().join("test-ca.pem");
    std::fs::write(&ca, pem).unwrap();
    ca.to_str().unwrap().to_string()
}

fn probe_json(env: &Env, url: &str, ca: &str) -> serde_json::Value {
    serde_json::from_str(&env.ok(&["probe", url, "--cacert", ca, "--json"])).unwrap()
}

#[test]
fn probe_over_https_names_http2_in_text_and_json() {
    let s = Server::start().unwrap();
    s.add(
        "/p.bin",
        Resource::new(pattern(MIB, 601)).etag("\"h2-601\""),
    );
    let front = H2Front::start(s.port()).unwrap();
    let env = Env::new();
    let ca = trust(&env, front.ca_pem());
    let url = front.url("/p.bin");
    let text = env.ok(&["probe", &url, "--cacert", &ca]);
    assert!(text.lines().any(|l| l == "protocol:      HTTP/2"), "{text}");
    assert!(text.contains("yes (206 confirmed)"), "{text}");
    let v = probe_json(&env, &url, &ca);
    assert_eq!(v["protocol"], "HTTP/2", "{v}");
    assert_eq!(v["size"], MIB as u64, "{v}");
    assert_eq!(v["ranges"], true, "{v}");
    assert_eq!(v["etag"], "\"h2-601\"", "{v}");
    // bench names it too, in its header line and its JSON.
    let args = [
        "bench", &url, "--cacert", &ca, "--counts", "1", "--bytes", "256K",
    ];
    let o = env.run(&[&args[..], &["--rounds", "1"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(" over HTTP/2: "), "{}", stderr(&o));
    let b: serde_json::Value =
        serde_json::from_str(&env.ok(&[&args[..], &["--rounds", "1", "--json"]].concat())).unwrap();
    assert_eq!(b["protocol"], "HTTP/2", "{b}");
    // The server's side: every TLS connection chose h2, and the HEAD and the ranged GET
    // came through it.
    let conns = front.connections();
    assert!(
        !conns.is_empty() && conns.iter().all(|c| c.protocol == "h2"),
        "{conns:?}"
    );
    let log = s.log();
    assert!(log.iter().any(|e| e.method == "HEAD"), "{log:?}");
    assert!(
        log.iter()
            .any(|e| e.method == "GET" && e.range.as_deref() == Some("bytes=0-0")),
        "{log:?}"
    );
}

#[test]
fn segmented_get_over_http2_is_byte_exact_with_one_connection_per_worker() {
    let s = Server::start().unwrap();
    let body = pattern(8 * MIB, 602);
    // Throttled per stream (each reaches the server on a connection of its own), so that
    // all four connections get to work.
    s.add("/big.bin", Resource::new(body.clone()).rate(4 << 20));
    let front = H2Front::start(s.port()).unwrap();
    let env = Env::new();
    let ca = trust(&env, front.ca_pem());
    let o = env.run(&[
        "-v",
        "get",
        &front.url("/big.bin"),
        "--cacert",
        &ca,
        "-c",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &body);
    let err = stderr(&o);
    assert!(err.contains("HTTP/2, up to 4 connections"), "{err}");
    // The first request asks for the whole file (no Range) and is cut at its share; the
    // others ask for ranges.
    let gets = s
        .log()
        .iter()
        .filter(|e| e.method == "GET" && e.range.is_some())
        .count();
    assert!(gets >= 3, "several ranges: {:?}", s.log());
    // Separate connections, all h2, carrying every request the server saw.
    let conns = front.connections();
    assert!(conns.iter().all(|c| c.protocol == "h2"), "{conns:?}");
    assert!(conns.len() >= 4, "one connection per worker: {conns:?}");
    assert_eq!(
        conns.iter().map(|c| c.requests).sum::<usize>(),
        s.log().len(),
        "{conns:?}"
    );
}

#[test]
fn an_http2_stream_reset_mid_body_is_retried_from_where_it_stopped() {
    let s = Server::start().unwrap();
    let body = pattern(4 * MIB, 603);
    // Less than the smallest request window (1 MiB), so that the first two answers are cut
    // whatever windows the measured round trip gives.
    let after = (MIB / 2 + 12_345) as u64;
    // The server cuts the body; the front ends that stream with RST_STREAM, as an h2 proxy
    // does (curl: "HTTP/2 stream was not closed cleanly", CURLE_HTTP2_STREAM).
    s.add(
        "/cut.bin",
        Resource::new(body.clone()).fault(Fault::CutAfter {
            after,
            rst: false,
            times: 2,
        }),
    );
    let front = H2Front::start(s.port()).unwrap();
    let env = Env::new();
    let ca = trust(&env, front.ca_pem());
    let o = env.run(&["get", &front.url("/cut.bin"), "--cacert", &ca, "-c", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("cut.bin"), &body);
    let log = s.log();
    let cut = log
        .iter()
        .filter(|e| e.method == "GET" && e.body_bytes == after)
        .count();
    assert_eq!(cut, 2, "{log:?}");
    // Each cut range was asked again later from where its bytes stopped arriving, never from
    // its start (the reset may drop data frames the front had queued: at most `after` came).
    // Not necessarily next: a retry that kept less than a piece waits a backoff, and the
    // connection meanwhile carries the next window.
    // A GET without a Range (the job's first request) starts at byte 0.
    let start = |e: &ddm_testserver::LogEntry| -> u64 {
        let Some(r) = e.range.as_deref() else {
            return 0;
        };
        let r = r.strip_prefix("bytes=").unwrap();
        r.split('-').next().unwrap().parse().unwrap()
    };
    let gets: Vec<_> = log.iter().filter(|e| e.method == "GET").collect();
    for (i, e) in gets
        .iter()
        .enumerate()
        .filter(|(_, e)| e.body_bytes == after)
    {
        let again = gets[i + 1..]
            .iter()
            .any(|n| start(n) > start(e) && start(n) <= start(e) + after);
        assert!(again, "{gets:?}");
    }
    let conns = front.connections();
    assert!(conns.iter().all(|c| c.protocol == "h2"), "{conns:?}");
}

#[test]
fn without_h2_in_alpn_https_falls_back_to_http11_and_cleartext_stays_http11() {
    let s = Server::start().unwrap();
    let body = pattern(4 * MIB, 604);
    s.add("/f.bin", Resource::new(body.clone()).rate(8 << 20));
    let front = TlsFront::start(s.port()).unwrap();
    let env = Env::new();
    let ca = trust(&env, front.ca_pem());
    let url = front.url("/f.bin");
    let text = env.ok(&["probe", &url, "--cacert", &ca]);
    assert!(
        text.lines().any(|l| l == "protocol:      HTTP/1.1"),
        "{text}"
    );
    assert_eq!(probe_json(&env, &url, &ca)["protocol"], "HTTP/1.1");
    // The download works as before: segmented, byte-exact, over HTTP/1.1.
    let o = env.run(&["-v", "get", &url, "--cacert", &ca, "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(
        stderr(&o).contains("HTTP/1.1, up to 4 connections"),
        "{}",
        stderr(&o)
    );
    assert!(
        s.log()
            .iter()
            .filter(|e| e.method == "GET" && e.range.is_some())
            .count()
            >= 2
    );
    // Cleartext http: HTTP/1.1 (no h2c upgrade is attempted).
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["probe", &s.url("/f.bin"), "--json"])).unwrap();
    assert_eq!(v["protocol"], "HTTP/1.1", "{v}");
    assert!(s.log().iter().all(|e| e.header("upgrade").is_none()));
}

#[test]
fn http1_1_keeps_an_h2_server_on_http11_from_the_flag_the_queue_and_the_config() {
    let s = Server::start().unwrap();
    let body = pattern(4 * MIB, 605);
    s.add("/o.bin", Resource::new(body.clone()).rate(8 << 20));
    let front = H2Front::start(s.port()).unwrap();
    let env = Env::new();
    let ca = trust(&env, front.ca_pem());
    let url = front.url("/o.bin");
    // Every connection the front saw since `from`, by the protocol ALPN chose.
    let protocols_since = |from: usize| -> Vec<String> {
        front.connections()[from..]
            .iter()
            .map(|c| c.protocol.clone())
            .collect()
    };
    let only_http11 = |p: &[String]| !p.is_empty() && p.iter().all(|p| p == "http/1.1");

    // probe: the server offers h2, ddm does not ask for it.
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["probe", &url, "--cacert", &ca, "--json", "--http1.1"]))
            .unwrap();
    assert_eq!(v["protocol"], "HTTP/1.1", "{v}");
    let p = protocols_since(0);
    assert!(only_http11(&p), "probe: {p:?}");

    // get, segmented.
    let from = front.connections().len();
    let o = env.run(&[
        "-v",
        "get",
        &url,
        "--cacert",
        &ca,
        "-c",
        "4",
        "-o",
        "g.bin",
        "--http1.1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("g.bin"), &body);
    assert!(
        stderr(&o).contains("HTTP/1.1, up to 4 connections"),
        "{}",
        stderr(&o)
    );
    let p = protocols_since(from);
    assert!(only_http11(&p) && p.len() >= 4, "get: {p:?}");
    let j = env.job(1);
    assert_eq!(j["protocol"], "HTTP/1.1", "status: {j}");

    // add: the choice is stored with the job and holds when a runner works it.
    let from = front.connections().len();
    env.ok(&[
        "add",
        &url,
        "--cacert",
        &ca,
        "-c",
        "2",
        "-o",
        "a.bin",
        "--http1.1",
    ]);
    env.ok(&["run"]);
    assert_same_file(&env.out().join("a.bin"), &body);
    let p = protocols_since(from);
    assert!(only_http11(&p), "add + run: {p:?}");

    // config `http1 = true`: every job, no flag.
    crate::faults::config(&env, "http1 = true\n");
    let from = front.connections().len();
    env.ok(&["get", &url, "--cacert", &ca, "-c", "2", "-o", "c.bin"]);
    assert_same_file(&env.out().join("c.bin"), &body);
    let p = protocols_since(from);
    assert!(only_http11(&p), "config: {p:?}");

    // And without any of them, the same server gets h2 (the front does offer it).
    std::fs::remove_file(env.home().join("config.toml")).unwrap();
    let from = front.connections().len();
    env.ok(&["get", &url, "--cacert", &ca, "-c", "2", "-o", "h.bin"]);
    let p = protocols_since(from);
    assert!(
        !p.is_empty() && p.iter().all(|p| p == "h2"),
        "default: {p:?}"
    );
    let j = env.job(4);
    assert_eq!(j["protocol"], "HTTP/2", "status: {j}");
}

//! TLS: https to a plain-HTTP server is a final failure, a handshake that never completes
//! fails in bounded time naming the cause, certificate errors are final and `--insecure` turns
//! verification off.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A plain-HTTP peer like nginx: whatever arrives, answer 400 at once and close. Returns
/// its port and a counter of accepted connections.
fn plain_http_responder() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, count)
}

#[test]
fn https_to_a_plain_http_server_is_a_final_tls_failure() {
    let (port, conns) = plain_http_responder();
    let env = Env::new();
    let url = format!("https://127.0.0.1:{port}/tls.bin");
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: TLS errors are final"
    );
    let (err, _) = failed(&env, 1);
    assert!(err.contains("TLS"), "{err}");
    let n = conns.load(Ordering::SeqCst);
    assert!(n <= 2, "{n} connections: a TLS failure was retried");
}

#[test]
fn https_handshake_that_never_completes_fails_in_bounded_time_naming_the_cause() {
    // The loopback test server waits for an HTTP head and never answers a ClientHello: the
    // handshake times out. That is a (retryable) connect timeout, bounded by
    // connect_timeout_secs and max_attempts, and must be reported as such.
    let server = Server::start().unwrap();
    server.add("/tls.bin", Resource::new(pattern(1000, 124)));
    let env = Env::new();
    config(&env, "connect_timeout_secs = 1\nmax_attempts = 2\n");
    let url = format!("https://127.0.0.1:{}/tls.bin", server.port());
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let (err, _) = failed(&env, 1);
    assert!(
        err.contains("TLS") || err.contains("connect") || err.contains("handshake"),
        "the error does not say the connection/handshake timed out: {err}"
    );
}

/// `openssl s_server -WWW` with a fresh self-signed certificate, serving `dir`. None when the
/// openssl tool is not installed.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &std::path::Path) -> Option<TlsServer> {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-keyout",
                "k.pem",
                "-out",
                "c.pem",
                "-subj",
                "/CN=localhost",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        assert!(made.success(), "openssl req failed");
        let port = {
            let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let mut child = Command::new("openssl")
            .args([
                "s_server", "-WWW", "-cert", "c.pem", "-key", "k.pem", "-accept",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("ACCEPT") {
            line.clear();
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Some(TlsServer { child, port })
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tls_certificate_errors_are_final_and_insecure_turns_verification_off() {
    let env = Env::new();
    let www = env.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let body = pattern(300_000, 126);
    std::fs::write(www.join("t.bin"), &body).unwrap();
    let Some(tls) = TlsServer::start(&www) else {
        skip("the openssl tool is not installed");
        return;
    };
    // s_server -WWW never answers HEAD: don't wait the default 30 s before using GET.
    config(&env, "stall_timeout_secs = 2\n");
    let url = format!("https://127.0.0.1:{}/t.bin", tls.port);
    let (o, took) = timed(&env, &["get", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: certificate errors are final"
    );
    let (err, _) = failed(&env, 1);
    assert!(err.contains("TLS") && err.contains("--insecure"), "{err}");
    assert!(!env.out().join("t.bin").exists());
    // Same server, verification off for this job only.
    let (o, took) = timed(&env, &["get", &url, "--insecure", "-o", "t2.bin"]);
    assert!(o.status.success(), "after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("t2.bin"), &body);
}

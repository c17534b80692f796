//! TLS: certificates are checked, the CA given by `--cacert` or `SSL_CERT_FILE` is trusted,
//! `--insecure` checks nothing, and a failure says what is wrong with the certificate
//! (self-signed, expired, another host, an unknown issuer); nothing is asked over a
//! connection that failed its check.

use crate::util::*;
use ddm_testserver::{pattern, Proxy, ProxyKind, Resource, Server, TlsFront};

#[test]
fn https_checks_certificates_and_trusts_the_ca_it_is_given() {
    let s = Server::start().unwrap();
    let body = pattern(4 << 20, 514);
    s.add("/t.bin", Resource::new(body.clone()));
    let front = TlsFront::start(s.port()).unwrap();
    let env = Env::new();
    let url = front.url("/t.bin");
    // A CA nobody trusts: a final failure that says why and what to do; no file.
    let o = env.run(&["get", &url, "-o", "a.bin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("certificate") && err.contains("--cacert"),
        "{err}"
    );
    assert!(!env.out().join("a.bin").exists());
    assert!(
        s.log().is_empty(),
        "nothing was asked over an unverified connection"
    );
    // Given the CA: verified, segmented, whole.
    let ca = env.home().join("test-ca.pem");
    std::fs::write(&ca, front.ca_pem()).unwrap();
    let ca = ca.to_str().unwrap();
    env.ok(&["get", &url, "--cacert", ca, "-c", "4", "-o", "b.bin"]);
    assert_same_file(&env.out().join("b.bin"), &body);
    assert!(s.log().iter().filter(|e| e.range.is_some()).count() >= 2);
    // Through an HTTP proxy (CONNECT) named by HTTPS_PROXY, with the CA from SSL_CERT_FILE.
    let p = Proxy::start(ProxyKind::Http, None).unwrap();
    let o = env
        .cmd(&["get", &url, "-o", "c.bin"])
        .env("SSL_CERT_FILE", ca)
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", p.port()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("c.bin"), &body);
    let target = format!("localhost:{}", front.port());
    assert!(
        !p.log().is_empty()
            && p.log()
                .iter()
                .all(|e| e.method == "CONNECT" && e.target == target),
        "{:?}",
        p.log()
    );
    // --insecure: no check at all (the user's explicit choice).
    env.ok(&["get", &url, "--insecure", "-o", "d.bin"]);
    assert_same_file(&env.out().join("d.bin"), &body);
}

#[test]
fn a_tls_failure_says_what_is_wrong_with_the_certificate() {
    use ddm_testserver::{Cert, TlsFront};
    let s = Server::start().unwrap();
    s.add("/t.bin", Resource::new(pattern(64 * 1024, 515)));
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    for (cert, why) in [
        (Cert::SelfSigned, "self-signed"),
        (Cert::Expired, "expired"),
        (Cert::WrongHost, "localhost"),
        (Cert::Good, "issuer"),
    ] {
        let front = TlsFront::start_with(s.port(), cert).unwrap();
        let ca = env.home().join(format!("ca-{}.pem", front.port()));
        std::fs::write(&ca, front.ca_pem()).unwrap();
        // The CA is trusted where it signed, so each failure is the one named.
        // A name of its own each: the failed job before still holds its -o name.
        let name = format!("t-{}.bin", front.port());
        let mut args = vec![
            "get".to_string(),
            front.url("/t.bin"),
            "-o".into(),
            name.clone(),
        ];
        if matches!(cert, Cert::Expired | Cert::WrongHost) {
            args.extend(["--cacert".into(), ca.to_str().unwrap().into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(1), "{cert:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("TLS failure") && err.contains(why),
            "{cert:?} should say {why:?}: {err}"
        );
        assert!(!env.out().join(&name).exists());
    }
    assert!(
        s.log().is_empty(),
        "no request went over a connection that failed its check"
    );
}

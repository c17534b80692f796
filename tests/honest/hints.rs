//! A failed job's hint fits its kind: credentials for 401/403, another URL for 404/410, a CA
//! for a certificate, `ddm resume` only where trying again can help, and never a sentence the
//! message already says. The credentials and the CA hints are followed to the end: the same
//! `ddm get` with them continues the failed job.

use super::assert_said_once;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server, TlsFront};

/// The failed job's error, kind and hint as `status --json` has them, and the line `get`
/// printed.
fn failure(env: &Env, o: &std::process::Output, id: i64) -> (String, String, String, String) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let j = env.job(id);
    assert_eq!(j["state"], "failed", "{j}");
    let line = stderr(o)
        .lines()
        .find(|l| l.contains("failed:"))
        .unwrap_or_else(|| panic!("no failure line: {}", stderr(o)))
        .to_string();
    (
        j["error"].as_str().unwrap().to_string(),
        j["error_kind"].as_str().unwrap().to_string(),
        j["hint"].as_str().unwrap().to_string(),
        line,
    )
}

#[test]
fn a_404_and_a_410_say_to_check_the_url_once_and_not_to_resume() {
    let server = Server::start().unwrap();
    let env = Env::new();
    for (id, code) in [(1, 404u16), (2, 410)] {
        let path = format!("/g{code}.bin");
        server.add(
            &path,
            Resource::new(pattern(1000, 1540)).fault(Fault::Status {
                code,
                retry_after: None,
                times: usize::MAX,
            }),
        );
        let o = env.run(&["get", &server.url(&path)]);
        let (error, kind, hint, line) = failure(&env, &o, id);
        assert_eq!(kind, "not-found", "{code}: {error}");
        assert!(
            hint.contains("check the URL") && hint.contains("set-url"),
            "{hint}"
        );
        assert!(
            !line.contains("resume"),
            "resuming asks the same URL again: {line}"
        );
        assert_eq!(line.matches("check the URL").count(), 1, "{line}");
        assert_said_once(&line);
    }
}

#[test]
fn a_401_names_the_credential_flags_and_the_same_get_with_them_continues_the_job() {
    let server = Server::start().unwrap();
    let body = pattern(300_000, 1541);
    server.add(
        "/a.bin",
        Resource::new(body.clone()).basic_auth("ann", "s3cret"),
    );
    let env = Env::new();
    let url = server.url("/a.bin");
    let o = env.run(&["get", &url]);
    let (error, kind, hint, line) = failure(&env, &o, 1);
    assert_eq!(kind, "auth", "{error}");
    for flag in ["-u USER", "--netrc", "Authorization"] {
        assert!(hint.contains(flag), "{flag} not named: {hint}");
    }
    assert!(!line.contains("ddm resume"), "{line}");
    assert_said_once(&line);
    // What the hint says works: the same get with credentials continues job 1.
    env.ok(&["get", &url, "-u", "ann:s3cret"]);
    assert_same_file(&env.out().join("a.bin"), &body);
    assert_eq!(env.job(1)["state"], "done");
}

#[test]
fn an_untrusted_certificate_names_cacert_once_and_the_same_get_with_it_continues() {
    let s = Server::start().unwrap();
    let body = pattern(300_000, 1542);
    s.add("/t.bin", Resource::new(body.clone()));
    let front = TlsFront::start(s.port()).unwrap();
    let env = Env::new();
    let url = front.url("/t.bin");
    let o = env.run(&["get", &url]);
    let (error, kind, _hint, line) = failure(&env, &o, 1);
    assert_eq!(kind, "tls", "{error}");
    assert!(
        !line.contains("ddm resume"),
        "resume meets the same certificate: {line}"
    );
    assert_said_once(&line);
    let ca = env.home().join("ca.pem");
    std::fs::write(&ca, front.ca_pem()).unwrap();
    env.ok(&["get", &url, "--cacert", ca.to_str().unwrap()]);
    assert_same_file(&env.out().join("t.bin"), &body);
    assert_eq!(env.job(1)["state"], "done");
}

#[test]
fn a_network_failure_still_says_that_resume_tries_again() {
    // Nothing listens on the port: trying again later can help.
    let port = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let env = Env::new();
    super::config(&env, "max_attempts = 1\n");
    let o = env.run(&["get", &format!("http://127.0.0.1:{port}/x.bin")]);
    let (_, kind, hint, line) = failure(&env, &o, 1);
    assert_eq!(kind, "probe");
    assert!(hint.contains("`ddm resume 1` tries again"), "{hint}");
    assert_said_once(&line);
}

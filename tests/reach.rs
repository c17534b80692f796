//! Reach (issue 10): authentication, checksums and servers as they are are checked here or in
//! download.rs; this file holds what needs a login or several origins.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

const SECRET: &str = "pa55-word-9c2e";

#[test]
fn user_credentials_log_in_and_stay_with_their_origin() {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let body = pattern(1 << 20, 501);
    a.add(
        "/private.bin",
        Resource::new(body.clone()).basic_auth("alice", SECRET),
    );
    b.add("/public.bin", Resource::new(body.clone()));
    a.redirect("/elsewhere", &b.url("/public.bin"), 302);
    let env = Env::new();
    let user = format!("alice:{SECRET}");
    env.ok(&["get", &a.url("/private.bin"), "--user", &user]);
    assert_same_file(&env.out().join("private.bin"), &body);
    // Followed to another origin, the credentials stay behind.
    env.ok(&["get", &a.url("/elsewhere"), "--user", &user, "-o", "p.bin"]);
    assert!(b.log().iter().all(|e| e.header("authorization").is_none()));
    // Wrong credentials: a clear final failure, and nothing secret shown anywhere.
    let o = env.run(&[
        "get",
        &a.url("/private.bin"),
        "--user",
        "alice:nope",
        "-o",
        "x.bin",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let shown = format!(
        "{}{}{}",
        stderr(&o),
        env.ok(&["status", "--json"]),
        std::fs::read_to_string(env.home().join("ddm.log")).unwrap()
    );
    assert!(shown.contains("401"), "{shown}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("nope"),
        "{shown}"
    );
    // No password and no terminal to ask on: said, not guessed.
    let o = env.run(&["add", &a.url("/private.bin"), "--user", "alice"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no password"), "{}", stderr(&o));
}

#[test]
fn a_netrc_file_gives_credentials_for_its_host() {
    let a = Server::start().unwrap();
    let body = pattern(512 * 1024, 502);
    a.add(
        "/n.bin",
        Resource::new(body.clone()).basic_auth("bob", SECRET),
    );
    let env = Env::new();
    let netrc = env.dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login bob password {SECRET}\n"),
    )
    .unwrap();
    let o = env.run(&["get", &a.url("/n.bin")]);
    assert_eq!(o.status.code(), Some(1), "refused without the netrc");
    env.ok(&[
        "get",
        &a.url("/n.bin"),
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-o",
        "n2.bin",
    ]);
    assert_same_file(&env.out().join("n2.bin"), &body);
}

/// Proxies and TLS: what goes through the proxy is seen in the proxy's own log; names under
/// `proxy.test` resolve only inside the proxies, so a download from one could not have gone
/// around them.
mod network {
    use super::SECRET;
    use crate::util::*;
    use ddm_testserver::{
        pattern, Proxy, ProxyKind, Resource, Server, TlsFront, PROXY_ONLY_DOMAIN,
    };

    fn shown(env: &Env, o: &std::process::Output) -> String {
        format!(
            "{}{}{}",
            stderr(o),
            env.ok(&["status", "--json"]),
            env.log()
        )
    }

    #[test]
    fn an_http_proxy_carries_every_segment() {
        let s = Server::start().unwrap();
        let body = pattern(8 << 20, 510);
        s.add("/big.bin", Resource::new(body.clone()));
        let p = Proxy::start(ProxyKind::Http, None).unwrap();
        let env = Env::new();
        let url = format!("http://files.{PROXY_ONLY_DOMAIN}:{}/big.bin", s.port());
        let proxy = format!("http://127.0.0.1:{}", p.port());
        env.ok(&["get", &url, "-c", "4", "--proxy", &proxy]);
        assert_same_file(&env.out().join("big.bin"), &body);
        let log = p.log();
        assert!(log.len() >= 2, "segments, each through the proxy: {log:?}");
        assert_eq!(
            log.len(),
            s.log().len(),
            "every request the origin saw came via the proxy"
        );
        assert!(
            log.iter()
                .all(|e| e.method == "GET" && e.target == url && e.status == 200),
            "{log:?}"
        );
    }

    #[test]
    fn the_proxy_environment_is_honoured_and_noproxy_goes_around_it() {
        let s = Server::start().unwrap();
        let body = pattern(1 << 20, 511);
        s.add("/f.bin", Resource::new(body.clone()));
        let p = Proxy::start(ProxyKind::Http, None).unwrap();
        let proxy = format!("http://127.0.0.1:{}", p.port());
        let env = Env::new();
        let via = format!("http://files.{PROXY_ONLY_DOMAIN}:{}/f.bin", s.port());
        let run = |args: &[&str], vars: &[(&str, &str)]| {
            let mut c = env.cmd(args);
            for (k, v) in vars {
                c.env(k, v);
            }
            let o = c.output().unwrap();
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        };
        run(&["get", &via, "-o", "a.bin"], &[("http_proxy", &proxy)]);
        assert_same_file(&env.out().join("a.bin"), &body);
        let through = p.log().len();
        assert!(through >= 1);
        // Direct, past the environment's proxy: by --noproxy, by NO_PROXY, by --proxy "".
        let direct = s.url("/f.bin");
        run(
            &["get", &direct, "-o", "b.bin", "--noproxy", "127.0.0.1"],
            &[("http_proxy", &proxy)],
        );
        run(
            &["get", &direct, "-o", "c.bin"],
            &[
                ("http_proxy", &proxy),
                ("NO_PROXY", "example.org,127.0.0.1"),
            ],
        );
        run(
            &["get", &direct, "-o", "d.bin", "--proxy", ""],
            &[("http_proxy", "http://127.0.0.1:9")],
        );
        // Upper-case HTTP_PROXY can be set by a CGI request's `Proxy:` header ("httpoxy"):
        // ignored for http, as curl does.
        run(
            &["get", &direct, "-o", "e.bin"],
            &[("HTTP_PROXY", "http://127.0.0.1:9")],
        );
        assert_eq!(p.log().len(), through, "{:?}", p.log());
        for f in ["b.bin", "c.bin", "d.bin", "e.bin"] {
            assert_same_file(&env.out().join(f), &body);
        }
    }

    #[test]
    fn socks5h_resolves_names_at_the_proxy_and_keeps_its_password() {
        let s = Server::start().unwrap();
        let body = pattern(4 << 20, 512);
        s.add("/s.bin", Resource::new(body.clone()));
        let p = Proxy::start(ProxyKind::Socks5, Some(("sam", SECRET))).unwrap();
        let env = Env::new();
        let url = format!("http://files.{PROXY_ONLY_DOMAIN}:{}/s.bin", s.port());
        let proxy = format!("socks5h://sam:{SECRET}@127.0.0.1:{}", p.port());
        let o = env.run(&["get", &url, "-c", "3", "--proxy", &proxy]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_same_file(&env.out().join("s.bin"), &body);
        let log = p.log();
        assert!(!log.is_empty());
        let target = format!("files.{PROXY_ONLY_DOMAIN}:{}", s.port());
        let auth = format!("sam:{SECRET}");
        assert!(
            log.iter()
                .all(|e| e.target == target && e.auth.as_deref() == Some(&auth) && e.status == 200),
            "the name went to the proxy unresolved, with the credentials: {log:?}"
        );
        assert!(!shown(&env, &o).contains(SECRET));
    }

    #[test]
    fn a_failing_proxy_is_named_as_the_cause_without_its_password() {
        let s = Server::start().unwrap();
        let body = pattern(256 * 1024, 513);
        s.add("/f.bin", Resource::new(body.clone()));
        let p = Proxy::start(ProxyKind::Http, Some(("pat", SECRET))).unwrap();
        let env = Env::new();
        let url = s.url("/f.bin");
        // Wrong proxy password: a final failure about the proxy, not the file.
        let wrong = format!("http://pat:wrong-pw-77@127.0.0.1:{}", p.port());
        let o = env.run(&["get", &url, "--proxy", &wrong, "-o", "a.bin"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("proxy http://pat:***@127.0.0.1:{}", p.port()))
                && err.contains("407"),
            "{err}"
        );
        assert!(!shown(&env, &o).contains("wrong-pw-77"));
        assert!(!env.out().join("a.bin").exists());
        assert!(s.log().is_empty(), "nothing reached the origin");
        // The right one: through, with the credentials on every request.
        let right = format!("http://pat:{SECRET}@127.0.0.1:{}", p.port());
        env.ok(&["get", &url, "--proxy", &right, "-o", "b.bin"]);
        assert_same_file(&env.out().join("b.bin"), &body);
        assert!(p.log().iter().any(|e| e.status == 200));
        // A proxy that is not there: said so at once, naming it.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let o = env.run(&[
            "get",
            &url,
            "--proxy",
            &format!("127.0.0.1:{dead}"),
            "-o",
            "c.bin",
        ]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("proxy http://127.0.0.1:{dead}")) && err.contains("refused"),
            "{err}"
        );
        // Not a proxy URL: refused before anything is queued.
        let o = env.run(&["add", &url, "--proxy", "ftp://127.0.0.1:21"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("unsupported scheme"), "{}", stderr(&o));
    }

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
    fn a_proxy_refusing_connect_for_credentials_is_said_to_ask_for_authentication() {
        // https through an http proxy: the proxy answers CONNECT with 407, which reaches ddm
        // as a failed tunnel, not as an HTTP answer. It is the proxy asking for a login, as
        // curl says, never "connection refused"; final at once (one CONNECT per try).
        let s = Server::start().unwrap();
        s.add("/t.bin", Resource::new(pattern(64 * 1024, 515)));
        let front = TlsFront::start(s.port()).unwrap();
        let p = Proxy::start(ProxyKind::Http, Some(("pat", SECRET))).unwrap();
        let env = Env::new();
        let ca = env.home().join("test-ca.pem");
        std::fs::create_dir_all(env.home()).unwrap();
        std::fs::write(&ca, front.ca_pem()).unwrap();
        let ca = ca.to_str().unwrap();
        let url = front.url("/t.bin");
        let cases = [
            (format!("http://127.0.0.1:{}", p.port()), "none.bin", "give"),
            (
                format!("http://pat:wrong-pw-78@127.0.0.1:{}", p.port()),
                "wrong.bin",
                "refused",
            ),
        ];
        for (proxy, name, says) in &cases {
            let before = p.log().len();
            let o = env.run(&["get", &url, "--cacert", ca, "--proxy", proxy, "-o", name]);
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            let err = stderr(&o);
            assert!(
                err.contains(&format!(
                    "proxy http://{}127.0.0.1:{}",
                    if proxy.contains('@') { "pat:***@" } else { "" },
                    p.port()
                )) && err.contains("the proxy asks for authentication (407)")
                    && err.contains(says)
                    && !err.contains("connection refused"),
                "{err}"
            );
            assert!(!shown(&env, &o).contains("wrong-pw-78"));
            let asked: Vec<_> = p.log()[before..].to_vec();
            assert!(
                !asked.is_empty()
                    && asked
                        .iter()
                        .all(|e| e.method == "CONNECT" && e.status == 407),
                "{asked:?}"
            );
            assert_eq!(asked.len(), 1, "a 407 is final, not retried: {asked:?}");
            assert!(!env.out().join(name).exists());
        }
        assert!(s.log().is_empty(), "nothing reached the origin");
    }
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

#[test]
fn cookies_from_a_cookies_txt_go_only_where_domain_path_and_secure_allow() {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let body = pattern(6 << 20, 516);
    a.add("/dl/f.bin", Resource::new(body.clone()));
    b.add("/dl/g.bin", Resource::new(body.clone()));
    a.redirect(
        "/go",
        &format!("http://localhost:{}/dl/g.bin", b.port()),
        302,
    );
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let jar = env.home().join("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n\
         127.0.0.1\tFALSE\t/dl\tFALSE\t0\tsid\tsecret-sid-41\n\
         127.0.0.1\tFALSE\t/\tFALSE\t0\troot\tsecret-root-42\n\
         127.0.0.1\tFALSE\t/other\tFALSE\t0\tother\tsecret-other-43\n\
         127.0.0.1\tFALSE\t/\tTRUE\t0\tsec\tsecret-sec-44\n\
         127.0.0.1\tFALSE\t/\tFALSE\t1000\told\tsecret-old-45\n\
         #HttpOnly_localhost\tFALSE\t/\tFALSE\t0\tlh\tsecret-lh-46\n\
         this line is not a cookie\n",
    )
    .unwrap();
    let jar = jar.to_str().unwrap();
    let o = env.run(&["get", &a.url("/dl/f.bin"), "-c", "4", "--load-cookies", jar]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let note = stderr(&o);
    assert!(
        note.contains("1 expired") && note.contains("line 8"),
        "{note}"
    );
    let sent: Vec<String> = a
        .log()
        .iter()
        .map(|e| e.header("cookie").unwrap_or("").to_string())
        .collect();
    assert!(sent.len() >= 2, "segments: {sent:?}");
    assert!(
        sent.iter()
            .all(|c| c == "sid=secret-sid-41; root=secret-root-42"),
        "path /dl and / only; no secure cookie over http, no expired one: {sent:?}"
    );
    // Redirected to another host: that host's cookie only.
    let o = env.run(&["get", &a.url("/go"), "--load-cookies", jar, "-o", "g.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("g.bin"), &body);
    assert!(!b.log().is_empty());
    assert!(
        b.log()
            .iter()
            .all(|e| e.header("cookie") == Some("lh=secret-lh-46")),
        "{:?}",
        b.log()
            .iter()
            .map(|e| e.header("cookie"))
            .collect::<Vec<_>>()
    );
    let shown = format!(
        "{}{}{}",
        stderr(&o),
        env.ok(&["status", "--json"]),
        env.log()
    );
    assert!(!shown.contains("secret-"), "{shown}");
    // A file with nothing usable: refused, saying what was expected.
    let bad = env.home().join("bad.txt");
    std::fs::write(&bad, "sid=abc; other=def\n").unwrap();
    let o = env.run(&[
        "add",
        &a.url("/dl/f.bin"),
        "--load-cookies",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Netscape format"), "{}", stderr(&o));
}

#[test]
fn set_url_keeps_progress_for_the_same_file_and_refuses_another() {
    use std::time::Duration;
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 12usize << 20;
    let body = pattern(size, 517);
    a.add(
        "/dl",
        Resource::new(body.clone()).etag("\"v1\"").rate(2 << 20),
    );
    b.add("/same.bin", Resource::new(body.clone()).etag("\"v1\""));
    b.add(
        "/newer.bin",
        Resource::new(pattern(size, 518)).etag("\"v2\""),
    );
    b.add(
        "/shorter.bin",
        Resource::new(pattern(size - 1, 517)).etag("\"v1\""),
    );
    let env = Env::new();
    let token = "Authorization: Bearer tok-secret-77";
    env.ok(&[
        "add",
        &a.url("/dl"),
        "-c",
        "2",
        "-o",
        "big.iso",
        "-H",
        token,
    ]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.job(1)["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    let done = env.job(1)["bytes_done"].as_u64().unwrap();
    assert!(done > 0 && done < size as u64);
    // Another host, and the job has a credential: the user says where it goes first.
    let o = env.run(&["set-url", "1", &b.url("/same.bin")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--drop-credentials"), "{}", stderr(&o));
    assert!(b.log().is_empty(), "nothing was sent before the user chose");
    // Another version, another size: refused with the difference named; nothing changes.
    for (path, diff) in [
        ("/newer.bin", "ETag \"v1\" → \"v2\""),
        ("/shorter.bin", "size"),
    ] {
        let o = env.run(&["set-url", "1", &b.url(path), "--drop-credentials"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(diff) && stderr(&o).contains("kept"),
            "{}",
            stderr(&o)
        );
        assert_eq!(env.job(1)["url"], a.url("/dl"));
        assert_eq!(env.job(1)["bytes_done"].as_u64(), Some(done));
    }
    // The same file elsewhere: progress kept, the download continues from there.
    let out = env.ok(&["set-url", "1", &b.url("/same.bin"), "--drop-credentials"]);
    assert!(out.contains("kept"), "{out}");
    assert_eq!(env.job(1)["url"], b.url("/same.bin"));
    assert_eq!(env.job(1)["state"], "paused");
    let asked_before = b.log().len();
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.iso"), &body);
    let served: u64 = b.log()[asked_before..].iter().map(|e| e.body_bytes).sum();
    assert!(
        served <= (size as u64 - done) + (1 << 20),
        "only the rest came from the new URL: {served} of {size}, {done} kept"
    );
    assert!(b.log().iter().all(|e| e.header("authorization").is_none()));
    let o = env.run(&["set-url", "1", &b.url("/same.bin")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already done"), "{}", stderr(&o));
}

#[test]
fn set_url_restart_starts_a_changed_file_over_and_requeues_a_failed_job() {
    use ddm_testserver::Fault;
    use std::time::Duration;
    let a = Server::start().unwrap();
    let old = pattern(8 << 20, 519);
    let new = pattern(3 << 20, 520);
    a.add(
        "/v1.bin",
        Resource::new(old.clone()).etag("\"1\"").rate(2 << 20),
    );
    a.add("/v2.bin", Resource::new(new.clone()).etag("\"2\""));
    let env = Env::new();
    env.ok(&["add", &a.url("/v1.bin"), "-o", "f.bin", "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_for(Duration::from_secs(20), "progress", || {
        (env.job(1)["bytes_done"].as_u64()? > 0).then_some(())
    });
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    // The old link dies: the job fails, its progress kept.
    a.add(
        "/v1.bin",
        Resource::new(old).etag("\"1\"").fault(Fault::Status {
            code: 404,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    let r = env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{r} {} {}",
        stderr(&o),
        env.job(1)
    );
    assert_eq!(env.job(1)["state"], "failed");
    assert!(env.job(1)["bytes_done"].as_u64().unwrap() > 0);
    let o = env.run(&["set-url", "1", &a.url("/v2.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--restart"), "{}", stderr(&o));
    let out = env.ok(&["set-url", "1", &a.url("/v2.bin"), "--restart"]);
    assert!(out.contains("from zero"), "{out}");
    assert_eq!(
        env.job(1)["state"],
        "queued",
        "a failed job is queued again"
    );
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &new);
}

mod digest;
mod mirrors;

#[test]
fn an_https_proxy_is_verified_like_a_server() {
    use ddm_testserver::{Proxy, ProxyKind, TlsFront, PROXY_ONLY_DOMAIN};
    let s = Server::start().unwrap();
    let body = pattern(2 << 20, 534);
    s.add("/h.bin", Resource::new(body.clone()));
    let p = Proxy::start(ProxyKind::Http, None).unwrap();
    let front = TlsFront::start(p.port()).unwrap();
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let ca = env.home().join("proxy-ca.pem");
    std::fs::write(&ca, front.ca_pem()).unwrap();
    let url = format!("http://files.{PROXY_ONLY_DOMAIN}:{}/h.bin", s.port());
    let proxy = format!("https://localhost:{}", front.port());
    // The proxy's certificate is from an unknown CA: refused, nothing asked through it.
    let o = env.run(&["get", &url, "--proxy", &proxy, "-o", "a.bin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("proxy {proxy}: TLS failure")),
        "{err}"
    );
    assert!(p.log().is_empty());
    // Trusted with --cacert: through it, every request.
    let o = env.run(&[
        "get",
        &url,
        "--proxy",
        &proxy,
        "--cacert",
        ca.to_str().unwrap(),
        "-c",
        "3",
        "-o",
        "b.bin",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("b.bin"), &body);
    assert!(!p.log().is_empty() && p.log().iter().all(|e| e.target == url));
}

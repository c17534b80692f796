//! Proxies (HTTP, SOCKS5h, HTTPS, and the proxy environment): what goes through the proxy is
//! seen in the proxy's own log; names under `proxy.test` resolve only inside the proxies, so
//! a download from one could not have gone around them. A failing proxy is named as the
//! cause, without its password.

use super::SECRET;
use crate::util::*;
use ddm_testserver::{pattern, Proxy, ProxyKind, Resource, Server, TlsFront, PROXY_ONLY_DOMAIN};

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

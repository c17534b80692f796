//! Credentials have a scope: Authorization, Cookie, headers marked `--secret-header` and a
//! password in the URL go only to the scheme, host and port of the URL the user gave. Checked
//! on the second server's own request log, for every verb that makes requests.

use crate::har::common::{chrome_entry, chrome_har, write_har};
use crate::util::*;
use ddm_testserver::{pattern, LogEntry, Resource, Server};

const SECRET: &str = "S3CRET-7d1e";

fn assert_no_secret(log: &[LogEntry], who: &str) {
    assert!(!log.is_empty(), "{who} got no request");
    for e in log {
        for (n, v) in &e.headers {
            assert!(
                !v.contains(SECRET),
                "{who} received {n}: {v} ({} {})",
                e.method,
                e.target
            );
        }
        for n in ["authorization", "cookie", "x-api-token"] {
            assert!(e.header(n).is_none(), "{who} received {n} on {}", e.target);
        }
    }
}

/// Server A redirects `/redir` to server B (another port): B serves the file (at 8 MiB/s
/// per connection, so that a large one is shared by several connections).
fn two_servers(body: &[u8]) -> (Server, Server) {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    b.add(
        "/f.bin",
        Resource::new(body.to_vec()).etag("\"c1\"").rate(8 << 20),
    );
    a.redirect("/redir", &b.url("/f.bin"), 302);
    (a, b)
}

const HEADERS: &[&str] = &[
    "-H",
    "Authorization: Bearer S3CRET-7d1e",
    "-H",
    "Cookie: c=S3CRET-7d1e",
    "-H",
    "X-Api-Token: S3CRET-7d1e",
    "--secret-header",
    "X-Api-Token",
    "-H",
    "X-Trace: visible",
];

#[test]
fn get_sends_credentials_to_the_given_host_only_and_other_headers_everywhere() {
    let body = pattern(12 << 20, 801);
    let (a, b) = two_servers(&body);
    let env = Env::new();
    let mut args = vec!["get", "-c", "4"];
    let url = a.url("/redir");
    args.push(&url);
    args.extend_from_slice(HEADERS);
    let o = env.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let blog = b.log();
    assert_no_secret(&blog, "the redirect target");
    assert!(
        blog.len() >= 3,
        "the first request and the other connections' ranges all went to B"
    );
    assert!(blog.iter().all(|e| e.header("x-trace") == Some("visible")));
    let alog = a.log();
    assert!(alog.iter().all(|e| e
        .header("authorization")
        .is_some_and(|v| v.contains(SECRET))
        && e.header("x-api-token") == Some(SECRET)));
    // Nothing secret in what ddm shows or keeps in its log.
    let shown = format!(
        "{}{}{}",
        stderr(&o),
        env.ok(&["status", "--json"]),
        std::fs::read_to_string(env.home().join("ddm.log")).unwrap()
    );
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn probe_and_bench_keep_credentials_on_the_given_host() {
    let body = pattern(2 << 20, 802);
    let (a, b) = two_servers(&body);
    let env = Env::new();
    let url = a.url("/redir");
    let mut args = vec!["probe", url.as_str()];
    args.extend_from_slice(HEADERS);
    let out = env.ok(&args);
    assert!(out.contains("final url"), "{out}");
    let mut args = vec!["bench", url.as_str(), "--counts", "1,2", "--bytes", "1M"];
    args.extend_from_slice(HEADERS);
    env.ok(&args);
    assert_no_secret(&b.log(), "the redirect target");
    assert!(a.log().iter().all(|e| e.header("cookie").is_some()));
}

#[test]
fn har_cookies_stay_with_the_captured_host_when_it_now_redirects() {
    // The capture shows the download answered by A, with the session cookie. When the job
    // runs, A redirects to B: the cookie (allowed with --allow-cookies) must not follow.
    let body = pattern(1 << 20, 803);
    let (a, b) = two_servers(&body);
    let env = Env::new();
    let entry = chrome_entry(
        &a.url("/redir"),
        200,
        &[
            ("cookie", &format!("session={SECRET}")),
            ("user-agent", "UA/1"),
        ],
        &[
            ("content-type", "application/octet-stream"),
            ("content-disposition", "attachment; filename=\"f.bin\""),
            ("content-length", "1048576"),
        ],
        "",
        "application/octet-stream",
        1 << 20,
    );
    let har = write_har(&env, "c.har", &chrome_har(vec![entry]));
    env.ok(&["import-har", har.to_str().unwrap(), "--allow-cookies", "-q"]);
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert_no_secret(&b.log(), "the redirect target");
    assert!(a
        .log()
        .iter()
        .any(|e| e.header("cookie").is_some_and(|c| c.contains(SECRET))));
}

#[test]
fn a_password_in_the_url_is_used_on_its_host_and_never_shown() {
    let body = pattern(1 << 20, 804);
    let (a, b) = two_servers(&body);
    let env = Env::new();
    let url = format!("http://user:{SECRET}@127.0.0.1:{}/redir", a.port());
    let o = env.run(&["get", &url, "-v"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    // Never to B. (Over plain http a login goes out only when asked for: A's redirect did
    // not ask.)
    for e in b.log() {
        assert!(e.header("authorization").is_none(), "B got credentials");
    }
    // Asked for by A (a 401 challenge): Basic auth goes to A, which serves the file.
    a.add(
        "/own.bin",
        Resource::new(body.clone()).basic_auth("user", SECRET),
    );
    let own = format!("http://user:{SECRET}@127.0.0.1:{}/own.bin", a.port());
    let o = env.run(&["get", &own]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("own.bin"), &body);
    assert!(a.log().iter().any(|e| e.target == "/own.bin"
        && (200..300).contains(&e.status)
        && e.header("authorization").is_some()));
    let status = env.ok(&["status"]);
    let json = env.ok(&["status", "--json"]);
    let log = std::fs::read_to_string(env.home().join("ddm.log")).unwrap();
    for (what, text) in [
        ("stderr", stderr(&o)),
        ("status", status),
        ("status --json", json.clone()),
        ("ddm.log", log),
    ] {
        assert!(!text.contains(SECRET), "{what} shows the password: {text}");
    }
    assert!(json.contains("user:***@"), "{json}");
    // An error names the URL the same way.
    let bad = format!("http://user:{SECRET}@127.0.0.1:{}/nope", a.port());
    let o = env.run(&["get", &bad]);
    assert_eq!(o.status.code(), Some(1));
    let text = format!("{}{}", stderr(&o), env.ok(&["status", "--json"]));
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("404"), "{text}");
}

#[test]
fn a_malformed_header_is_refused_without_echoing_it() {
    let env = Env::new();
    for args in [
        vec![
            "add",
            "http://127.0.0.1:9/f",
            "-H",
            "Authorization Bearer S3CRET-7d1e",
        ],
        vec!["get", "http://127.0.0.1:9/f", "-H", "Bad S3CRET-7d1e: x"],
        vec!["probe", "http://127.0.0.1:9/f", "-H", "S3CRET-7d1e"],
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("-H number 1"), "{err}");
    }
}

/// netrc credentials have the scope of `-u`: an https URL whose netrc entry names its host,
/// redirected to `http://` on the same host, sends the password only over https (the
/// redirect target and its ranges get none); a `default` entry goes to the job's own origin
/// only, never to the host a redirect leads to.
#[test]
fn netrc_credentials_go_only_to_the_jobs_origin() {
    use ddm_testserver::TlsFront;
    let s = Server::start().unwrap();
    let body = pattern(3 << 20, 1401);
    s.add("/f.bin", Resource::new(body.clone()).rate(8 << 20));
    s.redirect(
        "/start",
        &format!("http://localhost:{}/f.bin", s.port()),
        302,
    );
    let front = TlsFront::start(s.port()).unwrap();
    let env = Env::new();
    let ca = env.dir.path().join("ca.pem");
    std::fs::write(&ca, front.ca_pem()).unwrap();
    let netrc = env.dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine localhost login bob password {SECRET}\n"),
    )
    .unwrap();
    let o = env.run(&[
        "get",
        &front.url("/start"),
        "--cacert",
        ca.to_str().unwrap(),
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-c",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let log = s.log();
    let (https, plain): (Vec<_>, Vec<_>) = log.into_iter().partition(|e| e.target == "/start");
    assert!(
        https.iter().all(|e| e
            .header("authorization")
            .is_some_and(|v| v.starts_with("Basic "))),
        "the netrc entry is used on its own origin: {https:?}"
    );
    assert!(plain.len() >= 2, "the file came over plain http: {plain:?}");
    assert_no_secret(&plain, "the plain-http redirect target");

    // `default` goes to the job's origin, not to another server a redirect leads to. (Over
    // plain http a login goes out when asked for: the file is behind a challenge on A.)
    let (a, b) = two_servers(&body);
    std::fs::write(&netrc, format!("default login bob password {SECRET}\n")).unwrap();
    a.add(
        "/own.bin",
        Resource::new(body.clone()).basic_auth("bob", SECRET),
    );
    env.ok(&[
        "get",
        &a.url("/own.bin"),
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-o",
        "own.bin",
    ]);
    assert_same_file(&env.out().join("own.bin"), &body);
    env.ok(&[
        "get",
        &a.url("/redir"),
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-o",
        "d.bin",
    ]);
    assert_same_file(&env.out().join("d.bin"), &body);
    assert!(a
        .log()
        .iter()
        .filter(|e| e.target == "/own.bin" && e.status != 401)
        .all(|e| e.header("authorization").is_some()));
    assert_no_secret(&b.log(), "the redirect target of a default entry");
}

/// A netrc that cannot be used is said at once, naming the file and the line, never its
/// passwords; nothing is queued.
#[test]
fn a_broken_or_missing_netrc_is_an_error_not_ignored() {
    let env = Env::new();
    let netrc = env.dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine h login u password {SECRET} oops\n"),
    )
    .unwrap();
    let o = env.run(&[
        "add",
        "http://127.0.0.1:9/x",
        "--netrc-file",
        netrc.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("line 1") && err.contains("netrc"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains("oops"), "{err}");
    // --netrc with no ~/.netrc.
    let o = env
        .cmd(&["add", "http://127.0.0.1:9/x", "--netrc"])
        .env("HOME", env.dir.path())
        .env_remove("NETRC")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(".netrc"), "{}", stderr(&o));
    assert!(env.jobs().is_empty(), "nothing was queued");
}

/// `ddm add --curl` with a browser's "Copy as cURL" command, in both flavours: the
/// Authorization header and the cookies reach the command's host, never the host it
/// redirects to, which gets the other headers; the bytes are the file's.
#[test]
fn add_curl_scopes_the_commands_credentials_to_its_host() {
    let body = pattern(6 << 20, 811);
    let (a, b) = two_servers(&body);
    let url = a.url("/redir");
    let bash = format!(
        "curl '{url}' \\\n  -H 'accept: */*' \\\n  -H 'authorization: Bearer {SECRET}' \\\n  \
         -b 'sid={SECRET}; theme=dark' \\\n  -H 'x-trace: visible' \\\n  \
         -H 'accept-encoding: gzip, deflate, br' \\\n  --compressed"
    );
    let cmd = format!(
        "curl ^\"{}^\" ^\n  -H ^\"authorization: Bearer {SECRET}^\" ^\n  -b ^\"sid={SECRET}^\" ^\n  \
         -H ^\"x-trace: visible^\" ^\n  --compressed",
        url.replace('&', "^&")
    );
    for (i, text) in [bash, cmd].iter().enumerate() {
        let env = Env::new();
        let o = env.run(&["add", "--curl", text, "-o", &format!("f{i}.bin")]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stderr(&o).contains(SECRET), "{}", stderr(&o));
        env.ok(&["run", "-q"]);
        assert_same_file(&env.out().join(format!("f{i}.bin")), &body);
    }
    assert_no_secret(&b.log(), "the redirect target");
    assert!(b
        .log()
        .iter()
        .all(|e| e.header("x-trace") == Some("visible")));
    let alog = a.log();
    assert_eq!(alog.len(), 2, "one first request per job at the origin");
    for e in &alog {
        assert_eq!(
            e.header("authorization"),
            Some(format!("Bearer {SECRET}").as_str())
        );
        assert!(e
            .header("cookie")
            .is_some_and(|c| c.contains(&format!("sid={SECRET}"))));
    }
}

#[test]
fn add_curl_refuses_a_command_that_is_no_download() {
    let env = Env::new();
    for (text, says) in [
        ("curl https://h/x --data-raw 'a=1'", "sends a body"),
        ("wget https://h/x", "not a curl command"),
    ] {
        let o = env.run(&["add", "--curl", text]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    assert!(env.jobs().is_empty(), "nothing queued");
}

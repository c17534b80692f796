//! Cookies from a cookies.txt (Netscape format): sent only where domain, path and secure
//! allow, never shown; a file with nothing usable is refused, saying what was expected.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

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

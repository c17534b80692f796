//! Logins: `--user` (Basic) and a netrc file. The credentials log in and stay with their
//! origin across a redirect, wrong ones are a clear final failure, and the password is shown
//! nowhere. Digest is in `digest.rs`.

use super::SECRET;
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

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

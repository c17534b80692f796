//! `ddm top`'s lanes (Enter): the same per-connection data as the page, asked of the `ddm
//! serve` working the queue. Run in a pseudo-terminal (`script`), keys typed, the screen
//! read back.

use super::{rpc, serve};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use serde_json::json;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The screen text without escape sequences.
fn plain(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                // A cursor move is a new place on the screen: keep the words apart.
                for n in it.by_ref() {
                    if n.is_ascii_alphabetic() {
                        out.push(' ');
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `ddm top` in a 50×160 terminal: type `keys` (each after a pause), then quit; the screen.
fn top(env: &Env, keys: &[&str]) -> String {
    let cmd = format!("stty rows 50 cols 160; exec {DDM} top");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("DDM_HOME", env.home())
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs ddm top in a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    std::thread::sleep(Duration::from_millis(1500));
    for k in keys {
        stdin.write_all(k.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
    }
    stdin.write_all(b"q").unwrap();
    drop(stdin);
    let status = wait_child(&mut child, Duration::from_secs(10));
    assert!(status.success(), "ddm top exited {status:?}");
    // Blank cells are skipped with cursor moves: words are compared, not spacing.
    let screen = plain(&reader.join().unwrap());
    screen.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn top_shows_the_lanes_of_the_selected_job_from_ddm_serve() {
    let server = Server::start().unwrap();
    let body = pattern(16 << 20, 1709);
    server.add("/t.bin", Resource::new(body.clone()).rate(128 << 10));
    let env = Env::new();
    // top finds the token where a user keeps it: config serve.secret.
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.toml"),
        "[serve]\nsecret = \"page-test-token-0123456789abcdef\"\n",
    )
    .unwrap();
    let s = serve(&env);
    rpc(
        &s,
        "aria2.addUri",
        json!([[server.url("/t.bin")], {"split": "8"}]),
    );
    wait_for(Duration::from_secs(20), "8 connections open", || {
        let c = rpc(&s, "ddm.getConnections", json!(["0000000000000001"]));
        (c["lanes"].as_array().map(Vec::len) == Some(8)).then_some(())
    });
    let screen = top(&env, &["\r"]);
    assert!(
        screen.contains("lanes of job 1: 8 connections open"),
        "{screen}"
    );
    for id in 0..8 {
        assert!(screen.contains(&format!("#{id}")), "lane #{id}: {screen}");
    }
    assert!(
        screen.contains(&format!("127.0.0.1:{}", server.port())),
        "{screen}"
    );
    assert!(screen.contains("ttfb"), "{screen}");
    // ddm serve stops (SIGTERM): it takes its address away; top says where lanes come from.
    let addr_file = env.home().join("serve.addr");
    assert!(addr_file.exists());
    let mut s = s;
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    wait_child(&mut s.child, Duration::from_secs(10));
    assert!(
        !addr_file.exists(),
        "serve.addr removed when ddm serve stops"
    );
    let screen = top(&env, &["\r"]);
    assert!(screen.contains("lanes of job 1"), "{screen}");
    assert!(
        screen.contains("lanes are known only to the runner's process"),
        "{screen}"
    );
}

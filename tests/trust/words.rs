//! What ddm names and says (issue 14.16): invisible characters from a server never reach a
//! file name, bidi controls and invisible characters from a server are shown escaped (text)
//! or as `\uXXXX` (JSON), and an error says each thing once.

use crate::faults::{config, create_db, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

/// The characters that reorder or hide text: RLO, RLM, ALM, ZWSP, BOM, LRI.
const HIDDEN: [char; 6] = [
    '\u{202E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{FEFF}', '\u{2066}',
];

fn shows_hidden(text: &str) -> bool {
    text.chars().any(|c| HIDDEN.contains(&c))
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn invisible_characters_from_a_server_never_reach_a_file_name() {
    let server = Server::start().unwrap();
    let body = pattern(64 * 1024, 1601);
    // RFC 5987: RLM, ALM, ZWSP and BOM, percent-encoded; and a plain `filename` with a BOM
    // first and an RLM before the extension.
    server.add(
        "/a",
        Resource::new(body.clone()).content_disposition(
            "attachment; filename*=UTF-8''re%E2%80%8Fp%D8%9Cort%E2%80%8B%EF%BB%BF.pdf",
        ),
    );
    server.add(
        "/b",
        Resource::new(body.clone())
            .content_disposition("attachment; filename=\"\u{FEFF}notes\u{200F}.txt\""),
    );
    let env = Env::new();
    env.ok(&["get", &server.url("/a")]);
    env.ok(&["get", &server.url("/b")]);
    let names = names_in(&env.out());
    assert_eq!(names, ["notes.txt", "report.pdf"], "{names:?}");
    assert_same_file(&env.out().join("report.pdf"), &body);
    let status = env.ok(&["status"]);
    assert!(
        status.contains("report.pdf") && !shows_hidden(&status),
        "{status}"
    );
}

#[test]
fn bidi_controls_from_a_server_are_shown_escaped_in_errors_and_json() {
    let server = Server::start().unwrap();
    let body = pattern(4 << 20, 1602);
    server.add(
        "/rlo.bin",
        Resource::new(body.clone()).etag("\"v1\"").rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    env.ok(&["add", &server.url("/rlo.bin"), "-c", "1"]);
    let mut runner = env.spawn(&["run"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    env.ok(&["pause", "1"]);
    wait_child(&mut runner, Duration::from_secs(10));
    // The file changes; its new ETag hides an extension behind an RLO.
    let evil = "\"v2\u{202E}gpj.exe\u{200F}\"";
    server.add("/rlo.bin", Resource::new(body).etag(evil));
    let probed = env.ok(&["probe", &server.url("/rlo.bin")]);
    let probed_json = env.ok(&["probe", &server.url("/rlo.bin"), "--json"]);
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let status = env.ok(&["status"]);
    let json = env.ok(&["status", "--json"]);
    for (what, text) in [
        ("probe", probed.as_str()),
        ("probe --json", probed_json.as_str()),
        ("run's stderr", &stderr(&o)),
        ("status", status.as_str()),
        ("status --json", json.as_str()),
    ] {
        assert!(
            !shows_hidden(text),
            "{what} shows a raw bidi control: {text:?}"
        );
    }
    for text in [&stderr(&o), &status, &probed] {
        assert!(text.contains("v2\\u{202e}gpj.exe\\u{200f}"), "{text}");
    }
    // JSON says the same value: a parser reads the server's ETag back exactly.
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let err = jobs[0]["error"].as_str().unwrap();
    assert!(err.contains(evil), "{err:?}");
    let p: serde_json::Value = serde_json::from_str(&probed_json).unwrap();
    assert_eq!(p["etag"], evil, "{probed_json}");
}

#[test]
fn an_error_and_its_cause_are_said_once() {
    // A cause that the message already holds (std's "stream did not contain valid UTF-8").
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), b"connections = \"\xff\"\n").unwrap();
    let o = env.run(&["status"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(
        err.matches("did not contain valid UTF-8").count(),
        1,
        "{err}"
    );
    // A job that gave up: its message and its hint say "progress kept" once between them.
    let server = Server::start().unwrap();
    server.add(
        "/cut.bin",
        Resource::new(pattern(1 << 20, 1603)).fault(Fault::CutAfter {
            after: 0,
            rst: false,
            times: usize::MAX,
        }),
    );
    let env = Env::new();
    config(&env, "max_attempts = 2\n");
    let o = env.run(&["get", &server.url("/cut.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(env.job(1)["error_kind"], "gave-up");
    let status = env.ok(&["status"]);
    for text in [stderr(&o), status] {
        let said = text.matches("kept").count();
        assert_eq!(said, 1, "progress kept {said} times: {text}");
        assert!(text.contains("`ddm resume 1` continues"), "{text}");
    }
}

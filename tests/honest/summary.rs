//! `ddm run` ends with a summary: jobs done and failed (each failure with its error and what
//! to do), the bytes received and the time; `--json` as one `summary` event.

use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};

const MIB: usize = 1 << 20;

fn server() -> Server {
    let server = Server::start().unwrap();
    server.add("/ok.bin", Resource::new(pattern(2 * MIB, 1580)));
    server.add("/ok2.bin", Resource::new(pattern(MIB, 1581)));
    server.add(
        "/gone.bin",
        Resource::new(pattern(1000, 1582)).fault(Fault::Status {
            code: 404,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    server
}

#[test]
fn run_ends_with_what_was_done_what_failed_and_why() {
    let server = server();
    let env = Env::new();
    env.ok(&[
        "add",
        &server.url("/ok.bin"),
        &server.url("/gone.bin"),
        &server.url("/ok2.bin"),
    ]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let at = err
        .find("summary: ")
        .unwrap_or_else(|| panic!("no summary: {err}"));
    let tail = &err[at..];
    assert!(
        tail.starts_with("summary: 3 jobs ran: 2 done, 1 failed; 3.0 MiB received in"),
        "{tail}"
    );
    let failure = tail
        .lines()
        .find(|l| l.trim_start().starts_with("job 2 failed:"))
        .unwrap_or_else(|| panic!("the failure is not in the summary: {tail}"));
    assert!(
        failure.contains("404") && failure.contains("set-url 2"),
        "{failure}"
    );
    // -q keeps the failures only.
    let env = Env::new();
    env.ok(&["add", &server.url("/gone.bin")]);
    let o = env.run(&["run", "-q"]);
    let err = stderr(&o);
    assert!(!err.contains("summary:"), "{err}");
    assert!(err.contains("job 1 failed:"), "{err}");
}

#[test]
fn run_json_ends_with_a_summary_event() {
    let server = server();
    let env = Env::new();
    env.ok(&["add", &server.url("/ok2.bin"), &server.url("/gone.bin")]);
    let o = env.run(&["run", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "summary", "{out}");
    assert_eq!(last["done"], 1);
    assert_eq!(last["failed"], 1);
    assert_eq!(last["received"], MIB as u64);
    assert_eq!(last["failures"][0]["job"], 2);
    assert_eq!(last["failures"][0]["error_kind"], "not-found");
}

//! The data directory over time (issue 14.16): the verbs that only read work on a data
//! directory that cannot be written.

use crate::storage::{is_root, Mount};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::fs::PermissionsExt;

#[test]
fn reading_verbs_work_on_a_data_directory_that_cannot_be_written() {
    let server = Server::start().unwrap();
    let body = pattern(64 * 1024, 1502);
    server.add("/done.bin", Resource::new(body.clone()));
    let env = Env::new();
    env.ok(&["get", &server.url("/done.bin")]);
    env.ok(&["add", "http://127.0.0.1:9/later.bin"]);
    let db = env.home().join("jobs.db");
    let before = std::fs::read(&db).unwrap();
    // Root ignores permission bits: a read-only bind mount (EROFS) instead.
    let mount = if is_root() {
        Some(Mount::read_only(&env.home()).expect("read-only bind mount"))
    } else {
        std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let status = env.run(&["status"]);
    let json = env.run(&["status", "--json"]);
    let one = env.run(&["status", "2", "--json"]);
    let top = env.run(&["top"]);
    let add = env.run(&["add", "http://127.0.0.1:9/no.bin"]);
    match &mount {
        Some(m) => m.remount(false).unwrap(),
        None => {
            std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o700)).unwrap()
        }
    }
    drop(mount);
    for (what, o) in [
        ("status", &status),
        ("status --json", &json),
        ("status 2", &one),
        ("top", &top),
    ] {
        assert!(o.status.success(), "{what}: {}", stderr(o));
        assert!(!stderr(o).contains("unable to open"), "{what}: {}", stderr(o));
    }
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("done.bin") && text.contains("later.bin"), "{text}");
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    let states: Vec<&str> = jobs.iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["done", "queued"]);
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(top.contains("done.bin") && top.contains("later.bin"), "{top}");
    // A verb that writes fails, and says so; nothing was changed.
    assert_eq!(add.status.code(), Some(4), "{}", stderr(&add));
    assert!(stderr(&add).contains("jobs.db"), "{}", stderr(&add));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
}

//! `get` is honest about files that are already there: the same download run again after it
//! finished says it is done and asks nothing; `-o NAME` over a file nobody asked ddm to
//! replace is refused (never a quiet `NAME (1)`), `--overwrite` replaces it; `-o -` (stdout)
//! is refused, naming what to do instead. Checked from the server's log, the files, the exit
//! codes and the words printed.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::fs::symlink;

fn names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(env.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_finished_download_run_again_is_done_without_a_request() {
    let s = Server::start().unwrap();
    let body = pattern(512 << 10, 1601);
    s.add("/f.bin", Resource::new(body.clone()));
    let url = s.url("/f.bin");
    let env = Env::new();
    env.ok(&["get", &url]);
    env.ok(&["get", &url, "-o", "g.bin"]);
    let asked = s.log().len();
    // The same commands again: done, nothing asked, no second copy.
    for args in [vec!["get", &url], vec!["get", &url, "-o", "g.bin"]] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        let name = if args.len() > 2 { "g.bin" } else { "f.bin" };
        assert!(
            err.contains("already done")
                && err.contains(&env.out().join(name).display().to_string()),
            "{err}"
        );
    }
    // Also for scripts (--json).
    let o = env.run(&["get", &url, "--json"]);
    assert!(o.status.success());
    let ev: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (ev["event"].as_str(), ev["already"].as_bool()),
        (Some("done"), Some(true)),
        "{ev}"
    );
    assert_eq!(s.log().len(), asked, "a finished download was asked again");
    assert_eq!(names(&env), ["f.bin", "g.bin"]);
    assert_eq!(env.jobs().len(), 2);

    // --overwrite: a fresh copy, in place of the old one.
    env.ok(&["get", &url, "--overwrite"]);
    assert!(s.log().len() > asked);
    assert_eq!(names(&env), ["f.bin", "g.bin"]);
    assert_same_file(&env.out().join("f.bin"), &body);

    // The file is not as the job left it (changed by someone): not done. Without -o the
    // download gets the next free name; with -o it is refused (below, and its own test).
    std::fs::write(env.out().join("f.bin"), b"edited").unwrap();
    env.ok(&["get", &url]);
    assert_eq!(std::fs::read(env.out().join("f.bin")).unwrap(), b"edited");
    assert_same_file(&env.out().join("f (1).bin"), &body);
    // Deleted: downloaded again under its name.
    std::fs::remove_file(env.out().join("g.bin")).unwrap();
    env.ok(&["get", &url, "-o", "g.bin"]);
    assert_same_file(&env.out().join("g.bin"), &body);
}

#[test]
fn o_naming_an_existing_file_is_refused_unless_overwrite() {
    let s = Server::start().unwrap();
    let body = pattern(256 << 10, 1602);
    s.add("/f.bin", Resource::new(body.clone()));
    s.add("/other.bin", Resource::new(pattern(1000, 1603)));
    let url = s.url("/f.bin");
    let env = Env::new();
    std::fs::write(env.out().join("mine.bin"), b"mine").unwrap();
    symlink("/nonexistent/target", env.out().join("link.bin")).unwrap();
    std::fs::write(env.out().join("p.bin.part"), b"another tool's").unwrap();
    let cases = [
        ("mine.bin", "already exists", "--overwrite"),
        ("link.bin", "already exists", "--overwrite"),
        ("p.bin", "p.bin.part already exists", "move it away"),
    ];
    for verb in ["get", "add"] {
        for (name, says, next) in cases {
            let o = env.run(&[verb, &url, "-o", name]);
            assert_eq!(o.status.code(), Some(2), "{verb} -o {name}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(err.contains(says) && err.contains(next), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    assert!(s.log().is_empty(), "nothing was asked");
    assert!(env.jobs().is_empty(), "nothing was queued");
    assert_eq!(std::fs::read(env.out().join("mine.bin")).unwrap(), b"mine");
    assert_eq!(
        names(&env),
        ["link.bin", "mine.bin", "p.bin.part"],
        "no NAME (1)"
    );
    // Another unfinished job saving to that name.
    env.ok(&["add", &s.url("/other.bin"), "-o", "q.bin"]);
    let o = env.run(&["get", &url, "-o", "q.bin"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("job 1 (queued) saves to") && stderr(&o).contains("ddm remove 1"),
        "{}",
        stderr(&o)
    );
    // Asked for: replaced.
    env.ok(&["get", &url, "-o", "mine.bin", "--overwrite"]);
    assert_same_file(&env.out().join("mine.bin"), &body);

    // A file appearing at the name after the job was queued: the job fails (`exists`)
    // without writing there or anywhere else, and says what to do.
    env.ok(&["add", &url, "-o", "late.bin"]);
    std::fs::write(env.out().join("late.bin"), b"late").unwrap();
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("late.bin exists") && err.contains("--overwrite"),
        "{err}"
    );
    let late = env
        .jobs()
        .into_iter()
        .find(|j| j["name"] == "late.bin" || j["url"] == url.as_str() && j["state"] == "failed")
        .unwrap();
    assert_eq!(late["error_kind"], "exists", "{late}");
    assert_eq!(std::fs::read(env.out().join("late.bin")).unwrap(), b"late");
    assert!(
        !names(&env).iter().any(|n| n.starts_with("late (")),
        "{:?}",
        names(&env)
    );
    assert!(!env.out().join("late.bin.part").exists());
}

#[test]
fn o_dash_is_refused_clearly_and_a_file_named_dash_can_still_be_asked_for() {
    let s = Server::start().unwrap();
    let body = pattern(64 << 10, 1604);
    s.add("/f.bin", Resource::new(body.clone()));
    let env = Env::new();
    for verb in ["get", "add"] {
        let o = env.run(&[verb, &s.url("/f.bin"), "-o", "-"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("stdout") && err.contains("-o ./-") && o.stdout.is_empty(),
            "{err}"
        );
    }
    assert!(s.log().is_empty());
    assert!(names(&env).is_empty());
    assert!(env.jobs().is_empty());
    env.ok(&["get", &s.url("/f.bin"), "-o", "./-"]);
    assert_same_file(&env.out().join("-"), &body);
}

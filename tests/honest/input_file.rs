//! `ddm add -i FILE` / `-i -`: a list in aria2's input-file format. Each download gets its
//! own options (`out=`, `dir=`, `header=`, `checksum=`, `split=`) and mirrors (after a TAB);
//! an option ddm does not read is refused with its line number and nothing is queued.

use crate::util::*;
use ddm_core::engine::checksum::sha256_hex;
use ddm_testserver::{pattern, Resource, Server};
use std::io::Write;
use std::process::Stdio;

const MIB: usize = 1 << 20;

#[test]
fn a_list_queues_each_download_with_its_own_options_and_mirrors() {
    let server = Server::start().unwrap();
    let a = pattern(4 * MIB, 1570);
    server.add(
        "/a.bin",
        Resource::new(a.clone()).etag("\"a\"").rate(2 << 20),
    );
    server.add(
        "/m/a.bin",
        Resource::new(a.clone()).etag("\"a\"").rate(2 << 20),
    );
    let b = pattern(MIB, 1571);
    server.add("/b.bin", Resource::new(b.clone()));
    let c = pattern(MIB, 1572);
    server.add("/c.bin", Resource::new(c.clone()));
    let env = Env::new();
    let list = format!(
        "# three downloads\n\
         {}\t{}\n\
         \x20 out=first.bin\n\
         \x20 split=2\n\
         \n\
         {}\n\
         \tdir=sub\n\
         \theader=X-From-List: yes\n\
         {}\n\
         \x20 checksum=sha-256={}\n",
        server.url("/a.bin"),
        server.url("/m/a.bin"),
        server.url("/b.bin"),
        server.url("/c.bin"),
        sha256_hex(&c),
    );
    let path = env.dir.path().join("list.txt");
    std::fs::write(&path, list).unwrap();
    let ids = env.ok(&["add", "-i", path.to_str().unwrap()]);
    assert_eq!(ids.split_whitespace().collect::<Vec<_>>(), ["1", "2", "3"]);
    env.ok(&["run", "-q"]);
    assert_same_file(&env.out().join("first.bin"), &a);
    assert_same_file(&env.out().join("sub").join("b.bin"), &b);
    assert_same_file(&env.out().join("c.bin"), &c);
    let log = server.log();
    assert!(
        log.iter()
            .any(|e| e.target == "/b.bin" && e.header("x-from-list") == Some("yes")),
        "the header of the list was not sent"
    );
    assert!(
        log.iter()
            .all(|e| e.target == "/b.bin" || e.header("x-from-list").is_none()),
        "a download's header went to another"
    );
    assert!(
        log.iter().any(|e| e.target == "/m/a.bin"),
        "the mirror after the TAB was not used"
    );
    for id in 1..=3 {
        assert_eq!(env.job(id)["state"], "done");
    }
}

#[test]
fn an_option_ddm_does_not_read_is_refused_with_its_line_and_nothing_is_queued() {
    let env = Env::new();
    let path = env.dir.path().join("list.txt");
    std::fs::write(
        &path,
        "http://127.0.0.1:9/a.bin\n  out=a.bin\n\nhttp://127.0.0.1:9/b.bin\n  max-download-limit=1M\n",
    )
    .unwrap();
    let o = env.run(&["add", "-i", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("line 5") && err.contains("max-download-limit"),
        "{err}"
    );
    assert!(env.jobs().is_empty(), "nothing is queued");
    std::fs::write(&path, "http://127.0.0.1:9/a.bin\n  checksum=sha-256=abc\n").unwrap();
    let o = env.run(&["add", "-i", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    std::fs::write(&path, "ftp://127.0.0.1/a.bin\n").unwrap();
    let o = env.run(&["add", "-i", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    assert!(env.jobs().is_empty(), "nothing is queued");
}

#[test]
fn a_list_on_stdin_is_read_with_dash() {
    let env = Env::new();
    let mut child = env
        .cmd(&["add", "-i", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"http://127.0.0.1:9/one.bin\nhttp://127.0.0.1:9/two.bin\n  out=2.bin\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let jobs = env.jobs();
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs[1]["path"].as_str().unwrap().ends_with("/2.bin"),
        "{}",
        jobs[1]
    );
}

//! Mirrors: where the bytes came from is read from each server's own log.

use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

fn served(s: &Server) -> u64 {
    s.log().iter().map(|e| e.body_bytes).sum()
}

#[test]
fn segments_go_mostly_to_the_faster_mirror() {
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 24usize << 20;
    let body = pattern(size, 530);
    // Per connection: the main URL 1 MiB/s, the mirror 4 MiB/s.
    a.add(
        "/f.iso",
        Resource::new(body.clone()).etag("\"m1\"").rate(1 << 20),
    );
    b.add(
        "/pub/f.iso",
        Resource::new(body.clone()).etag("\"m1\"").rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&[
        "get",
        &a.url("/f.iso"),
        "--mirror",
        &b.url("/pub/f.iso"),
        "-c",
        "4",
        "-H",
        "Authorization: Bearer main-only-token",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.iso"), &body);
    let (from_a, from_b) = (served(&a), served(&b));
    eprintln!("mirrors: main {from_a}, mirror {from_b}, for {size}");
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        for (name, s) in [("main", &a), ("mirror", &b)] {
            for e in s.log() {
                eprintln!(
                    "{name} conn {} {:?} -> {} {}",
                    e.conn, e.range, e.status, e.body_bytes
                );
            }
        }
        let log = env.log();
        eprintln!("{log}");
    }
    assert!(from_a > 0 && from_b > 0, "both used: {from_a} {from_b}");
    assert!(
        from_b > 2 * from_a,
        "the 4x faster mirror carried most: main {from_a}, mirror {from_b}"
    );
    assert!(
        from_a + from_b <= size as u64 + (2 << 20),
        "little was fetched twice: {from_a} + {from_b} for {size}"
    );
    assert!(b.log().iter().all(|e| e.header("authorization").is_none()));
    let err = stderr(&o);
    let from = format!("received from: 127.0.0.1:{} ", a.port());
    assert!(err.contains(&from), "{err}");
    assert!(err.contains(&format!(", 127.0.0.1:{} ", b.port())), "{err}");
}

#[test]
fn sources_on_one_host_are_told_apart_in_the_summary() {
    let s = Server::start().unwrap();
    let body = pattern(8 << 20, 533);
    for path in ["/a/f.bin", "/b/f.bin"] {
        s.add(
            path,
            Resource::new(body.clone()).etag("\"s1\"").rate(4 << 20),
        );
    }
    let env = Env::new();
    let o = env.run(&[
        "get",
        &s.url("/a/f.bin"),
        "--mirror",
        &s.url("/b/f.bin"),
        "-c",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.contains("received from"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(&s.url("/a/f.bin")) && line.contains(&s.url("/b/f.bin")),
        "{line}"
    );
}

#[test]
fn a_mismatched_or_failing_mirror_is_dropped_and_the_rest_finish() {
    let a = Server::start().unwrap();
    let m = Server::start().unwrap();
    let size = 8usize << 20;
    let body = pattern(size, 531);
    a.add(
        "/f.bin",
        Resource::new(body.clone()).etag("\"v1\"").rate(4 << 20),
    );
    m.add(
        "/newer.bin",
        Resource::new(pattern(size, 532)).etag("\"v2\""),
    );
    m.add(
        "/longer.bin",
        Resource::new(pattern(size + 1, 531)).etag("\"v1\""),
    );
    m.add(
        "/gone.bin",
        Resource::new(body.clone()).fault(Fault::Status {
            code: 404,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    m.add(
        "/flaky.bin",
        Resource::new(body.clone())
            .etag("\"v1\"")
            .fault(Fault::Status {
                code: 503,
                retry_after: Some("0".into()),
                times: usize::MAX,
            }),
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let mut args = vec!["get".to_string(), a.url("/f.bin"), "-c".into(), "8".into()];
    for u in [
        m.url("/newer.bin"),
        m.url("/longer.bin"),
        m.url("/gone.bin"),
        m.url("/flaky.bin"),
        format!("http://127.0.0.1:{dead}/f.bin"),
    ] {
        args.extend(["--mirror".to_string(), u]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = env.run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    let err = stderr(&o);
    for (path, why) in [
        ("/newer.bin", "ETag"),
        ("/longer.bin", "size"),
        ("/gone.bin", "404"),
        ("/flaky.bin", "503"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&m.url(path)))
            .unwrap_or_else(|| panic!("no note for {path}: {err}"));
        assert!(line.contains("dropped") && line.contains(why), "{line}");
    }
    assert!(
        err.contains(&format!("127.0.0.1:{dead}/f.bin dropped")),
        "{err}"
    );
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        for e in m.log() {
            eprintln!(
                "mirror conn {} {} {:?} -> {} {}",
                e.conn, e.target, e.range, e.status, e.body_bytes
            );
        }
        eprintln!("{}", env.log());
    }
    // Dropped at once: a mismatch at its first answer, a 404 at once, 503s after a few.
    let asked = |path: &str| m.log().iter().filter(|e| e.target == path).count();
    for (path, most) in [
        ("/newer.bin", 3),
        ("/longer.bin", 3),
        ("/gone.bin", 3),
        ("/flaky.bin", 5),
    ] {
        assert!(asked(path) <= most, "{path} asked {} times", asked(path));
    }
}

#[test]
fn when_the_main_url_is_down_a_mirror_answers_first() {
    let m = Server::start().unwrap();
    let body = pattern(4 << 20, 533);
    m.add("/f.bin", Resource::new(body.clone()));
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let main = format!("http://127.0.0.1:{dead}/f.bin");
    let o = env.run(&["get", &main, "--mirror", &m.url("/f.bin"), "-c", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(
        stderr(&o).contains(&format!("trying mirror {}", m.url("/f.bin"))),
        "{}",
        stderr(&o)
    );
}

/// Main server with ETag and Last-Modified, at 1 MiB/s per connection; the mirror at
/// 8 MiB/s, serving `mirror_body` under the mirror's validators (none by default).
fn main_and_mirror(body: &[u8], mirror: Resource) -> (Server, Server) {
    let a = Server::start().unwrap();
    let m = Server::start().unwrap();
    a.add(
        "/f.bin",
        Resource::new(body.to_vec())
            .etag("\"main-1\"")
            .last_modified("Mon, 07 Dec 2026 08:00:00 GMT")
            .rate(1 << 20),
    );
    m.add("/f.bin", mirror.rate(8 << 20));
    (a, m)
}

#[test]
fn a_mirror_without_validators_serving_other_bytes_is_never_spliced_in() {
    let size = 3_000_000;
    let body = pattern(size, 540);
    // Same size, other bytes, no ETag or Last-Modified: nothing but its bytes tells.
    let (a, m) = main_and_mirror(&body, Resource::new(pattern(size, 541)));
    let env = Env::new();
    let o = env.run(&[
        "get",
        &a.url("/f.bin"),
        "--mirror",
        &m.url("/f.bin"),
        "-c",
        "8",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_same_file(&env.out().join("f.bin"), &body);
    let note = err
        .lines()
        .find(|l| l.contains(&m.url("/f.bin")) && l.contains("dropped"))
        .unwrap_or_else(|| panic!("no note dropping the mirror: {err}"));
    assert!(note.contains("differ"), "{note}");
    // What the mirror sent was written but never counted: the main server sent those bytes
    // again (the file is byte-exact, and every byte of the mirror's differs).
    let from_mirror = served(&m);
    let from_main = served(&a);
    eprintln!("mirror sent {from_mirror}, main {from_main}, for {size}");
    assert!(from_mirror > 0, "the mirror was not used at all");
    assert!(from_main >= size as u64, "main {from_main} < {size}");
    assert!(err.contains("(dropped)"), "{err}");
}

#[test]
fn a_mirror_is_verified_by_its_bytes_whatever_its_validators_say() {
    let size = 6_000_000;
    let body = pattern(size, 542);
    // No validators at all, and another ETag: both serve the same bytes, both are used.
    for mirror in [
        Resource::new(body.clone()),
        Resource::new(body.clone()).etag("\"mirror-7\""),
    ] {
        let (a, m) = main_and_mirror(&body, mirror);
        let env = Env::new();
        let o = env.run(&[
            "get",
            &a.url("/f.bin"),
            "--mirror",
            &m.url("/f.bin"),
            "-c",
            "8",
        ]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        assert_same_file(&env.out().join("f.bin"), &body);
        assert!(
            err.lines()
                .any(|l| l.contains(&m.url("/f.bin")) && l.contains("verified")),
            "{err}"
        );
        assert!(!err.contains("dropped"), "{err}");
        // Its sample came first, then real ranges: it carried a good part of the file.
        assert!(served(&m) > size as u64 / 4, "mirror served {}", served(&m));
        let summary = err.lines().find(|l| l.contains("received from")).unwrap();
        assert!(summary.contains("verified: bytes"), "{summary}");
        assert!(summary.contains("(first answer)"), "{summary}");
    }
}

#[test]
fn a_mirror_whose_etag_changes_after_it_was_verified_is_dropped() {
    let size = 8 << 20;
    let body = pattern(size, 543);
    let (a, m) = main_and_mirror(&body, Resource::new(body.clone()).etag("\"m1\""));
    let env = Env::new();
    let mut child = env.spawn(&[
        "get",
        &a.url("/f.bin"),
        "--mirror",
        &m.url("/f.bin"),
        "-c",
        "4",
    ]);
    // Once the mirror has served past its sample, it starts serving another version.
    wait_for(Duration::from_secs(20), "the mirror serving ranges", || {
        (m.log().len() >= 2).then_some(())
    });
    m.add(
        "/f.bin",
        Resource::new(pattern(size, 544))
            .etag("\"m2\"")
            .rate(8 << 20),
    );
    let st = wait_child(&mut child, Duration::from_secs(60));
    assert!(st.success());
    assert_same_file(&env.out().join("f.bin"), &body);
}

#[test]
fn a_crash_before_a_mirror_is_checked_keeps_none_of_its_bytes() {
    // The main server takes 2 s to answer anything (the check of the mirror too); the mirror
    // is fast and serves other bytes. A kill -9 while its bytes wait for their check, then
    // a resume: none of them was ever durable, so the file comes out byte-exact.
    let size = 3_000_000;
    let body = pattern(size, 545);
    let a = Server::start().unwrap();
    let m = Server::start().unwrap();
    a.add(
        "/f.bin",
        Resource::new(body.clone())
            .etag("\"main-1\"")
            .rate(1 << 20)
            .first_byte_delay(Duration::from_secs(2)),
    );
    m.add("/f.bin", Resource::new(pattern(size, 546)).rate(16 << 20));
    let env = Env::new();
    env.ok(&["status"]);
    let mut child = env.spawn(&[
        "get",
        &a.url("/f.bin"),
        "--mirror",
        &m.url("/f.bin"),
        "-c",
        "4",
    ]);
    wait_for(Duration::from_secs(20), "the mirror sending", || {
        (served(&m) >= 512 * 1024).then_some(())
    });
    // Checkpoints (every second) happen while the mirror's bytes wait for their check.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let durable = env.job(1)["bytes_done"].as_u64().unwrap();
    let from_main = served(&a);
    assert!(
        durable <= from_main,
        "durable {durable} > what the main server sent {from_main}"
    );
    // Resume, this time the main server answering at once.
    a.add("/f.bin", Resource::new(body.clone()).etag("\"main-1\""));
    let o = env.run(&[
        "get",
        &a.url("/f.bin"),
        "--mirror",
        &m.url("/f.bin"),
        "-c",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
}

//! Mirrors: where the bytes came from is read from each server's own log.

use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};

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

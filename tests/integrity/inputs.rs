//! Input files are read with a cap (cookies.txt and checksum files 16 MiB, HAR 256 MiB):
//! `/dev/zero` is refused at once naming the file and the cap, under a memory limit that an
//! uncapped read would hit. A Cookie header larger than servers accept (8 KiB) is refused
//! naming it before anything is sent; one a redirect would make too large is cut at whole
//! cookies.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

/// `ddm ARGS` with its address space capped at 1.5 GiB: an uncapped read of /dev/zero dies
/// there (allocation failure) instead of taking the machine's memory.
fn run_capped(env: &Env, args: &[&str]) -> std::process::Output {
    let mut c = env.cmd(args);
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1536 << 20,
                rlim_max: 1536 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c.output().expect("run ddm")
}

#[test]
fn dev_zero_as_cookies_checksums_or_har_is_refused_at_once_naming_the_cap() {
    if !std::path::Path::new("/dev/zero").exists() {
        return skip("no /dev/zero");
    }
    let env = Env::new();
    let url = "http://127.0.0.1:9/f.iso";
    for (args, said) in [
        (
            vec!["add", url, "--load-cookies", "/dev/zero"],
            "--load-cookies /dev/zero is larger than 16 MiB",
        ),
        (
            vec!["probe", url, "--load-cookies", "/dev/zero"],
            "--load-cookies /dev/zero is larger than 16 MiB",
        ),
        (
            vec!["get", url, "--checksum-file", "/dev/zero"],
            "--checksum-file /dev/zero is larger than 16 MiB",
        ),
        (
            vec!["import-har", "/dev/zero"],
            "the HAR file /dev/zero is larger than 256 MiB",
        ),
    ] {
        let t = Instant::now();
        let o = run_capped(&env, &args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    }
    assert!(env.jobs().is_empty(), "nothing was queued");
}

/// A cookies.txt line.
fn cookie(host: &str, path: &str, name: &str, value: &str) -> String {
    format!("{host}\tFALSE\t{path}\tFALSE\t0\t{name}\t{value}\n")
}

#[test]
fn a_cookie_header_larger_than_servers_accept_is_refused_naming_it() {
    let server = Server::start().unwrap();
    let body = pattern(64 << 10, 1101);
    server.add("/f.bin", Resource::new(body.clone()));
    let url = server.url("/f.bin");
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    // 20 cookies of 500 bytes for this host: a 10 KiB header. Other hosts' cookies, however
    // many, do not count.
    let big = "v".repeat(500);
    let mut jar: String = (0..20)
        .map(|i| cookie("127.0.0.1", "/", &format!("c{i}"), &big))
        .collect();
    let others: String = (0..40)
        .map(|i| cookie("other.example", "/", &format!("o{i}"), &big))
        .collect();
    jar.push_str(&others);
    let jar_path = env.home().join("cookies.txt");
    std::fs::write(&jar_path, &jar).unwrap();
    let jar_arg = jar_path.to_str().unwrap();
    let header = format!("Cookie: big={}", "x".repeat(9000));
    for args in [
        vec!["get", url.as_str(), "--load-cookies", jar_arg],
        vec!["add", url.as_str(), "--load-cookies", jar_arg],
        vec!["probe", url.as_str(), "-H", header.as_str()],
    ] {
        let o = env.run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("the Cookie header for 127.0.0.1 would be") && err.contains("8 KiB"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("vvvvvvvv") && !err.contains("xxxxxxxx"),
            "{err}"
        );
    }
    assert!(server.log().is_empty(), "nothing was sent");
    assert!(env.jobs().is_empty(), "nothing was queued");
    // The same file with this host's share small: accepted, the other hosts' cookies stay.
    std::fs::write(
        &jar_path,
        format!("{}{others}", cookie("127.0.0.1", "/", "sid", "small")),
    )
    .unwrap();
    let o = env.run(&["get", &url, "--load-cookies", jar_arg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(server
        .log()
        .iter()
        .all(|e| e.header("cookie") == Some("sid=small")));
}

#[test]
fn cookies_a_redirect_would_add_past_8_kib_are_left_out_at_whole_cookies() {
    // The job's URL gets one cookie; the redirect target's path matches 30 more of 400 bytes
    // (cookies ignore the port): 12 KiB, cut to what fits in 8 KiB.
    let (a, b) = (Server::start().unwrap(), Server::start().unwrap());
    let body = pattern(64 << 10, 1102);
    b.add("/big/f.bin", Resource::new(body.clone()));
    a.redirect("/dl", &b.url("/big/f.bin"), 302);
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let mut jar = cookie("127.0.0.1", "/", "sid", "small");
    let value = "w".repeat(400);
    for i in 0..30 {
        jar.push_str(&cookie("127.0.0.1", "/big", &format!("c{i:02}"), &value));
    }
    let jar_path = env.home().join("cookies.txt");
    std::fs::write(&jar_path, jar).unwrap();
    let o = env.run(&[
        "get",
        &a.url("/dl"),
        "--load-cookies",
        jar_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(a
        .log()
        .iter()
        .all(|e| e.header("cookie") == Some("sid=small")));
    let blog = b.log();
    assert!(!blog.is_empty());
    for e in &blog {
        let c = e
            .header("cookie")
            .expect("cookies go to the redirect target");
        assert!(
            "Cookie: ".len() + c.len() <= 8192,
            "{} bytes of Cookie",
            c.len()
        );
        // Whole cookies, the most specific path first.
        assert!(c.starts_with("c00=") && c.split("; ").all(|p| p.len() == 404));
        assert!(c.split("; ").count() >= 19, "{}", c.split("; ").count());
    }
    assert!(env.log().contains("cookies left out"), "{}", env.log());
}

//! File descriptors: a runner with hundreds of connections holds more than 1024 of them (each
//! connection has its socket and libcurl's wake-up pair). libcurl built to wait with select()
//! cannot watch a descriptor at or above 1024 and failed every transfer there with "A libcurl
//! function was given a bad argument" (4 jobs x 64 connections against nginx all failed);
//! and many systems still start programs with a soft limit of 1024 open files.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::process::CommandExt;
use std::time::Duration;

/// The process's hard open-file limit.
fn hard_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_max
}

#[test]
fn transfers_work_when_every_descriptor_is_above_1024() {
    if hard_limit() < 4096 {
        return skip("the hard open-file limit is below 4096");
    }
    let body = pattern(8 << 20, 77);
    let server = Server::start().unwrap();
    server.add("/big.bin", Resource::new(body.clone()));
    let env = Env::new();
    let mut cmd = env.cmd(&["get", "-c", "8", &server.url("/big.bin")]);
    // SAFETY: between fork and exec only async-signal-safe calls (open, dup2, setrlimit).
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            if null < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Descriptors 3..=1100 taken (dup2 clears close-on-exec): whatever ddm opens,
            // its sockets included, gets a number above 1100.
            for fd in 3..=1100 {
                if fd != null && libc::dup2(null, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let o = cmd.output().expect("run ddm");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &body);
    let ranges = server.log().iter().filter(|e| e.range.is_some()).count();
    assert!(
        ranges >= 2,
        "{ranges} range requests: not several connections"
    );
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let hard = hard_limit();
    if hard < 2048 {
        return skip("the hard open-file limit is below 2048");
    }
    let server = Server::start().unwrap();
    server.add(
        "/slow.bin",
        Resource::new(pattern(4 << 20, 5)).rate(256 << 10),
    );
    let env = Env::new();
    let mut cmd = env.cmd(&["get", &server.url("/slow.bin")]);
    // SAFETY: setrlimit between fork and exec is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: hard,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ddm");
    let limits = format!("/proc/{}/limits", child.id());
    // The download is under way (the server answered) before the limit is read.
    wait_for(Duration::from_secs(10), "a request", || {
        (!server.log().is_empty()).then_some(())
    });
    let soft: u64 = std::fs::read_to_string(&limits)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .expect("Max open files");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(soft, hard.min(1 << 16), "soft open-file limit of ddm");
}

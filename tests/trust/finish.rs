//! The end of a job is one step, and a crash costs little: a pause or a `kill -9` after the
//! last byte never causes a second download, and progress is committed by bytes as well as
//! by time.

use crate::faults::{create_db, transferred};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use sha2::{Digest, Sha256};
use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_pause_while_the_file_is_being_finished_leaves_it_done() {
    let server = Server::start().unwrap();
    let body = pattern(48 * MIB, 920);
    let sum = format!("sha256:{}", hex(&Sha256::digest(&body)));
    server.add("/fin.bin", Resource::new(body.clone()).etag("\"f\""));
    let env = Env::new();
    create_db(&env);
    let mut child = env
        .cmd(&["get", &server.url("/fin.bin"), "--checksum", &sum, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The checksum is verified between the last byte and the rename: pause right then.
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut paused = false;
    for line in out.lines() {
        let line = line.unwrap();
        if !paused && line.contains("verifying the checksum") {
            env.ok(&["pause", "1"]);
            paused = true;
        }
    }
    assert!(paused, "never saw the checksum step");
    let st = wait_child(&mut child, Duration::from_secs(60));
    assert!(st.success());
    assert_eq!(env.job(1)["state"], "done", "a finished file is a done job");
    assert_same_file(&env.out().join("fin.bin"), &body);
    let out = env.ok(&["resume", "1"]);
    assert!(out.contains("it is done"), "{out}");
    env.ok(&["run"]);
    let files: Vec<_> = std::fs::read_dir(env.out()).unwrap().collect();
    assert_eq!(files.len(), 1, "downloaded again under another name");
    // Once, plus what cut connections had in flight; a second download would double it.
    let sent = transferred(&server.log(), "/fin.bin");
    assert!(sent < body.len() as u64 * 3 / 2, "{sent} bytes sent");
}

#[test]
fn kill_9_at_random_moments_while_small_files_finish_never_downloads_twice() {
    let server = Server::start().unwrap();
    let mut bodies = Vec::new();
    for i in 0..6 {
        let body = pattern(MIB + i * 4099, 930 + i as u64);
        server.add(&format!("/s{i}.bin"), Resource::new(body.clone()));
        bodies.push(body);
    }
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for trial in 0..16 {
        let env = Env::new();
        create_db(&env);
        let urls: Vec<String> = (0..6).map(|i| server.url(&format!("/s{i}.bin"))).collect();
        let mut args = vec!["add"];
        args.extend(urls.iter().map(String::as_str));
        env.ok(&args);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(30 + rng % 400);
        let mut child = env.spawn(&["run"]);
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let o = env.run(&["run"]);
        assert!(o.status.success(), "trial {trial}: {}", stderr(&o));
        for (i, body) in bodies.iter().enumerate() {
            assert_same_file(&env.out().join(format!("s{i}.bin")), body);
        }
        let names: Vec<String> = std::fs::read_dir(env.out())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            6,
            "trial {trial} (kill at {delay:?}): {names:?}"
        );
        assert!(env.jobs().iter().all(|j| j["state"] == "done"));
    }
}

#[test]
fn a_crash_mid_download_costs_at_most_a_few_mib() {
    let server = Server::start().unwrap();
    let size = 256 * MIB;
    let body = std::sync::Arc::new(pattern(size, 940));
    // 16 connections at 1 MiB/s each: 16 MiB/s, a rate even a loaded machine's debug build
    // reads as it comes. (Faster than the client reads, the bytes sit in socket buffers: the
    // server counts them as sent, and no client can keep bytes it never read.)
    server.add(
        "/crash.bin",
        Resource::shared(body.clone()).etag("\"c\"").rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/crash.bin"), "-c", "16"]);
    wait_for(Duration::from_secs(20), "the first bytes", || {
        (transferred(&server.log(), "/crash.bin") > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap();
    child.wait().unwrap();
    let before = transferred(&server.log(), "/crash.bin");
    let kept = env.job(1)["bytes_done"].as_u64().unwrap_or(0);
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        let log = env.log();
        eprintln!("{log}\nsent before the kill: {before}, kept: {kept}");
    }
    assert!(
        before > 24 * MIB as u64,
        "only {before} bytes in the first 2.5 s"
    );
    // The rest comes unthrottled: the same file, validators and all.
    server.add("/crash.bin", Resource::shared(body.clone()).etag("\"c\""));
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("crash.bin"), &body);
    let sent = transferred(&server.log(), "/crash.bin");
    let ratio = sent as f64 / size as f64;
    eprintln!("server sent {sent} bytes for {size}: {ratio:.3}");
    // Lost: what came since the last checkpoint (at most 16 MiB or one second) and the
    // pieces in flight.
    assert!(
        ratio <= 1.15,
        "the crash cost {:.1}% of the file: {before} bytes sent before the kill, {kept} kept",
        (ratio - 1.0) * 100.0
    );
}

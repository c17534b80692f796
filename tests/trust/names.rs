//! One name, one job: names are reserved atomically against the disk and every other job;
//! ddm never follows a link it did not make and never deletes a file it did not create.

use crate::faults::{create_db, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

const KIB: usize = 1024;

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn three_jobs_of_one_runner_never_share_a_name_in_fifty_trials() {
    let server = Server::start().unwrap();
    let bodies: Vec<Vec<u8>> = (0..3).map(|i| pattern(256 * KIB, 900 + i)).collect();
    for (i, b) in bodies.iter().enumerate() {
        server.add(&format!("/w{}/f.bin", i + 1), Resource::new(b.clone()));
    }
    let urls: Vec<String> = (1..=3)
        .map(|i| server.url(&format!("/w{i}/f.bin")))
        .collect();
    for trial in 0..50 {
        let env = Env::new();
        let d = env.out().join("D");
        std::fs::create_dir(&d).unwrap();
        let mut args = vec!["add"];
        args.extend(urls.iter().map(String::as_str));
        args.extend(["-d", d.to_str().unwrap()]);
        env.ok(&args);
        env.ok(&["run", "-q"]);
        let mut got: Vec<Vec<u8>> = ["f.bin", "f (1).bin", "f (2).bin"]
            .iter()
            .map(|n| std::fs::read(d.join(n)).unwrap_or_else(|e| panic!("trial {trial}: {n}: {e}")))
            .collect();
        got.sort();
        let mut want = bodies.clone();
        want.sort();
        assert!(
            got == want,
            "trial {trial}: the files do not hold the three bodies"
        );
        for j in env.jobs() {
            assert_eq!(j["state"], "done", "trial {trial}: {j}");
            let path = j["path"].as_str().unwrap();
            let url = j["url"].as_str().unwrap();
            let i: usize = url.split("/w").nth(1).unwrap()[..1].parse().unwrap();
            assert_eq!(
                std::fs::read(path).unwrap(),
                bodies[i - 1],
                "trial {trial}: job {} holds another URL's bytes",
                j["id"]
            );
        }
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3, "no leftovers");
    }
}

#[test]
fn a_dangling_link_at_the_part_path_is_never_followed() {
    let server = Server::start().unwrap();
    let body = pattern(512 * KIB, 910);
    server.add("/file.bin", Resource::new(body.clone()));
    let env = Env::new();
    let outside = env.dir.path().join("outside.bin");
    symlink(&outside, env.out().join("file.bin.part")).unwrap();
    let o = env.run(&["get", &server.url("/file.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!outside.exists(), "the link's target was created");
    assert!(
        is_link(&env.out().join("file.bin.part")),
        "the link is left alone"
    );
    assert_same_file(&env.out().join("file (1).bin"), &body);
}

#[test]
fn a_dangling_link_at_the_final_name_is_not_replaced() {
    let server = Server::start().unwrap();
    let body = pattern(512 * KIB, 911);
    server.add("/file.bin", Resource::new(body.clone()));
    let env = Env::new();
    symlink(env.dir.path().join("nowhere"), env.out().join("file.bin")).unwrap();
    let o = env.run(&["get", &server.url("/file.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        is_link(&env.out().join("file.bin")),
        "replaced without --overwrite"
    );
    assert_same_file(&env.out().join("file (1).bin"), &body);
}

#[test]
fn a_link_appearing_at_the_final_name_during_the_download_is_not_replaced() {
    let server = Server::start().unwrap();
    let body = pattern(2 << 20, 912);
    server.add("/late.bin", Resource::new(body.clone()).rate(2 << 20));
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/late.bin"), "-c", "2"]);
    wait_for(Duration::from_secs(20), "the .part file", || {
        env.out().join("late.bin.part").exists().then_some(())
    });
    let target = env.dir.path().join("precious.txt");
    std::fs::write(&target, b"keep").unwrap();
    symlink(&target, env.out().join("late.bin")).unwrap();
    let st = wait_child(&mut child, Duration::from_secs(30));
    assert!(st.success());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert!(is_link(&env.out().join("late.bin")));
    assert_same_file(&env.out().join("late (1).bin"), &body);
}

#[test]
fn a_part_file_swapped_for_a_link_is_left_alone_and_the_download_starts_over() {
    let server = Server::start().unwrap();
    let body = pattern(6 << 20, 913);
    server.add(
        "/sw.bin",
        Resource::new(body.clone()).etag("\"s\"").rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/sw.bin"), "-c", "1"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    child.kill().unwrap();
    child.wait().unwrap();
    let part = env.out().join("sw.bin.part");
    let victim = env.dir.path().join("victim.bin");
    std::fs::write(&victim, b"someone else's data").unwrap();
    std::fs::remove_file(&part).unwrap();
    symlink(&victim, &part).unwrap();
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&victim).unwrap(), b"someone else's data");
    assert!(is_link(&part), "the link is left in place");
    assert!(
        !env.out().join("sw.bin").exists(),
        "not renamed through the link"
    );
    assert_same_file(&env.out().join("sw (1).bin"), &body);
    assert!(
        stderr(&o).contains("not the file ddm created"),
        "{}",
        stderr(&o)
    );
}

/// Run the queue until job `id` has durable progress, then pause it.
fn run_then_pause(env: &Env, id: i64) {
    let mut runner = env.spawn(&["run"]);
    wait_progress(env, id, 0, Duration::from_secs(20));
    env.ok(&["pause", &id.to_string()]);
    wait_child(&mut runner, Duration::from_secs(10));
}

/// Replace `p` by another program's file (deleted first, so the inode may even be reused).
fn replace_with_foreign(p: &Path, text: &[u8]) {
    std::fs::remove_file(p).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(p, text).unwrap();
}

#[test]
fn remove_and_restart_delete_only_files_the_job_created() {
    let server = Server::start().unwrap();
    let body = pattern(6 << 20, 914);
    server.add(
        "/movie.mkv",
        Resource::new(body.clone()).etag("\"m\"").rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    // Another tool's partial file under the same name: ddm picks another name.
    let theirs = env.out().join("movie.mkv.part");
    std::fs::write(&theirs, b"another downloader's partial data").unwrap();
    env.ok(&["add", &server.url("/movie.mkv"), "-c", "1"]);
    run_then_pause(&env, 1);
    let first = env.out().join("movie (1).mkv.part");
    assert!(first.exists());
    // The user deletes ddm's .part and something else appears there: restart leaves it.
    replace_with_foreign(&first, b"not ddm's");
    let out = env.ok(&["resume", "1", "--restart"]);
    assert!(out.contains("queued"), "{out}");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        b"not ddm's",
        "restart deleted it"
    );
    // Its own .part is what remove deletes.
    run_then_pause(&env, 1);
    let second = env.out().join("movie (2).mkv.part");
    assert!(second.exists());
    let o = env.run(&["remove", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!second.exists(), "remove kept the job's own .part");
    // A job whose .part was replaced: remove says so and leaves the file.
    env.ok(&["add", &server.url("/movie.mkv"), "-c", "1"]);
    run_then_pause(&env, 2);
    let third = env.out().join("movie (2).mkv.part");
    replace_with_foreign(&third, b"not ddm's either");
    let o = env.run(&["remove", "2"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("left in place"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&third).unwrap(), b"not ddm's either");
    assert_eq!(std::fs::read(&first).unwrap(), b"not ddm's");
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        b"another downloader's partial data"
    );
    // A finished job's file that the user replaced is not deleted by --delete-file ...
    server.add("/small.bin", Resource::new(pattern(64 * KIB, 915)));
    env.ok(&["get", &server.url("/small.bin")]);
    let done = env.out().join("small.bin");
    replace_with_foreign(&done, b"the user's new file");
    let id = env.jobs().last().unwrap()["id"].to_string();
    env.ok(&["remove", &id, "--delete-file"]);
    assert_eq!(std::fs::read(&done).unwrap(), b"the user's new file");
    // ... but its own finished file is.
    env.ok(&["get", &server.url("/small.bin"), "-o", "own.bin"]);
    let id = env.jobs().last().unwrap()["id"].to_string();
    let out = env.ok(&["remove", &id, "--delete-file"]);
    assert!(out.contains("deleted"), "{out}");
    assert!(!env.out().join("own.bin").exists());
}

#[test]
fn output_names_that_leave_the_directory_are_refused() {
    let env = Env::new();
    let d = env.out().join("D");
    std::fs::create_dir(&d).unwrap();
    for o in [".", "..", "sub/", "sub/.", "../x.bin", "/tmp/abs.bin"] {
        let out = env.run(&[
            "add",
            "http://127.0.0.1:9/f.bin",
            "-d",
            d.to_str().unwrap(),
            "-o",
            o,
        ]);
        assert_eq!(out.status.code(), Some(2), "-o {o}: {}", stderr(&out));
        assert!(stderr(&out).contains("-o"), "{}", stderr(&out));
    }
    assert!(env.jobs().is_empty());
}

#[test]
fn names_of_251_to_255_bytes_are_shortened_to_leave_room_for_part() {
    let server = Server::start().unwrap();
    let body = pattern(64 * KIB, 916);
    for len in [251usize, 253, 255] {
        let name = format!("{}.bin", "n".repeat(len - 4));
        server.add(
            &format!("/long{len}"),
            Resource::new(body.clone())
                .content_disposition(&format!("attachment; filename=\"{name}\"")),
        );
        let env = Env::new();
        let o = env.run(&["get", &server.url(&format!("/long{len}"))]);
        assert!(o.status.success(), "{len} bytes: {}", stderr(&o));
        let saved = env.jobs()[0]["path"].as_str().unwrap().to_string();
        let file = Path::new(&saved).file_name().unwrap().len();
        assert!(file <= 250, "{file} bytes");
        assert!(saved.ends_with(".bin"));
        assert_same_file(Path::new(&saved), &body);
    }
    // -o with such a name is refused up front, saying why.
    let env = Env::new();
    let o = env.run(&["add", "http://127.0.0.1:9/f", "-o", &"x".repeat(253)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".part"), "{}", stderr(&o));
}

#[test]
fn restarting_a_download_without_ranges_keeps_its_name_and_leaves_no_orphan() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 917);
    server.add(
        "/nr.bin",
        Resource::new(body.clone()).no_ranges().rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/nr.bin")]);
    wait_for(Duration::from_secs(20), "the .part file", || {
        env.out().join("nr.bin.part").exists().then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    server.add("/nr.bin", Resource::new(body.clone()).no_ranges());
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("nr.bin"), &body);
    let names: Vec<_> = std::fs::read_dir(env.out())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("nr.bin")],
        "no orphan, no (1)"
    );
}

#[test]
fn a_destination_directory_that_is_not_utf8_is_kept_byte_exact() {
    use std::os::unix::ffi::OsStrExt;
    let server = Server::start().unwrap();
    let body = pattern(128 * KIB, 918);
    server.add("/u.bin", Resource::new(body.clone()));
    let env = Env::new();
    let dir = env.out().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&dir).unwrap();
    let mut cmd = env.cmd(&["get", &server.url("/u.bin")]);
    cmd.arg("-d").arg(&dir);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&dir.join("u.bin"), &body);
    // The lossy form of the name (caf\u{fffd}) was never created.
    assert_eq!(std::fs::read_dir(env.out()).unwrap().count(), 1);
}

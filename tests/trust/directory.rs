//! The destination directory between runs (issue 14.13): a directory swapped for a symlink or
//! for another directory after the job created its `.part` file there is refused before any
//! request; nothing is written through the link or into the new directory, progress stays in
//! the original one, and putting it back (or `--restart`) lets the job finish.

use crate::faults::{create_db, durable, failed, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIB: usize = 1 << 20;

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A job into `DIR/dl` interrupted with progress; returns the job's durable bytes.
fn interrupted_download(env: &Env, server: &Server, body: &[u8]) -> (PathBuf, u64) {
    server.add(
        "/swap.bin",
        Resource::new(body.to_vec()).etag("\"s\"").rate(2 << 20),
    );
    let dl = env.dir.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    create_db(env);
    let url = server.url("/swap.bin");
    let mut child = env.spawn(&["get", &url, "-d", dl.to_str().unwrap(), "-c", "2"]);
    wait_progress(env, 1, 0, Duration::from_secs(15));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    assert_eq!(
        wait_child(&mut child, Duration::from_secs(10)).code(),
        Some(130)
    );
    let done = durable(env, 1);
    assert!(done > 0 && done < body.len() as u64, "{done}");
    assert!(dl.join("swap.bin.part").exists());
    // From now on the server answers at once.
    server.add("/swap.bin", Resource::new(body.to_vec()).etag("\"s\""));
    (dl, done)
}

/// `ddm run` fails the job as `dir-changed` naming `dl`, without asking the server anything.
fn refused(env: &Env, server: &Server, dl: &Path, before: u64) {
    let requests = server.log().len();
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (err, done) = failed(env, 1);
    assert!(err.contains(&dl.display().to_string()), "{err}");
    assert!(err.contains("not the one this job started in"), "{err}");
    assert!(
        stderr(&o).contains(&dl.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.job(1)["error_kind"], "dir-changed");
    assert_eq!(done, before, "progress kept");
    assert_eq!(server.log().len(), requests, "no request was made");
}

#[test]
fn a_directory_swapped_for_a_link_between_runs_is_never_written_through() {
    let server = Server::start().unwrap();
    let body = pattern(8 * MIB, 1301);
    let env = Env::new();
    let (dl, before) = interrupted_download(&env, &server, &body);
    // The directory moves away and a link to another directory takes its place.
    let moved = env.dir.path().join("dl.moved");
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(&dl, &moved).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dl).unwrap();
    refused(&env, &server, &dl, before);
    assert!(
        names_in(&elsewhere).is_empty(),
        "written through the link: {:?}",
        names_in(&elsewhere)
    );
    assert_eq!(names_in(&moved), ["swap.bin.part"]);
    // Put back, the job continues where it stopped.
    std::fs::remove_file(&dl).unwrap();
    std::fs::rename(&moved, &dl).unwrap();
    let gets_before = server.log().len();
    env.ok(&["resume", "1"]);
    env.ok(&["run"]);
    assert_same_file(&dl.join("swap.bin"), &body);
    let fetched: u64 = server.log()[gets_before..]
        .iter()
        .map(|e| e.body_bytes)
        .sum();
    assert!(
        fetched <= body.len() as u64 - before + MIB as u64,
        "fetched {fetched} bytes again with {before} kept"
    );
    assert!(names_in(&elsewhere).is_empty());
}

#[test]
fn a_directory_replaced_by_another_is_refused_and_restart_starts_over_there() {
    let server = Server::start().unwrap();
    let body = pattern(8 * MIB, 1302);
    let env = Env::new();
    let (dl, before) = interrupted_download(&env, &server, &body);
    let old = env.dir.path().join("dl.old");
    std::fs::rename(&dl, &old).unwrap();
    std::fs::create_dir(&dl).unwrap();
    // Something of someone else's in the new directory, where the job's .part would be.
    std::fs::write(dl.join("swap.bin.part"), b"not ddm's").unwrap();
    refused(&env, &server, &dl, before);
    assert_eq!(names_in(&dl), ["swap.bin.part"]);
    assert_eq!(
        std::fs::read(dl.join("swap.bin.part")).unwrap(),
        b"not ddm's"
    );
    // The user means the new directory: --restart starts over there, under a free name, and
    // leaves both the old directory's data and the stranger's file alone.
    env.ok(&["resume", "1", "--restart"]);
    env.ok(&["run"]);
    assert_same_file(&dl.join("swap (1).bin"), &body);
    assert_eq!(names_in(&dl), ["swap (1).bin", "swap.bin.part"]);
    assert_eq!(
        std::fs::read(dl.join("swap.bin.part")).unwrap(),
        b"not ddm's"
    );
    assert_eq!(names_in(&old), ["swap.bin.part"]);
}

//! Space on the destination (issue 14.4): a server claiming a size just under the free space
//! does not get all of it (`min_free_space` stays free for everyone else), and a job that
//! fails before any data arrived gives back the space it reserved.

use crate::faults::{config, failed};
use crate::storage::{is_root, Mount};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Bytes available to an unprivileged user on the file system holding `dir`.
fn free(dir: &Path) -> u64 {
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    // SAFETY: statvfs fills the zeroed struct; c is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

#[test]
fn a_size_just_under_the_free_space_is_refused_leaving_room_for_everyone_else() {
    if !is_root() {
        return skip("mounting a small tmpfs needs root");
    }
    let env = Env::new();
    let small = env.dir.path().join("small");
    let _mount = match Mount::tmpfs(&small, "size=20m,mode=0755") {
        Ok(m) => m,
        Err(e) => return skip(&format!("cannot mount a tmpfs: {e}")),
    };
    // The numbers: a 20 MiB file system and a file that would leave 68 KiB.
    let before = free(&small);
    let body = pattern((before - 68 * KIB) as usize, 1401);
    let server = Server::start().unwrap();
    server.add("/big.bin", Resource::new(body.clone()).etag("\"b\""));
    let url = server.url("/big.bin");
    let o = env.run(&["get", &url, "-d", small.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let (err, _) = failed(&env, 1);
    assert!(err.contains(&small.display().to_string()), "{err}");
    assert!(
        err.contains("must stay free") && err.contains("min_free_space") && err.contains("missing"),
        "{err}"
    );
    assert!(stderr(&o).contains("min_free_space"), "{}", stderr(&o));
    assert_eq!(env.job(1)["error_kind"], "no-space");
    // Nothing holds the space: no file is left, the file system is as free as before.
    let left: Vec<_> = std::fs::read_dir(&small).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(free(&small), before);
    // The margin is the user's to set: with none, the same job takes it all.
    config(&env, "min_free_space = 0\n");
    env.ok(&["resume", "1"]);
    let o = env.run(&["run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&small.join("big.bin"), &body);
    // A configured margin is kept exactly: 4 MiB asked, a file leaving 3 MiB is refused
    // and one leaving 5 MiB is not.
    std::fs::remove_file(small.join("big.bin")).unwrap();
    config(&env, "min_free_space = \"4M\"\n");
    let room = free(&small);
    server.add(
        "/3.bin",
        Resource::new(pattern((room - 3 * MIB) as usize, 1402)),
    );
    server.add(
        "/5.bin",
        Resource::new(pattern((room - 5 * MIB) as usize, 1403)),
    );
    let d = small.to_str().unwrap();
    let o = env.run(&["get", &server.url("/3.bin"), "-d", d]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("1.0 MiB missing"), "{}", stderr(&o));
    env.ok(&["get", &server.url("/5.bin"), "-d", d]);
}

#[test]
fn a_job_that_fails_before_any_data_gives_its_reserved_space_back() {
    let size = 32 * MIB as usize;
    let body = pattern(size, 1404);
    let server = Server::start().unwrap();
    // Every answer: the head (so the size is known and reserved), then the connection closes.
    server.add(
        "/none.bin",
        Resource::new(body.clone())
            .etag("\"n\"")
            .fault(Fault::CutAfter {
                after: 0,
                rst: false,
                times: usize::MAX,
            }),
    );
    let env = Env::new();
    config(&env, "max_attempts = 2\n");
    let o = env.run(&["get", &server.url("/none.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (_, done) = failed(&env, 1);
    assert_eq!(done, 0);
    assert!(
        server.log().iter().any(|e| e.status == 206),
        "a head arrived"
    );
    // No file holds the 32 MiB.
    let held: Vec<(String, u64)> = std::fs::read_dir(env.out())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.blocks() * 512,
            )
        })
        .collect();
    assert!(
        held.is_empty(),
        "left behind (name, bytes allocated): {held:?}"
    );
    // It still continues: the next run reserves again under the same name.
    server.add("/none.bin", Resource::new(body.clone()).etag("\"n\""));
    env.ok(&["resume", "1"]);
    env.ok(&["run"]);
    assert_same_file(&env.out().join("none.bin"), &body);
}

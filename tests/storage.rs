//! Storage faults (issue 4.6) and secrets (4.8): a file-size limit, a full disk, read-only,
//! unwritable or missing destination directories, the `.part` file deleted mid-run; each
//! must fail the job with a clear error naming the path and the cause, without retry loops,
//! keep progress where the data survives, and complete after `ddm resume` once the cause is
//! fixed. Cookie and Authorization values never appear in logs, `status` or stderr.
//!
//! Root: these tests may run as root, where permission bits do not stop writes. Then a
//! read-only destination is a read-only bind mount (EROFS), "permission denied" runs ddm as
//! the unprivileged user 65534 (nobody) against a 0555 directory, and a full disk is a small
//! tmpfs. Without root, read-only falls back to chmod 0555, and the tmpfs test is skipped
//! (it says so on stderr).

use crate::faults::{create_db, durable, failed, timed, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Limit the size of files the child may write (RLIMIT_FSIZE), optionally with SIGXFSZ
/// ignored so that writes past the limit fail with EFBIG instead of killing the process.
fn limit_file_size(cmd: &mut Command, bytes: u64, ignore_sigxfsz: bool) {
    // SAFETY: the closure only calls async-signal-safe functions (setrlimit, signal).
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if ignore_sigxfsz {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

fn output(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run ddm")
}

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// A mount made by a test, detached again when dropped.
pub(crate) struct Mount(PathBuf);

impl Mount {
    pub(crate) fn tmpfs(at: &Path, opts: &str) -> std::io::Result<Mount> {
        std::fs::create_dir_all(at)?;
        let (src, dst, ty, data) = (
            CString::new("tmpfs").unwrap(),
            c_path(at),
            CString::new("tmpfs").unwrap(),
            CString::new(opts).unwrap(),
        );
        // SAFETY: valid NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                ty.as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mount(at.to_path_buf()))
    }

    /// Bind `dir` onto itself read-only.
    pub(crate) fn read_only(dir: &Path) -> std::io::Result<Mount> {
        let p = c_path(dir);
        // SAFETY: valid NUL-terminated paths; null fstype/data are allowed for bind mounts.
        let rc = unsafe {
            libc::mount(
                p.as_ptr(),
                p.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let m = Mount(dir.to_path_buf());
        m.remount(true)?;
        Ok(m)
    }

    pub(crate) fn remount(&self, ro: bool) -> std::io::Result<()> {
        let p = c_path(&self.0);
        let flags = libc::MS_REMOUNT | libc::MS_BIND | if ro { libc::MS_RDONLY } else { 0 };
        // SAFETY: as above.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                p.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let p = c_path(&self.0);
        // SAFETY: valid path; MNT_DETACH never blocks.
        unsafe {
            libc::umount2(p.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// The job failed with an error naming `path` (or its file name) and matching one of `causes`.
fn assert_clear_error(err: &str, path: &Path, causes: &[&str]) {
    let full = path.display().to_string();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    eprintln!("error naming {full}: {err}");
    assert!(
        err.contains(&full) || err.contains(&name),
        "the error does not name {full}: {err}"
    );
    assert!(
        causes.iter().any(|c| err.to_lowercase().contains(c)),
        "the error does not say {causes:?}: {err}"
    );
}

/// `ddm resume ID` then `ddm run`: the file must come out byte-exact.
fn resume_completes(env: &Env, id: i64, file: &Path, body: &[u8]) {
    let out = env.ok(&["resume", &id.to_string()]);
    assert!(out.contains("queued"), "{out}");
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = file.parent().unwrap();
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        file.exists(),
        "{} missing after resume; {} holds {names:?}; job: {}; stderr: {}",
        file.display(),
        dir.display(),
        env.job(id),
        stderr(&o)
    );
    assert_same_file(file, body);
    assert_eq!(env.job(id)["state"], "done");
    let part = format!("{}.part", file.file_name().unwrap().to_string_lossy());
    assert!(
        !names.iter().any(|n| n.ends_with(".part")),
        "a .part file was left behind: {names:?} (expected none, the job's was {part})"
    );
}

#[test]
fn file_size_limit_is_a_clear_error_then_resume_completes() {
    // `ulimit -f` as a user would set it: SIGXFSZ keeps its default action.
    let server = Server::start().unwrap();
    let body = pattern(4 * MIB, 200);
    server.add("/fs.bin", Resource::new(body.clone()).etag("\"f\""));
    let env = Env::new();
    let mut cmd = env.cmd(&["get", &server.url("/fs.bin"), "-c", "2"]);
    limit_file_size(&mut cmd, MIB as u64, false);
    let t = Instant::now();
    let o = output(cmd);
    let took = t.elapsed();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            o.status.code(),
            Some(1),
            "ddm ended with {:?} (signal {:?}) under a 1 MiB file-size limit; stderr: {}",
            o.status.code(),
            o.status.signal(),
            stderr(&o)
        );
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let part = env.out().join("fs.bin.part");
    let (err, _) = failed(&env, 1);
    assert_clear_error(&err, &part, &["too large", "limit"]);
    assert!(stderr(&o).contains("fs.bin.part"), "{}", stderr(&o));
    resume_completes(&env, 1, &env.out().join("fs.bin"), &body);
}

#[test]
fn file_size_limit_reached_mid_download_fails_without_retries_and_keeps_progress() {
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 201);
    server.add(
        "/efbig.bin",
        Resource::new(body.clone()).etag("\"e\"").rate(2 << 20),
    );
    let env = Env::new();
    // First run: some progress, then Ctrl-C (the .part file is preallocated in full).
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/efbig.bin"), "-c", "2"]);
    wait_progress(&env, 1, 0, Duration::from_secs(15));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    assert_eq!(
        wait_child(&mut child, Duration::from_secs(10)).code(),
        Some(130)
    );
    let before = durable(&env, 1);
    assert!(before > 0 && before < size as u64);
    // Second run under a 5 MiB limit: writes past 5 MiB fail with EFBIG.
    server.add("/efbig.bin", Resource::new(body.clone()).etag("\"e\""));
    let mut cmd = env.cmd(&["run"]);
    limit_file_size(&mut cmd, 5 * MIB as u64, true);
    let t = Instant::now();
    let o = output(cmd);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: retried a storage error?"
    );
    let part = env.out().join("efbig.bin.part");
    let (err, done) = failed(&env, 1);
    assert_clear_error(&err, &part, &["too large", "limit"]);
    assert!(done >= before, "progress lost: {done} < {before}");
    let gets_before = server.log().len();
    resume_completes(&env, 1, &env.out().join("efbig.bin"), &body);
    assert!(server.log().len() > gets_before);
}

#[test]
fn disk_full_is_refused_naming_what_is_missing_then_completes_after_space_is_freed() {
    if !is_root() {
        skip("mounting a small tmpfs needs root");
        return;
    }
    let env = Env::new();
    let small = env.dir.path().join("small");
    let mount = match Mount::tmpfs(&small, "size=6m,mode=0755") {
        Ok(m) => m,
        Err(e) => {
            skip(&format!("cannot mount a tmpfs: {e}"));
            return;
        }
    };
    let filler = small.join("filler");
    std::fs::write(&filler, vec![1u8; 4 * MIB]).unwrap();
    let server = Server::start().unwrap();
    let body = pattern(3 * MIB, 202);
    server.add("/full.bin", Resource::new(body.clone()).etag("\"d\""));
    let (o, took) = timed(
        &env,
        &[
            "get",
            &server.url("/full.bin"),
            "-d",
            small.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(5),
        "a full disk has its own exit code: {}",
        stderr(&o)
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let (err, _) = failed(&env, 1);
    assert_clear_error(&err, &small, &["space"]);
    assert!(err.contains("missing"), "says how much is missing: {err}");
    assert_eq!(env.job(1)["error_kind"], "no-space");
    std::fs::remove_file(&filler).unwrap();
    resume_completes(&env, 1, &small.join("full.bin"), &body);
    drop(mount);
}

#[test]
fn read_only_destination_is_a_clear_error_then_resume_completes() {
    let server = Server::start().unwrap();
    let body = pattern(2 * MIB, 203);
    server.add("/ro.bin", Resource::new(body.clone()));
    let env = Env::new();
    let dir = env.dir.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    env.ok(&["add", &server.url("/ro.bin"), "-d", dir.to_str().unwrap()]);
    // Root ignores permission bits: use a read-only bind mount (EROFS) instead.
    let mount = if is_root() {
        Some(Mount::read_only(&dir).expect("read-only bind mount"))
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let (o, took) = timed(&env, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let (err, _) = failed(&env, 1);
    let causes: &[&str] = if mount.is_some() {
        &["read-only"]
    } else {
        &["permission denied", "read-only"]
    };
    assert_clear_error(&err, &dir.join("ro.bin.part"), causes);
    match &mount {
        Some(m) => m.remount(false).unwrap(),
        None => std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap(),
    }
    resume_completes(&env, 1, &dir.join("ro.bin"), &body);
    drop(mount);
}

/// Run ddm as the unprivileged user 65534 when we are root (so permission bits apply).
fn as_nobody(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd(args);
    if is_root() {
        // SAFETY: setgroups/setgid/setuid are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    output(cmd)
}

fn chown_tree(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn permission_denied_destination_is_a_clear_error_then_resume_completes() {
    let server = Server::start().unwrap();
    let body = pattern(2 * MIB, 204);
    server.add("/perm.bin", Resource::new(body.clone()));
    let env = Env::new();
    let dir = env.dir.path().join("locked");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir_all(env.home()).unwrap();
    if is_root() {
        chown_tree(env.dir.path(), 65534);
    }
    let ok = |args: &[&str]| {
        let o = as_nobody(&env, args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    ok(&["add", &server.url("/perm.bin"), "-d", dir.to_str().unwrap()]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let t = Instant::now();
    let o = as_nobody(&env, &["run"]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&ok(&["status", "--json"])).unwrap();
    assert_eq!(jobs[0]["state"], "failed");
    let err = jobs[0]["error"].as_str().unwrap();
    assert_clear_error(err, &dir.join("perm.bin.part"), &["permission denied"]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(&["resume", "1"]);
    let o = as_nobody(&env, &["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&dir.join("perm.bin"), &body);
}

#[test]
fn missing_destination_directory_is_a_clear_error_then_resume_completes() {
    let server = Server::start().unwrap();
    let body = pattern(2 * MIB, 205);
    server.add("/md.bin", Resource::new(body.clone()));
    let env = Env::new();
    let dir = env.dir.path().join("later");
    std::fs::create_dir(&dir).unwrap();
    env.ok(&["add", &server.url("/md.bin"), "-d", dir.to_str().unwrap()]);
    std::fs::remove_dir(&dir).unwrap();
    let (o, took) = timed(&env, &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let (err, _) = failed(&env, 1);
    assert_clear_error(&err, &dir, &["no such file", "does not exist", "missing"]);
    std::fs::create_dir(&dir).unwrap();
    resume_completes(&env, 1, &dir.join("md.bin"), &body);
}

#[test]
fn part_file_deleted_mid_run_is_a_clear_error_then_resume_completes() {
    let size = 8 * MIB;
    let server = Server::start().unwrap();
    let body = pattern(size, 206);
    server.add(
        "/del.bin",
        Resource::new(body.clone()).etag("\"p\"").rate(1 << 20),
    );
    let env = Env::new();
    create_db(&env);
    let mut child = env.spawn(&["get", &server.url("/del.bin"), "-c", "2"]);
    wait_progress(&env, 1, 0, Duration::from_secs(15));
    let part = env.out().join("del.bin.part");
    std::fs::remove_file(&part).unwrap();
    let t = Instant::now();
    let st = wait_child(&mut child, Duration::from_secs(10));
    let took = t.elapsed();
    assert_eq!(st.code(), Some(1));
    assert!(took < Duration::from_secs(3), "noticed after {took:?}");
    let (err, _) = failed(&env, 1);
    assert_clear_error(&err, &part, &["deleted", "gone", "missing"]);
    assert!(!env.out().join("del.bin").exists());
    server.add("/del.bin", Resource::new(body.clone()).etag("\"p\""));
    resume_completes(&env, 1, &env.out().join("del.bin"), &body);
}

#[test]
fn cookie_and_authorization_never_appear_in_logs_status_or_stderr() {
    const COOKIE: &str = "session=TOPSECRET-cookie-4711";
    const TOKEN: &str = "Bearer TOPSECRET-token-0815";
    let server = Server::start().unwrap();
    let body = pattern(MIB, 207);
    server.add(
        "/files/sec.bin",
        Resource::new(body.clone()).fault(Fault::Status {
            code: 500,
            retry_after: None,
            times: 1,
        }),
    );
    server.redirect("/go", "/files/sec.bin", 302);
    server.add(
        "/denied.bin",
        Resource::new(body.clone()).fault(Fault::Status {
            code: 401,
            retry_after: None,
            times: usize::MAX,
        }),
    );
    let env = Env::new();
    let cookie = format!("Cookie: {COOKIE}");
    let auth = format!("Authorization: {TOKEN}");
    let mut outputs = Vec::new();
    let mut run = |args: &[&str]| {
        let o = env.run(args);
        outputs.push((
            format!("{args:?}"),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr(&o),
        ));
        o
    };
    let o = run(&[
        "-vv",
        "get",
        &server.url("/go"),
        "-H",
        &cookie,
        "-H",
        &auth,
        "-c",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("sec.bin"), &body);
    let o = run(&[
        "-vv",
        "add",
        &server.url("/denied.bin"),
        "-H",
        &cookie,
        "-H",
        &auth,
    ]);
    assert!(o.status.success());
    let o = run(&["-vv", "run"]);
    assert_eq!(o.status.code(), Some(1));
    run(&["-vv", "status"]);
    run(&["-vv", "status", "--json"]);
    run(&["-vv", "status", "2"]);
    // The headers were really sent (so the test means something).
    let log = server.log();
    assert!(log
        .iter()
        .any(|e| e.header("cookie") == Some(COOKIE) && e.header("authorization") == Some(TOKEN)));
    for (args, out, err) in &outputs {
        for secret in ["TOPSECRET", COOKIE, TOKEN] {
            assert!(
                !out.contains(secret),
                "stdout of {args} shows {secret}:\n{out}"
            );
            assert!(
                !err.contains(secret),
                "stderr of {args} shows {secret}:\n{err}"
            );
        }
    }
    let logfile = env.home().join("ddm.log");
    let text = std::fs::read_to_string(&logfile).expect("ddm.log");
    assert!(!text.is_empty());
    assert!(
        !text.contains("TOPSECRET"),
        "ddm.log shows a secret:\n{text}"
    );
    // The places that do hold them are private.
    for (p, want) in [
        (env.home(), 0o700),
        (env.home().join("jobs.db"), 0o600),
        (logfile, 0o600),
    ] {
        let mode = std::fs::metadata(&p).unwrap().mode() & 0o777;
        assert_eq!(
            mode & 0o077,
            0,
            "{} is {mode:o}, want {want:o}",
            p.display()
        );
    }
}

#[test]
fn status_racing_the_first_open_of_a_new_database_never_fails() {
    // `ddm status` from another terminal while `ddm get` creates a brand-new database must
    // wait for the lock (busy timeout), never call the database damaged (exit 4).
    // Probabilistic: the window is the first few milliseconds, so try it a number of times.
    let server = Server::start().unwrap();
    server.add("/race.bin", Resource::new(pattern(64 * 1024, 208)));
    let mut failures = Vec::new();
    for _ in 0..25 {
        let env = Env::new();
        let mut child = env.spawn(&["get", &server.url("/race.bin"), "-q"]);
        for _ in 0..3 {
            let o = env.run(&["status", "--json"]);
            if !o.status.success() {
                failures.push(format!("exit {:?}: {}", o.status.code(), stderr(&o)));
            }
        }
        wait_child(&mut child, Duration::from_secs(10));
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

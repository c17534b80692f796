//! Test helpers: a private DDM_HOME and output directory per test, running `ddm`, reading
//! `status --json`, waiting with a deadline.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DDM: &str = env!("CARGO_BIN_EXE_ddm");

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ddm-test-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        Env { dir }
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }
    /// What ddm wrote to its debug log (`ddm.log` in the state directory); empty if none.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home().join("ddm.log")).unwrap_or_default()
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DDM);
        c.args(args)
            .env("DDM_HOME", self.home())
            .env_remove("RUST_LOG")
            // The machine's proxy settings must not reach the loopback tests.
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("no_proxy")
            .env_remove("NO_PROXY")
            .env_remove("CURL_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .current_dir(self.out())
            .stdin(Stdio::null());
        c
    }
    /// Run to completion, capturing output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run ddm")
    }
    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "ddm {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ddm")
    }
    pub fn jobs(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["status", "--json"]);
        serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
    }
    pub fn job(&self, id: i64) -> serde_json::Value {
        let out = self.ok(&["status", &id.to_string(), "--json"]);
        serde_json::from_str::<Vec<serde_json::Value>>(&out)
            .unwrap()
            .remove(0)
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Poll `f` until it returns Some, or panic after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for a child with a deadline; kill it and panic if it overruns.
pub fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("ddm did not finish within {limit:?}; stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn assert_same_file(path: &Path, want: &[u8]) {
    let got = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(got.len(), want.len(), "length of {}", path.display());
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b).unwrap();
        panic!(
            "{} differs from the served file at byte {first}",
            path.display()
        );
    }
}

/// A test that cannot run here says so; under CI (`CI` set) that is a failure, so a check
/// can never silently stop checking.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "this test must run in CI but cannot: {why}"
    );
    eprintln!("skipped: {why}");
}

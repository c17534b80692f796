//! The JSON-RPC server under test, as a child process on a free loopback port: the reference
//! `aria2c --enable-rpc`, or `ddm serve`. The client scripts and the checks do not know which;
//! only [`Daemon::assert_done`] also asks ddm's own CLI when the server is ddm.
//!
//! Ready means `aria2.getVersion` with the token answers. The process is killed when the
//! [`Daemon`] drops; aria2c is also told to stop with the test process.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::tools::Need;
use super::wire;
use crate::util::DDM;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `aria2c --enable-rpc`: proves the scripts test the protocol, not ddm's reading of it.
    Aria2c,
    /// `ddm --home H serve --port P --secret S -d D`.
    Ddm,
}

impl Backend {
    /// The programs this server needs besides the project's own.
    pub fn needs(self) -> &'static [Need] {
        match self {
            Backend::Aria2c => &[Need::Aria2c],
            Backend::Ddm => &[],
        }
    }
}

pub struct Daemon {
    pub backend: Backend,
    pub port: u16,
    pub secret: String,
    /// Where downloads go (`--dir`/`-d`, and the scripts' `dir` option).
    pub dir: PathBuf,
    /// ddm's `--home` (unused by aria2c).
    home: PathBuf,
    log: PathBuf,
    child: Child,
}

/// A port nobody listens on right now (the OS picks it; it is free again when we drop it).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn command(backend: Backend, port: u16, secret: &str, dir: &Path, home: &Path) -> Command {
    let mut c = match backend {
        Backend::Aria2c => {
            let mut c = Command::new("aria2c");
            c.args([
                "--enable-rpc",
                "--rpc-listen-all=false",
                "--rpc-allow-origin-all",
                "--daemon=false",
                "--no-conf",
                "--no-netrc",
                "--file-allocation=none",
                "--console-log-level=warn",
                "--summary-interval=0",
                "--show-console-readout=false",
            ])
            .arg(format!("--rpc-listen-port={port}"))
            .arg(format!("--rpc-secret={secret}"))
            .arg(format!("--dir={}", dir.display()))
            .arg(format!("--stop-with-process={}", std::process::id()));
            c
        }
        Backend::Ddm => {
            let mut c = Command::new(DDM);
            c.arg("--home")
                .arg(home)
                .args([
                    "serve",
                    "--port",
                    &port.to_string(),
                    "--secret",
                    secret,
                    "-d",
                ])
                .arg(dir);
            c
        }
    };
    // The machine's proxy settings must not reach loopback servers.
    for v in [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
        "DDM_HOME",
        "RUST_LOG",
    ] {
        c.env_remove(v);
    }
    c.current_dir(dir).stdin(Stdio::null());
    c
}

impl Daemon {
    /// Start `backend` with a fresh secret, downloading into `root/downloads`.
    pub fn start(backend: Backend, root: &Path) -> Daemon {
        let dir = root.join("downloads");
        let home = root.join("home");
        std::fs::create_dir_all(&dir).unwrap();
        let secret = format!("s3cr-{}-{}", std::process::id(), free_port());
        let log = root.join(format!("{backend:?}.log"));
        let mut last = String::new();
        // A port picked free can be taken before the server binds it: try another.
        for _ in 0..3 {
            let port = free_port();
            let out = File::create(&log).unwrap();
            let child = command(backend, port, &secret, &dir, &home)
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {backend:?}: {e}"));
            let mut d = Daemon {
                backend,
                port,
                secret: secret.clone(),
                dir: dir.clone(),
                home: home.clone(),
                log: log.clone(),
                child,
            };
            match d.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return d,
                Err(e) => last = e,
            }
        }
        panic!("{backend:?} never answered aria2.getVersion: {last}");
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Err(format!("it exited ({st}): {}", self.output()));
            }
            if let Ok(r) = wire::call(self.port, Some(&self.secret), "aria2.getVersion", &[]) {
                if r.status == 200 && r.json()["result"]["version"].is_string() {
                    return Ok(());
                }
            }
            if start.elapsed() > limit {
                return Err(format!("no answer in {limit:?}: {}", self.output()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `result` of one call with the right token.
    pub fn call(&self, method: &str, params: &[Value]) -> Value {
        wire::result(self.port, &self.secret, method, params)
    }

    /// The server says `gid` is complete with the file `name` in the download directory; a
    /// ddm server's own CLI (`ddm status --json`) says the same job is done.
    pub fn assert_done(&self, gid: &str, name: &str) {
        let s = self.call(
            "aria2.tellStatus",
            &[json!(gid), json!(["status", "files"])],
        );
        assert_eq!(s["status"], "complete", "tellStatus {gid}: {s}");
        let path = self.dir.join(name);
        assert_eq!(
            s["files"][0]["path"].as_str().map(Path::new),
            Some(path.as_path()),
            "tellStatus {gid}: {s}"
        );
        if self.backend == Backend::Ddm {
            let o = Command::new(DDM)
                .arg("--home")
                .arg(&self.home)
                .args(["status", "--json"])
                .output()
                .unwrap();
            assert!(o.status.success(), "ddm status: {o:?}");
            let jobs: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
            let job = jobs
                .iter()
                .find(|j| j["path"].as_str().map(Path::new) == Some(path.as_path()))
                .unwrap_or_else(|| {
                    panic!("ddm status lists no job for {}: {jobs:?}", path.display())
                });
            assert_eq!(job["state"], "done", "ddm status: {job}");
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

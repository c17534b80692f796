//! The third-party programs the RPC tests need, found or installed once per test process:
//! `tests/rpc/setup.sh` puts aria2p (a venv) and aria2.js (node_modules) under
//! `target/rpc-clients` (or `$DDM_RPC_CLIENTS_DIR`) and aria2c on the PATH when it can, so
//! `cargo test --workspace` on a fresh machine runs these tests like every other.
//!
//! A missing tool fails the test that needs it, with setup.sh's own words, unless
//! `DDM_SKIP_RPC_CLIENTS=1` is set: then nothing is installed and the test says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What a test needs from outside the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// aria2c, the reference JSON-RPC server.
    Aria2c,
    /// python3 with aria2p in the venv.
    Aria2p,
    /// node with aria2.js in node_modules.
    Aria2js,
}

pub struct Tools {
    /// setup.sh's output (or why it did not run), shown when something is missing.
    report: String,
    /// `target/rpc-clients` or `$DDM_RPC_CLIENTS_DIR`.
    dir: PathBuf,
}

const SKIP_VAR: &str = "DDM_SKIP_RPC_CLIENTS";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ddm-cli sits in the repository root")
        .to_path_buf()
}

/// The scripts under `tests/rpc/clients/`.
pub fn client_script(name: &str) -> PathBuf {
    repo_root().join("tests/rpc/clients").join(name)
}

fn skipping() -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v == "1")
}

fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let dir = std::env::var_os("DDM_RPC_CLIENTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/rpc-clients"));
        let report = if skipping() {
            format!("{SKIP_VAR}=1: tests/rpc/setup.sh not run")
        } else {
            let setup = repo_root().join("tests/rpc/setup.sh");
            match Command::new("bash").arg(&setup).output() {
                Ok(o) => format!(
                    "{} exited {:?}:\n{}{}",
                    setup.display(),
                    o.status.code(),
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("cannot run {}: {e}", setup.display()),
            }
        };
        Tools { report, dir }
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

impl Tools {
    fn missing(&self, need: Need) -> Option<String> {
        let (ok, what) = match need {
            Need::Aria2c => (on_path("aria2c").is_some(), "aria2c (Debian package aria2)"),
            Need::Aria2p => (
                self.python().is_file() && self.dir.join("venv/bin/aria2p").is_file(),
                "aria2p (PyPI, in the venv)",
            ),
            Need::Aria2js => (
                on_path("node").is_some()
                    && self.node_modules().join("aria2/package.json").is_file(),
                "aria2.js (npm package aria2 4.1.x) and node",
            ),
        };
        (!ok).then(|| what.to_string())
    }

    /// The venv's python, which imports aria2p and finds the `aria2p` command beside it.
    pub fn python(&self) -> PathBuf {
        self.dir.join("venv/bin/python")
    }

    /// For `NODE_PATH`, so `require("aria2")` finds aria2.js.
    pub fn node_modules(&self) -> PathBuf {
        self.dir.join("node_modules")
    }
}

/// The tools, when everything in `needs` is there. Otherwise the test fails naming what is
/// missing and what setup.sh said, or, with `DDM_SKIP_RPC_CLIENTS=1`, returns None after
/// saying it skipped.
pub fn require(needs: &[Need]) -> Option<&'static Tools> {
    let t = tools();
    let missing: Vec<String> = needs.iter().filter_map(|&n| t.missing(n)).collect();
    if missing.is_empty() {
        return Some(t);
    }
    if skipping() {
        eprintln!("skipped ({SKIP_VAR}=1): missing {}", missing.join(", "));
        return None;
    }
    panic!(
        "the RPC client tests need {} and tests/rpc/setup.sh could not provide it; install it, \
         or set {SKIP_VAR}=1 to skip these tests.\n{}",
        missing.join(", "),
        t.report
    );
}

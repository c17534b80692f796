//! Running one client script (`tests/rpc/clients/`) against a [`Daemon`]: the command line
//! every script takes, and a runner that hands each JSON line to the test the moment it is
//! printed (so the test can look at the HTTP server while a download is paused), then
//! requires exit 0. A script that hangs is killed after [`LIMIT`].

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::daemon::Daemon;
use super::tools::{client_script, Tools};

const LIMIT: Duration = Duration::from_secs(90);

/// `python3 tests/rpc/clients/SCRIPT --port P --secret S --dir D` with the venv's python.
pub fn python(tools: &Tools, script: &str, d: &Daemon) -> Command {
    let mut c = Command::new(tools.python());
    c.arg(client_script(script));
    common(c, d)
}

/// `node tests/rpc/clients/SCRIPT --port P --secret S --dir D` finding aria2.js by NODE_PATH.
pub fn node(tools: &Tools, script: &str, d: &Daemon) -> Command {
    let mut c = Command::new("node");
    c.arg(client_script(script))
        .env("NODE_PATH", tools.node_modules());
    common(c, d)
}

fn common(mut c: Command, d: &Daemon) -> Command {
    c.arg("--port")
        .arg(d.port.to_string())
        .arg("--secret")
        .arg(&d.secret)
        .arg("--dir")
        .arg(&d.dir);
    // Python's requests follows the machine's proxy settings; loopback must not.
    for v in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        c.env_remove(v);
    }
    c.env("NO_PROXY", "127.0.0.1").stdin(Stdio::null());
    c
}

/// Run `cmd`, calling `on_line` with each JSON line as it comes; all lines once it exited 0.
/// Panics with the script's stderr and lines on a non-zero exit, a line that is not JSON, or
/// a run over [`LIMIT`].
pub fn run(mut cmd: Command, d: &Daemon, mut on_line: impl FnMut(&Value)) -> Vec<Value> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err = child.stderr.take().unwrap();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    loop {
        let left = LIMIT.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                // Shown by the test harness when the test fails.
                eprintln!("client: {line}");
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("{what} printed a line that is not JSON ({e}): {line}")
                });
                on_line(&v);
                lines.push(v);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "{what} did not finish within {LIMIT:?}; lines so far: {lines:?}\nserver \
                     output:\n{}",
                    d.output()
                );
            }
        }
    }
    let status = child.wait().unwrap();
    let stderr = errs.join().unwrap_or_default();
    assert!(
        status.success(),
        "{what} failed ({status}):\n{stderr}\nlines: {lines:#?}\nserver output:\n{}",
        d.output()
    );
    assert_eq!(
        lines.last().map(|l| &l["step"]),
        Some(&Value::from("ok")),
        "{what} exited 0 without its last line being ok: {lines:?}"
    );
    lines
}

/// The lines whose step is `step`, in order.
pub fn steps<'a>(lines: &'a [Value], step: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["step"] == step).collect()
}

/// A gid as aria2 makes them: 16 hex digits.
pub fn gid(v: &Value) -> String {
    let g = v["gid"].as_str().unwrap_or_default().to_string();
    assert!(
        g.len() == 16 && g.bytes().all(|b| b.is_ascii_hexdigit()),
        "not a gid: {v}"
    );
    g
}

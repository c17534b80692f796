//! ddm's page in a real browser (issue 17): headless Chromium (Debian's, driven by
//! playwright-core; `tests/page/setup.sh` installs both, the first test to need them runs it)
//! against a real `ddm serve` and the loopback test server. Each test runs one scenario of
//! `drive.js`, which clicks and types as a person would and stops at checkpoints where the
//! test checks from outside: the servers' logs, the files on disk, `ddm status`. Screenshots
//! (phone and desktop widths, light and dark) go to `target/page-shots/TEST/`.
//!
//! Without Chromium the tests fail with setup.sh's words, unless `DDM_SKIP_PAGE_TESTS=1`:
//! then they say they skipped.

mod scenarios;
mod top;

use crate::rpc::tools::repo_root;
use crate::util::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

const SKIP_VAR: &str = "DDM_SKIP_PAGE_TESTS";

/// Where playwright-core is, once setup.sh made sure; None when skipping.
fn tools() -> Option<PathBuf> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        return None;
    }
    let t = TOOLS.get_or_init(|| {
        let dir = std::env::var_os("DDM_PAGE_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/page-tools"));
        let setup = repo_root().join("tests/page/setup.sh");
        let o = Command::new("bash")
            .arg(&setup)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", setup.display()))?;
        if o.status.success() {
            Ok(dir)
        } else {
            Err(format!(
                "{} failed ({:?}); set {SKIP_VAR}=1 to skip the page's tests:\n{}{}",
                setup.display(),
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))
        }
    });
    match t {
        Ok(d) => Some(d.clone()),
        Err(e) => panic!("{e}"),
    }
}

/// A `ddm serve` on a free port with a known token.
pub struct Serving {
    pub child: Child,
    pub addr: String,
    pub token: String,
    pub dl: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(env: &Env) -> Serving {
    let token = "page-test-token-0123456789abcdef".to_string();
    let dl = env.dir.path().join("dl");
    let mut child = env.spawn(&[
        "serve",
        "--port",
        "0",
        "--secret",
        &token,
        "-d",
        dl.to_str().unwrap(),
    ]);
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("ddm serve said where it listens")
            .unwrap();
        if let Some(rest) = line.split("JSON-RPC at http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Serving {
        child,
        addr,
        token,
        dl,
    }
}

/// One JSON-RPC call over HTTP: the result (panics on an error).
pub fn rpc(s: &Serving, method: &str, params: Value) -> Value {
    let mut p = vec![serde_json::json!(format!("token:{}", s.token))];
    p.extend(params.as_array().unwrap().iter().cloned());
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": p}).to_string();
    let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(
        c,
        "POST /jsonrpc HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.addr,
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut c, &mut out).unwrap();
    let v: Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// Where a test's screenshots go.
pub fn shots(test: &str) -> PathBuf {
    repo_root().join("target/page-shots").join(test)
}

/// Run scenario `name` of drive.js against `s` with `args`; `at` is called at each
/// checkpoint (its name and line) before the browser goes on. The last line: the result.
/// None when the page's tests are skipped.
pub fn drive(
    s: &Serving,
    test: &str,
    name: &str,
    args: Value,
    mut at: impl FnMut(&str, &Value),
) -> Option<Value> {
    let Some(tools) = tools() else {
        skip(&format!("{SKIP_VAR}=1: the page's browser tests"));
        return None;
    };
    let mut child = Command::new("node")
        .arg(repo_root().join("tests/page/drive.js"))
        .arg(name)
        .env("PAGE_TOOLS", &tools)
        .env("PAGE_URL", format!("http://{}/", s.addr))
        .env("TOKEN", &s.token)
        .env("OUT_DIR", shots(test))
        .env("ARGS", args.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let mut stdin = child.stdin.take().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut last = None;
    for line in out.lines() {
        let line = line.unwrap();
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if let Some(name) = v["at"].as_str() {
            at(name, &v);
            writeln!(stdin, "go").unwrap();
            continue;
        }
        last = Some(v);
        break;
    }
    let _ = child.wait();
    let r = last.expect("drive.js ended without a result");
    if let Some(e) = r["error"].as_str() {
        panic!(
            "the browser scenario {name} failed (screenshot: {}): {e}\nconsole: {}",
            shots(test).join("failure.png").display(),
            r["console"]
        );
    }
    assert_eq!(r["console"], serde_json::json!([]), "console errors");
    Some(r)
}

//! `ddm serve` as a user runs it (issue 16): one queue for RPC and the CLI, the secret made on
//! the first start, directories kept inside the allowed roots, and a clean stop. The
//! third-party clients are in `rpc/`; the wire protocol in `ddm-rpc/tests/`.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Child;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

struct Serving {
    child: Child,
    addr: String,
    token: String,
}

/// Start `ddm serve` on a free port; its address from what it prints, its token from the
/// file it says it made.
fn serve(env: &Env, extra: &[&str]) -> Serving {
    let mut args = vec!["serve", "--port", "0"];
    args.extend_from_slice(extra);
    let mut child = env.spawn(&args);
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let (mut addr, mut file) = (None, None);
    while addr.is_none() || file.is_none() {
        let line = lines
            .next()
            .expect("ddm serve said where it listens")
            .unwrap();
        if let Some(rest) = line.split("JSON-RPC at http://").nth(1) {
            addr = rest.split('/').next().map(str::to_string);
        }
        if let Some(rest) = line.split("secret token: in ").nth(1) {
            file = rest.split(" (").next().map(str::to_string);
        }
    }
    // Keep draining what it prints.
    std::thread::spawn(move || for _ in lines {});
    let file = file.unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{file}");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(token.len() >= 32, "128 bits at least: {token}");
    Serving {
        child,
        addr: addr.unwrap(),
        token,
    }
}

/// One JSON-RPC call over HTTP POST: the parsed answer.
fn call(s: &Serving, method: &str, params: serde_json::Value) -> serde_json::Value {
    call_with(&s.addr, &s.token, method, params)
}

fn call_with(
    addr: &str,
    token: &str,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let mut p = vec![serde_json::json!(format!("token:{token}"))];
    p.extend(params.as_array().unwrap().iter().cloned());
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": p}).to_string();
    let mut c = TcpStream::connect(addr).unwrap();
    write!(
        c,
        "POST /jsonrpc HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    let json = out.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn rpc_and_cli_share_one_queue_and_a_shutdown_stops_cleanly() {
    let server = Server::start().unwrap();
    let a = pattern(3 * MIB, 1601);
    let b = pattern(2 * MIB, 1602);
    server.add("/a.bin", Resource::new(a.clone()).etag("\"a\""));
    server.add("/b.bin", Resource::new(b.clone()).etag("\"b\""));
    let env = Env::new();
    let dl = env.dir.path().join("dl");
    let mut s = serve(&env, &["-d", dl.to_str().unwrap()]);
    // One by RPC, one by the CLI beside it.
    let r = call(
        &s,
        "aria2.addUri",
        serde_json::json!([[server.url("/a.bin")], {"out": "a1.bin"}]),
    );
    let gid = r["result"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    env.ok(&["add", &server.url("/b.bin"), "-d", dl.to_str().unwrap()]);
    wait_for(Duration::from_secs(20), "both done", || {
        let jobs = env.jobs();
        (jobs.len() == 2 && jobs.iter().all(|j| j["state"] == "done")).then_some(())
    });
    assert_same_file(&dl.join("a1.bin"), &a);
    assert_same_file(&dl.join("b.bin"), &b);
    // The service sees both, as aria2 would list them.
    let st = call(
        &s,
        "aria2.tellStopped",
        serde_json::json!([0, 10, ["gid", "status"]]),
    );
    let listed = st["result"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{st}");
    assert!(listed
        .iter()
        .any(|j| j["gid"] == gid.as_str() && j["status"] == "complete"));
    // A wrong token: exactly Unauthorized.
    let r = call_with(
        &s.addr,
        "nope",
        "aria2.getGlobalStat",
        serde_json::json!([]),
    );
    assert_eq!(r["error"]["message"], "Unauthorized", "{r}");
    // aria2.shutdown: exit 0, promptly.
    let t = Instant::now();
    assert_eq!(
        call(&s, "aria2.shutdown", serde_json::json!([]))["result"],
        "OK"
    );
    let st = wait_child(&mut s.child, Duration::from_secs(5));
    assert!(st.success(), "{st:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn sigterm_checkpoints_a_running_job_and_the_next_start_continues_it() {
    let server = Server::start().unwrap();
    let body = pattern(16 * MIB, 1603);
    server.add(
        "/slow.bin",
        Resource::new(body.clone()).etag("\"s\"").rate(2 << 20),
    );
    let env = Env::new();
    let dl = env.dir.path().join("dl");
    let mut s = serve(&env, &["-d", dl.to_str().unwrap()]);
    call(
        &s,
        "aria2.addUri",
        serde_json::json!([[server.url("/slow.bin")], {}]),
    );
    wait_for(Duration::from_secs(20), "progress", || {
        let j = env.jobs();
        (j.first()?["bytes_done"].as_u64()? > 2 * MIB as u64).then_some(())
    });
    let t = Instant::now();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let st = wait_child(&mut s.child, Duration::from_secs(5));
    assert!(st.success(), "{st:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let j = env.job(1);
    assert_eq!(j["state"], "queued", "{j}");
    let kept = j["bytes_done"].as_u64().unwrap();
    let sent = server.bytes_sent("/slow.bin");
    server.add("/slow.bin", Resource::new(body.clone()).etag("\"s\""));
    let mut s = serve(&env, &["-d", dl.to_str().unwrap()]);
    wait_for(Duration::from_secs(20), "done", || {
        (env.job(1)["state"] == "done").then_some(())
    });
    assert_same_file(&dl.join("slow.bin"), &body);
    let again = server.bytes_sent("/slow.bin") - sent;
    assert!(
        again <= body.len() as u64 - kept + MIB as u64,
        "{again} sent after the restart; {kept} were kept"
    );
    call(&s, "aria2.shutdown", serde_json::json!([]));
    wait_child(&mut s.child, Duration::from_secs(5));
}

#[test]
fn an_rpc_dir_outside_the_allowed_ones_is_refused_and_nothing_is_queued() {
    let env = Env::new();
    let dl = env.dir.path().join("dl");
    let mut s = serve(&env, &["-d", dl.to_str().unwrap()]);
    for dir in ["/etc", "/tmp/../etc", "relative/dir"] {
        let r = call(
            &s,
            "aria2.addUri",
            serde_json::json!([["http://127.0.0.1:9/x.bin"], {"dir": dir}]),
        );
        let msg = r["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            msg.contains("dir") && msg.contains(dl.to_str().unwrap()),
            "{msg}"
        );
    }
    // Inside the default one: created.
    let inside = dl.join("sub/deeper");
    let r = call(
        &s,
        "aria2.addUri",
        serde_json::json!([["http://127.0.0.1:9/x.bin"], {"dir": inside.to_str().unwrap(), "pause": "true"}]),
    );
    assert!(r["result"].is_string(), "{r}");
    assert!(inside.is_dir());
    assert_eq!(env.jobs().len(), 1);
    call(&s, "aria2.shutdown", serde_json::json!([]));
    wait_child(&mut s.child, Duration::from_secs(5));
}

#[test]
fn rpc_jobs_follow_the_routing_rules_and_an_rpc_dir_or_out_wins() {
    let server = Server::start().unwrap();
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(
        env.home().join("config.toml"),
        "[[rule]]\nname = \"video\"\nfile = \"*.mp4\"\ndir = \"Video\"\n",
    )
    .unwrap();
    let dl = env.dir.path().join("dl");
    let mine = dl.join("mine");
    let mut s = serve(&env, &["-d", dl.to_str().unwrap()]);
    let mut want = Vec::new();
    for (i, (name, opts, dest)) in [
        ("a.mp4", serde_json::json!({}), dl.join("Video/a.mp4")),
        (
            "b.mp4",
            serde_json::json!({"out": "b.mp4"}),
            dl.join("b.mp4"),
        ),
        (
            "c.mp4",
            serde_json::json!({"dir": mine.to_str().unwrap()}),
            mine.join("c.mp4"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let body = pattern(MIB / 4, 1610 + i as u64);
        server.add(&format!("/v/{name}"), Resource::new(body.clone()));
        let r = call(
            &s,
            "aria2.addUri",
            serde_json::json!([[server.url(&format!("/v/{name}"))], opts]),
        );
        assert!(r["result"].is_string(), "{r}");
        want.push((dest, body));
    }
    wait_for(Duration::from_secs(20), "all done", || {
        let jobs = env.jobs();
        (jobs.len() == 3 && jobs.iter().all(|j| j["state"] == "done")).then_some(())
    });
    for (dest, body) in &want {
        assert_same_file(dest, body);
    }
    for j in env.jobs() {
        assert_eq!(j["rule"]["name"], "video", "{j}");
    }
    call(&s, "aria2.shutdown", serde_json::json!([]));
    wait_child(&mut s.child, Duration::from_secs(5));
}

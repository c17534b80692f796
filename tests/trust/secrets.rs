//! Secrets given to ddm stay secret where other users and later readers look: the process's
//! command line while it runs (`ps`, /proc/PID/cmdline), error messages and the log when a
//! URL is refused, and the job database's file bytes once a job is removed or done.

use crate::util::*;
use ddm_testserver::{base64, pattern, Proxy, ProxyKind, Resource, Server, PROXY_ONLY_DOMAIN};
use std::time::Duration;

/// The command line of a running process as `ps` shows it (arguments joined by spaces).
fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

#[test]
fn passwords_and_secret_headers_are_blanked_in_the_command_line_while_downloading() {
    if !std::path::Path::new("/proc/self/cmdline").exists() {
        return skip("no /proc");
    }
    let s = Server::start().unwrap();
    // About 4 s each: long enough to look at the command lines mid-download.
    let body = pattern(1 << 20, 901);
    // Over plain http a login goes out when the server asks for it (a 401 challenge).
    s.add(
        "/a.bin",
        Resource::new(body.clone())
            .rate(256 << 10)
            .basic_auth("user", "PW-SECRET-901"),
    );
    s.add("/b.bin", Resource::new(body.clone()).rate(256 << 10));
    let p = Proxy::start(ProxyKind::Http, Some(("pu", "PROXY-SECRET-901"))).unwrap();
    // -u and -H Authorization both make an Authorization header (the -H one wins, as in
    // curl): one process each, side by side.
    let (env, env_b) = (Env::new(), Env::new());
    let a_url = s.url("/a.bin");
    let mut a = env.spawn(&["get", &a_url, "-c", "1", "-u", "user:PW-SECRET-901"]);
    let b_url = format!("http://files.{PROXY_ONLY_DOMAIN}:{}/b.bin", s.port());
    let proxy = format!("http://pu:PROXY-SECRET-901@127.0.0.1:{}", p.port());
    let mut b = env_b.spawn(&[
        "get",
        &b_url,
        "-c",
        "1",
        "-H",
        "Authorization: Bearer TOK-SECRET-901",
        "-H",
        "X-Api-Token: API-SECRET-901",
        "--secret-header",
        "X-Api-Token",
        "-H",
        "X-Trace: visible-901",
        "--proxy",
        &proxy,
    ]);
    // Both are downloading (the server has their requests): their arguments were parsed.
    wait_for(Duration::from_secs(20), "both downloads to start", || {
        for c in [&mut a, &mut b] {
            if let Some(st) = c.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(c.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("ddm ended early ({st}): {err}");
            }
        }
        let log = s.log();
        (log.iter().any(|e| e.target == "/a.bin") && log.iter().any(|e| e.target == "/b.bin"))
            .then_some(())
    });
    let (ca, cb) = (cmdline(a.id()), cmdline(b.id()));
    assert!(
        a.try_wait().unwrap().is_none() && b.try_wait().unwrap().is_none(),
        "the command lines were read mid-download"
    );
    for (cmd, kept) in [
        (&ca, &["user:", "-u"][..]),
        (
            &cb,
            &["Authorization:", "X-Trace: visible-901", "http://pu:"][..],
        ),
    ] {
        assert!(!cmd.contains("SECRET"), "a secret is visible in ps: {cmd}");
        for k in kept {
            assert!(cmd.contains(k), "{k:?} is kept: {cmd}");
        }
    }
    for c in [&mut a, &mut b] {
        let st = wait_child(c, Duration::from_secs(60));
        assert!(st.success());
    }
    assert_same_file(&env.out().join("a.bin"), &body);
    assert_same_file(&env_b.out().join("b.bin"), &body);
    // The credentials really went out, unblanked.
    let basic = format!("Basic {}", base64(b"user:PW-SECRET-901"));
    let log = s.log();
    let a_reqs: Vec<_> = log.iter().filter(|e| e.target == "/a.bin").collect();
    let b_reqs: Vec<_> = log.iter().filter(|e| e.target == "/b.bin").collect();
    assert!(a_reqs
        .iter()
        .filter(|e| e.status != 401)
        .all(|e| e.header("authorization") == Some(basic.as_str())));
    assert!(a_reqs
        .iter()
        .any(|e| e.header("authorization") == Some(basic.as_str())));
    assert!(b_reqs.iter().all(
        |e| e.header("authorization") == Some("Bearer TOK-SECRET-901")
            && e.header("x-api-token") == Some("API-SECRET-901")
    ));
    let proxy_auth = format!("Basic {}", base64(b"pu:PROXY-SECRET-901"));
    let plog = p.log();
    assert!(
        !plog.is_empty()
            && plog
                .iter()
                .all(|e| e.auth.as_deref() == Some(proxy_auth.as_str()) && e.status == 200),
        "{plog:?}"
    );
}

/// Every output of one run, for a leak check.
fn everything(env: &Env, o: &std::process::Output) -> String {
    format!(
        "stdout: {}\nstderr: {}\nddm.log: {}",
        String::from_utf8_lossy(&o.stdout),
        stderr(o),
        env.log()
    )
}

#[test]
fn a_refused_url_is_shown_and_logged_without_its_password() {
    let pw = "PW-SECRET-902";
    let bad_urls = [
        format!("http://u:{pw}@[zz/"),
        format!("ftp://u:{pw}@host/x"),
        format!("ftp://h/x?next=http://u:{pw}@other/"),
        format!("http://u:{pw}@/x"),
    ];
    let mut runs: Vec<Vec<String>> = Vec::new();
    for u in &bad_urls {
        runs.push(vec!["add".into(), u.clone()]);
        runs.push(vec!["get".into(), u.clone()]);
        runs.push(vec!["probe".into(), u.clone()]);
        runs.push(vec![
            "add".into(),
            "http://127.0.0.1:9/f".into(),
            "--mirror".into(),
            u.clone(),
        ]);
        runs.push(vec![
            "add".into(),
            "http://127.0.0.1:9/f".into(),
            "--proxy".into(),
            u.clone(),
        ]);
    }
    // A bare host:port proxy (http:// implied), and a value clap itself refuses.
    runs.push(vec![
        "add".into(),
        "http://127.0.0.1:9/f".into(),
        format!("--proxy=u:{pw}@[zz"),
    ]);
    runs.push(vec![
        "add".into(),
        "http://127.0.0.1:9/f".into(),
        "--limit-rate".into(),
        format!("http://u:{pw}@h/"),
    ]);
    for args in &runs {
        let env = Env::new();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = env.run(&args);
        let all = everything(&env, &o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {all}");
        assert!(!all.contains(pw), "{args:?} shows the password: {all}");
        let err = stderr(&o);
        assert!(
            err.contains("u:***@")
                && ["not", "no host", "invalid", "unsupported"]
                    .iter()
                    .any(|w| err.contains(w)),
            "{args:?}: a clear error naming the URL: {err}"
        );
    }
}

#[test]
fn a_password_in_a_url_inside_the_query_is_never_shown() {
    let pw = "PW-SECRET-903";
    let env = Env::new();
    for url in [
        format!("http://127.0.0.1:9/x?next=http://u:{pw}@other/"),
        format!("http://127.0.0.1:9/y?next=http%3A%2F%2Fu%3A{pw}%40other%2F"),
    ] {
        let o = env.run(&["add", &url]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!everything(&env, &o).contains(pw));
    }
    let shown = format!(
        "{}{}{}",
        env.ok(&["status"]),
        env.ok(&["status", "--json"]),
        env.log()
    );
    assert!(!shown.contains(pw), "{shown}");
    assert!(shown.contains("next=http://u:***@other/"), "{shown}");
}

/// The raw bytes of the job database and its write-ahead log, as anyone who can read the
/// files (a backup, a disk image) sees them.
fn db_bytes(env: &Env) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["jobs.db", "jobs.db-wal"] {
        if let Ok(b) = std::fs::read(env.home().join(f)) {
            all.extend_from_slice(&b);
        }
    }
    all
}

fn assert_not_in_db(env: &Env, secrets: &[&str], when: &str) {
    let bytes = db_bytes(env);
    assert!(!bytes.is_empty());
    for s in secrets {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s} is still in the job database's files {when}"
        );
    }
}

const DB_SECRETS: &[&str] = &["UNIQUE-SECRET-904", "UNIQUE-PW2-904", "UNIQUE-URLPW-904"];

#[test]
fn a_removed_jobs_secrets_are_gone_from_the_database_files() {
    let s = Server::start().unwrap();
    let body = pattern(1 << 20, 904);
    s.add("/slow.bin", Resource::new(body.clone()).rate(256 << 10));
    let env = Env::new();
    // Another ddm keeps the database open meanwhile (so closing the last connection does not
    // checkpoint the log for us), and writes its own progress to it.
    let slow = s.url("/slow.bin");
    let mut other = env.spawn(&["get", &slow, "-c", "1"]);
    wait_for(Duration::from_secs(20), "the other download", || {
        s.log()
            .iter()
            .any(|e| e.target == "/slow.bin")
            .then_some(())
    });
    let url = format!("http://u:UNIQUE-URLPW-904@127.0.0.1:{}/never.bin", s.port());
    let id = env.ok(&[
        "add",
        &url,
        "-H",
        "Authorization: Bearer UNIQUE-SECRET-904",
        "-u",
        "user:UNIQUE-PW2-904",
    ]);
    let db = db_bytes(&env);
    assert!(
        db.windows(17).any(|w| w == b"UNIQUE-SECRET-904"),
        "the job database holds the queued job's header (else this test proves nothing)"
    );
    env.ok(&["remove", id.trim()]);
    assert!(other.try_wait().unwrap().is_none(), "still downloading");
    assert_not_in_db(&env, DB_SECRETS, "after remove, with another ddm running");
    assert!(wait_child(&mut other, Duration::from_secs(60)).success());
    assert_same_file(&env.out().join("slow.bin"), &body);
    assert_not_in_db(&env, DB_SECRETS, "after remove");
}

#[test]
fn a_finished_jobs_secrets_are_gone_from_the_database_files() {
    let s = Server::start().unwrap();
    let body = pattern(256 << 10, 905);
    s.add("/f.bin", Resource::new(body.clone()));
    let env = Env::new();
    let url = format!("http://u:UNIQUE-URLPW-904@127.0.0.1:{}/f.bin", s.port());
    env.ok(&[
        "get",
        &url,
        "-H",
        "Authorization: Bearer UNIQUE-SECRET-904",
        "-H",
        "X-Trace: kept-905",
        "-u",
        "user:UNIQUE-PW2-904",
    ]);
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(s.log().iter().all(|e| e.header("authorization").is_some()));
    assert_not_in_db(&env, DB_SECRETS, "after the job is done");
    let job = &env.jobs()[0];
    assert_eq!(job["state"], "done", "{job}");
}

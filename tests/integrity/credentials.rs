//! Headers whose names say they carry a credential (token, key, secret, session, auth,
//! password, signature, credential) go only to the job's scheme, host and port, like
//! `Authorization`, without `--secret-header`; plain headers follow redirects.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::Duration;

/// Credential headers nobody marked with `--secret-header`, each with a value to look for.
const CREDENTIALS: &[(&str, &str)] = &[
    ("Private-Token", "GITLAB-1201"),
    ("X-Amz-Security-Token", "AMZ-1201"),
    ("X-Goog-Api-Key", "GOOG-1201"),
    ("X-Session-Id", "SESSION-1201"),
    ("X-Client-Secret", "CLIENT-1201"),
    ("X-Upload-Password", "UPLOAD-1201"),
    ("Signature", "SIG-1201"),
    ("X-Credential", "CRED-1201"),
    ("X-Auth-User", "AUTHUSER-1201"),
];

/// Headers that are not credentials: they follow the redirect.
const PLAIN: &[(&str, &str)] = &[
    ("Sec-Fetch-Mode", "navigate"),
    ("Accept-Language", "de"),
    ("X-Trace", "visible-1201"),
];

fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

fn db_bytes(env: &Env) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["jobs.db", "jobs.db-wal"] {
        if let Ok(b) = std::fs::read(env.home().join(f)) {
            all.extend_from_slice(&b);
        }
    }
    all
}

#[test]
fn token_key_secret_and_session_headers_stay_with_the_jobs_host() {
    // A redirects to B (another port), which serves the file in about 4 s: long enough to
    // read the command line mid-download.
    let body = pattern(1 << 20, 1201);
    let (a, b) = (Server::start().unwrap(), Server::start().unwrap());
    b.add(
        "/f.bin",
        Resource::new(body.clone()).etag("\"e\"").rate(256 << 10),
    );
    a.redirect("/dl", &b.url("/f.bin"), 302);
    let env = Env::new();
    let url = a.url("/dl");
    let lines: Vec<String> = CREDENTIALS
        .iter()
        .chain(PLAIN)
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let mut args = vec!["get", url.as_str(), "-c", "1"];
    for l in &lines {
        args.extend(["-H", l.as_str()]);
    }
    let mut child = env.spawn(&args);
    wait_for(Duration::from_secs(20), "the download to start", || {
        b.log().iter().any(|e| e.target == "/f.bin").then_some(())
    });
    if std::path::Path::new("/proc/self/cmdline").exists() {
        let cmd = cmdline(child.id());
        assert!(child.try_wait().unwrap().is_none(), "read mid-download");
        for (n, v) in CREDENTIALS {
            assert!(!cmd.contains(v), "{n}'s value is visible in ps: {cmd}");
            assert!(cmd.contains(&format!("{n}:")), "{n} is named: {cmd}");
        }
        assert!(cmd.contains("X-Trace: visible-1201"), "{cmd}");
    }
    let st = wait_child(&mut child, Duration::from_secs(60));
    assert!(st.success());
    assert_same_file(&env.out().join("f.bin"), &body);
    // The job's host got every header.
    let alog = a.log();
    assert!(!alog.is_empty());
    for e in &alog {
        for (n, v) in CREDENTIALS.iter().chain(PLAIN) {
            assert_eq!(e.header(n), Some(*v), "{n} to the job's host");
        }
    }
    // The redirect target got the plain ones, and no credential.
    let blog = b.log();
    assert!(!blog.is_empty());
    for e in &blog {
        for (n, v) in CREDENTIALS {
            assert!(e.header(n).is_none(), "the redirect target received {n}");
            assert!(
                e.headers.iter().all(|(_, hv)| !hv.contains(v)),
                "the redirect target received {v}"
            );
        }
        for (n, v) in PLAIN {
            assert_eq!(e.header(n), Some(*v), "{n} follows the redirect");
        }
    }
    // Never shown, never logged, and forgotten by the database once the job is done.
    let shown = format!(
        "{}{}{}",
        env.ok(&["status", "--json"]),
        env.log(),
        String::from_utf8_lossy(&db_bytes(&env))
    );
    for (n, v) in CREDENTIALS {
        assert!(!shown.contains(v), "{n}'s value is shown or kept");
    }
}

//! HTTP Digest authentication (RFC 7616 with MD5, qop=auth), as Apache's WebDAV asks for it:
//! `-u` answers the challenge the server makes (Basic or Digest), never sends Basic (the
//! password in clear) to a server that asked for Digest, and its credentials never follow a
//! redirect to another origin. The server here checks every answer with its own MD5.

use crate::util::*;
use ddm_testserver::{answer, base64, honest, pattern, RawReply, RawRequest, RawServer};
use md5::{Digest as _, Md5};

const USER: &str = "alice";
const PASSWORD: &str = "d1gest-pw-5e1f";
const REALM: &str = "webdav";
const NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters of an `Authorization: Digest k=v, k="v", ...` header.
fn params(v: &str) -> Option<Vec<(String, String)>> {
    let rest = v.trim().strip_prefix("Digest ")?;
    let mut out = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (k, after) = s.split_once('=')?;
        let after = after.trim_start();
        let (val, next) = match after.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"')?;
                (q[..end].to_string(), &q[end + 1..])
            }
            None => match after.find(',') {
                Some(i) => (after[..i].trim().to_string(), &after[i..]),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((k.trim().to_ascii_lowercase(), val));
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(out)
}

/// Does `req` carry a correct Digest answer to our challenge for `USER`/`PASSWORD`?
fn digest_ok(req: &RawRequest) -> bool {
    let Some(p) = req.header("authorization").and_then(params) else {
        return false;
    };
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let method = req.line.split(' ').next().unwrap_or("");
    let ha1 = md5_hex(&format!("{USER}:{REALM}:{PASSWORD}"));
    let ha2 = md5_hex(&format!("{method}:{}", get("uri")));
    let want = md5_hex(&format!(
        "{ha1}:{NONCE}:{}:{}:{}:{ha2}",
        get("nc"),
        get("cnonce"),
        get("qop")
    ));
    get("username") == USER
        && get("realm") == REALM
        && get("nonce") == NONCE
        && get("qop") == "auth"
        && get("uri") == req.path()
        && get("response") == want
}

fn challenge() -> Vec<u8> {
    let www = format!("Digest realm=\"{REALM}\", nonce=\"{NONCE}\", algorithm=MD5, qop=\"auth\"");
    answer(
        401,
        &[
            ("WWW-Authenticate", www),
            ("Content-Type", "text/html; charset=iso-8859-1".into()),
        ],
        b"<html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1>\
          <p>This server could not verify that you are authorized.</p></body></html>\n",
    )
}

#[test]
fn user_credentials_answer_a_digest_challenge_and_stay_with_their_origin() {
    let body = pattern(6 << 20, 1511);
    let other = {
        let body = body.clone();
        RawServer::start(move |req| RawReply::Keep(honest(req, &body, &[]))).unwrap()
    };
    let elsewhere = other.url("/public.bin");
    let dav = {
        let body = body.clone();
        RawServer::start(move |req| {
            if !digest_ok(req) {
                return RawReply::Keep(challenge());
            }
            RawReply::Keep(match req.path() {
                "/dav/moved.bin" => answer(302, &[("Location", elsewhere.clone())], b""),
                _ => honest(
                    req,
                    &body,
                    &[("ETag", "\"d1\"".into()), ("Accept-Ranges", "bytes".into())],
                ),
            })
        })
        .unwrap()
    };
    let env = Env::new();
    let user = format!("{USER}:{PASSWORD}");
    // Several connections, each answering the challenge: the file, byte-exact.
    env.ok(&["get", &dav.url("/dav/file.bin"), "-u", &user, "-c", "4"]);
    assert_same_file(&env.out().join("file.bin"), &body);
    let log = dav.log();
    let answered: Vec<&RawRequest> = log.iter().filter(|r| digest_ok(r)).collect();
    assert!(answered.len() >= 2, "{log:?}");
    for r in &log {
        let auth = r.header("authorization").unwrap_or("");
        assert!(
            !auth.to_ascii_lowercase().starts_with("basic"),
            "Basic (the password in clear) sent to a server that asked for Digest: {r:?}"
        );
        assert!(
            r.headers.iter().all(|(_, v)| !v.contains(PASSWORD)),
            "{r:?}"
        );
        assert!(
            auth.is_empty() || digest_ok(r),
            "a wrong Digest answer: {r:?}"
        );
    }
    // `probe` answers the challenge too.
    let out = env.ok(&["probe", &dav.url("/dav/file.bin"), "-u", &user, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["size"], body.len() as u64, "{v}");
    // Redirected to another origin: it sees no Authorization at all.
    env.ok(&[
        "get",
        &dav.url("/dav/moved.bin"),
        "-u",
        &user,
        "-o",
        "p.bin",
    ]);
    assert_same_file(&env.out().join("p.bin"), &body);
    assert!(dav
        .log()
        .iter()
        .any(|r| r.path() == "/dav/moved.bin" && digest_ok(r)));
    let seen = other.log();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|r| r.header("authorization").is_none()),
        "{seen:?}"
    );
    // A wrong password: a final 401, after a bounded number of requests, nothing shown.
    let before = dav.log().len();
    let o = env.run(&[
        "get",
        &dav.url("/dav/file.bin"),
        "-u",
        "alice:wrong-pw-31",
        "-o",
        "x.bin",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("401") && !err.contains("wrong-pw-31"), "{err}");
    assert!(dav.log().len() - before <= 4, "{:?}", &dav.log()[before..]);
    assert!(!env.out().join("x.bin").exists());

    // Over https Basic goes with the first request (as curl -u: TLS keeps the password); a
    // server that asks for Digest instead is answered with it, on every connection.
    let front = ddm_testserver::TlsFront::start(dav.port()).unwrap();
    let ca = env.dir.path().join("ca.pem");
    std::fs::write(&ca, front.ca_pem()).unwrap();
    let before = dav.log().len();
    env.ok(&[
        "get",
        &front.url("/dav/file.bin"),
        "-u",
        &user,
        "--cacert",
        ca.to_str().unwrap(),
        "-c",
        "4",
        "-o",
        "s.bin",
    ]);
    assert_same_file(&env.out().join("s.bin"), &body);
    let log = dav.log()[before..].to_vec();
    assert!(log.iter().filter(|r| digest_ok(r)).count() >= 2, "{log:?}");
    let basic = log
        .iter()
        .filter(|r| {
            r.header("authorization")
                .is_some_and(|a| a.starts_with("Basic "))
        })
        .count();
    assert!(basic >= 1, "{log:?}");
    // Each connection sent Basic once at most, then Digest.
    let conns: std::collections::BTreeSet<u64> = log.iter().map(|r| r.conn).collect();
    assert!(basic <= conns.len(), "{log:?}");
}

#[test]
fn a_connection_reused_for_another_login_starts_its_negotiation_afresh() {
    // One runner, one job at a time, one connection each: the second job's requests go out on
    // the handle the first one used. That handle answered a Basic challenge for the first
    // server; libcurl would send Basic again at once, the second job's password in clear to a
    // server that asks for Digest. It must not.
    let body = pattern(256 << 10, 1512);
    let basic = {
        let body = body.clone();
        let want = format!("Basic {}", base64(b"carol:b4sic-pw-77"));
        RawServer::start(move |req| {
            RawReply::Keep(if req.header("authorization") == Some(want.as_str()) {
                honest(req, &body, &[])
            } else {
                answer(
                    401,
                    &[("WWW-Authenticate", "Basic realm=\"files\"".into())],
                    b"login",
                )
            })
        })
        .unwrap()
    };
    let dav = {
        let body = body.clone();
        RawServer::start(move |req| {
            RawReply::Keep(if digest_ok(req) {
                honest(req, &body, &[])
            } else {
                challenge()
            })
        })
        .unwrap()
    };
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), "max_active_jobs = 1\n").unwrap();
    let user = format!("{USER}:{PASSWORD}");
    env.ok(&[
        "add",
        &basic.url("/a.bin"),
        "-u",
        "carol:b4sic-pw-77",
        "-c",
        "1",
    ]);
    env.ok(&["add", &dav.url("/b.bin"), "-u", &user, "-c", "1"]);
    env.ok(&["run", "-q"]);
    assert_same_file(&env.out().join("a.bin"), &body);
    assert_same_file(&env.out().join("b.bin"), &body);
    let log = dav.log();
    assert!(log.iter().any(digest_ok), "{log:?}");
    for r in &log {
        let auth = r.header("authorization").unwrap_or("");
        assert!(
            !auth.starts_with("Basic"),
            "Basic sent to the Digest server: {r:?}"
        );
    }
}

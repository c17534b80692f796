//! Hostile servers, scripted byte for byte (`RawServer`): answers that are parts where the
//! whole was asked, lengths that contradict themselves, garbage heads and framing. Each ends
//! in the right bytes or a clear refusal naming what was wrong, never a file marked done
//! that the server did not send whole.

use crate::util::*;
use ddm_testserver::{answer, honest, pattern, RawReply, RawRequest, RawServer};

const SIZE: usize = 3_000_000;

fn validators() -> Vec<(&'static str, String)> {
    vec![
        ("ETag", "\"h1\"".to_string()),
        ("Last-Modified", "Mon, 07 Dec 2026 08:00:00 GMT".to_string()),
    ]
}

/// The first range request gets a 206 that cannot be used (it starts elsewhere) but states
/// the size; whatever asks without a range gets `whole(req)`.
fn unusable_first_206(
    body: Vec<u8>,
    whole: impl Fn(&RawRequest, &[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> RawServer {
    RawServer::start(move |req| {
        let v = validators();
        match req.range() {
            Some((0, _)) => {
                let mut h = v.clone();
                h.push(("Content-Range", format!("bytes 1-65536/{}", body.len())));
                RawReply::Keep(answer(206, &h, &body[1..65537]))
            }
            Some(_) => RawReply::Keep(honest(req, &body, &v)),
            None => RawReply::Keep(whole(req, &body)),
        }
    })
    .unwrap()
}

/// A 200 in chunked framing (no Content-Length).
fn chunked(headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n".to_vec();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for c in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn a_partial_206_is_never_saved_as_the_whole_file() {
    let body = pattern(SIZE, 1401);
    // The attack: the whole file asked, bytes 1000- sent as a 206.
    let s = unusable_first_206(body.clone(), |_, body| {
        let mut h = validators();
        h.push((
            "Content-Range",
            format!("bytes 1000-{}/{}", body.len() - 1, body.len()),
        ));
        answer(206, &h, &body[1000..])
    });
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), "max_attempts = 2\n").unwrap();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "a partial answer made a done job: {err}"
    );
    assert!(!env.out().join("f.bin").exists(), "{err}");
    let j = env.job(1);
    assert_eq!(j["state"], "failed", "{j}");
    let msg = j["error"].as_str().unwrap();
    assert!(
        msg.contains("whole file") && msg.contains("1000-2999999/3000000"),
        "{msg}"
    );
    // Whole-file requests carry no Range header at all (not an empty `Range: bytes=`).
    let log = s.log();
    let whole: Vec<&RawRequest> = log.iter().filter(|r| r.range().is_none()).collect();
    assert!(!whole.is_empty(), "{log:?}");
    assert!(
        whole.iter().all(|r| r.header("range").is_none()),
        "{whole:?}"
    );
}

#[test]
fn the_size_an_answer_stated_holds_for_a_single_stream() {
    let body = pattern(SIZE, 1402);
    // The whole answered in a 200, but shorter than the size the first answer stated.
    let s = unusable_first_206(body.clone(), |_, body| {
        answer(200, &validators(), &body[..body.len() - 1000])
    });
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a short stream made a done job: {err}");
    assert!(!env.out().join("f.bin").exists(), "{err}");
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    assert!(msg.contains("3000000"), "{msg}");

    // The same in chunks (no Content-Length to check first): refused at the end.
    let s = unusable_first_206(body.clone(), |_, body| {
        chunked(&validators(), &body[..body.len() - 1000])
    });
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a short stream made a done job: {err}");
    assert!(!env.out().join("f.bin").exists(), "{err}");
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    assert!(msg.contains("3000000") && msg.contains("2999000"), "{msg}");

    // The same server sending the whole file: done, byte-exact.
    let s = unusable_first_206(body.clone(), |_, body| answer(200, &validators(), body));
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    // A 206 carrying every byte is the whole file too.
    let s = unusable_first_206(body.clone(), |_, body| {
        let mut h = validators();
        h.push((
            "Content-Range",
            format!("bytes 0-{}/{}", body.len() - 1, body.len()),
        ));
        answer(206, &h, body)
    });
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
}

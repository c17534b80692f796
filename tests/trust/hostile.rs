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

/// The first plain answer of a server that offers ranges: the validators, `Accept-Ranges:
/// bytes`, the whole length, and the connection closed after `n` body bytes (so the rest
/// must come in ranges, whatever the timing).
fn offered_then_broken(body: &[u8], n: usize) -> RawReply {
    let mut out = answer(200, &offering(), body);
    out.truncate(out.len() - body.len() + n);
    RawReply::Close(out)
}

/// The validators and `Accept-Ranges: bytes`: a plain answer that offers ranges.
fn offering() -> Vec<(&'static str, String)> {
    let mut v = validators();
    v.push(("Accept-Ranges", "bytes".to_string()));
    v
}

/// A range from byte 0 gets a 206 that cannot be used (it starts elsewhere) but states the
/// size; whatever asks without a range (a job's first request) gets `whole(req)`.
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

/// A server that offers ranges but cannot serve one: its first plain answer states the
/// size (`Accept-Ranges: bytes`, the whole length) but breaks after 64 KiB; every range
/// request gets a 206 that starts elsewhere (unusable); every later plain request gets
/// `whole(req)`. So the file must come in one stream, held to the size the first answer
/// stated.
fn stated_then_unusable_ranges(
    body: Vec<u8>,
    whole: impl Fn(&RawRequest, &[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> RawServer {
    let plain = std::sync::atomic::AtomicUsize::new(0);
    RawServer::start(move |req| {
        let v = validators();
        match req.range() {
            Some((a, _)) => {
                let mut h = v.clone();
                let from = a + 1;
                h.push((
                    "Content-Range",
                    format!("bytes {from}-{}/{}", from + 65535, body.len()),
                ));
                RawReply::Keep(answer(206, &h, &body[from as usize..from as usize + 65536]))
            }
            None if plain.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
                let mut h = v.clone();
                h.push(("Accept-Ranges", "bytes".into()));
                let mut out = answer(200, &h, &body);
                out.truncate(out.len() - body.len() + 65536);
                RawReply::Close(out)
            }
            None => RawReply::Keep(whole(req, &body)),
        }
    })
    .unwrap()
}

#[test]
fn the_size_an_answer_stated_holds_for_a_single_stream() {
    let body = pattern(SIZE, 1402);
    // The whole answered in a 200, but shorter than the size the first answer stated.
    let s = stated_then_unusable_ranges(body.clone(), |_, body| {
        answer(200, &validators(), &body[..body.len() - 1000])
    });
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a short stream made a done job: {err}");
    assert!(!env.out().join("f.bin").exists(), "{err}");
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    assert!(msg.contains("3000000"), "{msg}");
    assert!(err.contains("comes in one stream"), "{err}");

    // The same in chunks (no Content-Length to check first): refused at the end.
    let s = stated_then_unusable_ranges(body.clone(), |_, body| {
        chunked(&validators(), &body[..body.len() - 1000])
    });
    let env = Env::new();
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), "max_attempts = 2\n").unwrap();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a short stream made a done job: {err}");
    assert!(!env.out().join("f.bin").exists(), "{err}");
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    assert!(msg.contains("3000000") && msg.contains("2999000"), "{msg}");

    // The same server sending the whole file: done, byte-exact.
    let s = stated_then_unusable_ranges(body.clone(), |_, body| answer(200, &validators(), body));
    let env = Env::new();
    let o = env.run(&["get", &s.url("/f.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    // A 206 carrying every byte is the whole file too.
    let s = stated_then_unusable_ranges(body.clone(), |_, body| {
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

/// A 206 for `req`'s range of `body`, at most `cap` bytes long (Content-Range and
/// Content-Length say what is sent).
fn capped(req: &RawRequest, body: &[u8], cap: u64) -> Vec<u8> {
    let len = body.len() as u64;
    let (a, b) = req.range().unwrap();
    let b = b.unwrap_or(len - 1).min(len - 1).min(a + cap - 1);
    let mut h = validators();
    h.push(("Content-Range", format!("bytes {a}-{b}/{len}")));
    answer(206, &h, &body[a as usize..=b as usize])
}

#[test]
fn a_server_that_caps_each_range_answer_is_progress_not_failure() {
    // Each range answer is at most 100 KB, with headers that say so: short but correct.
    let body = pattern(SIZE, 1403);
    // The first answer (no Range asked) offers ranges, states the size and breaks after
    // 100 KB, so the rest comes in ranges.
    let b = body.clone();
    let s = RawServer::start(move |req| match req.range() {
        Some(_) => RawReply::Keep(capped(req, &b, 100_000)),
        None => {
            let mut h = validators();
            h.push(("Accept-Ranges", "bytes".into()));
            let mut out = answer(200, &h, &b);
            out.truncate(out.len() - b.len() + 100_000);
            RawReply::Close(out)
        }
    })
    .unwrap();
    let env = Env::new();
    let t = std::time::Instant::now();
    let o = env.run(&["get", &s.url("/f.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    // Every answer was taken as progress: each byte sent once, every request after the
    // first a range.
    let log = s.log();
    assert!(log[0].range().is_none(), "{log:?}");
    assert!(log[1..].iter().all(|r| r.range().is_some()), "{log:?}");
    assert!(log.len() <= SIZE / 100_000 + 8, "{} requests", log.len());
}

#[test]
fn a_206_whose_length_contradicts_its_range_is_never_used() {
    // Content-Length 1000 short of the Content-Range span, on every range answer: the range
    // answers are unusable, the whole file comes in one stream.
    let body = pattern(SIZE, 1404);
    let b = body.clone();
    let plain = std::sync::atomic::AtomicUsize::new(0);
    let s = RawServer::start(move |req| {
        if req.range().is_none() && plain.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return offered_then_broken(&b, 65536);
        }
        RawReply::Keep(match req.range() {
            Some((a, e)) => {
                let len = b.len() as u64;
                let e = e.unwrap_or(len - 1).min(len - 1);
                let mut out = format!(
                    "HTTP/1.1 206 Partial\r\nETag: \"h1\"\r\nContent-Range: bytes {a}-{e}/{len}\r\n\
                     Content-Length: {}\r\n\r\n",
                    e - a + 1 - 1000
                )
                .into_bytes();
                out.extend_from_slice(&b[a as usize..(e + 1 - 1000) as usize]);
                out
            }
            None => answer(200, &offering(), &b),
        })
    })
    .unwrap();
    let env = Env::new();
    let t = std::time::Instant::now();
    let o = env.run(&["get", &s.url("/f.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("f.bin"), &body);
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    // The first request asked for the whole file and broke after 64 KiB; the range answers
    // that came before any good one showed ranges cannot be used here: the whole file came
    // in one stream, started again.
    let log = s.log();
    let ranged = log.iter().filter(|r| r.range().is_some()).count();
    let plain = log.len() - ranged;
    assert!(ranged >= 1 && plain == 2, "{log:?}");
    assert!(stderr(&o).contains("comes in one stream"), "{}", stderr(&o));

    // The same contradiction after a good range answer (ranges proven): refused at once,
    // naming it. The first range request is answered honestly at once, the others 300 ms
    // later.
    let b = body.clone();
    let first = std::sync::atomic::AtomicBool::new(true);
    let s = RawServer::start(move |req| {
        if req.range().is_none() {
            return offered_then_broken(&b, 65536);
        }
        let head_start =
            req.range().is_some() && first.swap(false, std::sync::atomic::Ordering::SeqCst);
        if req.range().is_some() && !head_start {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        RawReply::Keep(match req.range() {
            _ if head_start => honest(req, &b, &validators()),
            Some((a, e)) => {
                let len = b.len() as u64;
                let e = e.unwrap_or(len - 1).min(len - 1);
                let mut h = validators();
                // The range says one byte less than is sent (and Content-Length counts).
                h.push(("Content-Range", format!("bytes {a}-{}/{len}", e - 1)));
                answer(206, &h, &b[a as usize..=e as usize])
            }
            None => answer(200, &validators(), &b),
        })
    })
    .unwrap();
    let env = Env::new();
    let t = std::time::Instant::now();
    let o = env.run(&["get", &s.url("/f.bin"), "-c", "4"]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(t.elapsed().as_secs() < 15, "took {:?}", t.elapsed());
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("invalid response") && msg.contains("Content-Length"),
        "{msg}"
    );
}

/// What each hostile answer must be called, and never.
fn refused_as_invalid(script: impl Fn(&RawRequest) -> RawReply + Send + Sync + 'static) -> String {
    let s = RawServer::start(script).unwrap();
    let env = Env::new();
    let t = std::time::Instant::now();
    let o = env.run(&["get", &s.url("/f.bin")]);
    let took = t.elapsed();
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(took.as_secs() < 15, "took {took:?}: {err}");
    let msg = env.job(1)["error"].as_str().unwrap().to_string();
    eprintln!("{msg} ({took:?})");
    assert!(msg.contains("invalid response"), "{msg}");
    for wrong in ["non-http", "reset"] {
        assert!(!msg.contains(wrong), "{msg}");
    }
    msg
}

#[test]
fn garbage_answers_are_named_as_invalid_answers_not_as_something_else() {
    // HTTP/0.9: a body without any status line.
    let msg = refused_as_invalid(|_| RawReply::Close(pattern(4096, 1405)));
    assert!(msg.contains("status line"), "{msg}");
    // A garbage status line.
    let msg = refused_as_invalid(|_| {
        RawReply::Close(b"HTXP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec())
    });
    assert!(msg.contains("status line"), "{msg}");
    // Bad chunked framing.
    let msg = refused_as_invalid(|_| {
        RawReply::Close(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        )
    });
    assert!(msg.contains("chunked"), "{msg}");
    // A header flood: a megabyte of headers.
    let msg = refused_as_invalid(|_| {
        let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..20_000 {
            out.extend_from_slice(format!("X-Flood-{i}: {}\r\n", "a".repeat(40)).as_bytes());
        }
        out.extend_from_slice(b"Content-Length: 5\r\n\r\nhello");
        RawReply::Close(out)
    });
    assert!(msg.contains("header"), "{msg}");
}

//! Downloads against the loopback server: byte-exact multi-connection transfers, work
//! stealing, servers without ranges or lengths, HEAD refused, naming.

use crate::util::*;
use ddm_testserver::{pattern, HeadMode, Resource, Server};
use std::time::{Duration, Instant};

#[test]
fn multi_connection_download_is_byte_exact() {
    let server = Server::start().unwrap();
    let body = pattern(24 << 20, 7);
    // 8 MiB/s per connection: eight connections are worth opening.
    server.add(
        "/data/big.bin",
        Resource::new(body.clone())
            .etag("\"v1\"")
            .last_modified("Sat, 21 Nov 2026 10:00:00 GMT")
            .rate(8 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/data/big.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.bin"), &body);
    assert!(!env.out().join("big.bin.part").exists());
    let j = &env.jobs()[0];
    assert_eq!(j["state"], "done");
    assert_eq!(j["size"], 24 << 20);
    assert_eq!(j["bytes_done"], 24 << 20);
    // Several connections really were used: the first request for the file (no Range, cut
    // at its share) and the others with Range, all with identity encoding.
    let log = server.log();
    let plain: Vec<_> = log
        .iter()
        .filter(|e| e.method == "GET" && e.range.is_none())
        .collect();
    assert_eq!(plain.len(), 1, "one plain GET, the first");
    assert_eq!(plain[0].header("accept-encoding"), Some("identity"));
    let ranged: Vec<_> = log
        .iter()
        .filter(|e| e.method == "GET" && e.status == 206 && e.body_bytes > 1)
        .collect();
    assert!(ranged.len() >= 7, "only {} ranged GETs", ranged.len());
    for e in &ranged {
        assert_eq!(e.header("accept-encoding"), Some("identity"));
        assert!(
            !e.range.as_deref().unwrap_or("").contains(','),
            "multi-range sent"
        );
    }
    let conns: std::collections::HashSet<_> = ranged.iter().chain(&plain).map(|e| e.conn).collect();
    assert!(conns.len() >= 8, "{} connections", conns.len());
}

#[test]
fn stealing_absorbs_a_20x_slower_first_connection() {
    // Four connections at 2 MiB/s each; the one that starts at offset 0 gets 100 KiB/s.
    // A static split would need 2 MiB / 100 KiB/s = 20 s; stealing finishes in about the
    // time of the fast connections (8 MiB / ~6 MiB/s).
    let server = Server::start().unwrap();
    let body = pattern(8 << 20, 3);
    server.add(
        "/s.bin",
        Resource::new(body.clone())
            .rate(2 << 20)
            .slow_from_zero(100 << 10),
    );
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&["get", &server.url("/s.bin"), "-c", "4"]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("s.bin"), &body);
    // Measured ~2.0 s in a debug build, process start and probe included.
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: the slow connection held the download"
    );
}

#[test]
fn server_without_ranges_gets_one_stream() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 4);
    server.add("/nr.bin", Resource::new(body.clone()).no_ranges());
    let env = Env::new();
    let o = env.run(&["get", &server.url("/nr.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("nr.bin"), &body);
    let gets = server
        .log()
        .iter()
        .filter(|e| e.method == "GET" && e.range.as_deref() != Some("bytes=0-0"))
        .count();
    assert_eq!(
        gets, 1,
        "one stream for a server without ranges (besides the probe)"
    );
}

#[test]
fn unknown_length_streams_until_eof() {
    let server = Server::start().unwrap();
    let body = pattern((2 << 20) + 123, 5);
    server.add(
        "/chunked",
        Resource::new(body.clone()).no_length().no_ranges(),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/chunked"), "-o", "c.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("c.bin"), &body);
    assert_eq!(env.jobs()[0]["size"], body.len() as u64);
}

#[test]
fn head_refused_falls_back_to_get() {
    let server = Server::start().unwrap();
    let body = pattern(5 << 20, 6);
    server.add(
        "/nohead.bin",
        Resource::new(body.clone()).head(HeadMode::Refuse(405)),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/nohead.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("nohead.bin"), &body);
}

#[test]
fn head_length_differing_from_get_trusts_get() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 8);
    server.add(
        "/lie.bin",
        Resource::new(body.clone()).head(HeadMode::WrongLength(1000)),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/lie.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("lie.bin"), &body);
}

#[test]
fn content_disposition_names_the_file_and_existing_files_are_kept() {
    let server = Server::start().unwrap();
    let body = pattern(100_000, 9);
    server.add(
        "/dl",
        Resource::new(body.clone()).content_disposition("attachment; filename=\"report.pdf\""),
    );
    server.add(
        "/evil",
        Resource::new(body.clone())
            .content_disposition("attachment; filename=\"../../escape.txt\""),
    );
    let env = Env::new();
    std::fs::write(env.out().join("report.pdf"), b"mine").unwrap();
    env.ok(&["get", &server.url("/dl?id=5")]);
    assert_eq!(
        std::fs::read(env.out().join("report.pdf")).unwrap(),
        b"mine"
    );
    assert_same_file(&env.out().join("report (1).pdf"), &body);
    env.ok(&["get", &server.url("/evil")]);
    assert!(!env.dir.path().join("escape.txt").exists());
    let names: Vec<_> = std::fs::read_dir(env.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.contains("escape.txt")), "{names:?}");
}

#[test]
fn http_errors_fail_the_job_with_the_status() {
    let server = Server::start().unwrap();
    let env = Env::new();
    let o = env.run(&["get", &server.url("/missing.bin")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    let j = &env.jobs()[0];
    assert_eq!(j["state"], "failed");
    assert!(j["error"].as_str().unwrap().contains("404"));
}

#[test]
fn run_works_the_queue_in_order() {
    let server = Server::start().unwrap();
    let a = pattern(1 << 20, 10);
    let b = pattern(2 << 20, 11);
    server.add("/a.bin", Resource::new(a.clone()));
    server.add("/b.bin", Resource::new(b.clone()));
    let env = Env::new();
    env.ok(&["add", &server.url("/a.bin"), &server.url("/b.bin")]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("a.bin"), &a);
    assert_same_file(&env.out().join("b.bin"), &b);
    assert!(env.jobs().iter().all(|j| j["state"] == "done"));
}

#[test]
fn run_exits_1_when_a_job_fails() {
    let server = Server::start().unwrap();
    server.add("/ok.bin", Resource::new(pattern(1000, 1)));
    let env = Env::new();
    env.ok(&["add", &server.url("/nope"), &server.url("/ok.bin")]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let jobs = env.jobs();
    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(jobs[1]["state"], "done");
}

#[test]
fn json_progress_is_ndjson() {
    let server = Server::start().unwrap();
    server.add("/j.bin", Resource::new(pattern(4 << 20, 2)).rate(4 << 20));
    let env = Env::new();
    let out = env.ok(&["get", &server.url("/j.bin"), "--json", "-c", "2"]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert!(events.iter().any(|e| e["event"] == "progress"));
    let last = events.last().unwrap();
    assert_eq!(last["event"], "done");
    assert_eq!(last["size"], 4 << 20);
}

#[test]
fn json_notes_carry_their_kind_and_fields_with_passwords_hidden() {
    let server = Server::start().unwrap();
    let body = pattern(300_000, 7);
    server.add("/m.bin", Resource::new(body.clone()));
    let env = Env::new();
    // The job's URL is not there (404): the mirror, with a password in its URL, is asked.
    let gone = server.url("/gone.bin");
    let mirror = server
        .url("/m.bin")
        .replace("http://", "http://mu:mirror-pw@");
    let out = env.ok(&["get", &gone, "--mirror", &mirror, "-o", "f.bin", "--json"]);
    assert!(!out.contains("mirror-pw"), "a password in NDJSON: {out}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let note = events
        .iter()
        .find(|e| e["event"] == "note" && e["kind"] == "trying_mirror")
        .unwrap_or_else(|| panic!("no trying_mirror note in {out}"));
    assert_eq!(note["job"], 1);
    assert_eq!(note["failed"], gone.as_str());
    assert!(
        note["mirror"].as_str().unwrap().ends_with("/m.bin")
            && note["mirror"].as_str().unwrap().contains("mu:"),
        "{note}"
    );
    assert!(note["why"].as_str().unwrap().contains("404"), "{note}");
    // The sentence the terminal prints is there too.
    assert!(
        note["message"].as_str().unwrap().contains("trying mirror"),
        "{note}"
    );
    assert_eq!(events.last().unwrap()["event"], "done");
    assert_eq!(std::fs::read(env.out().join("f.bin")).unwrap(), body);
}

#[test]
fn probe_reports_redirects_size_ranges_and_validators() {
    let server = Server::start().unwrap();
    server.add(
        "/files/real.iso",
        Resource::new(pattern(123_456, 12))
            .etag("W/\"weak-1\"")
            .last_modified("Sat, 21 Nov 2026 10:00:00 GMT"),
    );
    server.redirect("/go", "/files/real.iso", 302);
    server.add("/nr", Resource::new(pattern(1000, 1)).no_ranges());
    let env = Env::new();
    let out = env.ok(&["probe", &server.url("/go"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["final_url"], server.url("/files/real.iso"));
    assert_eq!(v["size"], 123_456);
    assert_eq!(v["ranges"], true);
    assert_eq!(v["etag"], "W/\"weak-1\"");
    assert_eq!(v["last_modified"], "Sat, 21 Nov 2026 10:00:00 GMT");
    assert_eq!(v["filename"], "real.iso");
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["probe", &server.url("/nr"), "--json"])).unwrap();
    assert_eq!(
        v["ranges"], false,
        "a 200 to a range request means no ranges"
    );
    let human = env.ok(&["probe", &server.url("/go")]);
    assert!(
        human.contains("final url:") && human.contains("206 confirmed"),
        "{human}"
    );
    let o = env.run(&["probe", &server.url("/absent")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("404"));
}

#[test]
fn redirects_to_other_schemes_are_refused() {
    let server = Server::start().unwrap();
    server.redirect("/to-file", "file:///etc/passwd", 302);
    let env = Env::new();
    let o = env.run(&["get", &server.url("/to-file")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("non-http"), "{}", stderr(&o));
}

#[test]
fn limit_rate_caps_the_job_speed() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 13);
    server.add("/r.bin", Resource::new(body.clone()));
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&[
        "get",
        &server.url("/r.bin"),
        "-c",
        "4",
        "--limit-rate",
        "1M",
    ]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("r.bin"), &body);
    // 3 MiB at 1 MiB/s: about 3 s (curl allows short bursts); unlimited it takes ~0.1 s.
    assert!(
        took > Duration::from_millis(2200),
        "took {took:?}: not limited"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let o = env.run(&["add", &server.url("/r.bin"), "--limit-rate", "fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a size"), "{}", stderr(&o));
}

#[test]
fn checksum_is_verified_before_the_file_is_renamed() {
    use sha2::{Digest, Sha256};
    let server = Server::start().unwrap();
    let body = pattern(2 << 20, 14);
    server.add("/c.bin", Resource::new(body.clone()));
    let good: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let env = Env::new();
    let url = server.url("/c.bin");
    env.ok(&[
        "get",
        &url,
        "-o",
        "good.bin",
        "--checksum",
        &format!("sha256:{good}"),
    ]);
    assert_same_file(&env.out().join("good.bin"), &body);

    let wrong = format!("sha256:{}", "0".repeat(64));
    let o = env.run(&["get", &url, "-o", "bad.bin", "--checksum", &wrong]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("sha256 mismatch") && err.contains(&good),
        "{err}"
    );
    assert!(
        !env.out().join("bad.bin").exists(),
        "a file that failed its checksum was renamed into place"
    );
    assert!(env.out().join("bad.bin.part").exists(), "the data is kept");
    let j = &env.jobs()[1];
    assert_eq!(j["state"], "failed");

    for (arg, want) in [
        ("md5:abc", "32 hex"),
        ("sha256:12", "64 hex"),
        ("crc32:00", "not a supported"),
    ] {
        let o = env.run(&["add", &url, "--checksum", arg]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    }
}

#[test]
fn a_cap_on_open_connections_closes_idle_ones_and_completes() {
    // Like servers that limit connections per client: idle keep-alive sockets count too.
    let server = Server::start().unwrap();
    server.limit_open_connections(4, 503);
    let body = pattern(16 << 20, 15);
    server.add("/cap.bin", Resource::new(body.clone()).rate(4 << 20));
    let env = Env::new();
    let start = Instant::now();
    let o = env.run(&["get", &server.url("/cap.bin"), "-c", "8"]);
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("cap.bin"), &body);
    let refused = server.log().iter().filter(|e| e.status == 503).count();
    assert!(refused >= 1, "the cap was never hit");
    assert!(
        refused <= 16,
        "{refused} refusals: idle connections were kept open"
    );
    // 16 MiB over 4 connections at 4 MiB/s each is 1 s; allow the refusals' Retry-After.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_server_that_always_gzips_is_saved_as_served() {
    // It ignores `Accept-Encoding: identity`: what it sends is saved byte for byte (like
    // curl and aria2c without --compressed), with a note; nothing is decoded.
    let server = Server::start().unwrap();
    let body = pattern(1 << 20, 16);
    server.add("/z.bin", Resource::new(body.clone()).gzip_always());
    let env = Env::new();
    let o = env.run(&["get", &server.url("/z.bin"), "-c", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("saved as served"), "{}", stderr(&o));
    assert_same_file(&env.out().join("z.bin"), &ddm_testserver::gzip_bytes(&body));
    for e in server.log() {
        assert_eq!(e.header("accept-encoding"), Some("identity"), "{e:?}");
    }
}

#[test]
fn a_tar_gz_served_gzip_encoded_is_saved_as_served_with_ranges() {
    // Apache's `AddEncoding x-gzip .gz`: the stored bytes are gzip and the answer says so.
    // They are the file (like curl and aria2c save them), and ranges of them work.
    let server = Server::start().unwrap();
    let body = pattern(6 << 20, 31);
    server.add(
        "/pkg.tar.gz",
        Resource::new(body.clone())
            .etag("\"t\"")
            .content_type("application/x-tar")
            .served_encoding("gzip")
            .rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/pkg.tar.gz"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("pkg.tar.gz"), &body);
    let ranged = server.log().iter().filter(|e| e.status == 206).count();
    assert!(ranged >= 2, "ranges were used: {ranged}");
}

#[test]
fn informational_103_answers_are_skipped_not_taken_for_the_file() {
    let server = Server::start().unwrap();
    let body = pattern(3 << 20, 33);
    // Throttled, so that the first stream does not take the whole file before the other
    // connections (range requests, each with its own 103 first) start.
    server.add(
        "/hinted.bin",
        Resource::new(body.clone()).early_hints().rate(4 << 20),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/hinted.bin"), "-c", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("hinted.bin"), &body);
    assert!(server.log().iter().filter(|e| e.status == 206).count() >= 2);
}

#[test]
fn a_200_for_a_range_covering_the_whole_file_is_that_file() {
    let server = Server::start().unwrap();
    let body = pattern(300 * 1024, 32);
    server.add(
        "/range/300k",
        Resource::new(body.clone()).whole_range_as_200(),
    );
    let env = Env::new();
    let o = env.run(&["get", &server.url("/range/300k"), "-o", "r.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("r.bin"), &body);
    assert_eq!(server.log().len(), 1, "one request");
}

#[test]
fn a_stream_without_ranges_may_change_length_between_requests() {
    // Dynamic content: the first answer is cut, and the next one is longer. Nothing was kept
    // of the first (a stream without ranges starts over), so nothing "changed".
    let server = Server::start().unwrap();
    let first = pattern(2 << 20, 33);
    let second = pattern(3 << 20, 34);
    server.add(
        "/dyn",
        Resource::new(first)
            .no_ranges()
            .etag("\"d1\"")
            .fault(ddm_testserver::Fault::CutAfter {
                after: 512 * 1024,
                rst: false,
                times: 1,
            }),
    );
    server.redirect("/go", "/dyn", 302);
    let env = Env::new();
    let watcher = std::thread::scope(|s| {
        let h = s.spawn(|| {
            wait_for(Duration::from_secs(20), "the cut answer", || {
                server
                    .log()
                    .iter()
                    .any(|e| e.target == "/dyn" && e.body_bytes >= 512 * 1024)
                    .then_some(())
            });
            server.add(
                "/dyn",
                Resource::new(second.clone()).no_ranges().etag("\"d2\""),
            );
        });
        let o = env.run(&["get", &server.url("/go"), "-o", "dyn.bin"]);
        h.join().unwrap();
        o
    });
    assert!(watcher.status.success(), "{}", stderr(&watcher));
    assert_same_file(&env.out().join("dyn.bin"), &second);
}

#[test]
fn a_missing_destination_directory_is_created_and_named() {
    let server = Server::start().unwrap();
    let body = pattern(64 * 1024, 35);
    server.add("/c.bin", Resource::new(body.clone()));
    let env = Env::new();
    let dir = env.dir.path().join("new/deeper");
    let o = env.run(&["get", &server.url("/c.bin"), "-d", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("created directory {}", dir.display())),
        "{}",
        stderr(&o)
    );
    assert_same_file(&dir.join("c.bin"), &body);
    let o = env.run(&["get", &server.url("/c.bin"), "-o", "sub/dir/x.bin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("sub/dir/x.bin"), &body);
}

#[test]
fn sha1_sha512_and_a_checksum_file_are_verified() {
    use sha2::Digest;
    let server = Server::start().unwrap();
    let a = pattern(300 * 1024, 36);
    let b = pattern(200 * 1024, 37);
    server.add("/m/a.bin", Resource::new(a.clone()));
    server.add("/m/b.bin", Resource::new(b.clone()));
    let hex = |d: &[u8]| d.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let env = Env::new();
    let url = server.url("/m/a.bin");
    for (i, sum) in [
        format!("sha512:{}", hex(&sha2::Sha512::digest(&a))),
        format!("sha1:{}", sha1_here(&a)),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("a{i}.bin");
        env.ok(&["get", &url, "-o", &name, "--checksum", sum]);
        assert_same_file(&env.out().join(&name), &a);
    }
    // A SHA256SUMS-style file covers several downloads, each checked by its own line; a
    // wrong line fails only its job.
    let sums = env.dir.path().join("SUMS");
    std::fs::write(
        &sums,
        format!(
            "{}  a.bin\n{}  b.bin\n",
            hex(&sha2::Sha256::digest(&a)),
            "0".repeat(64)
        ),
    )
    .unwrap();
    env.ok(&[
        "add",
        &url,
        &server.url("/m/b.bin"),
        "--checksum-file",
        sums.to_str().unwrap(),
        "-d",
        env.dir.path().join("sums").to_str().unwrap(),
    ]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same_file(&env.dir.path().join("sums/a.bin"), &a);
    assert!(!env.dir.path().join("sums/b.bin").exists());
    assert!(stderr(&o).contains("sha256 mismatch"), "{}", stderr(&o));
}

/// sha1 of `data`, computed here without ddm's code (the FIPS 180-4 algorithm, short).
fn sha1_here(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

//! Routing rules (`[[rule]]`), from the outside: a queue of mixed kinds (names from the URL
//! and from Content-Disposition, kinds known only by their Content-Type) lands in the rules'
//! folders on the file system; `-d` wins over a rule; a rule decided by the URL orders the
//! queue before any request; a rule's connections and rate cap are what the server sees;
//! `ddm rules test` and `ddm add --dry-run` say which rule applies and why; a bad rule is a
//! clear error naming the rule and the key.

use super::{config, id_of};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::{Duration, Instant};

const KIB: usize = 1024;

/// The ready set of docs/config.md, in short, with a URL rule first.
fn rules(abs_docs: &std::path::Path) -> String {
    format!(
        r#"
[[rule]]
name = "reports"
url = "*/docs/*"
dir = "{}"
priority = "high"

[[rule]]
name = "video"
file = ["*.mp4", "*.mkv", "*.webm"]
content_type = "video/*"
dir = "Video"

[[rule]]
name = "audio"
file = ["*.mp3", "*.flac"]
content_type = "audio/*"
dir = "Audio"

[[rule]]
name = "archives"
file = ["*.zip", "*.tar.*", "*.7z"]
dir = "Archives"
"#,
        abs_docs.display()
    )
}

#[test]
fn a_queue_of_mixed_kinds_lands_in_the_rules_folders_and_d_wins() {
    let server = Server::start().unwrap();
    let env = Env::new();
    let docs = env.dir.path().join("Documents");
    // One job at a time: with several, the first job claimed need not be the first whose
    // request reaches the server (seen on a loaded machine).
    config(&env, &format!("max_active_jobs = 1\n{}", rules(&docs)));
    let files: Vec<(&str, Resource, Vec<u8>)> = [
        // Named by the URL, typed generically: the name decides.
        ("/v/movie.mp4", "application/octet-stream", None),
        // No name in the URL: Content-Disposition gives it, and it decides.
        (
            "/dl",
            "application/octet-stream",
            Some("attachment; filename=\"song.mp3\""),
        ),
        // Neither name says what it is: the Content-Type does.
        ("/stream/clip", "video/webm", None),
        ("/files/src.tar.gz", "application/gzip", None),
        // Decided by the URL, when added.
        ("/docs/report.pdf", "application/pdf", None),
        // No rule.
        ("/misc/other.bin", "application/octet-stream", None),
        // The video rule applies, but -d is given.
        ("/v/kept.mkv", "video/x-matroska", None),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (path, ct, cd))| {
        let body = pattern(96 * KIB + i * 1000, 1900 + i as u64);
        let mut r = Resource::new(body.clone()).content_type(ct);
        if let Some(cd) = cd {
            r = r.content_disposition(cd);
        }
        (path, r, body)
    })
    .collect();
    let mut ids = Vec::new();
    for (path, res, _) in &files {
        server.add(path, res.clone());
        let url = server.url(path);
        let mut args = vec!["add", url.as_str()];
        if path.ends_with("kept.mkv") {
            args.extend(["-d", "mine"]);
        }
        ids.push(id_of(&env.ok(&args)));
    }
    // Decided when added, before any request: the URL rule's priority puts it first.
    let report = env.job(ids[4]);
    assert_eq!(report["rule"]["name"], "reports", "{report}");
    assert_eq!(report["rule"]["index"], 1, "{report}");
    assert_eq!(report["priority"], 10, "{report}");
    assert_eq!(report["place"], 1, "{report}");
    assert!(
        docs.is_dir(),
        "the rule's directory is made when it applies"
    );
    // The others wait for the server's answer.
    assert!(env.job(ids[0])["rule"].is_null());
    assert!(server.log().is_empty(), "nothing was asked yet");
    env.ok(&["run", "-q"]);
    let out = env.out();
    let want = [
        out.join("Video/movie.mp4"),
        out.join("Audio/song.mp3"),
        out.join("Video/clip"),
        out.join("Archives/src.tar.gz"),
        docs.join("report.pdf"),
        out.join("other.bin"),
        out.join("mine/kept.mkv"),
    ];
    for ((_, _, body), path) in files.iter().zip(&want) {
        assert_same_file(path, body);
    }
    let rule_of = |id: i64| env.job(id)["rule"]["name"].as_str().map(str::to_string);
    let names: Vec<Option<String>> = ids.iter().map(|&id| rule_of(id)).collect();
    let s = |n: &str| Some(n.to_string());
    assert_eq!(
        names,
        [
            s("video"),
            s("audio"),
            s("video"),
            s("archives"),
            s("reports"),
            None,
            // Recorded, though -d kept the directory.
            s("video"),
        ]
    );
    for (id, path) in ids.iter().zip(&want) {
        assert_eq!(env.job(*id)["path"], path.display().to_string());
    }
    let clip = env.job(ids[2]);
    assert_eq!(
        clip["rule"]["why"], "the Content-Type \"video/webm\" matches \"video/*\"",
        "{clip}"
    );
    // The report went first.
    assert_eq!(
        server.log().first().map(|e| e.target.clone()).as_deref(),
        Some("/docs/report.pdf")
    );
    // The table and `top` say which rule and why.
    let table = env.ok(&["status"]);
    assert!(
        table.contains("rule: audio (rule 3): the name \"song.mp3\" matches \"*.mp3\""),
        "{table}"
    );
    let top = env.ok(&["top"]);
    assert!(top.contains("rule: audio (rule 3)"), "{top}");
    // `get` of a routed URL again finds the finished job where the rule put it.
    let again = env.run(&["get", &server.url("/v/movie.mp4")]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        !out.join("Video/movie (1).mp4").exists() && !out.join("movie.mp4").exists(),
        "downloaded again: {}",
        stderr(&again)
    );
}

#[test]
fn a_rules_connections_and_rate_cap_are_followed() {
    let server = Server::start().unwrap();
    let body = pattern(2 << 20, 1950);
    // The name comes with the answer, so the rule is applied there, as the run starts.
    server.add(
        "/pkg/get",
        Resource::new(body.clone())
            .etag("\"p\"")
            .content_disposition("attachment; filename=\"big.iso\""),
    );
    let env = Env::new();
    config(
        &env,
        "[[rule]]\nname = \"isos\"\nfile = \"*.iso\"\nconnections = 2\nrate = \"512K\"\n",
    );
    id_of(&env.ok(&["add", &server.url("/pkg/get")]));
    let start = Instant::now();
    let (o, peak) = crate::rules::peak_open(&server, || env.run(&["run", "-q"]));
    let took = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("big.iso"), &body);
    // 2 MiB at 512 KiB/s: about 4 s (the bucket allows a short burst); unlimited, loopback
    // takes a fraction of a second. (The server's byte counter cannot show a client's cap on
    // a file this small: the sockets' buffers take it whole at once.)
    assert!(
        took > Duration::from_millis(2800),
        "took {took:?}: the rule's rate cap was not followed"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    // The server saw the rule's two connections at most.
    let conns = server.stats("/pkg/get").connections;
    assert!(
        (1..=2).contains(&conns) && peak <= 2,
        "{conns} connections served the file, {peak} open at once; the rule allows 2"
    );
    let job = env.job(1);
    assert_eq!(job["rule"]["name"], "isos", "{job}");
    // Where the count came from is said as the rule, not as `-c`; a `-c` of the user's
    // own wins over the rule and is said as `-c`.
    for (extra, count, from) in [(None, 2, "its routing rule"), (Some("3"), 3, "-c")] {
        let env = Env::new();
        config(
            &env,
            "[[rule]]\nname = \"isos\"\nfile = \"*.iso\"\nconnections = 2\n",
        );
        let mut args = vec!["get", "--json", "-q"];
        let url = server.url("/pkg/get");
        args.push(&url);
        if let Some(c) = extra {
            args.extend(["-c", c]);
        }
        let out = env.ok(&args);
        let started: serde_json::Value = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == "started")
            .expect("a started event");
        assert_eq!(started["connections"], count, "{started}");
        assert_eq!(started["connections_from"], from, "{started}");
    }
}

#[test]
fn rules_test_and_dry_run_say_which_rule_applies_and_why() {
    let server = Server::start().unwrap();
    server.add(
        "/get",
        Resource::new(pattern(4 * KIB, 1960))
            .content_type("video/mp4")
            .content_disposition("attachment; filename=\"talk.mp4\""),
    );
    let env = Env::new();
    let docs = env.dir.path().join("Documents");
    config(&env, &rules(&docs));
    let out = env.out();
    // Offline: the video rule needs the name or type; the ones after it are told too.
    let t = env.ok(&["rules", "test", &server.url("/get")]);
    assert!(
        t.contains("video (rule 2) may apply: it looks at the file's name or Content-Type"),
        "{t}"
    );
    assert!(t.contains("--probe"), "{t}");
    assert!(t.contains("otherwise audio (rule 3) may apply"), "{t}");
    assert!(t.contains("otherwise no rule applies (4 checked)"), "{t}");
    assert!(server.log().is_empty(), "offline means no request");
    // Asked once: the server's name decides.
    let t = env.ok(&["rules", "test", "--probe", &server.url("/get")]);
    assert!(t.contains("name \"talk.mp4\""), "{t}");
    assert!(
        t.contains("video (rule 2) applies: the name \"talk.mp4\" matches \"*.mp4\""),
        "{t}"
    );
    assert!(
        t.contains(&format!("the file goes to {}", out.join("Video").display())),
        "{t}"
    );
    // The URL decides offline; -d keeps the directory.
    let u = server.url("/docs/a.pdf");
    let t = env.ok(&["rules", "test", &u]);
    assert!(
        t.contains("reports (rule 1) applies: the URL matches \"*/docs/*\""),
        "{t}"
    );
    assert!(t.contains("priority high"), "{t}");
    let t = env.ok(&["rules", "test", &u, "-d", "here"]);
    assert!(
        t.contains("-d/-o was given: the rule's dir does not apply"),
        "{t}"
    );
    // -o gives the name: decided offline.
    let t = env.ok(&["rules", "test", &server.url("/x"), "-o", "a.zip"]);
    assert!(t.contains("archives (rule 4) applies"), "{t}");
    // --dry-run queues nothing.
    let t = env.ok(&["add", "--dry-run", &u, &server.url("/misc/z.bin")]);
    assert!(t.contains("reports (rule 1) applies"), "{t}");
    assert!(t.contains("otherwise no rule applies"), "{t}");
    assert!(env.jobs().is_empty(), "a dry run queued something");
    // ... and makes nothing: a -d that does not exist yet is still missing after it (a
    // real add makes it).
    let fresh = env.out().join("not-yet");
    let t = env.ok(&["add", "--dry-run", &u, "-d", fresh.to_str().unwrap()]);
    assert!(t.contains("-d/-o was given"), "{t}");
    assert!(!fresh.exists(), "a dry run created {}", fresh.display());
    env.ok(&["add", &u, "-d", fresh.to_str().unwrap()]);
    assert!(fresh.is_dir());
    let list = env.ok(&["rules", "list"]);
    assert!(
        list.contains("video (rule 2): name \"*.mp4\" or \"*.mkv\" or \"*.webm\", or Content-Type \"video/*\""),
        "{list}"
    );
}

#[test]
fn a_bad_rule_is_refused_naming_the_rule_and_the_key() {
    let env = Env::new();
    for (toml, want) in [
        (
            "[[rule]]\nname = \"v\"\nfile = \"*.mp4\"\ndirectory = \"V\"\n",
            "[[rule]] number 1 (\"v\"): unknown key `directory`; a rule's keys are",
        ),
        (
            "[[rule]]\nfile = \"*.mp4\"\ndir = \"V\"\n\n[[rule]]\nfile = \"[ab\"\ndir = \"X\"\n",
            "[[rule]] number 2, key `file`: \"[ab\": a `[` opens a set of characters that no \
             `]` closes",
        ),
        (
            "[[rule]]\nfile = \"*.mp4\"\ndir = \"../../etc\"\n",
            "[[rule]] number 1, key `dir`: ../../etc: `..` is not allowed",
        ),
    ] {
        config(&env, toml);
        for verb in [
            vec!["add", "http://127.0.0.1:9/a.mp4"],
            vec!["rules", "list"],
        ] {
            let o = env.run(&verb);
            assert_eq!(o.status.code(), Some(2), "{verb:?}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(e.contains(want), "{verb:?}: {e}\nwanted: {want}");
            assert!(e.contains("config.toml"), "{e}");
        }
    }
    // Nothing was queued by the refused `add`.
    config(&env, "");
    assert!(env.jobs().is_empty());
}

#[test]
fn a_rules_checksum_file_is_checked_and_its_mirrors_off_holds() {
    use sha2::Digest;
    let hex = |b: &[u8]| -> String {
        sha2::Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let server = Server::start().unwrap();
    let good = pattern(8 << 20, 1970);
    let bad = pattern(64 * KIB, 1971);
    let none = pattern(64 * KIB, 1972);
    server.add("/iso/good.iso", Resource::new(good.clone()));
    server.add("/iso/bad.iso", Resource::new(bad.clone()));
    server.add("/iso/none.iso", Resource::new(none.clone()));
    // A mirror that would serve other bytes: the rule turns mirrors off, so it is never asked.
    server.add("/mirror/good.iso", Resource::new(pattern(8 << 20, 1)));
    let env = Env::new();
    let sums = env.dir.path().join("SHA256SUMS");
    std::fs::write(
        &sums,
        format!("{}  good.iso\n{}  bad.iso\n", hex(&good), hex(&good)),
    )
    .unwrap();
    config(
        &env,
        &format!(
            "[[rule]]\nname = \"isos\"\nurl = \"*/iso/*\"\nchecksum_file = \"{}\"\n\
             mirrors = false\n",
            sums.display()
        ),
    );
    let mirror = server.url("/mirror/good.iso");
    let g = id_of(&env.ok(&["add", &server.url("/iso/good.iso"), "--mirror", &mirror]));
    let b = id_of(&env.ok(&["add", &server.url("/iso/bad.iso")]));
    // Not in the checksum file: refused when added, nothing queued.
    let o = env.run(&["add", &server.url("/iso/none.iso")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("isos (rule 1): checksum_file")
            && stderr(&o).contains("no line for \"none.iso\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.jobs().len(), 2);
    let o = env.run(&["run", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same_file(&env.out().join("good.iso"), &good);
    assert_eq!(env.job(g)["state"], "done");
    let failed = env.job(b);
    assert_eq!(failed["error_kind"], "checksum", "{failed}");
    assert!(!env.out().join("bad.iso").exists());
    assert!(
        server
            .log()
            .iter()
            .all(|e| !e.target.starts_with("/mirror")),
        "the mirror was asked though the rule turns mirrors off"
    );
}

#[test]
fn rules_test_probe_sends_what_add_would_send() {
    // A download behind a login: `--probe` logs in as `add -u` would, to the URL's origin.
    let server = Server::start().unwrap();
    server.add(
        "/private/get",
        Resource::new(pattern(4 * KIB, 1961))
            .basic_auth("alice", "Pr0be-secret")
            .content_type("video/mp4")
            .content_disposition("attachment; filename=\"talk.mp4\""),
    );
    let env = Env::new();
    config(
        &env,
        "[[rule]]\nname = \"video\"\nfile = \"*.mp4\"\ndir = \"V\"\n",
    );
    let url = server.url("/private/get");
    let o = env.run(&["rules", "test", "--probe", &url]);
    assert!(!o.status.success(), "a login was needed");
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
    let t = env.ok(&["rules", "test", "--probe", &url, "-u", "alice:Pr0be-secret"]);
    assert!(
        t.contains("video (rule 1) applies: the name \"talk.mp4\" matches \"*.mp4\""),
        "{t}"
    );
    assert!(!t.contains("Pr0be-secret"), "{t}");
}

//! Captures that do not name one download: several candidates are listed until --pick or
//! --match chooses, and malformed files are one-line errors naming the file.

use super::common::*;
use crate::util::*;
use std::path::PathBuf;

#[test]
fn several_candidates_are_listed_and_pick_or_match_chooses() {
    let env = Env::new();
    let media = |path: &str, mib: u64| {
        let url = format!("http://127.0.0.1:9{path}");
        let size = (mib << 20).to_string();
        chrome_entry(
            &url,
            200,
            &[("user-agent", UA)],
            &[("content-type", "video/mp4"), ("content-length", &size)],
            "",
            "video/mp4",
            (mib << 20) as i64,
        )
    };
    let har = write_har(
        &env,
        "media.har",
        &chrome_har(vec![
            chrome_entry(
                "http://127.0.0.1:9/watch",
                200,
                &[("user-agent", UA)],
                &[("content-type", "text/html")],
                "",
                "text/html",
                30000,
            ),
            media("/media/clip-small.mp4", 16),
            media("/media/clip-big.mp4", 64),
            media("/other/trailer.mp4", 32),
        ]),
    );
    let p = s(&har);

    // Sizes 64/32/16 MiB of the same kind: none stands out.
    let o = env.run(&["import-har", p]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], format!("candidates in {p}:"), "{err}");
    let row = |n: usize, size: &str, path: &str| {
        let line = lines
            .iter()
            .find(|l| l.ends_with(path))
            .unwrap_or_else(|| panic!("{path} not listed:\n{err}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], n.to_string(), "{line}");
        assert_eq!(cols[1..3].join(" "), size, "{line}");
        assert_eq!(cols[3], "video/mp4", "{line}");
    };
    row(1, "64.0 MiB", "/media/clip-big.mp4");
    row(2, "32.0 MiB", "/other/trailer.mp4");
    row(3, "16.0 MiB", "/media/clip-small.mp4");
    assert!(err.contains("64.0 MiB; video/mp4"), "why missing:\n{err}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("ddm: {p}: 3 entries look like downloads"))
            && err.contains("--pick N or --match TEXT"),
        "{err}"
    );
    assert!(
        !err.contains("/watch"),
        "the HTML page is not a candidate:\n{err}"
    );

    // --pick N takes the N-th of that list.
    let id = parse_id(&env.ok(&["import-har", p, "--pick", "2"]));
    assert_eq!(env.job(id)["url"], "http://127.0.0.1:9/other/trailer.mp4");
    // --match: case-insensitive substring of the URL.
    let id = parse_id(&env.ok(&["import-har", p, "--match", "CLIP-SMALL"]));
    assert_eq!(
        env.job(id)["url"],
        "http://127.0.0.1:9/media/clip-small.mp4"
    );
    // A --match hitting several lists those, numbered as for --pick.
    let o = env.run(&["import-har", p, "--match", "/media/"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("2 entries look like downloads"), "{err}");
    assert!(!err.contains("trailer"), "{err}");
    let listed: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("http://"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(listed, ["1", "3"], "{err}");
    // Bad choices are one-line errors.
    assert_one_line_error(
        &env.run(&["import-har", p, "--pick", "7"]),
        "--pick 7 is out of range: there are 3 candidates; use 1 to 3",
    );
    assert_one_line_error(
        &env.run(&["import-har", p, "--match", "nothing-like-it"]),
        "no candidate URL contains \"nothing-like-it\"",
    );
    let o = env.run(&["import-har", p, "--pick", "1", "--match", "clip"]);
    assert_eq!(o.status.code(), Some(2), "--pick with --match accepted");
    assert_eq!(env.jobs().len(), 2);
}

#[test]
fn malformed_files_are_one_line_errors_naming_the_file() {
    let env = Env::new();
    let write = |name: &str, bytes: &[u8]| {
        let p = env.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // A real export cut short, as a failed save leaves it.
    let full = std::fs::read(corpus_dir().join("mitmproxy-firefox.har")).unwrap();
    let cut = write("cut.har", &full[..full.len() / 2]);
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write(
                "syntax.har",
                b"{\n  \"log\": {\n    \"entries\": [,]\n  }\n}",
            ),
            "not valid JSON at line 3, column 17: expected value",
        ),
        (cut, "not valid JSON at line "),
        (
            write("empty.har", b""),
            "not valid JSON at line 1, column 0",
        ),
        (
            write("page.har", b"<!doctype html><html></html>"),
            "not valid JSON at line 1, column 1",
        ),
        (
            write("array.har", b"[1, 2]"),
            "not a HAR file: the top level is an array",
        ),
        (
            write("nolog.har", br#"{"version": "1.2"}"#),
            "not a HAR file: no \"log\" object",
        ),
        (
            write(
                "noentries.har",
                br#"{"log": {"version": "1.2", "entries": []}}"#,
            ),
            "the HAR file has no entries",
        ),
        (
            env.dir.path().join("missing.har"),
            "cannot read the HAR file",
        ),
        (env.dir.path().to_path_buf(), "cannot read the HAR file"),
    ];
    for (path, needle) in &cases {
        for extra in [&[][..], &["--dry-run"]] {
            let mut args = vec!["import-har", s(path)];
            args.extend_from_slice(extra);
            let err = assert_one_line_error(&env.run(&args), needle);
            assert!(err.contains(s(path)), "path not named: {err}");
        }
    }
    assert!(env.jobs().is_empty());
}

#[test]
fn the_same_file_from_two_hosts_is_one_download_with_a_mirror() {
    use ddm_testserver::{pattern, Resource, Server};
    let a = Server::start().unwrap();
    let b = Server::start().unwrap();
    let size = 8usize << 20;
    let body = pattern(size, 540);
    a.add(
        "/dl/pkg.tar",
        Resource::new(body.clone()).etag("\"p\"").rate(2 << 20),
    );
    b.add(
        "/mirror/pkg.tar",
        Resource::new(body.clone()).etag("\"p\"").rate(2 << 20),
    );
    let env = Env::new();
    let entry = |url: &str| {
        chrome_entry(
            url,
            200,
            &[("user-agent", UA)],
            &[
                ("content-type", "application/x-tar"),
                ("content-length", &size.to_string()),
            ],
            "",
            "application/x-tar",
            size as i64,
        )
    };
    let har = write_har(
        &env,
        "retry.har",
        &chrome_har(vec![
            entry(&a.url("/dl/pkg.tar")),
            entry(&b.url("/mirror/pkg.tar")),
        ]),
    );
    let o = env.run(&["import-har", s(&har), "-c", "4"]);
    assert!(o.status.success(), "one file, not a choice: {}", stderr(&o));
    let id = parse_id(&stdout(&o));
    let job = stored(&env, id);
    let (main, mirror) = if job.url.contains("/dl/") {
        (a.url("/dl/pkg.tar"), b.url("/mirror/pkg.tar"))
    } else {
        (b.url("/mirror/pkg.tar"), a.url("/dl/pkg.tar"))
    };
    assert_eq!(job.url, main);
    assert_eq!(job.settings.mirrors, vec![mirror.clone()]);
    assert!(
        stderr(&o).contains(&format!("mirror: {mirror}")),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&env.out().join("pkg.tar"), &body);
    let served = |s: &Server| s.log().iter().map(|e| e.body_bytes).sum::<u64>();
    assert!(
        served(&a) > 0 && served(&b) > 0,
        "both hosts served part of it"
    );
}

//! The rule evaluation as a table, and the config's `[[rule]]` errors.

use super::*;
use std::path::Path;

fn rules(toml: &str) -> Vec<Rule> {
    crate::config::Config::parse(toml, Path::new("/h/config.toml"))
        .unwrap()
        .rule
}

fn error(toml: &str) -> String {
    crate::config::Config::parse(toml, Path::new("/h/config.toml"))
        .unwrap_err()
        .to_string()
}

const SET: &str = r#"
[[rule]]
name = "video"
file = ["*.mp4", "*.mkv"]
content_type = "video/*"
dir = "Video"

[[rule]]
name = "slow host"
host = "*.slow.test"
connections = 2
rate = "1M"

[[rule]]
name = "isos from the mirror"
url = "https://mirror.test/iso/*"
file = "*.iso"
dir = "/data/iso"
priority = "high"
mirrors = false

[[rule]]
url = "*"
dir = "Other"
"#;

/// What `route` says, in short: `3` (rule 3 applies), `?2` (rule 2 waits for the answer),
/// `-` (none).
fn short(v: &Verdict<'_>) -> String {
    match v {
        Verdict::Applies { index, .. } => index.to_string(),
        Verdict::Undecided { index, .. } => format!("?{index}"),
        Verdict::Nothing => "-".into(),
    }
}

#[test]
fn the_first_rule_that_applies_wins_and_one_that_may_apply_waits_for_the_answer() {
    let rs = rules(SET);
    assert_eq!(rs.len(), 4);
    let off = |url: &str, name: Option<&str>| Facts::offline(url, name);
    let on = |url: &str, name: &str, ct: Option<&str>| Facts::answered(url, name, ct);
    let cases: Vec<(Facts, &str)> = vec![
        // Offline: the video rule needs the name or type, whatever the URL ends in.
        (off("https://a.test/movie.mp4", None), "?1"),
        // -o gives the name: decided offline.
        (off("https://a.test/x", Some("film.MKV")), "1"),
        // -o gives another name, but the type may still make it a video.
        (off("https://a.test/x", Some("notes.txt")), "?1"),
        // Answered: by name, by type (parameters and case ignored), or neither.
        (on("https://a.test/dl?id=3", "movie.mp4", None), "1"),
        (
            on(
                "https://a.test/dl?id=3",
                "download",
                Some("Video/MP4; codecs=avc1"),
            ),
            "1",
        ),
        (
            on(
                "https://x.slow.test/a.bin",
                "a.bin",
                Some("application/octet-stream"),
            ),
            "2",
        ),
        // The host pattern wants a subdomain; the port is no part of the host.
        (on("https://slow.test/a.bin", "a.bin", None), "4"),
        (on("http://x.slow.test:8080/a.bin", "a.bin", None), "2"),
        // Rule 3 needs both its URL and its name.
        (on("https://mirror.test/iso/d.iso", "d.iso", None), "3"),
        (on("https://mirror.test/iso/d.txt", "d.txt", None), "4"),
        (on("https://other.test/iso/d.iso", "d.iso", None), "4"),
    ];
    for (f, want) in cases {
        assert_eq!(short(&route(&rs, &f)), want, "{f:?}");
    }
    assert_eq!(
        short(&route(&[], &off("https://a.test/x", None))),
        "-",
        "no rule: none applies"
    );
    // A host rule alone is decided offline.
    let host_only = &rs[1..2];
    assert_eq!(
        short(&route(host_only, &off("https://y.slow.test/z", None))),
        "1"
    );
    assert_eq!(
        short(&route(host_only, &off("https://b.test/z", None))),
        "-"
    );
}

#[test]
fn the_reason_names_what_matched() {
    let rs = rules(SET);
    let f = Facts::answered("https://x.slow.test/a.bin", "a.bin", None);
    let Verdict::Applies { why, rule, .. } = route(&rs, &f) else {
        panic!("rule 2 applies")
    };
    assert_eq!(why, "the host \"x.slow.test\" matches \"*.slow.test\"");
    assert_eq!(rule.connections, Some(2));
    assert_eq!(rule.rate, Some(1 << 20));
    let f = Facts::answered("https://a.test/dl", "x", Some("video/webm"));
    let Verdict::Applies { why, index, rule } = route(&rs, &f) else {
        panic!("rule 1 applies")
    };
    assert_eq!(why, "the Content-Type \"video/webm\" matches \"video/*\"");
    let a = Applied::new(index, rule, why);
    assert_eq!(
        a.to_string(),
        "video (rule 1): the Content-Type \"video/webm\" matches \"video/*\""
    );
    assert_eq!(Applied::from_column(&a.to_column()), a);
    assert_eq!(rs[2].priority, Some(crate::store::PRIORITY_HIGH));
    assert_eq!(rs[2].mirrors, Some(false));
    assert_eq!(
        rs[0].dir_for(Path::new("/home/u/dl")),
        Some("/home/u/dl/Video".into())
    );
    assert_eq!(
        rs[2].dir_for(Path::new("/home/u/dl")),
        Some("/data/iso".into())
    );
}

#[test]
fn config_errors_name_the_rule_and_the_key() {
    let cases = [
        (
            "[[rule]]\nname = \"v\"\nfile = \"*.mp4\"\ndirectory = \"V\"\n",
            "[[rule]] number 1 (\"v\"): unknown key `directory`",
        ),
        (
            "[[rule]]\nfile = \"*.mp4\"\ndir = \"V\"\n[[rule]]\nfile = \"[ab\"\ndir = \"X\"\n",
            "[[rule]] number 2, key `file`: \"[ab\": a `[` opens a set",
        ),
        (
            "[[rule]]\nfile = \"*.mp4\"\ndir = \"../elsewhere\"\n",
            "[[rule]] number 1, key `dir`: ../elsewhere: `..` is not allowed",
        ),
        (
            "[[rule]]\nfile = \"*.mp4\"\ndir = \"V/../../x\"\n",
            "key `dir`",
        ),
        ("[[rule]]\ndir = \"V\"\n", "[[rule]] number 1: no condition"),
        (
            "[[rule]]\nfile = \"*.mp4\"\n",
            "[[rule]] number 1: sets nothing",
        ),
        (
            "[[rule]]\nhost = \"h\"\nconnections = 0\n",
            "key `connections`: give a number of connections, 1 to 64",
        ),
        (
            "[[rule]]\nhost = \"h\"\nrate = \"fast\"\n",
            "key `rate`: \"fast\" is not a rate",
        ),
        (
            "[[rule]]\nhost = \"h\"\npriority = \"urgent\"\n",
            "key `priority`: \"urgent\" is not a priority",
        ),
        (
            "[[rule]]\nhost = \"h\"\nchecksum_file = \"SUMS\"\n",
            "key `checksum_file`: SUMS is relative",
        ),
        ("[[rule]]\nhost = []\ndir = \"x\"\n", "an empty list"),
        ("rule = \"video\"\n", "write each rule as a [[rule]] table"),
    ];
    for (toml, want) in cases {
        let e = error(toml);
        assert!(e.contains(want), "{toml}\n=> {e}\nwanted: {want}");
        assert!(e.contains("/h/config.toml"), "{e}");
    }
}

#[test]
fn no_rules_by_default() {
    assert!(crate::config::Config::default().rule.is_empty());
}

#[test]
fn the_ready_set_in_docs_config_md_is_a_valid_config() {
    let doc = include_str!("../../../docs/config.md");
    let section = doc
        .split("## `[[rule]]`")
        .nth(1)
        .expect("docs/config.md has a [[rule]] section");
    let blocks: Vec<&str> = section
        .split("```toml")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or(""))
        .collect();
    assert_eq!(blocks.len(), 2, "the ready set and the site rules");
    let ready = rules(blocks[0]);
    let names: Vec<_> = ready.iter().filter_map(|r| r.name.as_deref()).collect();
    assert_eq!(
        names,
        ["video", "audio", "disk images", "archives", "documents"]
    );
    let f = Facts::answered("https://h.test/x", "ubuntu.iso", None);
    assert!(matches!(
        route(&ready, &f),
        Verdict::Applies { index: 3, .. }
    ));
    let sites = rules(blocks[1]);
    assert_eq!(sites.len(), 2);
}

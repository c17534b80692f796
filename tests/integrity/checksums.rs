//! `--checksum-file` picks its line by the name the user asked for (`-o NAME`, else the
//! file name in the URL), when the job is added: a server that names its answer after
//! another line of the same file (Content-Disposition, a redirect) fails the check, and a
//! correct copy saved as `good (1).iso` passes.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use sha2::Digest;

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A SHA256SUMS with a line for `good.iso` and one for `evil.bin`.
fn sums(env: &Env, good: &[u8], evil: &[u8]) -> String {
    let p = env.dir.path().join("SHA256SUMS");
    std::fs::write(
        &p,
        format!("{}  good.iso\n{}  evil.bin\n", sha256(good), sha256(evil)),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_server_cannot_pick_another_line_of_the_checksum_file() {
    let good = pattern(256 << 10, 1001);
    let evil = pattern(256 << 10, 1002);
    let server = Server::start().unwrap();
    // Asked for good.iso: the evil bytes, named evil.bin by Content-Disposition, or by a
    // redirect to /evil.bin.
    server.add(
        "/cd/good.iso",
        Resource::new(evil.clone()).content_disposition("attachment; filename=\"evil.bin\""),
    );
    server.add("/evil.bin", Resource::new(evil.clone()));
    server.redirect("/r/good.iso", &server.url("/evil.bin"), 302);
    for path in ["/cd/good.iso", "/r/good.iso"] {
        let env = Env::new();
        let sums = sums(&env, &good, &evil);
        let o = env.run(&["get", &server.url(path), "--checksum-file", &sums]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{path}: {err}");
        assert!(
            err.contains("sha256 mismatch") && err.contains(&sha256(&good)),
            "{path}: checked against good.iso's line: {err}"
        );
        let out = env.out();
        assert!(!out.join("evil.bin").exists() && !out.join("good.iso").exists());
        assert_same_file(&out.join("evil.bin.part"), &evil);
        assert_eq!(env.job(1)["error_kind"], "checksum");
    }
}

#[test]
fn a_correct_copy_saved_under_another_name_passes_and_a_url_without_the_name_needs_o() {
    let good = pattern(256 << 10, 1003);
    let evil = pattern(1024, 1004);
    let server = Server::start().unwrap();
    server.add("/good.iso", Resource::new(good.clone()));
    let env = Env::new();
    let sums = sums(&env, &good, &evil);
    // A good.iso is there already: the download is saved as `good (1).iso`, checked against
    // good.iso's line.
    std::fs::write(env.out().join("good.iso"), b"an older copy").unwrap();
    let o = env.run(&["get", &server.url("/good.iso"), "--checksum-file", &sums]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_file(&env.out().join("good (1).iso"), &good);
    // A URL whose path does not name the file: refused when added, saying to give -o; the
    // server's name (good.iso, by Content-Disposition) is not used.
    server.add(
        "/dl/7",
        Resource::new(good.clone()).content_disposition("attachment; filename=\"good.iso\""),
    );
    let url = server.url("/dl/7");
    let o = env.run(&["add", &url, "--checksum-file", &sums]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no line for \"7\"") && err.contains("-o NAME"),
        "{err}"
    );
    assert_eq!(env.jobs().len(), 1, "nothing more queued");
    // With -o the line is the one asked for, and the queued job keeps it.
    env.ok(&[
        "add",
        &url,
        "--checksum-file",
        &sums,
        "-o",
        "good.iso",
        "-d",
        "again",
    ]);
    env.ok(&["run"]);
    assert_same_file(&env.out().join("again/good.iso"), &good);
}

#[test]
fn a_job_queued_with_the_whole_checksum_file_picks_by_the_name_asked_for_too() {
    // Jobs queued before the line was picked at `add` stored every line; their check uses
    // the same rule when they finish.
    use ddm_core::store::{JobSettings, NewJob, Store};
    let good = pattern(256 << 10, 1005);
    let evil = pattern(256 << 10, 1006);
    let server = Server::start().unwrap();
    server.add(
        "/cd/good.iso",
        Resource::new(evil.clone()).content_disposition("attachment; filename=\"evil.bin\""),
    );
    server.add(
        "/dl/7",
        Resource::new(good.clone()).content_disposition("attachment; filename=\"x.bin\""),
    );
    let env = Env::new();
    env.ok(&["status"]);
    let lines = vec![
        ("good.iso".to_string(), format!("sha256:{}", sha256(&good))),
        ("evil.bin".to_string(), format!("sha256:{}", sha256(&evil))),
    ];
    let mut store = Store::open(&env.home().join("jobs.db")).unwrap();
    for (path, file_name) in [("/cd/good.iso", None), ("/dl/7", Some("good.iso"))] {
        store
            .add(&NewJob {
                url: server.url(path),
                dest_dir: env.out(),
                file_name: file_name.map(str::to_string),
                settings: JobSettings {
                    checksums: lines.clone(),
                    ..JobSettings::default()
                },
                queue: Default::default(),
            })
            .unwrap();
    }
    drop(store);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(env.job(1)["error_kind"], "checksum");
    assert!(!env.out().join("evil.bin").exists());
    assert_eq!(env.job(2)["state"], "done");
    assert_same_file(&env.out().join("good.iso"), &good);
}

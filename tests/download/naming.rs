//! Naming: `Content-Disposition` names the file (never outside the directory), an existing
//! file is kept, and a missing destination directory is created and said.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

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

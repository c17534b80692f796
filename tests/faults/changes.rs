//! The file changes mid-download (new ETag, new Last-Modified, new size without validators,
//! shrinking): the job fails naming the change and nothing is ever spliced.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

/// The remote changes while a (throttled, often cut) download runs (after 1 MiB of it was
/// sent): the job must fail naming the change, keep nothing spliced and finish nothing.
fn change_mid_download(v1: Resource, v2: Resource, size: usize) -> (String, u64) {
    let server = Server::start().unwrap();
    server.add("/chg.bin", v1);
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/chg.bin", v2, |log| {
            transferred(log, "/chg.bin") >= MIB as u64
        }),
        || timed(&env, &["get", &server.url("/chg.bin"), "-c", "2"]),
    );
    let out = env.out().join("chg.bin");
    if o.status.success() {
        let got = std::fs::read(&out).unwrap();
        panic!(
            "the download succeeded although the file changed mid-download ({} bytes; spliced: {})",
            got.len(),
            got.len() == size
        );
    }
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!out.exists(), "a final file was produced");
    failed(&env, 1)
}

#[test]
fn file_changing_mid_download_is_detected_by_etag_and_never_spliced() {
    let size = 4 * MIB;
    let v1 = pattern(size, 170);
    let v2 = pattern(size, 171);
    let (err, _) = change_mid_download(
        cut_often(&v1, "\"v1\""),
        Resource::new(v2).etag("\"v2\""),
        size,
    );
    assert!(err.contains("changed") && err.contains("ETag"), "{err}");
}

#[test]
fn file_changing_mid_download_is_detected_by_last_modified_and_never_spliced() {
    let size = 4 * MIB;
    let v1 = pattern(size, 172);
    let v2 = pattern(size, 173);
    let old = Resource::new(v1)
        .last_modified("Sat, 21 Nov 2026 10:00:00 GMT")
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(v2).last_modified("Sun, 22 Nov 2026 11:00:00 GMT");
    let (err, _) = change_mid_download(old, new, size);
    assert!(err.contains("changed"), "{err}");
}

#[test]
fn file_changing_size_mid_download_without_validators_is_refused_naming_the_change() {
    let size = 4 * MIB;
    let old = Resource::new(pattern(size, 174))
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(pattern(size + 1000, 175));
    let (err, _) = change_mid_download(old, new, size);
    assert!(
        err.contains("changed") || err.contains("size"),
        "the error does not say the file changed: {err}"
    );
}

#[test]
fn file_shrinking_mid_download_is_refused_naming_the_change() {
    // Ranges past the new end get 416, the others a different total: both mean "changed".
    let size = 4 * MIB;
    let old = Resource::new(pattern(size, 176))
        .rate(2 << 20)
        .fault(Fault::CutAfter {
            after: 256 * KIB as u64,
            rst: false,
            times: usize::MAX,
        });
    let new = Resource::new(pattern(size / 2, 177));
    let (err, _) = change_mid_download(old, new, size);
    assert!(
        err.contains("changed") || err.contains("size"),
        "the error does not say the file changed: {err}"
    );
}

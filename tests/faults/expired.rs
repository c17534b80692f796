//! Expiring links end to end (issue 15.3): one notion of "the same file" holds everywhere
//! (a validator that goes missing is no difference).

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::Duration;

#[test]
fn a_validator_that_goes_missing_when_the_link_is_resolved_again_is_no_change() {
    // A signed link (0.3 s) to a file with an ETag, cut at 1 MiB: the retry meets 403 and the
    // original URL is resolved again, by when the file is served without its ETag. Resume
    // always took that as the same file; resolving again must too.
    let server = Server::start().unwrap();
    let size = 3 << 20;
    let body = pattern(size, 1606);
    server.add(
        "/files/e.bin",
        Resource::new(body.clone())
            .etag("\"e1\"")
            .rate(2 << 20)
            .fault(Fault::CutAfter {
                after: 1 << 20,
                rst: false,
                times: 1,
            }),
    );
    server.signed_redirect("/dl/e", "/files/e.bin", Duration::from_millis(300));
    let untagged = Resource::new(body.clone()).rate(2 << 20);
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/files/e.bin", untagged, |log| {
            transferred(log, "/files/e.bin") >= 512 << 10
        }),
        || {
            timed(
                &env,
                &["get", &server.url("/dl/e"), "-o", "e.bin", "-c", "1"],
            )
        },
    );
    let log = server.log();
    dump(&log);
    assert!(o.status.success(), "failed after {took:?}: {}", stderr(&o));
    assert_same_file(&env.out().join("e.bin"), &body);
    assert!(
        gets_of(&log, "/files/e.bin")
            .iter()
            .any(|e| e.status == 403),
        "the link never expired"
    );
    assert!(
        log.iter().filter(|e| e.target == "/dl/e").count() >= 2,
        "the original URL was not resolved again"
    );
}

//! Resolving an expired link again is a request like any other: its connection comes from
//! the budget (and the pool), so the host never sees more open connections than its share,
//! even while another job waits for that share.

use super::{config, peak_open};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::Duration;

const MIB: usize = 1 << 20;

#[test]
fn resolving_an_expired_link_again_waits_for_the_hosts_share_like_any_request() {
    // One connection to the host for all jobs. Job 1 downloads through a link that lives
    // 1.2 s, in one request (one connection asks once); the server cuts that answer after
    // 3 MiB (1.5 s), so the request that asks for the rest is refused. Job 2,
    // added meanwhile, waits for the host's one connection and gets it when job 1's refused
    // request gives it back; job 1's resolution must then wait its turn, not open a second
    // connection beside job 2's.
    let server = Server::start().unwrap();
    let a = pattern(4 * MIB, 1520);
    server.add(
        "/files/r.bin",
        Resource::new(a.clone()).etag("\"r\"").rate(2 << 20).fault(
            ddm_testserver::Fault::CutAfter {
                after: 3 * MIB as u64,
                rst: false,
                times: 1,
            },
        ),
    );
    server.signed_redirect("/dl/r", "/files/r.bin", Duration::from_millis(1200));
    let b = pattern(2 * MIB, 1521);
    server.add(
        "/b.bin",
        Resource::new(b.clone()).etag("\"b\"").rate(2 << 20),
    );
    let env = Env::new();
    config(&env, "max_connections_per_host = 1\n");
    env.ok(&["add", &server.url("/dl/r"), "-o", "r.bin", "-c", "1"]);
    let (status, peak) = peak_open(&server, || {
        let mut run = env.spawn(&["run"]);
        wait_for(Duration::from_secs(10), "job 1 transferring", || {
            server
                .log()
                .iter()
                .any(|e| e.target.starts_with("/files/r.bin") && e.status == 206)
                .then_some(())
        });
        env.ok(&["add", &server.url("/b.bin")]);
        wait_child(&mut run, Duration::from_secs(30))
    });
    assert!(status.success());
    assert_same_file(&env.out().join("r.bin"), &a);
    assert_same_file(&env.out().join("b.bin"), &b);
    let log = server.log();
    let expired = log
        .iter()
        .filter(|e| e.target.starts_with("/files/r.bin") && e.status == 403)
        .count();
    let hops = log.iter().filter(|e| e.target == "/dl/r").count();
    assert!(
        expired >= 1 && hops >= 2,
        "the link was not resolved again ({expired} expiries, {hops} resolutions)"
    );
    assert!(
        peak <= 1,
        "{peak} connections open at once; the host's share is 1"
    );
}

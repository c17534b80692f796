//! Tests that count what the server sent on an unthrottled loopback link. They need the
//! machine to themselves: under the load of a parallel test run, transfers slow down and the
//! connection count and the steals ddm chooses are no longer what a fast link gets. Cargo
//! runs test binaries one after another, so this binary runs alone; keep it to such tests.

#[allow(dead_code)]
mod util;

use ddm_testserver::{pattern, Resource, Server};
use util::*;

const MIB: usize = 1 << 20;

#[test]
fn on_a_fast_link_a_few_long_requests_and_steals_cut_nothing() {
    // Unthrottled loopback: the server's sockets hold megabytes, so a steal that cut a
    // response would waste them. A request costs something, so each connection asks for its
    // whole range (a window lasts a second at least: the whole segment here), and nothing a
    // connection was sent is thrown away: what the server sent is what the file needed, in
    // every repetition.
    let server = Server::start().unwrap();
    let size = 96 * MIB;
    let body = std::sync::Arc::new(pattern(size, 711));
    server.add("/w.bin", Resource::shared(body.clone()));
    for i in 0..3 {
        let env = Env::new();
        let before: u64 = server.log().iter().map(|e| e.body_bytes).sum();
        let asked = server.log().len();
        env.ok(&[
            "get",
            &server.url("/w.bin"),
            "-c",
            "8",
            "-o",
            &format!("w{i}.bin"),
        ]);
        assert_same_file(&env.out().join(format!("w{i}.bin")), &body);
        let log = server.log();
        let sent: u64 = log.iter().map(|e| e.body_bytes).sum::<u64>() - before;
        let requests = &log[asked..];
        let conns: std::collections::HashSet<u64> = requests.iter().map(|e| e.conn).collect();
        assert!(
            requests.len() <= conns.len() + 8,
            "a few long requests, not one per megabyte: {} requests on {} connections",
            requests.len(),
            conns.len()
        );
        assert!(
            sent as f64 <= size as f64 * 1.01,
            "run {i}: sent {sent} for {size} ({:.3})",
            sent as f64 / size as f64
        );
    }
}

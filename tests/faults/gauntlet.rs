//! The gauntlet: a queue of files behind every fault at once (expiring links, cuts, connection
//! caps, HEAD refused, gzip, no ranges, a file changing) ends byte-exact or refused within 2x
//! of the fault-free time.

use super::common::*;
use crate::util::*;
use ddm_testserver::{pattern, Fault, HeadMode, Resource, Server};
use std::process::Output;
use std::time::Duration;

/// Files of the gauntlet: (path, size, seed).
const GAUNTLET: [(&str, usize, u64); 3] = [
    ("/g/a.bin", 16 * MIB, 190),
    ("/g/b.bin", 3 * MIB, 191),
    ("/g/c.bin", 8 * MIB, 192),
];

const G_RATE: u64 = 2 << 20;

fn run_queue(env: &Env, urls: &[(String, String)]) -> (Output, Duration) {
    for (url, name) in urls {
        env.ok(&["add", url, "-o", name, "-c", "8"]);
    }
    timed(env, &["run"])
}

#[test]
fn gauntlet_every_scenario_ends_byte_exact_or_refused_within_2x() {
    // Fault-free reference: the same files, sizes and rates, on a well-behaved server.
    let calm = Server::start().unwrap();
    let mut calm_urls = Vec::new();
    for (path, size, seed) in GAUNTLET {
        let mut r = Resource::new(pattern(size, seed)).rate(G_RATE);
        if path == "/g/b.bin" {
            r = r.no_ranges().no_length();
        }
        calm.add(path, r);
        calm_urls.push((calm.url(path), path[3..].to_string()));
    }
    let calm_env = Env::new();
    let (o, base) = run_queue(&calm_env, &calm_urls);
    assert!(o.status.success(), "fault-free run: {}", stderr(&o));

    let server = Server::start().unwrap();
    let bodies: Vec<Vec<u8>> = GAUNTLET.iter().map(|g| pattern(g.1, g.2)).collect();
    let flaky = Fault::CutEvery {
        every: 7,
        rst: true,
        times: usize::MAX,
    };
    // a: ranged, via expiring signed URLs, HEAD refused, gzip offered, cuts, 6-connection cap (503).
    server.add(
        "/g/a.bin",
        Resource::new(bodies[0].clone())
            .etag("\"a\"")
            .rate(G_RATE)
            .head(HeadMode::Refuse(405))
            .gzip()
            .fault(flaky.clone())
            .fault(Fault::ConnCap { max: 6, code: 503 }),
    );
    server.signed_redirect("/dl/a", "/g/a.bin", Duration::from_millis(1500));
    // b: ranges ignored, no length, gzip offered, HEAD refused, cuts.
    server.add(
        "/g/b.bin",
        Resource::new(bodies[1].clone())
            .rate(G_RATE)
            .no_ranges()
            .no_length()
            .gzip()
            .head(HeadMode::Refuse(403))
            .fault(Fault::CutEvery {
                every: 3,
                rst: false,
                times: 1,
            }),
    );
    // c: ranged, cuts, 6-connection cap (429).
    server.add(
        "/g/c.bin",
        Resource::new(bodies[2].clone())
            .etag("\"c\"")
            .rate(G_RATE)
            .fault(flaky)
            .fault(Fault::ConnCap { max: 6, code: 429 }),
    );
    // d: changes mid-download (after 1 MiB of 4 was sent): must be refused. 512 KiB/s per
    // response, cut every 128 KiB: about 1 s with 8 connections.
    let d1 = pattern(4 * MIB, 193);
    server.add(
        "/g/d.bin",
        Resource::new(d1)
            .etag("\"d1\"")
            .rate(512 * KIB as u64)
            .fault(Fault::CutAfter {
                after: 128 * KIB as u64,
                rst: false,
                times: usize::MAX,
            }),
    );
    let d2 = Resource::new(pattern(4 * MIB, 194)).etag("\"d2\"");
    let urls = vec![
        (server.url("/dl/a"), "a.bin".to_string()),
        (server.url("/g/b.bin"), "b.bin".to_string()),
        (server.url("/g/c.bin"), "c.bin".to_string()),
        (server.url("/g/d.bin"), "d.bin".to_string()),
    ];
    let env = Env::new();
    let ((o, took), _) = watch(
        &server,
        swap_when(&server, "/g/d.bin", d2, |log| {
            transferred(log, "/g/d.bin") >= MIB as u64
        }),
        || run_queue(&env, &urls),
    );
    assert_eq!(o.status.code(), Some(1), "d must fail: {}", stderr(&o));
    for (i, name) in ["a.bin", "b.bin", "c.bin"].iter().enumerate() {
        let j = env.job(i as i64 + 1);
        assert_eq!(j["state"], "done", "{name}: {j}");
        assert_same_file(&env.out().join(name), &bodies[i]);
    }
    let (err, _) = failed(&env, 4);
    assert!(err.contains("changed"), "d: {err}");
    assert!(!env.out().join("d.bin").exists());
    // d (4 MiB, refused) is extra work the reference did not have: allow its fault-free time.
    let d_time = Duration::from_secs(1);
    assert_within(took, base + d_time, Duration::from_secs(2), "gauntlet");
}

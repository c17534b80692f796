//! Every verb builds its connection budget from the config: `max_connections_per_host`
//! holds for `get -c 32`, for a saved `bench` recommendation above it, and for `bench`'s own
//! measurements, which never recommend (or save) a count no job could open.

use super::{config, peak_open, started};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

const MIB: usize = 1 << 20;

#[test]
fn get_with_c_32_opens_no_more_than_max_connections_per_host() {
    // 24 MiB at 2 MiB/s per connection: 32 connections would each have work to do.
    let server = Server::start().unwrap();
    let body = pattern(24 * MIB, 1501);
    server.add(
        "/c.bin",
        Resource::new(body.clone()).etag("\"c\"").rate(2 << 20),
    );
    let env = Env::new();
    config(&env, "max_connections_per_host = 8\n");
    let (out, peak) = peak_open(&server, || {
        env.run(&["get", &server.url("/c.bin"), "-c", "32", "--json"])
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_file(&env.out().join("c.bin"), &body);
    assert!(peak <= 8, "{peak} connections open at once; the cap is 8");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(started(&stdout)["connections"], 8, "{stdout}");
    assert!(
        stdout.contains("32 connections asked for, 8 at most"),
        "the lowered count is said: {stdout}"
    );
}

#[test]
fn bench_measures_recommends_and_saves_no_count_above_the_per_host_cap() {
    // Each connection is throttled: more connections always pay, so without the cap the
    // recommendation would be the highest count measured.
    let server = Server::start().unwrap();
    server.add(
        "/t.bin",
        Resource::new(pattern(8 * MIB, 1502)).rate(2 << 20),
    );
    let env = Env::new();
    config(&env, "max_connections_per_host = 4\n");
    let (o, peak) = peak_open(&server, || {
        env.run(&[
            "bench",
            &server.url("/t.bin"),
            "--counts",
            "1,2,4,8,16",
            "--bytes",
            "4M",
            "--rounds",
            "1",
            "--save",
            "--json",
        ])
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(peak <= 4, "{peak} connections open at once; the cap is 4");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let measured: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["connections"].as_u64().unwrap())
        .collect();
    assert_eq!(measured, [1, 2, 4], "{v}");
    assert_eq!(v["recommended"], 4, "{v}");
    let err = stderr(&o);
    assert!(
        err.contains("--counts 8,16 left out") && err.contains("max_connections_per_host (4)"),
        "{err}"
    );
    // The saved recommendation is what a later job starts with.
    server.add("/n.bin", Resource::new(pattern(MIB, 1503)));
    let out = env.ok(&["get", &server.url("/n.bin"), "--json"]);
    assert_eq!(started(&out)["connections"], 4, "{out}");
}

#[test]
fn a_recommendation_saved_under_a_higher_cap_is_held_to_the_current_one() {
    // `bench --save` of 16, then the cap is lowered to 4: later jobs open at most 4.
    let server = Server::start().unwrap();
    server.add(
        "/t.bin",
        Resource::new(pattern(8 * MIB, 1504)).rate(2 << 20),
    );
    let env = Env::new();
    let v: serde_json::Value = serde_json::from_str(&env.ok(&[
        "bench",
        &server.url("/t.bin"),
        "--counts",
        "1,16",
        "--bytes",
        "4M",
        "--rounds",
        "1",
        "--save",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["recommended"], 16, "{v}");
    config(&env, "max_connections_per_host = 4\n");
    let body = pattern(8 * MIB, 1505);
    server.add("/g.bin", Resource::new(body.clone()).rate(2 << 20));
    let (out, peak) = peak_open(&server, || {
        env.run(&["get", &server.url("/g.bin"), "--json"])
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_file(&env.out().join("g.bin"), &body);
    assert!(peak <= 4, "{peak} connections open at once; the cap is 4");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(started(&stdout)["connections"], 4, "{stdout}");
}

#[test]
fn demo_keeps_to_the_default_per_host_cap() {
    let env = Env::new();
    let o = env.run(&["demo", "--connections", "32", "--size-mib", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("max_connections_per_host"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&[
        "demo",
        "--connections",
        "16",
        "--size-mib",
        "4",
        "--rate-mib",
        "64",
        "--no-compare",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

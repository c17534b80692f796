//! `ddm bench` against the loopback server: many connections where each connection is
//! throttled, few where nothing is; `--save` makes later jobs on the host start from it.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

fn bench_json(env: &Env, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["bench", url, "--json"];
    args.extend_from_slice(extra);
    let out = env.ok(&args);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn per_connection_throttle_gets_many_connections_and_save_is_used() {
    let server = Server::start().unwrap();
    server.add("/t.bin", Resource::new(pattern(8 << 20, 31)).rate(2 << 20));
    let env = Env::new();
    let v = bench_json(
        &env,
        &server.url("/t.bin"),
        &[
            "--counts",
            "1,2,4,8,16",
            "--bytes",
            "4M",
            "--save",
            "--rounds",
            "1",
        ],
    );
    let rec = v["recommended"].as_u64().unwrap();
    assert!(rec >= 8, "recommended {rec}: {v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        for k in ["connections", "mib_per_s", "ttfb_ms", "errors", "throttled"] {
            assert!(r.get(k).is_some(), "result lacks {k}: {r}");
        }
    }
    let one = results[0]["mib_per_s"].as_f64().unwrap();
    let sixteen = results[4]["mib_per_s"].as_f64().unwrap();
    assert!(sixteen > 4.0 * one, "1: {one} MiB/s, 16: {sixteen} MiB/s");
    // Data went to a scratch file, not the working directory.
    assert_eq!(std::fs::read_dir(env.out()).unwrap().count(), 0);

    // --save: a job on the same host without --connections starts from the recommendation.
    server.add("/other.bin", Resource::new(pattern(1 << 20, 32)));
    let out = env.ok(&["get", &server.url("/other.bin"), "--json"]);
    let started: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(started["event"], "started");
    assert_eq!(started["connections"].as_u64().unwrap(), rec);
}

#[test]
fn unthrottled_server_gets_few_connections() {
    let server = Server::start().unwrap();
    server.add("/f.bin", Resource::new(pattern(32 << 20, 33)));
    let env = Env::new();
    let v = bench_json(
        &env,
        &server.url("/f.bin"),
        &["--counts", "1,2,4,8,16", "--bytes", "32M"],
    );
    let rec = v["recommended"].as_u64().unwrap();
    assert!((1..=4).contains(&rec), "recommended {rec}: {v}");
}

#[test]
fn bench_rejects_bad_arguments() {
    let env = Env::new();
    for (args, want) in [
        (
            vec!["bench", "http://127.0.0.1:9/x", "--counts", "0"],
            "out of range",
        ),
        (
            vec!["bench", "http://127.0.0.1:9/x", "--bytes", "lots"],
            "not a size",
        ),
        (vec!["bench", "ftp://x/y"], "not supported"),
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

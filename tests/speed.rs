//! Speed policy (issue 9), checked from the server's side: one round trip to the first byte
//! (no HEAD, no separate probe), connections kept alive across ranges and across jobs, slow
//! connections replaced, caps learned without a request storm, live and shared rate limits.

use crate::faults::{config, create_db, wait_progress};
use crate::util::*;
use ddm_testserver::{pattern, Fault, Resource, Server};
use std::time::{Duration, Instant};

const KIB: usize = 1024;
const MIB: usize = 1 << 20;

#[test]
fn a_small_job_costs_one_request_and_a_queue_reuses_connections() {
    let server = Server::start().unwrap();
    let mut bodies = Vec::new();
    let mut urls = Vec::new();
    for i in 0..30 {
        let body = pattern(256 * KIB, 700 + i);
        server.add(&format!("/q/f{i}.bin"), Resource::new(body.clone()));
        urls.push(server.url(&format!("/q/f{i}.bin")));
        bodies.push(body);
    }
    let env = Env::new();
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    env.ok(&args);
    env.ok(&["run", "-q"]);
    for (i, b) in bodies.iter().enumerate() {
        assert_same_file(&env.out().join(format!("f{i}.bin")), b);
    }
    let log = server.log();
    assert!(log.iter().all(|e| e.method == "GET"), "no HEAD requests");
    assert_eq!(log.len(), 30, "one request per file: {}", log.len());
    let conns = server.requests_per_connection();
    assert!(
        conns.len() < 30,
        "connections are reused from one job to the next: {} for 30 files",
        conns.len()
    );
    assert!(conns.iter().any(|(_, n)| *n >= 2), "{conns:?}");
}

#[test]
fn a_queue_never_opens_more_connections_to_a_host_than_its_share() {
    // 60 small files, each answer 20 ms late, at most 4 connections to the host: jobs wait
    // for a unit and start the moment one is free, on the connection the last job left
    // open. Seen from the server: 60 requests on no more than 4 TCP connections.
    let server = Server::start().unwrap();
    let mut bodies = Vec::new();
    let mut urls = Vec::new();
    for i in 0..60 {
        let body = pattern(64 * KIB, 760 + i);
        server.add(
            &format!("/s/f{i}.bin"),
            Resource::new(body.clone()).first_byte_delay(Duration::from_millis(20)),
        );
        urls.push(server.url(&format!("/s/f{i}.bin")));
        bodies.push(body);
    }
    let env = Env::new();
    config(&env, "max_connections_per_host = 4\n");
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    env.ok(&args);
    env.ok(&["run", "-q"]);
    for (i, b) in bodies.iter().enumerate() {
        assert_same_file(&env.out().join(format!("f{i}.bin")), b);
    }
    assert_eq!(server.log().len(), 60, "one request per file");
    let conns = server.requests_per_connection();
    assert!(conns.len() <= 4, "{} connections: {conns:?}", conns.len());
}

#[test]
fn large_jobs_on_one_host_keep_to_its_share_of_open_connections() {
    // Three 6 MiB files at 2 MiB/s per connection, at most 4 connections to the host. Each
    // job would take several; a job's connection with nothing left to do goes back to the
    // runner's pool (for the next job), not kept idle while its unit serves another job.
    // Seen from the server: never more than 4 TCP connections open at once, idle ones
    // included.
    let server = Server::start().unwrap();
    let mut bodies = Vec::new();
    let mut urls = Vec::new();
    for i in 0..3 {
        let body = pattern(6 * MIB, 780 + i);
        server.add(
            &format!("/l/f{i}.bin"),
            Resource::new(body.clone())
                .etag(&format!("\"l{i}\""))
                .rate(2 << 20),
        );
        urls.push(server.url(&format!("/l/f{i}.bin")));
        bodies.push(body);
    }
    let env = Env::new();
    config(&env, "max_connections_per_host = 4\n");
    let mut args = vec!["add", "-c", "4"];
    args.extend(urls.iter().map(String::as_str));
    env.ok(&args);
    let done = std::sync::atomic::AtomicBool::new(false);
    let peak = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let n = server.open_connections();
                peak = peak.max(n);
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let o = env.run(&["run", "-q"]);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(o.status.success(), "{}", stderr(&o));
        watcher.join().unwrap()
    });
    for (i, b) in bodies.iter().enumerate() {
        assert_same_file(&env.out().join(format!("f{i}.bin")), b);
    }
    let conns = server.requests_per_connection();
    assert!(peak <= 4, "{peak} connections open at once: {conns:?}");
}

#[test]
fn ranges_that_end_cleanly_keep_their_connection() {
    // 24 MiB over 4 connections at 4 MiB/s each, but every third connection at a quarter
    // of that: the fast ones finish their ranges first, where they asked, and the same
    // connections carry the ranges they then take from the slow one.
    let server = Server::start().unwrap();
    let body = pattern(24 * MIB, 710);
    server.add(
        "/k.bin",
        Resource::new(body.clone())
            .etag("\"k\"")
            .rate(4 << 20)
            .fault(Fault::SlowConnections {
                every: 3,
                divisor: 4,
            }),
    );
    let env = Env::new();
    env.ok(&["get", &server.url("/k.bin"), "-c", "4"]);
    assert_same_file(&env.out().join("k.bin"), &body);
    let conns = server.requests_per_connection();
    let reused = conns.iter().filter(|(_, n)| *n >= 2).count();
    assert!(
        reused >= 1,
        "no connection carried a second range: {conns:?}"
    );
    let requests: usize = conns.iter().map(|(_, n)| n).sum();
    assert!(
        conns.len() < requests,
        "{} connections for {requests} requests",
        conns.len()
    );
}

#[test]
fn the_last_slow_range_is_raced_and_the_first_to_finish_wins() {
    // Every 2nd connection runs at 1/50 of 4 MiB/s. The first answer (1 MiB) comes fast; the
    // rest (512 KiB) goes to a slow connection, inside one request. When the fast connection
    // is free, it asks for the same tail again: it finishes first, the slow one is stopped.
    let server = Server::start().unwrap();
    let size = 1536 * KIB;
    let body = pattern(size, 712);
    server.add(
        "/r.bin",
        Resource::new(body.clone())
            .etag("\"r\"")
            .rate(4 << 20)
            .fault(Fault::SlowConnections {
                every: 2,
                divisor: 50,
            }),
    );
    let env = Env::new();
    let t = Instant::now();
    env.ok(&["get", &server.url("/r.bin"), "-c", "2"]);
    let took = t.elapsed();
    assert_same_file(&env.out().join("r.bin"), &body);
    let log = server.log();
    let last = format!("{}", size - 1);
    let tails: Vec<&str> = log
        .iter()
        .filter_map(|e| e.range.as_deref())
        .filter(|r| r.ends_with(&format!("-{last}")))
        .collect();
    assert!(
        tails.len() >= 2,
        "the tail was asked for twice (raced): {:?}",
        log.iter()
            .map(|e| (e.conn, e.range.clone(), e.body_bytes))
            .collect::<Vec<_>>()
    );
    // The slow connection alone would need 512 KiB / 80 KiB/s = 6.4 s.
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn a_connection_far_slower_than_its_peers_is_replaced() {
    // Every 4th TCP connection runs at 1/40 of the rate: a static split would wait ~10 s for
    // them. Their ranges must move to new connections (and steals), finishing near the
    // fault-free time.
    let server = Server::start().unwrap();
    let body = pattern(16 * MIB, 720);
    server.add(
        "/slow.bin",
        Resource::new(body.clone())
            .etag("\"s\"")
            .rate(2 << 20)
            .fault(Fault::SlowConnections {
                every: 4,
                divisor: 40,
            }),
    );
    let env = Env::new();
    let t = Instant::now();
    env.ok(&["get", &server.url("/slow.bin"), "-c", "8"]);
    let took = t.elapsed();
    assert_same_file(&env.out().join("slow.bin"), &body);
    // 16 MiB at 8 × 2 MiB/s is a second; a slow connection holding its 2 MiB would need 40 s.
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let log = std::fs::read_to_string(env.home().join("ddm.log")).unwrap();
    assert!(
        log.contains("replacing a slow connection"),
        "no slow connection was replaced"
    );
}

#[test]
fn a_server_that_admits_six_is_learned_without_a_request_storm() {
    let server = Server::start().unwrap();
    let body = pattern(24 * MIB, 730);
    server.add(
        "/cap.bin",
        Resource::new(body.clone())
            .etag("\"c\"")
            .rate(4 << 20)
            .fault(Fault::ConnCap { max: 6, code: 503 }),
    );
    let env = Env::new();
    env.ok(&["get", &server.url("/cap.bin"), "-c", "16"]);
    assert_same_file(&env.out().join("cap.bin"), &body);
    let log = server.log();
    let refused = log.iter().filter(|e| e.status == 503).count();
    // A storm is refused requests. The answered ones are windows of at least 1 MiB (on
    // loopback ddm asks for about that), plus the first request and a few steals.
    assert!(refused <= 12, "{refused} refused of {}", log.len());
    let answered = log.len() - refused;
    let dlog = env.log();
    eprintln!(
        "cap: {answered} answered, {refused} refused, {} steals, {} races",
        dlog.matches(" steal ").count(),
        dlog.matches("race a slow tail").count()
    );
    if std::env::var_os("DDM_TEST_DUMP").is_some() {
        for e in &log {
            eprintln!(
                "conn {} {:?} -> {} {}",
                e.conn, e.range, e.status, e.body_bytes
            );
        }
    }
    assert!(
        answered <= 24 + 8,
        "{answered} answered requests for 24 MiB, {refused} refused"
    );
    // The host's cap is remembered: the next job starts at it, and is not refused.
    server.add(
        "/cap2.bin",
        Resource::new(body.clone())
            .rate(4 << 20)
            .fault(Fault::ConnCap { max: 6, code: 503 }),
    );
    let before = server.log().len();
    env.ok(&["get", &server.url("/cap2.bin"), "-c", "16"]);
    let again = server.log()[before..]
        .iter()
        .filter(|e| e.status == 503)
        .count();
    assert_eq!(again, 0, "the learned cap was not used");
}

/// Run `ddm` with `--json` and record (time, bytes) of its progress events.
struct Watched {
    child: std::process::Child,
    samples: std::sync::Arc<std::sync::Mutex<Vec<(Instant, i64, u64)>>>,
}

fn watch_json(env: &Env, args: &[&str]) -> Watched {
    use std::io::BufRead;
    let mut child = env
        .cmd(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = samples.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["event"] == "progress" {
                let (job, bytes) = (v["job"].as_i64().unwrap(), v["bytes"].as_u64().unwrap());
                s2.lock().unwrap().push((Instant::now(), job, bytes));
            }
        }
    });
    Watched { child, samples }
}

impl Watched {
    /// Bytes all jobs received during `d`, measured from ddm's own progress events.
    fn received_during(&self, d: Duration) -> u64 {
        let total = |s: &[(Instant, i64, u64)]| {
            let mut last = std::collections::HashMap::new();
            for (_, job, b) in s {
                last.insert(*job, *b);
            }
            last.values().sum::<u64>()
        };
        let a = total(&self.samples.lock().unwrap());
        std::thread::sleep(d);
        total(&self.samples.lock().unwrap()) - a
    }
}

#[test]
fn a_rate_limit_is_shared_by_all_connections_and_changes_live() {
    let server = Server::start().unwrap();
    let body = pattern(12 * MIB, 740);
    server.add("/lim.bin", Resource::new(body.clone()).etag("\"l\""));
    let env = Env::new();
    create_db(&env);
    let mut w = watch_json(
        &env,
        &[
            "get",
            &server.url("/lim.bin"),
            "-c",
            "8",
            "--limit-rate",
            "1M",
            "--json",
        ],
    );
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    // Eight connections share one mebibyte per second (not one each).
    let got = w.received_during(Duration::from_secs(2));
    assert!(
        ((3 << 20) / 2..=(5 << 20) / 2).contains(&(got as usize)),
        "{got} bytes in 2 s under a 1 MiB/s limit"
    );
    // Lifted while running: the rest comes at full speed.
    env.ok(&["limit", "1", "none"]);
    let st = wait_child(&mut w.child, Duration::from_secs(10));
    assert!(st.success());
    assert_same_file(&env.out().join("lim.bin"), &body);
}

#[test]
fn the_global_limit_holds_across_jobs_and_follows_ddm_limit() {
    let server = Server::start().unwrap();
    let a = pattern(8 * MIB, 750);
    let b = pattern(8 * MIB, 751);
    server.add("/ga.bin", Resource::new(a.clone()));
    server.add("/gb.bin", Resource::new(b.clone()));
    let env = Env::new();
    config(&env, "max_rate = \"1M\"\n");
    env.ok(&["add", &server.url("/ga.bin"), &server.url("/gb.bin")]);
    let mut w = watch_json(&env, &["run", "--json"]);
    wait_progress(&env, 1, 0, Duration::from_secs(20));
    let got = w.received_during(Duration::from_secs(2));
    assert!(
        ((3 << 20) / 2..=(5 << 20) / 2).contains(&(got as usize)),
        "{got} bytes in 2 s for two jobs under a global 1 MiB/s"
    );
    env.ok(&["limit", "--global", "none"]);
    let st = wait_child(&mut w.child, Duration::from_secs(10));
    assert!(st.success());
    assert_same_file(&env.out().join("ga.bin"), &a);
    assert_same_file(&env.out().join("gb.bin"), &b);
}

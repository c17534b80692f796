//! Schedule windows (issue 18.2), from the outside, with ddm's clock in UTC (`TZ=UTC`) so
//! the test can write windows a few seconds from now: a window that holds the queue opens
//! while a download runs (the job is paused with its progress kept, marked held, the server
//! sees no byte while it lasts, and it continues when the window ends: done, never failed,
//! nothing fetched twice), and a window's rate cap measured at the server (bytes per second
//! it sent) under `ddm serve`, lifted when the window ends.

use super::{config, id_of};
use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KIB: usize = 1024;
const MIB: usize = 1 << 20;

/// Epoch seconds now.
fn epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `HH:MM:SS` of epoch time `t`, in UTC.
fn utc(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Start `ddm ARGS` with the clock in UTC.
fn spawn_utc(env: &Env, args: &[&str]) -> std::process::Child {
    env.cmd(args)
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sleep until epoch second `t` has begun.
fn sleep_until(t: i64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let target = Duration::from_secs(t as u64);
    if target > now {
        std::thread::sleep(target - now);
    }
}

#[test]
fn a_hold_window_pauses_a_running_download_keeps_its_progress_and_resumes_it() {
    let server = Server::start().unwrap();
    let body = pattern(3 * MIB, 5200);
    server.add("/h.bin", Resource::new(body.clone()).rate(256 * KIB as u64));
    // Bytes the server counts as sent stay near what ddm read (see `Server::send_buffer`).
    server.send_buffer(64 * KIB);
    let env = Env::new();
    let t0 = epoch();
    let (open, close) = (t0 + 4, t0 + 9);
    config(
        &env,
        &format!(
            "[[schedule]]\nstart = \"{}\"\nend = \"{}\"\nqueue = \"hold\"\n",
            utc(open),
            utc(close)
        ),
    );
    server.add(
        "/u.bin",
        Resource::new(pattern(MIB, 5201)).rate(64 * KIB as u64),
    );
    let id = id_of(&env.ok(&["add", &server.url("/h.bin"), "-c", "2"]));
    // Paused by its user before the window: it stays paused when the window ends.
    let mine = id_of(&env.ok(&["add", &server.url("/u.bin")]));
    let mut run = spawn_utc(&env, &["run"]);
    wait_for(Duration::from_secs(4), "the downloads to start", || {
        (server.bytes_sent("/h.bin") > 0 && server.bytes_sent("/u.bin") > 0).then_some(())
    });
    env.ok(&["pause", &mine.to_string()]);
    // The window opens: within a second the job is paused, held, its progress kept.
    let held = wait_for(Duration::from_secs(8), "the hold", || {
        let j = env.job(id);
        (j["state"] == "paused").then_some(j)
    });
    assert!(
        epoch() >= open && epoch() <= open + 2,
        "held at {} for a window opening at {open}",
        epoch()
    );
    assert!(
        held["held"].as_str().unwrap().contains("window 1"),
        "{held}"
    );
    assert!(held["error"].is_null(), "{held}");
    let kept = held["bytes_done"].as_u64().unwrap();
    assert!(kept > 0 && kept < body.len() as u64, "{held}");
    let table = env.ok(&["status"]);
    assert!(table.contains("held by the schedule"), "{table}");
    let sched = env.cmd(&["schedule"]).env("TZ", "UTC").output().unwrap();
    let sched = String::from_utf8_lossy(&sched.stdout).into_owned();
    assert!(
        sched.contains("now: window 1") && sched.contains(&format!("{} (in", utc(close))),
        "{sched}"
    );
    // While it holds, the server sends nothing.
    std::thread::sleep(Duration::from_millis(300));
    let a = server.bytes_sent("/h.bin");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.bytes_sent("/h.bin"), a, "bytes sent during the hold");
    assert!(run.try_wait().unwrap().is_none(), "run waits for the hold");
    // The window ends: the job continues and finishes; `run` ends with it.
    let st = wait_child(&mut run, Duration::from_secs(30));
    assert!(st.success());
    assert!(epoch() >= close);
    let j = env.job(id);
    assert_eq!(j["state"], "done", "{j}");
    assert!(j["held"].is_null(), "{j}");
    assert_same_file(&env.out().join("h.bin"), &body);
    let m = env.job(mine);
    assert_eq!(m["state"], "paused", "{m}");
    assert!(m["held"].is_null(), "{m}");
    // Progress was kept: only the first request asked from byte 0 (without a Range header,
    // or with one from 0), and the server sent the file about once (not the part before
    // the hold again).
    let from_zero = server
        .log()
        .iter()
        .filter(|e| e.method == "GET" && e.target == "/h.bin")
        .filter(|e| e.range.as_deref().is_none_or(|r| r.starts_with("bytes=0-")))
        .count();
    assert_eq!(from_zero, 1, "{:?}", server.log());
    let total = server.bytes_sent("/h.bin");
    assert!(
        total < body.len() as u64 + kept / 2,
        "{total} bytes sent for a {} byte file, {kept} of it kept over the hold",
        body.len()
    );
}

#[test]
fn a_windows_rate_cap_holds_at_the_server_under_serve_and_lifts_when_it_ends() {
    let server = Server::start().unwrap();
    let body = pattern(8 * MIB, 5300);
    // Paced far above the cap only so the server counts in 16 KiB writes; the server's
    // count of bytes sent stays near what ddm read (no megabytes in its send buffers).
    server.add("/r.bin", Resource::new(body.clone()).rate(64 << 20));
    server.send_buffer(64 * KIB);
    let env = Env::new();
    let t0 = epoch();
    let close = t0 + 10;
    config(
        &env,
        &format!(
            "[[schedule]]\nstart = \"{}\"\nend = \"{}\"\nmax_rate = \"256K\"\n",
            utc(t0 - 60),
            utc(close)
        ),
    );
    let mut serve = spawn_utc(&env, &["serve", "--port", "0"]);
    let id = id_of(&env.ok(&["add", &server.url("/r.bin"), "-c", "2"]));
    wait_for(Duration::from_secs(5), "the download to start", || {
        (server.bytes_sent("/r.bin") > 0).then_some(())
    });
    // Bytes per second the server sent over four seconds inside the window, after what
    // the first requests put on their way (at most the first window of each connection,
    // read by ddm at the cap meanwhile, so the server may send less than the cap here).
    std::thread::sleep(Duration::from_millis(1500));
    let (a, ta) = (server.bytes_sent("/r.bin"), Instant::now());
    std::thread::sleep(Duration::from_secs(4));
    let (b, tb) = (server.bytes_sent("/r.bin"), Instant::now());
    let rate = (b - a) as f64 / (tb - ta).as_secs_f64();
    let cap = 256.0 * 1024.0;
    assert!(
        rate <= cap * 1.25 && rate >= cap * 0.25,
        "{rate:.0} bytes/s sent under a 256K window cap"
    );
    // ddm's own measure of the same: at the cap.
    let speed = env.job(id)["speed"].as_f64().unwrap_or(0.0);
    assert!(
        speed <= cap * 1.25 && speed >= cap * 0.75,
        "{speed} bytes/s received under a 256K window cap"
    );
    assert!(epoch() < close, "measured inside the window");
    // At most the cap for the whole window so far, and what the first requests took.
    let sent = server.bytes_sent("/r.bin");
    let bound = cap * (epoch() - t0 + 1) as f64 + 2.5 * MIB as f64;
    assert!(
        (sent as f64) < bound,
        "{sent} bytes sent by {}s",
        epoch() - t0
    );
    // The window ends: the cap goes within a second, the rest (over 4 MiB, 16 s at the
    // cap) comes at once.
    sleep_until(close);
    wait_for(
        Duration::from_secs(4),
        "the job done after the window",
        || (env.job(id)["state"] == "done").then_some(()),
    );
    assert_same_file(&env.out().join("r.bin"), &body);
    unsafe { libc::kill(serve.id() as i32, libc::SIGTERM) };
    assert!(wait_child(&mut serve, Duration::from_secs(10)).success());
}

#[test]
fn ddm_schedule_says_what_is_in_force_and_a_bad_window_is_refused_before_anything_runs() {
    let env = Env::new();
    let out = env.ok(&["schedule"]);
    assert!(
        out.starts_with("no schedule: the queue runs at any time"),
        "{out}"
    );
    config(
        &env,
        "max_rate = \"1M\"\n\
         [[schedule]]\ndays = \"sat,sun\"\nstart = \"00:00\"\nend = \"24:00\"\nqueue = \"hold\"\n\
         [[schedule]]\ndays = \"mon-fri\"\nstart = \"22:00\"\nend = \"06:00\"\nmax_rate = \"200K\"\n",
    );
    let out = String::from_utf8(
        env.cmd(&["schedule"])
            .env("TZ", "UTC")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        out.contains("1. sat-sun 00:00-24:00: queue held")
            && out.contains("2. mon-fri 22:00-06:00 (next day): max_rate 200K/s")
            && out.contains("next change: "),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["schedule", "--json"])).unwrap();
    assert_eq!(v["windows"].as_array().unwrap().len(), 2, "{v}");
    assert!(v["next"]["at"].as_i64().unwrap() > epoch(), "{v}");
    // A window written wrong: refused at once, naming it and what to write.
    config(&env, "[[schedule]]\nstart = \"9:00\"\nend = \"17:00\"\n");
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[[schedule]] start = \"9:00\": not a time; write HH:MM"),
        "{}",
        stderr(&o)
    );
}

//! One hook run: the command started in a process group of its own with its description on
//! stdin and `DDM_*` in its environment, watched by a thread of its own, and killed (the
//! whole group: a shell's children too) when it outlives the time limit or ddm stops. Its exit
//! status and what it printed (the first 8 KiB of stdout and of stderr) go to the log; the
//! program's arguments do not (a user may put a token there).
//!
//! A command that cannot start (no such program, not executable) is logged with the reason
//! and the key to fix; nothing else happens: a hook never fails a job or a runner.

use super::describe::Description;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What is kept of each of a hook's output streams for the log.
const KEEP: usize = 8 << 10;
/// Between SIGTERM to the group and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(1);
/// How long the watcher waits for the output after the command ended (a process the hook
/// left in the background may hold its pipes open).
const OUTPUT_GRACE: Duration = Duration::from_millis(500);
/// Longer than a kill takes to end a hook and its watcher (`TERM_GRACE` + `OUTPUT_GRACE`).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The hooks running now, shared with their watchers.
#[derive(Debug, Default)]
pub struct Live {
    running: Mutex<usize>,
    changed: Condvar,
    /// Kill every running hook now (ddm was interrupted).
    pub kill: AtomicBool,
}

impl Live {
    fn enter(&self) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
    fn leave(&self) {
        let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        self.changed.notify_all();
    }
    /// Hooks still running after waiting at most `limit` for them to end.
    pub fn wait(&self, limit: Duration) -> usize {
        let n = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let (n, _) = self
            .changed
            .wait_timeout_while(n, limit, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *n
    }
}

/// The first bytes a stream printed, and whether there was more.
#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    more: bool,
}

fn capture(
    r: Option<impl Read + Send + 'static>,
) -> (Arc<Mutex<Captured>>, Option<JoinHandle<()>>) {
    let kept = Arc::new(Mutex::new(Captured::default()));
    let handle = r.and_then(|mut r| {
        let kept = kept.clone();
        std::thread::Builder::new()
            .name("ddm-hook-out".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = r.read(&mut buf) {
                    let mut k = kept.lock().unwrap_or_else(|e| e.into_inner());
                    let room = KEEP.saturating_sub(k.bytes.len());
                    k.bytes.extend_from_slice(&buf[..n.min(room)]);
                    k.more |= n > room;
                }
            })
            .ok()
    });
    (kept, handle)
}

/// How a hook ended.
enum Ended {
    Exited(ExitStatus),
    /// Killed, and why.
    Killed(String),
}

/// Start `argv` for `what` (`on_complete (job 3)`); returns at once, a thread watches it.
pub fn start(live: &Arc<Live>, what: String, argv: &[String], d: Description, timeout: Duration) {
    let program = argv[0].clone();
    let mut cmd = Command::new(&program);
    // Every `DDM_*` it sees is ours (an inherited `DDM_JOB_ID` would lie); `DDM_HOME` stays,
    // so a `ddm` the hook runs finds the same data directory.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("DDM_") && k != "DDM_HOME" {
            cmd.env_remove(&*k);
        }
    }
    cmd.args(&argv[1..])
        .envs(d.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                "hook {what}: cannot start {program:?}: {e} (the command is [hooks] in config.toml)"
            );
            return;
        }
    };
    live.enter();
    let pid = child.id();
    let watcher = {
        let live = live.clone();
        let (what, program) = (what.clone(), program.clone());
        move || {
            watch(&mut child, &what, &program, d.json, timeout, &live);
            live.leave();
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("ddm-hook".into())
        .spawn(watcher)
    {
        kill_group(pid, libc::SIGKILL);
        live.leave();
        tracing::warn!("hook {what}: {program:?} killed: no thread to watch it ({e})");
    }
}

fn kill_group(pid: u32, signal: i32) {
    // SAFETY: killpg takes plain integers; the group is the hook's own (process_group(0)).
    unsafe { libc::killpg(pid as libc::pid_t, signal) };
}

/// Feed stdin, wait for the end (killing at the limit), log the outcome.
fn watch(
    child: &mut Child,
    what: &str,
    program: &str,
    json: String,
    timeout: Duration,
    live: &Live,
) {
    let begin = Instant::now();
    if let Some(mut stdin) = child.stdin.take() {
        // Its own thread: a hook that never reads must not hold the watcher (the pipe takes
        // 64 KiB, but a URL can be long).
        let _ = std::thread::Builder::new()
            .name("ddm-hook-in".into())
            .spawn(move || {
                let _ = stdin.write_all(json.as_bytes());
                let _ = stdin.write_all(b"\n");
            });
    }
    let (out, out_h) = capture(child.stdout.take());
    let (err, err_h) = capture(child.stderr.take());
    let ended = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Ended::Exited(st),
            Ok(None) => {}
            Err(e) => break Ended::Killed(format!("(cannot wait for it: {e})")),
        }
        let why = if live.kill.load(Ordering::Relaxed) {
            Some("because ddm stopped".to_string())
        } else if begin.elapsed() >= timeout {
            Some(format!(
                "after {} s, its time limit ([hooks] timeout_secs)",
                timeout.as_secs()
            ))
        } else {
            None
        };
        if let Some(why) = why {
            stop(child);
            break Ended::Killed(why);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = begin.elapsed().as_secs_f64();
    let until = Instant::now() + OUTPUT_GRACE;
    for h in [&out_h, &err_h].into_iter().flatten() {
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let output = [("stdout", &out), ("stderr", &err)]
        .into_iter()
        .map(|(name, c)| {
            let c = c.lock().unwrap_or_else(|e| e.into_inner());
            let text = String::from_utf8_lossy(&c.bytes);
            let text = text.trim();
            match (text.is_empty(), c.more) {
                (true, _) => String::new(),
                (false, false) => format!("; {name}: {text:?}"),
                (false, true) => format!("; {name} (first 8 KiB): {text:?}"),
            }
        })
        .collect::<String>();
    match ended {
        Ended::Exited(st) if st.success() => {
            tracing::info!("hook {what}: {program:?} exited 0 after {took:.2} s{output}")
        }
        Ended::Exited(st) => {
            let how = match (st.code(), st.signal()) {
                (Some(c), _) => format!("exited with status {c}"),
                (None, Some(s)) => format!("ended by signal {s}"),
                _ => format!("ended ({st})"),
            };
            tracing::warn!("hook {what}: {program:?} {how} after {took:.2} s{output}")
        }
        Ended::Killed(why) => tracing::warn!("hook {what}: {program:?} killed {why}{output}"),
    }
}

/// SIGTERM to the hook's group, SIGKILL after a grace (and to the group anyway: children a
/// shell left behind), then reap.
fn stop(child: &mut Child) {
    let pid = child.id();
    kill_group(pid, libc::SIGTERM);
    let until = Instant::now() + TERM_GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_group(pid, libc::SIGKILL);
    let _ = child.wait();
}

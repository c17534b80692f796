//! What a hook is told: a JSON description of the job (or of the runner's queue) on stdin,
//! and the same essentials in `DDM_*` environment variables.
//!
//! Invariant: no secret goes in. The URL's password is redacted (`u:***@`) as everywhere
//! else; headers, cookies, credentials and mirrors are never described; an error message
//! goes through the same redaction. Every `DDM_*` variable is always set (empty when
//! unknown), so a script under `set -u` works and none comes from ddm's own environment.

use super::config::Hook;
use crate::model::{redact_text, redact_url, ErrorKind};
use crate::store::Job;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::SystemTime;

/// What the runner knew when the event came; the rest is read from the store on the hooks'
/// own thread.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `running`, `done`, `failed` or `waiting`.
    pub status: &'static str,
    /// The name the job saves under, once known.
    pub name: Option<String>,
    pub size: Option<u64>,
    /// Where the finished file is.
    pub path: Option<PathBuf>,
    /// Body bytes received in this run.
    pub received: Option<u64>,
    pub error_kind: Option<ErrorKind>,
    pub error_message: Option<String>,
    pub started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
}

/// Counts of a runner's jobs since it last went idle (or started), for `on_queue_empty`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub ran: usize,
    pub done: usize,
    pub failed: usize,
    pub waiting: usize,
    pub stopped: usize,
    pub received: u64,
}

/// Stdin and environment of one hook run.
#[derive(Debug, Clone)]
pub struct Description {
    pub json: String,
    pub env: Vec<(&'static str, String)>,
}

/// The job's GID as `ddm serve` shows it to aria2's clients: 16 hex digits of the id.
pub fn gid(id: i64) -> String {
    format!("{:016x}", id as u64)
}

/// Seconds since the Unix epoch, to the millisecond.
fn unix(t: SystemTime) -> f64 {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    d as f64 / 1000.0
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.replace('\0', "\\0"),
        v => v.to_string(),
    }
}

/// The digest the finished file was checked against, `ALGO:HEX` (only a done job, and only
/// when it had one to check).
fn verified(job: &Job) -> Option<String> {
    let c = crate::engine::checksum::expected(job).ok()??;
    let (algo, hex) = c.split_once(':')?;
    Some(format!(
        "{}:{}",
        algo.to_ascii_lowercase(),
        hex.to_ascii_lowercase()
    ))
}

/// A job's event. `job` is the store's record (None when it could not be read, e.g. removed
/// meanwhile: then only what the runner knew is told).
pub fn job(hook: Hook, runner: &str, id: i64, job: Option<&Job>, f: &Facts) -> Description {
    let name = job.and_then(|j| j.file_name.clone()).or(f.name.clone());
    let dir = job.map(|j| j.dest_dir.clone());
    let path = f
        .path
        .clone()
        .or_else(|| Some(dir.clone()?.join(name.as_ref()?)));
    let checksum = match (hook, job) {
        (Hook::Complete, Some(j)) => verified(j),
        _ => None,
    };
    let sha256 = checksum
        .as_deref()
        .and_then(|c| c.strip_prefix("sha256:"))
        .map(str::to_string);
    let rule = job.and_then(|j| j.rule.as_ref());
    let elapsed = match (f.started, f.ended) {
        (Some(s), Some(e)) => e.duration_since(s).ok().map(|d| d.as_secs_f64()),
        _ => None,
    };
    let v = json!({
        "event": hook.event(),
        "runner": runner,
        "id": id,
        "gid": gid(id),
        "url": job.map(|j| redact_url(&j.url)),
        "name": name,
        "dir": dir.map(|d| d.display().to_string()),
        "path": path.map(|p| p.display().to_string()),
        "size": f.size.or(job.and_then(|j| j.size)),
        "received": f.received,
        "sha256": sha256,
        "checksum": checksum,
        "status": f.status,
        "error_kind": f.error_kind.map(|k| k.as_str()),
        "error_message": f.error_message.as_deref().map(redact_text),
        "queued_at": job.map(|j| j.created_at),
        "started_at": f.started.map(unix),
        "ended_at": f.ended.map(unix),
        "elapsed_secs": elapsed,
        // The routing rule that sent the job where it is (`[[rule]]`), if one did.
        "rule": rule.map(|r| json!({
            "index": r.index,
            "name": r.name,
            "label": r.label(),
        })),
    });
    let mut d = described(
        v,
        &[
            ("DDM_EVENT", "event"),
            ("DDM_RUNNER", "runner"),
            ("DDM_JOB_ID", "id"),
            ("DDM_GID", "gid"),
            ("DDM_URL", "url"),
            ("DDM_NAME", "name"),
            ("DDM_DIR", "dir"),
            ("DDM_PATH", "path"),
            ("DDM_SIZE", "size"),
            ("DDM_SHA256", "sha256"),
            ("DDM_STATUS", "status"),
            ("DDM_ERROR_KIND", "error_kind"),
            ("DDM_ERROR_MESSAGE", "error_message"),
            ("DDM_STARTED_AT", "started_at"),
            ("DDM_ENDED_AT", "ended_at"),
        ],
    );
    d.env
        .push(("DDM_RULE", rule.map(|r| r.label()).unwrap_or_default()));
    d
}

/// A runner's queue became empty.
pub fn queue_empty(runner: &str, c: &Counts, at: SystemTime) -> Description {
    let v = json!({
        "event": Hook::QueueEmpty.event(),
        "runner": runner,
        "status": "empty",
        "jobs_ran": c.ran,
        "jobs_done": c.done,
        "jobs_failed": c.failed,
        "jobs_waiting": c.waiting,
        "jobs_stopped": c.stopped,
        "received": c.received,
        "ended_at": unix(at),
    });
    described(
        v,
        &[
            ("DDM_EVENT", "event"),
            ("DDM_RUNNER", "runner"),
            ("DDM_STATUS", "status"),
            ("DDM_JOBS_RAN", "jobs_ran"),
            ("DDM_JOBS_DONE", "jobs_done"),
            ("DDM_JOBS_FAILED", "jobs_failed"),
            ("DDM_ENDED_AT", "ended_at"),
        ],
    )
}

/// The description: `v` as JSON, and `vars` (variable, key of `v`) as its environment.
fn described(v: serde_json::Value, vars: &[(&'static str, &str)]) -> Description {
    let env = vars
        .iter()
        .map(|(var, key)| (*var, text(&v[*key])))
        .collect();
    Description {
        json: v.to_string(),
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_password_reaches_a_hook_from_the_url_or_an_error_message() {
        let mut store = crate::store::Store::open_in_memory().unwrap();
        let new = crate::store::NewJob {
            url: "https://bob:hunter2@example.org/f.iso".into(),
            dest_dir: "/tmp".into(),
            file_name: None,
            settings: Default::default(),
            queue: Default::default(),
        };
        let id = crate::jobs::add(&mut store, &[new]).unwrap()[0];
        let rec = store.get(id).unwrap();
        let f = Facts {
            status: "failed",
            error_kind: Some(ErrorKind::Auth),
            error_message: Some("https://bob:hunter2@example.org/f.iso: HTTP 401".into()),
            ..Facts::default()
        };
        let d = job(Hook::Error, "run", id, Some(&rec), &f);
        assert!(!d.json.contains("hunter2"), "{}", d.json);
        assert!(d.json.contains("bob:***@example.org"), "{}", d.json);
        assert!(
            d.env.iter().all(|(_, v)| !v.contains("hunter2")),
            "{:?}",
            d.env
        );
        let v: serde_json::Value = serde_json::from_str(&d.json).unwrap();
        assert_eq!(
            (&v["error_kind"], &v["path"]),
            (&"auth".into(), &Value::Null)
        );
    }

    #[test]
    fn gids_are_16_hex_digits_of_the_id() {
        assert_eq!(gid(1), "0000000000000001");
        assert_eq!(gid(255), "00000000000000ff");
    }
}

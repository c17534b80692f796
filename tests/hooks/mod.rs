//! Hooks (issue 16.4): commands from `[hooks]` run by the real `ddm get`, `ddm run` and
//! `ddm serve`, checked from outside: what a recording script was given (stdin, environment)
//! and saw (the finished file), the log, the processes left behind and the time ddm took.

mod events;
mod limits;
mod serve;

use crate::util::Env;
use serde_json::Value;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A hook script that records each run in its own files: `EVENT-JOB-PID.json` (its stdin,
/// written last, by rename, so a `.json` means the record is whole), `.env` (every `DDM_*`
/// variable), `.allenv` (its whole environment), `.file` (present: the job's file was in
/// place when the hook ran); it prints a line on stdout and one on stderr.
pub(crate) struct Recorder {
    pub dir: PathBuf,
    pub script: PathBuf,
}

/// One run of the recording hook.
#[derive(Debug)]
pub(crate) struct Record {
    pub event: String,
    pub json: Value,
    pub env: HashMap<String, String>,
    /// The job's file existed when the hook ran.
    pub file_present: bool,
    /// Everything the hook was given (stdin and the whole environment), for secret checks.
    pub given: String,
}

pub(crate) fn script(path: &Path, body: &str) -> PathBuf {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

impl Recorder {
    pub fn new(env: &Env) -> Recorder {
        let dir = env.dir.path().join("records");
        std::fs::create_dir_all(&dir).unwrap();
        let body = format!(
            "n=\"{}/$DDM_EVENT-$DDM_JOB_ID-$$\"\n\
             cat > \"$n.stdin\"\n\
             env | grep '^DDM_' > \"$n.env\"\n\
             env > \"$n.allenv\"\n\
             if [ -n \"$DDM_PATH\" ] && [ -f \"$DDM_PATH\" ]; then echo yes > \"$n.file\"; fi\n\
             echo \"hook-stdout-$DDM_EVENT\"\n\
             echo \"hook-stderr-$DDM_EVENT\" >&2\n\
             mv \"$n.stdin\" \"$n.json\"\n",
            dir.display()
        );
        let script = script(&env.dir.path().join("record.sh"), &body);
        Recorder { dir, script }
    }

    pub fn command(&self) -> String {
        format!("[{:?}]", self.script.display().to_string())
    }

    /// Every whole record so far.
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let stem = p.with_extension("");
            let read = |ext: &str| std::fs::read_to_string(stem.with_extension(ext));
            let text = std::fs::read_to_string(&p).unwrap();
            let json: Value = serde_json::from_str(text.trim())
                .unwrap_or_else(|e| panic!("hook stdin {}: {e}: {text:?}", p.display()));
            let env = read("env")
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let allenv = read("allenv").unwrap();
            out.push(Record {
                event: json["event"].as_str().unwrap_or_default().to_string(),
                json,
                env,
                file_present: read("file").is_ok(),
                given: format!("{text}\n{allenv}"),
            });
        }
        out.sort_by_key(|r| r.json["id"].as_i64());
        out
    }

    /// The records of `event`.
    pub fn of(&self, event: &str) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| r.event == event)
            .collect()
    }
}

/// `config.toml` with `[hooks]`: `(key, command as TOML)` and the time limit.
pub(crate) fn config(env: &Env, hooks: &[(&str, String)], timeout_secs: u64) {
    config_with(env, "", hooks, timeout_secs)
}

/// As [`config`], with top-level keys (`top`) before the table.
pub(crate) fn config_with(env: &Env, top: &str, hooks: &[(&str, String)], timeout_secs: u64) {
    let mut t = format!("{top}[hooks]\ntimeout_secs = {timeout_secs}\n");
    for (k, v) in hooks {
        t.push_str(&format!("{k} = {v}\n"));
    }
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), t).unwrap();
}

/// The JSON essentials a job's hook gets are also in its environment.
pub(crate) fn env_matches_json(r: &Record) {
    for (var, key) in [
        ("DDM_EVENT", "event"),
        ("DDM_JOB_ID", "id"),
        ("DDM_GID", "gid"),
        ("DDM_URL", "url"),
        ("DDM_PATH", "path"),
        ("DDM_SIZE", "size"),
        ("DDM_SHA256", "sha256"),
        ("DDM_STATUS", "status"),
        ("DDM_ERROR_KIND", "error_kind"),
        ("DDM_ERROR_MESSAGE", "error_message"),
        ("DDM_RUNNER", "runner"),
    ] {
        let want = match &r.json[key] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        assert_eq!(
            r.env.get(var).map(String::as_str),
            Some(want.as_str()),
            "{var} against {key}: {:?} / {}",
            r.env,
            r.json
        );
    }
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not).
pub(crate) fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

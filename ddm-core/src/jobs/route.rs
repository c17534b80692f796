//! Applying a routing rule (`rules`) to a job. The choice is `rules::route`'s; here is what a
//! rule does to the job it routes, in the two places it can be decided:
//!
//! - when the job is added ([`at_add`]), for rules decided by the URL alone (its host, its
//!   pattern, or a name the user gave with `-o`): so a rule's priority orders the queue;
//! - with the first answer ([`at_answer`], from the engine's prepare step, before the name is
//!   reserved), for rules on the server's name or Content-Type, when none was decided before.
//!
//! A rule fills what the user left open and never overrides what was asked: `-d`/`-o` (RPC
//! `dir`/`out`) keep the directory, `-c`, `--limit-rate`, `--checksum` and a priority other
//! than normal keep theirs. A rule's `dir` is absolute or under the directory the job would
//! have gone to (created as needed); the job records that directory (`base_dir`) so `ddm get`
//! of the same URL finds it again. The file's name is reserved in the rule's directory, whose
//! identity is recorded with the `.part` as for any job (`open_dir` checks it on every run).
//! A rule's checksum file is read when the rule applies; its line is picked by the name the
//! user asked for or the URL's, never the server's (as `--checksum-file`): a file without
//! such a line fails the job before a byte is written rather than skipping the check.

use super::{storage_error, store_error};
use crate::model::{ErrorKind, JobError};
use crate::rules::{self, Applied, Facts, Rule, Verdict};
use crate::storage::{Dir, StorageError};
use crate::store::{Job, JobSettings, NewJob, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Route `new` when the URL (and a name from `-o`) decide a rule; a rule that needs the
/// server's answer is left to [`at_answer`]. Err: the rule's directory cannot be made, or
/// its checksum file has no line for this download (the message names the rule).
pub fn at_add(rules: &[Rule], new: &mut NewJob) -> Result<Option<Applied>, String> {
    let f = Facts::offline(&new.url, new.file_name.as_deref());
    let Verdict::Applies { index, rule, why } = rules::route(rules, &f) else {
        return Ok(None);
    };
    let applied = Applied::new(index, rule, why);
    let label = applied.label();
    fill(rule, &mut new.settings, &new.url, new.file_name.as_deref())
        .map_err(|e| format!("{label}: {e}"))?;
    if new.queue.priority == 0 {
        new.queue.priority = rule.priority.unwrap_or(0);
    }
    if let Some(dir) = target(rule, &new.settings, &new.dest_dir) {
        make_dir(&dir).map_err(|e| format!("{label}: {}", e.message))?;
        if dir != new.dest_dir {
            new.queue.base_dir = Some(std::mem::replace(&mut new.dest_dir, dir));
        }
    }
    new.queue.rule = Some(applied.clone());
    Ok(Some(applied))
}

/// A job routed with its first answer: the job as it is now, the directory it saves into
/// when the rule moved it (open), and the rule.
#[derive(Debug)]
pub struct Routed {
    pub job: Job,
    pub dir: Option<Arc<Dir>>,
    pub applied: Applied,
}

/// Route `job` (claimed, its name not reserved yet) by the first answer: `name` is the name
/// it will get (the user's `-o` or the server's), `content_type` the answer's. None: it was
/// routed when added, or no rule applies. The rule, directory, settings and priority are
/// recorded in one transaction.
pub fn at_answer(
    store: &mut Store,
    job: &Job,
    rules: &[Rule],
    name: &str,
    content_type: Option<&str>,
) -> Result<Option<Routed>, JobError> {
    if job.rule.is_some() || rules.is_empty() {
        return Ok(None);
    }
    let f = Facts::answered(&job.url, name, content_type);
    let Verdict::Applies { index, rule, why } = rules::route(rules, &f) else {
        return Ok(None);
    };
    let applied = Applied::new(index, rule, why);
    let base = job.base_dir.clone().unwrap_or_else(|| job.dest_dir.clone());
    let moved = target(rule, &job.settings, &base).filter(|d| *d != job.dest_dir);
    let dir = match &moved {
        Some(d) => {
            make_dir(d)?;
            let open = Dir::open(d)
                .map_err(|e| storage_error(&StorageError::io("open directory", d, &e)))?;
            Some(Arc::new(open))
        }
        None => None,
    };
    let tx = store.begin().map_err(store_error)?;
    // Settings as they are now (`ddm limit` may have changed them since the claim).
    let mut now = tx.get(job.id).map_err(store_error)?;
    let asked = now.name_fixed.then_some(name);
    fill(rule, &mut now.settings, &now.url, asked).map_err(|e| {
        JobError::new(
            ErrorKind::Checksum,
            format!("{}: {e}; nothing was downloaded", applied.label()),
        )
    })?;
    if now.priority == 0 {
        now.priority = rule.priority.unwrap_or(0);
    }
    if let Some(d) = &moved {
        now.base_dir.get_or_insert(base);
        now.dest_dir = d.clone();
    }
    tx.set_route(
        job.id,
        &applied,
        &now.dest_dir,
        now.base_dir.as_deref(),
        &now.settings,
        now.priority,
    )
    .and_then(|()| tx.commit())
    .map_err(store_error)?;
    now.rule = Some(applied.clone());
    Ok(Some(Routed {
        job: now,
        dir,
        applied,
    }))
}

/// Where `rule` sends a job whose directory would be `base`, unless the user chose it.
fn target(rule: &Rule, s: &JobSettings, base: &Path) -> Option<PathBuf> {
    rule.dir_for(base).filter(|_| !s.dir_chosen)
}

/// Create a rule's directory (and its parents) when missing.
fn make_dir(d: &Path) -> Result<(), JobError> {
    if d.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(d)
        .map_err(|e| storage_error(&StorageError::io("create the rule's directory", d, &e)))?;
    tracing::info!("created directory {}", d.display());
    Ok(())
}

/// What a rule sets that the job's own settings left open. `asked`: the name the user gave
/// (`-o`), which picks the checksum file's line (else the URL's name).
fn fill(rule: &Rule, s: &mut JobSettings, url: &str, asked: Option<&str>) -> Result<(), String> {
    if s.connections.is_none() && rule.connections.is_some() {
        s.connections = rule.connections;
        s.connections_from_rule = true;
    }
    s.rate_limit = s.rate_limit.or(rule.rate);
    if rule.mirrors == Some(false) {
        s.mirrors.clear();
    }
    if let Some(f) = &rule.checksum_file {
        if s.checksum.is_none() && s.checksums.is_empty() {
            let text = crate::input::read_capped(f, crate::input::CHECKSUMS_CAP)
                .map_err(|e| format!("checksum_file: {e}"))?;
            let entries = crate::engine::checksum::parse_file(&String::from_utf8_lossy(&text));
            let line = crate::engine::checksum::pick_for(&entries, url, asked)
                .map_err(|e| format!("checksum_file {}: {e}", f.display()))?;
            s.checksum = Some(line);
        }
    }
    Ok(())
}

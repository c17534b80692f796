//! A fresh link for an unfinished job: `set-url`, and `get`/`add` of a URL that serves the
//! file of a job that stopped (paused, failed, interrupted or waiting for a link), which then
//! continues that job instead of starting a second download of the same file.
//!
//! **Only the same file gets the job's bytes.** A new link is a different source, so the one
//! rule of `identity` applies in full: the size and every validator both sides give must be
//! equal, and when no validator could be compared (one side has none) the new link proves it
//! with its bytes: a piece the job already has is fetched from it ([`PROOF`] bytes at most)
//! and compared with the `.part` file. A job with no byte yet has nothing to splice.
//!
//! **The job's runner picks the link up.** Giving a link bumps the job's `link_gen`: a runner
//! working the job (transferring, or waiting for this very link) takes it within a quarter
//! second without stopping (`engine/coordinator/link.rs`); a failed or waiting job is queued
//! again; a paused one stays paused unless the caller resumes it (`get`/`add` do).

use crate::http::HttpOptions;
use crate::identity::{self, Identity, Verdict};
use crate::jobs;
use crate::pieces::{piece_size_for, PieceMap};
use crate::resolver::{self, RemoteInfo};
use crate::storage::PartFile;
use crate::store::{Job, JobSettings, NewJob, StateKind, Store, StoreError};
use std::ops::Range;
use std::path::Path;

/// The most bytes compared when the headers prove nothing.
pub const PROOF: u64 = 64 * 1024;

/// How a new link was found to serve a job's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// A validator both sides give matched (and the size).
    Validators,
    /// No validator in common: these bytes the job has were fetched from it and matched.
    Bytes(Range<u64>),
    /// The job has no byte yet: nothing to splice.
    NothingKept,
}

/// Why a new link is not the job's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSame {
    /// What differs (`size …`, `ETag … → …`, or its bytes).
    Differs(String),
    /// Its headers prove nothing and its bytes could not be compared: why.
    Unproven(String),
    /// It serves no byte ranges: the job's bytes cannot be continued from it.
    NoRanges,
}

/// Does the new link, probed as `info` (with `opts`, the job's options for it), serve
/// `job`'s file? Network: the bytes are fetched when the headers prove nothing.
pub fn same_file(job: &Job, info: &RemoteInfo, opts: &HttpOptions) -> Result<Proof, NotSame> {
    let proven = match identity::compare(&Identity::of_job(job), &Identity::of_info(info)) {
        Verdict::Differs(d) => return Err(NotSame::Differs(d.join(", "))),
        Verdict::Same { proven } => proven,
    };
    if job.bytes_done == 0 {
        return Ok(Proof::NothingKept);
    }
    if !info.ranges {
        return Err(NotSame::NoRanges);
    }
    if proven {
        return Ok(Proof::Validators);
    }
    let at = proof_range(job).ok_or_else(|| {
        NotSame::Unproven("the job's saved progress does not match its file".into())
    })?;
    let ours = read_own(job, &at).map_err(NotSame::Unproven)?;
    let theirs = resolver::fetch_range(&info.final_url, opts, at.start, at.end - at.start)
        .map_err(|e| NotSame::Unproven(e.to_string()))?;
    if ours != theirs {
        let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        return Err(NotSame::Differs(format!(
            "its bytes {}-{} differ from those the job has (first at byte {})",
            at.start,
            at.end - 1,
            at.start + first.unwrap_or(0) as u64
        )));
    }
    Ok(Proof::Bytes(at))
}

/// The bytes to compare: the start of the first range the job has for sure (committed).
fn proof_range(job: &Job) -> Option<Range<u64>> {
    let size = job.size?;
    let piece = job.piece_size.unwrap_or_else(|| piece_size_for(size));
    let done = PieceMap::from_bytes(size, piece, &job.bitmap)?.done_ranges();
    let r = done.first()?;
    Some(r.start..r.end.min(r.start + PROOF))
}

/// Read bytes `at` of the job's own `.part` file (in its own directory).
fn read_own(job: &Job, at: &Range<u64>) -> Result<Vec<u8>, String> {
    let dir = jobs::open_dir(job).map_err(|e| e.message)?;
    let name = job.file_name.as_deref().ok_or("the job has no file yet")?;
    let file = PartFile::open_own_in(&dir, name, job.part_id, None)
        .map_err(|_| format!("its partial file {name}.part cannot be read"))?;
    let mut buf = vec![0u8; (at.end - at.start) as usize];
    file.read_at(&mut buf, at.start)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Why `set-url` left a job as it was.
#[derive(Debug, thiserror::Error)]
pub enum SetUrlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "job {0} is running; `--restart` discards its data, which needs it paused first \
         (`ddm pause {0}`)"
    )]
    RunningRestart(i64),
    #[error("job {0} is already done")]
    Done(i64),
    #[error(
        "the new URL serves a different file ({1}); the partial data of job {0} was kept. \
         `--restart` downloads from the new URL from zero"
    )]
    Differs(i64, String),
    #[error(
        "the new URL gives no ETag or Last-Modified to compare with what job {0} has, and its \
         bytes could not be compared ({1}); the partial data was kept. `--restart` downloads \
         from the new URL from zero"
    )]
    Unproven(i64, String),
    #[error(
        "the new URL does not serve byte ranges, so the partial data of job {0} cannot be \
         continued from it; `--restart` downloads from the new URL from zero"
    )]
    NoRanges(i64),
}

impl SetUrlError {
    fn of(id: i64, n: NotSame) -> Self {
        match n {
            NotSame::Differs(d) => SetUrlError::Differs(id, d),
            NotSame::Unproven(w) => SetUrlError::Unproven(id, w),
            NotSame::NoRanges => SetUrlError::NoRanges(id),
        }
    }
}

/// What `set-url` did.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlSet {
    /// Bytes of progress kept (0 after a restart or for a job that had none).
    pub kept: u64,
    pub restarted: bool,
    /// How the new link was found to serve the same file (None after a restart).
    pub proof: Option<Proof>,
    /// The job's state afterwards (a failed or waiting job is queued again; a running one
    /// stays its runner's, which takes the new link up).
    pub state: StateKind,
    /// A runner held the job waiting for a fresh link: it goes on with this one.
    pub was_waiting: bool,
}

/// `set-url`: give job `id` the URL `url`, which `info` describes (probed with `opts`, the
/// job's options for it). Progress is kept when the new URL serves the same file
/// ([`same_file`]); otherwise refused, naming the difference, unless `restart` (progress and
/// the job's own `.part` are discarded; not while a runner works the job). `settings`
/// replaces the job's settings (credentials moved or dropped by the caller).
pub fn set_url(
    store: &mut Store,
    id: i64,
    url: &str,
    info: &RemoteInfo,
    opts: &HttpOptions,
    restart: bool,
    settings: &JobSettings,
) -> Result<UrlSet, SetUrlError> {
    let job = store.get(id)?;
    // Checked before the transaction: it may ask the network. A job with nothing kept takes
    // any file.
    let proof = if restart {
        None
    } else if job.bytes_done == 0 {
        Some(Proof::NothingKept)
    } else {
        Some(same_file(&job, info, opts).map_err(|n| SetUrlError::of(id, n))?)
    };
    let tx = store.begin()?;
    let now = tx.get(id)?;
    match now.state.kind() {
        StateKind::Done => return Err(SetUrlError::Done(id)),
        StateKind::Running if restart => return Err(SetUrlError::RunningRestart(id)),
        _ => {}
    }
    // What it was checked against must still hold (a runner may have started it meanwhile).
    let known = |j: &Job| (j.size, j.etag.clone(), j.last_modified.clone(), j.part_id);
    if !restart && known(&now) != known(&job) && now.bytes_done > 0 {
        let v = identity::compare(&Identity::of_job(&now), &Identity::of_info(info));
        if let Verdict::Differs(d) = v {
            return Err(SetUrlError::Differs(id, d.join(", ")));
        }
    }
    if restart {
        jobs::delete_own_part(&now);
        tx.reset_progress(id)?;
    }
    let fresh = restart || now.final_url.is_none();
    tx.set_url(
        id,
        url,
        (!fresh).then_some(info.final_url.as_str()),
        if fresh { None } else { info.etag.as_deref() },
        if fresh {
            None
        } else {
            info.last_modified.as_deref()
        },
    )?;
    let mut settings = settings.clone();
    // A captured redirect chain's start belongs to the old URL.
    settings.origin_url = None;
    tx.set_settings(id, &settings)?;
    let state = tx.get(id)?.state.kind();
    tx.commit()?;
    Ok(UrlSet {
        kept: if restart { 0 } else { now.bytes_done },
        restarted: restart && now.bytes_done > 0,
        proof,
        state,
        was_waiting: now.waits_for_link().is_some(),
    })
}

/// The unfinished jobs in `dir` a fresh link could continue: stopped (queued, paused, failed,
/// waiting, or held by a runner waiting for a link), answered once (their name, size and
/// validators are known), with a name that `name` is (the name asked for with `-o`, else
/// None: any), among `jobs`. Cheap and offline: whether to probe a new URL at all.
pub fn candidates(jobs: &[Job], dir: &Path, name: Option<&str>) -> Vec<Job> {
    jobs.iter()
        .filter(|j| j.dest_dir == dir || j.base_dir.as_deref() == Some(dir))
        .filter(|j| j.final_url.is_some() && j.size.is_some())
        .filter(|j| match j.shown() {
            StateKind::Queued | StateKind::Paused | StateKind::Failed | StateKind::Waiting => true,
            StateKind::Running | StateKind::Done => false,
        })
        .filter(|j| name.is_none_or(|n| j.file_name.as_deref().is_some_and(|f| named(f, n))))
        .cloned()
        .collect()
}

/// Is `file` the name `wanted`, or the name a job got for it when `wanted` was taken
/// (`wanted (N).ext`)?
fn named(file: &str, wanted: &str) -> bool {
    let mut tries = 0;
    let got = crate::filename::unique_name(wanted, |c| {
        tries += 1;
        tries <= 100 && c != file
    });
    got == file
}

/// Of `candidates`, the job whose file the new link (probed as `info` with `opts`) serves:
/// the same name (`name`, asked for with `-o`, else the one the server gives), the same size
/// and validators, or the same bytes ([`same_file`]). The newest such job.
pub fn find_attachable(
    candidates: &[Job],
    name: Option<&str>,
    info: &RemoteInfo,
    opts: &HttpOptions,
) -> Option<(Job, Proof)> {
    let wanted = name.unwrap_or(&info.filename);
    candidates
        .iter()
        .rev()
        .filter(|j| j.file_name.as_deref().is_some_and(|f| named(f, wanted)))
        .find_map(|j| same_file(j, info, opts).ok().map(|p| (j.clone(), p)))
}

/// `get`/`add` of `new`: when an unfinished job in its directory (other than one for the same
/// URL, which continues anyway) may be the file it serves, the new URL is probed and, if it
/// serves that job's file ([`find_attachable`]), attached to it ([`attach`]). Returns the job
/// (as it was) and how it was found the same; None when there is no such job (no request is
/// made when no job could be it) or the probe failed (logged: the new job will say why).
pub fn continue_with(
    store: &mut Store,
    new: &NewJob,
    cfg: &crate::config::Config,
) -> Result<Option<(Job, Proof)>, StoreError> {
    let jobs = store.list()?;
    // An unfinished job for this very URL continues as it is (`jobs::continue_or_add`).
    let same_url = jobs.iter().any(|j| {
        j.url == new.url
            && (j.dest_dir == new.dest_dir || j.base_dir.as_ref() == Some(&new.dest_dir))
            && !j.state.is_done()
            && (new.file_name.is_none() || j.file_name == new.file_name)
    });
    let found = candidates(&jobs, &new.dest_dir, new.file_name.as_deref());
    if same_url || found.is_empty() {
        return Ok(None);
    }
    let opts = match crate::engine::http_for(&new.url, &new.settings, cfg) {
        Ok(o) => o,
        Err(e) => {
            tracing::info!("not checking whether it continues a job: {}", e.message);
            return Ok(None);
        }
    };
    let info = match resolver::probe(&new.url, &opts) {
        Ok(i) => i,
        Err(e) => {
            tracing::info!("not checking whether it continues a job: {e}");
            return Ok(None);
        }
    };
    let Some((job, proof)) = find_attachable(&found, new.file_name.as_deref(), &info, &opts) else {
        return Ok(None);
    };
    let was = attach(store, &job, new, &info)?;
    Ok(Some((was, proof)))
}

/// Attach the new link `new` (probed as `info`) to `job`: its URL, validators and settings
/// become the new ones, its progress stays; a stopped job is queued again (a runner working
/// it takes the link up). Returns the job as it was.
pub fn attach(
    store: &mut Store,
    job: &Job,
    new: &NewJob,
    info: &RemoteInfo,
) -> Result<Job, StoreError> {
    let tx = store.begin()?;
    let now = tx.get(job.id)?;
    tx.set_url(
        job.id,
        &new.url,
        Some(info.final_url.as_str()),
        info.etag.as_deref(),
        info.last_modified.as_deref(),
    )?;
    let mut settings = new.settings.clone();
    settings.origin_url = None;
    tx.set_settings(job.id, &settings)?;
    tx.commit()?;
    if now.state.kind() == StateKind::Paused {
        store.resume(&[job.id])?;
    }
    Ok(now)
}

#[cfg(test)]
mod tests {
    use super::named;

    #[test]
    fn a_job_under_the_name_it_got_for_a_taken_one_is_that_name() {
        assert!(named("f.bin", "f.bin"));
        assert!(named("f (1).bin", "f.bin"));
        assert!(named("a (3).tar.gz", "a.tar.gz"));
        assert!(!named("g.bin", "f.bin"));
        assert!(!named("f.bin", "f (1).bin"));
        assert!(!named("f (1).bin.part", "f.bin"));
    }
}

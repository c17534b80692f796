//! The job lifecycle, in one place for every verb: adding jobs (`add.rs`: continue-or-add for
//! `ddm get`, a finished job not downloaded again, a name the user gave never taken from
//! someone else), name reservation, recognising a job that already finished, and deleting
//! only the files a job created (`remove`, `resume --restart`).
//!
//! **One name, one job, atomically.** Choosing a file name, creating its `.part` file
//! (`O_CREAT|O_EXCL|O_NOFOLLOW`) and recording both the name and the file's identity happen
//! inside one `BEGIN IMMEDIATE` transaction, checked against the disk *and* every other
//! unfinished job's name in that directory, so two jobs (of one runner or of several
//! processes) can never share a file. A crash inside that window (between `open` and the
//! commit, microseconds) can leave an empty `.part` that no job owns; nothing is ever
//! written into a file the job does not own.
//!
//! **The directory is the one the job started in.** A run opens the job's destination
//! directory once ([`open_dir`]) and does everything relative to that handle; the directory's
//! identity is recorded with the `.part` file, and a later run that finds another directory at
//! that path (swapped for a symlink or another directory) fails without writing there.
//!
//! **The end of a job is idempotent.** The final rename keeps the inode, so a job whose
//! `.part` is gone but whose final file is the regular file with its recorded identity (and
//! size) is done: it is recorded as done, never downloaded again.

mod add;
pub mod route;

pub use add::{add, continue_or_add, AddError, GetPlan};

use crate::filename::unique_name;
use crate::model::{ErrorKind, JobError};
use crate::storage::{self, part_name, part_path, Dir, Found, PartFile};
use crate::store::{Job, RemoteMeta, StateKind, Store, StoreError};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// A store failure as a job error (the database could not be written).
pub fn store_error(e: StoreError) -> JobError {
    let kind = if e.is_no_space() {
        ErrorKind::NoSpace
    } else {
        ErrorKind::Store
    };
    JobError::new(kind, e.to_string())
}

/// A destination failure as a job error.
pub fn storage_error(e: &storage::StorageError) -> JobError {
    let kind = if matches!(e.errno, Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
        ErrorKind::NoSpace
    } else {
        ErrorKind::Storage
    };
    JobError::new(kind, e.to_string())
}

/// Open the job's destination directory for this run: the directory at its path, which must
/// be the one the job created its `.part` file in when that is recorded. A directory swapped
/// for a symlink or another directory since is refused, naming the path; nothing is written.
pub fn open_dir(job: &Job) -> Result<Arc<Dir>, JobError> {
    let path = &job.dest_dir;
    let dir = Dir::open(path)
        .map_err(|e| storage_error(&storage::StorageError::io("open directory", path, &e)))?;
    let id = dir
        .id()
        .map_err(|e| storage_error(&storage::StorageError::io("stat", path, &e)))?;
    if job.dir_id.is_some_and(|rec| rec != id) {
        return Err(JobError::new(
            ErrorKind::DirChanged,
            format!(
                "the destination directory {} is not the one this job started in: it was \
                 replaced (by a symlink or another directory) since; nothing was written \
                 there, and the partial data stays in the original directory",
                path.display()
            ),
        ));
    }
    Ok(Arc::new(dir))
}

/// The job's destination directory, if it is still the one the job recorded (or none was
/// recorded): where `remove` and `--restart` may delete the job's files.
pub(super) fn own_dir(job: &Job) -> Option<Dir> {
    let dir = Dir::open(&job.dest_dir).ok()?;
    match job.dir_id {
        Some(rec) if dir.id().ok()? != rec => None,
        _ => Some(dir),
    }
}

/// Delete the `.part` file the job created, if it is still there (identity checked, in the
/// job's own directory). Returns whether it was deleted.
pub(crate) fn delete_own_part(job: &Job) -> bool {
    match (own_dir(job), &job.file_name, job.part_id) {
        (Some(dir), Some(name), Some(fid)) => dir.remove_own(part_name(name), fid).unwrap_or(false),
        _ => false,
    }
}

/// A job that ends (failed, or interrupted) before any byte of it was durable holds no
/// space: the `.part` file it created, preallocated to the whole size, is deleted (identity
/// checked, in its own directory). The name stays the job's; the next run reserves it again.
/// (A paused job keeps its file: its state is another process's to change meanwhile.)
pub fn drop_unused_part(store: &Store, id: i64) {
    let Ok(job) = store.get(id) else {
        return;
    };
    if job.bytes_done == 0 && delete_own_part(&job) {
        tracing::debug!(
            job = id,
            "no data arrived: its reserved .part file was deleted"
        );
    }
}

/// A `.part` file reserved for a job: its name and the open file.
#[derive(Debug)]
pub struct Reserved {
    pub name: String,
    pub file: PartFile,
}

/// Reserve a name for `job` (starting from `wanted`) in `dir` (its destination, open), create
/// its `.part` file exclusively and record it, the directory's identity, `meta` and a fresh
/// `bitmap`, all in one transaction. With `exact` (a name the user gave, `-o NAME`) only
/// `wanted` will do: taken, the job fails (`exists`) rather than saving as `NAME (1)`.
pub fn reserve(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    wanted: &str,
    exact: bool,
    meta: &RemoteMeta,
    bitmap: &[u8],
) -> Result<Reserved, JobError> {
    let dir_id = dir
        .id()
        .map_err(|e| storage_error(&storage::StorageError::io("stat", dir.path(), &e)))?;
    let tx = store.begin().map_err(store_error)?;
    let in_use = tx
        .names_in_use(&job.dest_dir, job.id)
        .map_err(store_error)?;
    // Candidates another process created between our look and our O_EXCL.
    let mut lost: HashSet<String> = HashSet::new();
    let (name, file) = loop {
        let name = unique_name(wanted, |c| {
            lost.contains(c) || in_use.contains(c) || name_taken(dir, c, job.settings.overwrite)
        });
        if exact && name != wanted {
            return Err(name_gone(job, dir, wanted, in_use.contains(wanted)));
        }
        match PartFile::create_in(dir, &name) {
            Ok(f) => break (name, f),
            Err(e) if e.kind == std::io::ErrorKind::AlreadyExists && lost.len() < 1000 => {
                lost.insert(name);
            }
            Err(e) => return Err(storage_error(&e)),
        }
    };
    let id = file.id().map_err(|e| storage_error(&e))?;
    let meta = RemoteMeta {
        file_name: name.clone(),
        ..meta.clone()
    };
    let saved = tx
        .save_remote(job.id, &meta, bitmap, Some(id), Some(dir_id))
        .and_then(|()| tx.commit());
    if let Err(e) = saved {
        let _ = dir.remove_own(part_name(&name), id);
        return Err(store_error(e));
    }
    Ok(Reserved { name, file })
}

/// Why a name the user gave cannot be reserved.
fn name_gone(job: &Job, dir: &Dir, wanted: &str, other_job: bool) -> JobError {
    let path = dir.join(wanted);
    let why = if other_job {
        format!("another unfinished job saves to {}", path.display())
    } else if job.settings.overwrite || dir.taken(part_name(wanted)) {
        format!(
            "{} exists and is not this job's",
            part_path(&path).display()
        )
    } else {
        format!(
            "{} exists (it appeared after the job was queued); ddm does not replace a file \
             unless asked",
            path.display()
        )
    };
    JobError::new(
        ErrorKind::Exists,
        format!("{why}; nothing was written, and not under another name either"),
    )
}

/// Is `name` in `dir` unavailable on disk? Its `.part` always counts (even a dangling
/// symlink); the final name too unless the job may overwrite it.
fn name_taken(dir: &Dir, name: &str, overwrite: bool) -> bool {
    dir.taken(part_name(name)) || (!overwrite && dir.taken(name))
}

/// Start `job` over under its current name, reusing its own `.part` file when it is still
/// there (emptied); otherwise reserve a name again from the same one.
pub fn restart_in_place(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    name: &str,
    meta: &RemoteMeta,
    bitmap: &[u8],
) -> Result<Reserved, JobError> {
    match (
        job.part_id,
        PartFile::open_own_in(dir, name, job.part_id, None),
    ) {
        (Some(id), Ok(file)) => {
            let dir_id = dir
                .id()
                .map_err(|e| storage_error(&storage::StorageError::io("stat", dir.path(), &e)))?;
            file.reset().map_err(|e| storage_error(&e))?;
            let meta = RemoteMeta {
                file_name: name.to_string(),
                ..meta.clone()
            };
            let tx = store.begin().map_err(store_error)?;
            tx.save_remote(job.id, &meta, bitmap, Some(id), Some(dir_id))
                .and_then(|()| tx.commit())
                .map_err(store_error)?;
            Ok(Reserved {
                name: name.to_string(),
                file,
            })
        }
        _ => reserve(store, job, dir, name, false, meta, bitmap),
    }
}

/// The finished file of a job whose `.part` is gone, if it is the file the job created (same
/// identity, and the recorded size when known) in `dir` (its directory, open): the job is done.
pub fn finished_file(job: &Job, dir: &Dir) -> Option<PathBuf> {
    let id = job.part_id?;
    let name = job.file_name.as_deref()?;
    if dir.look(part_name(name)).ok()? != Found::Nothing {
        return None;
    }
    match dir.look(name).ok()? {
        Found::File(found, len) if found == id && job.size.is_none_or(|s| s == len) => {
            Some(dir.join(name))
        }
        _ => None,
    }
}

/// What `remove` did with a job's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub job: Job,
    /// The `.part` file was deleted.
    pub part_deleted: bool,
    /// The finished file was deleted (only when asked and it is the job's own file).
    pub file_deleted: bool,
    /// A file at the job's path that ddm left because the job did not create it.
    pub left_alone: Option<PathBuf>,
}

/// Forget a job and delete the `.part` file it created (never a file it did not create:
/// another tool's `x.part`, the `.part` of another job now using that name, or anything in a
/// directory that replaced the job's). With `delete_file`, a finished job's file is deleted
/// too, under the same rule.
pub fn remove(store: &mut Store, id: i64, delete_file: bool) -> Result<Removed, StoreError> {
    let job = store.remove(id)?;
    let mut out = Removed {
        job,
        part_deleted: false,
        file_deleted: false,
        left_alone: None,
    };
    let (Some(dest), Some(name)) = (out.job.path(), out.job.file_name.clone()) else {
        return Ok(out);
    };
    let part = part_path(&dest);
    let dir = own_dir(&out.job);
    let delete = |n: &str| match (&dir, out.job.part_id) {
        (Some(d), Some(fid)) => d.remove_own(n, fid).unwrap_or(false),
        _ => false,
    };
    out.part_deleted = delete(&part_name(&name));
    if !out.part_deleted && storage::taken(&part) {
        out.left_alone = Some(part);
    }
    if delete_file && out.job.state.is_done() {
        out.file_deleted = delete(&name);
        if !out.file_deleted && storage::taken(&dest) {
            out.left_alone = Some(dest);
        }
    }
    Ok(out)
}

/// `resume --restart`: forget a paused, failed or queued job's progress and delete the
/// `.part` file it created. Returns false (nothing changed) for a running or done job.
pub fn restart(store: &mut Store, id: i64) -> Result<bool, StoreError> {
    let tx = store.begin()?;
    let job = tx.get(id)?;
    if matches!(job.state.kind(), StateKind::Running | StateKind::Done) {
        return Ok(false);
    }
    delete_own_part(&job);
    tx.reset_progress(id)?;
    tx.commit()?;
    Ok(true)
}

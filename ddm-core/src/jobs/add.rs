//! Adding jobs (`ddm get`, `ddm add`, `ddm import-har`), and what `get` does when it meets
//! the same download again:
//!
//! - an unfinished job for the same URL and destination is continued (its settings replaced
//!   by the new ones);
//! - a finished one whose file is still in place as it left it (the regular file with its
//!   recorded identity and size, no `.part`, in the directory it was made in) is done:
//!   nothing is asked or written. `--overwrite` asks for a fresh copy instead;
//! - a name the user gave (`-o NAME`) is never quietly changed into `NAME (1)`: a file or
//!   link at NAME (unless `--overwrite`) or at `NAME.part`, or another unfinished job saving
//!   to NAME, refuses the job before anything is queued or asked. One appearing at NAME after
//!   the job was queued is refused when the job reserves its name (`exists`, see `reserve`).
//!
//! Each is decided in the transaction that adds the job, so two processes cannot both pass.

use super::{finished_file, own_dir};
use crate::storage::{self, part_path};
use crate::store::{Job, NewJob, Store, StoreError, StoreTx};
use std::path::PathBuf;

/// What `ddm get` does with its URL.
#[derive(Debug)]
pub enum GetPlan {
    /// Run this job: a new one, or (with the job as it was) the unfinished one for the same
    /// URL and destination.
    Run(i64, Option<Job>),
    /// The same download finished before and its file is still in place: nothing to do.
    Done(Job, PathBuf),
}

/// Why a job was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `-o NAME` names a file (or link) that exists, and no job of this download made it.
    #[error(
        "{} already exists; ddm does not replace a file unless asked: --overwrite replaces it, \
         or -o names another file",
        .0.display()
    )]
    Exists(PathBuf),
    /// `NAME.part` exists and is not this download's.
    #[error(
        "{} already exists and is not a partial download of this URL; move it away, or -o \
         names another file",
        .0.display()
    )]
    PartExists(PathBuf),
    /// Another unfinished job saves to NAME.
    #[error(
        "job {id} ({state}) saves to {}: `ddm remove {id}` forgets it, or -o names another file",
        path.display()
    )]
    InUse {
        path: PathBuf,
        id: i64,
        state: &'static str,
    },
}

/// `ddm get`: continue the unfinished job for the same URL and destination, say the finished
/// one is done, or add a new job (its name checked).
pub fn continue_or_add(store: &mut Store, new: &NewJob) -> Result<GetPlan, AddError> {
    let tx = store.begin()?;
    let name = new.file_name.as_deref();
    if let Some(job) = tx.find_unfinished(&new.url, &new.dest_dir, name)? {
        tx.set_settings(job.id, &new.settings)?;
        tx.commit()?;
        return Ok(GetPlan::Run(job.id, Some(job)));
    }
    if !new.settings.overwrite {
        // Without -o, a copy saved under a name the user chose is not this download.
        if let Some(job) = tx.find_done(&new.url, &new.dest_dir, name)? {
            if let Some(path) = own_dir(&job).and_then(|d| finished_file(&job, &d)) {
                return Ok(GetPlan::Done(job, path));
            }
        }
    }
    check_name(&tx, new)?;
    let id = tx.add(new)?;
    tx.commit()?;
    Ok(GetPlan::Run(id, None))
}

/// `ddm add`, `ddm import-har`: add all of `jobs` or none, each name the user gave checked.
pub fn add(store: &mut Store, jobs: &[NewJob]) -> Result<Vec<i64>, AddError> {
    let tx = store.begin()?;
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        check_name(&tx, job)?;
        ids.push(tx.add(job)?);
    }
    tx.commit()?;
    Ok(ids)
}

/// A name the user gave must be free: nothing at `NAME.part`, nothing at NAME unless the job
/// may overwrite it, and no other unfinished job saving to it.
fn check_name(tx: &StoreTx<'_>, new: &NewJob) -> Result<(), AddError> {
    let Some(name) = &new.file_name else {
        return Ok(());
    };
    let path = new.dest_dir.join(name);
    if let Some(other) = tx.find_named(&new.dest_dir, name)? {
        return Err(AddError::InUse {
            path,
            id: other.id,
            state: other.state.name(),
        });
    }
    let part = part_path(&path);
    if storage::taken(&part) {
        return Err(AddError::PartExists(part));
    }
    if !new.settings.overwrite && storage::taken(&path) {
        return Err(AddError::Exists(path));
    }
    Ok(())
}

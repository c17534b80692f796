//! The end of a job whose every piece is done: the expected checksum (if any) is verified
//! reading the open `.part` file, then fsync and an atomic rename in the job's directory,
//! which never replaces an existing file or symlink unless the job may overwrite (the next
//! free name instead), and one store statement records `done` with the final name. A
//! mismatch keeps `NAME.part` and fails. Everything goes through the directory handle the
//! run opened: a directory swapped meanwhile is never written through.

use super::{checksum, Event, Note, Observer, Outcome};
use crate::jobs::{storage_error, store_error};
use crate::model::{ErrorKind, JobError};
use crate::storage::{part_name, PartFile};
use crate::store::{Job, Store};
use std::path::PathBuf;
use std::time::Instant;

/// The job's expected checksum (`--checksum`, or the line of its `--checksum-file` picked
/// by the name the user asked for, never the server's), checked against the file's bytes.
pub(super) fn verify(job: &Job, file: &PartFile, obs: &mut dyn Observer) -> Result<(), JobError> {
    let expected = match checksum::expected(job) {
        Ok(Some(e)) => e,
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(JobError::new(
                ErrorKind::Checksum,
                format!(
                    "checksum file: {e}; the data is kept as {}",
                    file.path().display()
                ),
            ))
        }
    };
    obs.event(Event::Said(Note::VerifyingChecksum));
    let reader = file.reader().map_err(|e| storage_error(&e))?;
    checksum::verify(reader, file.path(), &expected).map_err(|e| {
        JobError::new(
            ErrorKind::Checksum,
            format!(
                "{e}; the data is kept as {} and nothing was renamed",
                file.path().display()
            ),
        )
    })
}

/// Rename the finished `.part` into place. An existing file at the destination (or a
/// symlink, even dangling) is never replaced unless the job may overwrite: the download then
/// gets the next free name.
pub(super) fn finalize(
    file: &PartFile,
    base: &str,
    job: &Job,
    obs: &mut dyn Observer,
) -> Result<PathBuf, JobError> {
    let dir = file.dir().clone();
    let mut name = base.to_string();
    let mut tried = std::collections::HashSet::new();
    loop {
        match file.finalize(&name, job.settings.overwrite) {
            Ok(()) => return Ok(dir.join(&name)),
            Err(e) if e.kind == std::io::ErrorKind::AlreadyExists && tried.len() < 100 => {
                tried.insert(name.clone());
                let next = crate::filename::unique_name(base, |c| {
                    tried.contains(c) || dir.taken(c) || dir.taken(part_name(c))
                });
                obs.event(Event::Said(Note::Renamed {
                    from: dir.join(&name),
                    to: next.clone(),
                }));
                name = next;
            }
            Err(e) => return Err(storage_error(&e)),
        }
    }
}

/// The file is in place: the job is done, in one store write.
pub(super) fn record_done(
    store: &mut Store,
    id: i64,
    path: PathBuf,
    size: u64,
    moved: u64,
    started: Instant,
) -> Outcome {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Err(e) = store.complete(id, &name, size) {
        let mut err = store_error(e);
        err.message = format!(
            "{} is complete, but the job database could not record it: {}",
            path.display(),
            err.message
        );
        return Outcome::Failed(err);
    }
    Outcome::Done {
        path,
        size,
        moved,
        elapsed: started.elapsed(),
    }
}

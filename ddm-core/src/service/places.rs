//! Where a service's jobs go: the default directory, the other directories a front may name
//! (each must resolve, links followed, inside one of them; missing ones are created), and
//! the plain file names a front may give (as `-o` takes them).

use super::ServiceError;
use std::path::{Component, Path, PathBuf};

/// Where a service keeps files and what it may write to.
#[derive(Debug, Clone)]
pub struct Places {
    /// Where jobs added without a directory go.
    pub dir: PathBuf,
    /// Directories a front may name (the default one is always allowed).
    pub allowed: Vec<PathBuf>,
}

impl Places {
    /// The directory a front asked for, if it lies inside the allowed ones (created when
    /// missing).
    pub(super) fn directory(&self, asked: Option<&Path>) -> Result<PathBuf, ServiceError> {
        let Some(dir) = asked else {
            return Ok(self.dir.clone());
        };
        let refuse = |why: &str| {
            ServiceError::Invalid(format!(
                "dir {}: {why}; allowed: {} (config serve.allowed_dirs adds more)",
                dir.display(),
                self.roots()
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        if !dir.is_absolute() || dir.components().any(|c| c == Component::ParentDir) {
            return Err(refuse("give an absolute path without `..`"));
        }
        // The deepest part that exists, resolved (links included), must be inside a root.
        let mut existing = dir.to_path_buf();
        while !existing.exists() {
            if !existing.pop() {
                return Err(refuse("no part of it exists"));
            }
        }
        let real = existing
            .canonicalize()
            .map_err(|e| refuse(&e.to_string()))?;
        let inside = self
            .roots()
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| real.starts_with(&r));
        if !inside {
            return Err(refuse(
                "not inside the directories the service may write to",
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| refuse(&e.to_string()))?;
        Ok(dir.to_path_buf())
    }

    fn roots(&self) -> Vec<PathBuf> {
        let mut r = vec![self.dir.clone()];
        r.extend(self.allowed.iter().cloned());
        r
    }
}

/// A file name a front gave: a plain name, as `-o` takes it.
pub(super) fn plain_name(out: &str) -> Result<String, ServiceError> {
    let bad = out.is_empty()
        || out == "."
        || out == ".."
        || out.contains('/')
        || out.contains('\0')
        || out.len() > crate::filename::MAX_NAME_BYTES;
    if bad {
        return Err(ServiceError::Invalid(format!(
            "out {out:?}: give a plain file name (no `/`, not `..`, at most {} bytes); dir \
             says where it goes",
            crate::filename::MAX_NAME_BYTES
        )));
    }
    Ok(out.to_string())
}

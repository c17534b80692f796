//! The runner lock: one `ddm run` (or `ddm get`) per data directory.
//!
//! An exclusive `flock(2)` on `runner.lock` that the kernel drops when the process dies, so
//! a crashed runner never leaves a stale lock. The holder's pid is written into the file so a
//! second runner can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

#[derive(Debug)]
pub struct RunnerLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another ddm runner (pid {pid}) is working this data directory ({path}); wait for it, or use `ddm add` to queue work for it")]
    Held { pid: String, path: String },
    #[error("cannot open lock file {path}: {source}")]
    Io { path: String, source: io::Error },
}

impl RunnerLock {
    pub fn acquire(path: &Path) -> Result<RunnerLock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // Never truncate another file through a symlink put in the lock's place.
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io_err)?;
        // SAFETY: flock on a valid open descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Held {
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                    path: path.parent().unwrap_or(path).display().to_string(),
                });
            }
            return Err(io_err(err));
        }
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        write!(file, "{}", std::process::id()).map_err(io_err)?;
        file.flush().map_err(io_err)?;
        Ok(RunnerLock { _file: file })
    }
}

/// Is the process recorded in the lock file alive? (Read only: taking the lock just to look
/// would make a runner starting at that moment fail.)
pub fn holder_alive(path: &Path) -> bool {
    holder(path).is_some()
}

/// The pid of the runner working the data directory, if it is alive (read only, like
/// [`holder_alive`]).
pub fn holder(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid = text.trim().parse::<libc::pid_t>().ok().filter(|&p| p > 0)?;
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    let alive = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_names_holder_and_release_on_drop() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("runner.lock");
        let held = RunnerLock::acquire(&p).unwrap();
        // flock locks belong to the open file description, so a second open conflicts even
        // within one process.
        let err = RunnerLock::acquire(&p).unwrap_err().to_string();
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        assert!(holder_alive(&p), "our own pid is recorded");
        drop(held);
        RunnerLock::acquire(&p).unwrap();
    }

    #[test]
    fn dead_or_missing_holder_is_not_alive() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("runner.lock");
        assert!(!holder_alive(&p), "no file");
        std::fs::write(&p, "not a pid").unwrap();
        assert!(!holder_alive(&p));
        // Above any pid_max Linux allows (2^22), so no such process. (Spawning a child to get
        // a dead pid would race the other test: a forked child briefly shares its flock.)
        std::fs::write(&p, "2147483000").unwrap();
        assert!(!holder_alive(&p));
    }
}

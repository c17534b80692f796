//! Free space: what a file system has for an unprivileged user, checked before a download
//! reserves its size, with an error that says how much is missing.

use super::{Dir, StorageError};
use std::io;
use std::path::Path;

/// What `statvfs` says of a file system: bytes available to an unprivileged user.
fn stat(fd: libc::c_int) -> io::Result<u64> {
    // SAFETY: fstatvfs writes into the zeroed struct we pass; fd is a valid descriptor.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Bytes available to an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    stat(Dir::open(dir)?.raw_fd())
}

fn format_mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// Is there room for `need` more bytes in `dir`?
pub(super) fn check(dir: &Dir, need: u64) -> Result<(), StorageError> {
    if need == 0 {
        return Ok(());
    }
    let free =
        stat(dir.raw_fd()).map_err(|e| StorageError::io("check space in", dir.path(), &e))?;
    if free >= need {
        return Ok(());
    }
    Err(StorageError {
        path: dir.path().to_path_buf(),
        op: "check space in",
        msg: format!(
            "not enough free space: need {}, have {} ({} missing)",
            format_mib(need),
            format_mib(free),
            format_mib(need - free)
        ),
        kind: io::ErrorKind::Other,
        errno: Some(libc::ENOSPC),
    })
}

//! Free space: what a file system has for an unprivileged user, checked before a download
//! reserves its size. A download never takes the last of it: `min_free_space` (64 MiB, or 5%
//! of a small file system) must remain for everyone else, or the job is refused with an
//! error that says how much is missing.

use super::{Dir, StorageError};
use crate::config::FreeSpace;
use std::io;
use std::path::Path;

/// What `statvfs` says of a file system: bytes available to an unprivileged user, and its size.
#[derive(Debug, Clone, Copy)]
struct Space {
    free: u64,
    total: u64,
}

fn stat(fd: libc::c_int) -> io::Result<Space> {
    // SAFETY: fstatvfs writes into the zeroed struct we pass; fd is a valid descriptor.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let unit = st.f_frsize as u64;
    Ok(Space {
        free: st.f_bavail as u64 * unit,
        total: st.f_blocks as u64 * unit,
    })
}

/// Bytes available to an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    Ok(stat(Dir::open(dir)?.raw_fd())?.free)
}

fn format_mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// Why `need` more bytes do not fit, if they do not: `free` must cover them and `keep`.
fn shortfall(need: u64, free: u64, keep: u64) -> Option<String> {
    let want = need.saturating_add(keep);
    if need == 0 || free >= want {
        return None;
    }
    let missing = format_mib(want - free);
    Some(if keep == 0 {
        format!(
            "not enough free space: need {}, have {} ({missing} missing)",
            format_mib(need),
            format_mib(free)
        )
    } else {
        format!(
            "not enough free space: need {}, have {}, and {} must stay free \
             (`min_free_space` in config.toml): {missing} missing",
            format_mib(need),
            format_mib(free),
            format_mib(keep)
        )
    })
}

/// Is there room for `need` more bytes in `dir`, leaving `keep` (`min_free_space`) free?
pub(super) fn check(dir: &Dir, need: u64, keep: Option<FreeSpace>) -> Result<(), StorageError> {
    if need == 0 {
        return Ok(());
    }
    let space =
        stat(dir.raw_fd()).map_err(|e| StorageError::io("check space in", dir.path(), &e))?;
    let keep = FreeSpace::bytes(keep, space.total);
    match shortfall(need, space.free, keep) {
        None => Ok(()),
        Some(msg) => Err(StorageError {
            path: dir.path().to_path_buf(),
            op: "check space in",
            msg,
            kind: io::ErrorKind::Other,
            errno: Some(libc::ENOSPC),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn what_must_stay_free_counts() {
        assert_eq!(shortfall(0, 0, 0), None);
        assert_eq!(shortfall(10 * MIB, 20 * MIB, 10 * MIB), None);
        // A size just under the free space: refused, naming the margin and its key.
        let m = shortfall(20 * MIB - 68 * 1024, 20 * MIB, MIB).unwrap();
        assert!(
            m.contains("must stay free")
                && m.contains("min_free_space")
                && m.contains("0.9 MiB missing"),
            "{m}"
        );
        let m = shortfall(30 * MIB, 20 * MIB, MIB).unwrap();
        assert!(m.contains("11.0 MiB missing"), "{m}");
        // No margin asked: all of the free space may be used.
        assert_eq!(shortfall(20 * MIB, 20 * MIB, 0), None);
        let m = shortfall(30 * MIB, 20 * MIB, 0).unwrap();
        assert!(
            m.contains("10.0 MiB missing") && !m.contains("must stay"),
            "{m}"
        );
    }
}

//! Storage writer: one `.part` file beside the destination, written at offsets.
//!
//! Invariants (engine.md 7, 8): free space is checked before preallocation and the error says
//! how much is missing; preallocation uses `fallocate(2)` (never glibc's `posix_fallocate`,
//! which writes zeros where unsupported) and falls back to a sparse `set_len`; bytes are
//! written where they belong as they arrive (no merge step); `sync` is `fdatasync`; finalize
//! is fsync + atomic rename. Every error names the path and the operation, and is a storage
//! error, never a network one.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// `dest` + ".part".
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {msg}")]
pub struct StorageError {
    pub path: PathBuf,
    pub op: &'static str,
    pub msg: String,
    pub kind: io::ErrorKind,
    pub errno: Option<i32>,
}

impl StorageError {
    pub fn io(op: &'static str, path: &Path, e: &io::Error) -> Self {
        let errno = e.raw_os_error();
        let msg = match errno {
            Some(libc::ENOSPC) => {
                "no space left on the device; free some space, then `ddm resume`".into()
            }
            Some(libc::EROFS) => {
                "the file system is read-only; choose another directory with -d".into()
            }
            Some(libc::EACCES) | Some(libc::EPERM) => {
                "permission denied; fix the permissions or choose another directory with -d".into()
            }
            Some(libc::EFBIG) => "file too large for this file system or process limit".into(),
            Some(libc::ENOENT) => "no such file or directory".into(),
            Some(libc::EDQUOT) => "disk quota exceeded; free some space, then `ddm resume`".into(),
            _ => e.to_string(),
        };
        StorageError {
            path: path.to_path_buf(),
            op,
            msg,
            kind: e.kind(),
            errno,
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// An open `.part` file.
#[derive(Debug)]
pub struct PartFile {
    path: PathBuf,
    file: File,
}

/// Bytes available to an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> io::Result<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statvfs writes into the zeroed struct we pass; c is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

fn format_mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

impl PartFile {
    /// Create (truncate) the `.part` file for `dest` and preallocate `size` bytes if known.
    pub fn create(dest: &Path, size: Option<u64>) -> Result<PartFile> {
        let path = part_path(dest);
        let dir = dest.parent().unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(StorageError::io(
                "open directory",
                dir,
                &io::Error::from_raw_os_error(libc::ENOENT),
            ));
        }
        if let Some(size) = size {
            let free = free_space(dir).map_err(|e| StorageError::io("check space in", dir, &e))?;
            if free < size {
                return Err(StorageError {
                    path: dir.to_path_buf(),
                    op: "check space in",
                    msg: format!(
                        "not enough free space: need {}, have {} ({} missing); free some space, then `ddm resume`",
                        format_mib(size),
                        format_mib(free),
                        format_mib(size - free)
                    ),
                    kind: io::ErrorKind::Other,
                    errno: Some(libc::ENOSPC),
                });
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StorageError::io("create", &path, &e))?;
        let pf = PartFile { path, file };
        if let Some(size) = size {
            if let Err(e) = pf.preallocate(size) {
                // Leave nothing behind: an empty .part would make the next run pick another name.
                let _ = std::fs::remove_file(&pf.path);
                return Err(e);
            }
        }
        Ok(pf)
    }

    /// Open an existing `.part` file to continue it. Its length must match `size` if known.
    pub fn open(dest: &Path, size: Option<u64>) -> Result<PartFile> {
        let path = part_path(dest);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io("open", &path, &e))?;
        let pf = PartFile { path, file };
        if let Some(size) = size {
            let len = pf
                .file
                .metadata()
                .map_err(|e| StorageError::io("stat", &pf.path, &e))?
                .len();
            if len != size {
                // A sparse extension keeps the written bytes; a shorter file lost nothing we
                // trust beyond its length, which the caller checks against the bitmap.
                pf.file
                    .set_len(size)
                    .map_err(|e| StorageError::io("resize", &pf.path, &e))?;
            }
        }
        Ok(pf)
    }

    fn preallocate(&self, size: u64) -> Result<()> {
        if size == 0 {
            return Ok(());
        }
        // SAFETY: fallocate on a valid descriptor with mode 0 (allocate, extend size).
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), 0, 0, size as libc::off_t) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => self
                .file
                .set_len(size)
                .map_err(|e| StorageError::io("resize", &self.path, &e)),
            _ => Err(StorageError::io("preallocate", &self.path, &err)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `buf` at `offset` (all of it, or an error).
    pub fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| StorageError::io("write", &self.path, &e))
    }

    /// fdatasync: data written so far is durable when this returns.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| StorageError::io("sync", &self.path, &e))
    }

    /// Ask the kernel to start writing dirty pages back now, without waiting. With lots of
    /// RAM the kernel would otherwise keep a whole fast download dirty until the final fsync.
    pub fn start_writeback(&self) {
        // SAFETY: sync_file_range on a valid descriptor; nbytes 0 means "to end of file".
        unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }

    /// Is the `.part` file still the one we opened (not deleted or replaced)?
    pub fn still_present(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }

    /// Truncate to `len` (unknown-size downloads end where the stream ended).
    pub fn set_len(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| StorageError::io("truncate", &self.path, &e))
    }

    /// fsync, then atomically rename to `dest`.
    pub fn finalize(self, dest: &Path) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| StorageError::io("sync", &self.path, &e))?;
        std::fs::rename(&self.path, dest).map_err(|e| StorageError::io("rename", dest, &e))?;
        if let Some(dir) = dest.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn create_preallocates_and_finalize_renames() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("f.bin");
        let pf = PartFile::create(&dest, Some(1 << 20)).unwrap();
        assert_eq!(pf.path(), part_path(&dest));
        let meta = std::fs::metadata(pf.path()).unwrap();
        assert_eq!(meta.len(), 1 << 20);
        pf.write_at(b"tail", (1 << 20) - 4).unwrap();
        pf.write_at(b"head", 0).unwrap();
        pf.sync().unwrap();
        pf.finalize(&dest).unwrap();
        let data = std::fs::read(&dest).unwrap();
        assert_eq!(&data[..4], b"head");
        assert_eq!(&data[data.len() - 4..], b"tail");
        assert!(!part_path(&dest).exists());
    }

    #[test]
    fn preallocation_reserves_blocks() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("g.bin");
        let pf = PartFile::create(&dest, Some(8 << 20)).unwrap();
        let blocks = std::fs::metadata(pf.path()).unwrap().blocks() * 512;
        // fallocate where supported (ext4, xfs, tmpfs); a sparse file is the documented fallback.
        assert!(blocks == 0 || blocks >= 8 << 20, "blocks={blocks}");
    }

    #[test]
    fn not_enough_space_says_how_much_is_missing() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("huge.bin");
        let err = PartFile::create(&dest, Some(u64::MAX / 4)).unwrap_err();
        assert!(err.msg.contains("missing"), "{err}");
        assert!(err.to_string().contains(&t.path().display().to_string()));
        assert!(!part_path(&dest).exists(), "nothing created");
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("nope/f.bin");
        let err = PartFile::create(&dest, Some(10)).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn deleted_part_is_noticed() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("d.bin");
        let pf = PartFile::create(&dest, Some(10)).unwrap();
        assert!(pf.still_present());
        std::fs::remove_file(pf.path()).unwrap();
        assert!(!pf.still_present());
    }

    #[test]
    fn reopen_keeps_data() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("r.bin");
        let pf = PartFile::create(&dest, Some(100)).unwrap();
        pf.write_at(b"abc", 10).unwrap();
        drop(pf);
        let pf = PartFile::open(&dest, Some(100)).unwrap();
        pf.finalize(&dest).unwrap();
        assert_eq!(&std::fs::read(&dest).unwrap()[10..13], b"abc");
    }
}

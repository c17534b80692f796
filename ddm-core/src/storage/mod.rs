//! Storage writer: one `.part` file beside the destination, written at offsets.
//!
//! Invariants: free space is checked before preallocation and the error says how much is
//! missing (`space`); preallocation uses `fallocate(2)` (never glibc's `posix_fallocate`,
//! which writes zeros where unsupported, for minutes on big files) and falls back to a sparse
//! `set_len`; bytes are written where they belong as they arrive (no merge step); `sync` is
//! `fdatasync`; finalize is fsync + atomic rename that never replaces an existing file unless
//! asked. Every error names the path and the operation, and is a storage error, never a
//! network one (it is never retried in a loop).
//!
//! ddm never follows a link it did not make: the `.part` file is created with
//! `O_CREAT|O_EXCL|O_NOFOLLOW`, an existing one is reopened only if it is the regular file
//! whose identity (device, inode) the job recorded, and a symlink at the final name counts as
//! taken. All of it happens relative to the job's destination directory held open ([`Dir`]),
//! so a directory swapped for a link during a run is never written through. Deleting goes
//! through [`Dir::remove_own`], which checks the file's identity.

mod dir;
mod space;
#[cfg(test)]
mod tests;

pub use dir::Dir;
pub use space::free_space;

use crate::config::FreeSpace;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `dest` + ".part".
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// `name` + ".part".
pub fn part_name(name: &str) -> String {
    format!("{name}.part")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
            Some(libc::ENOSPC) => "no space left on the device".into(),
            Some(libc::EROFS) => {
                "the file system is read-only; choose another directory with -d".into()
            }
            Some(libc::EACCES) | Some(libc::EPERM) => {
                "permission denied; fix the permissions or choose another directory with -d".into()
            }
            Some(libc::EFBIG) => "file too large for this file system or process limit".into(),
            Some(libc::ENOENT) => "no such file or directory".into(),
            Some(libc::ENOTDIR) => "not a directory".into(),
            Some(libc::EDQUOT) => "disk quota exceeded".into(),
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

/// A file's identity: device, inode and (where the file system records it) birth time. The
/// final rename keeps it, so the identity recorded when a job created its `.part` file also
/// recognises the finished file. The birth time guards against an inode number reused by a
/// file created after ours was deleted. Directories have one too (a job's destination).
#[derive(Debug, Clone, Copy, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    /// Nanoseconds since the epoch, when known.
    pub born: Option<i64>,
}

impl PartialEq for FileId {
    /// Same device and inode, and the same birth time when both sides know it.
    fn eq(&self, o: &FileId) -> bool {
        self.dev == o.dev
            && self.ino == o.ino
            && match (self.born, o.born) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        let born = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_nanos()).ok());
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            born,
        }
    }
}

/// What is at a path, looked at without following a symlink there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Nothing,
    /// A regular file with this identity and length.
    File(FileId, u64),
    /// A symlink (dangling or not), a directory, a device...: never ours to write or delete.
    Other,
}

/// Is anything at all at `path` (a dangling symlink counts)?
pub fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Why an existing `.part` file cannot be continued.
#[derive(Debug)]
pub enum Reopen {
    /// There is no `.part` file.
    Missing,
    /// Something is there that this job did not create (a symlink, or another file that
    /// replaced ours): it is left alone.
    NotOurs,
    Failed(StorageError),
}

/// An open `.part` file in its directory.
#[derive(Debug)]
pub struct PartFile {
    dir: Arc<Dir>,
    /// `NAME.part`, in `dir`.
    name: OsString,
    /// Its path, for messages.
    path: PathBuf,
    file: File,
}

impl PartFile {
    /// Create `NAME.part` for the download `name` in `dir` exclusively
    /// (`O_CREAT|O_EXCL|O_NOFOLLOW`): it fails with `AlreadyExists` when anything, even a
    /// dangling symlink, is there, so ddm never writes through a link or into a file it did
    /// not create.
    pub fn create_in(dir: &Arc<Dir>, name: &str) -> Result<PartFile> {
        let part = part_name(name);
        let path = dir.join(&part);
        let file = dir
            .create_new(&part)
            .map_err(|e| StorageError::io("create", &path, &e))?;
        Ok(PartFile {
            dir: dir.clone(),
            name: part.into(),
            path,
            file,
        })
    }

    /// [`PartFile::create_in`] the directory of `dest` (a scratch file, a test).
    pub fn create_new(dest: &Path) -> Result<PartFile> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let d = Dir::open(dir).map_err(|e| StorageError::io("open directory", dir, &e))?;
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        PartFile::create_in(&Arc::new(d), &name)
    }

    /// Reopen `NAME.part` of the download `name` in `dir` to continue it, only if it is the
    /// regular file with identity `id` (the one this job created; `None`: a job recorded
    /// before identities were kept, which adopts a regular file). Its length is set to `size`
    /// if known.
    pub fn open_own_in(
        dir: &Arc<Dir>,
        name: &str,
        id: Option<FileId>,
        size: Option<u64>,
    ) -> std::result::Result<PartFile, Reopen> {
        let part = part_name(name);
        let path = dir.join(&part);
        let file = match dir.open_rw(&part) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Reopen::Missing),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(Reopen::NotOurs),
            Err(e) => return Err(Reopen::Failed(StorageError::io("open", &path, &e))),
        };
        let meta = file
            .metadata()
            .map_err(|e| Reopen::Failed(StorageError::io("stat", &path, &e)))?;
        if !meta.file_type().is_file() || id.is_some_and(|id| id != FileId::of(&meta)) {
            return Err(Reopen::NotOurs);
        }
        let pf = PartFile {
            dir: dir.clone(),
            name: part.into(),
            path,
            file,
        };
        if let Some(size) = size {
            if meta.len() != size {
                // A sparse extension keeps the written bytes; a shorter file lost nothing we
                // trust beyond its length, which the caller checks against the bitmap.
                pf.file
                    .set_len(size)
                    .map_err(|e| Reopen::Failed(StorageError::io("resize", &pf.path, &e)))?;
            }
        }
        Ok(pf)
    }

    /// The identity of the open file.
    pub fn id(&self) -> Result<FileId> {
        self.file
            .metadata()
            .map(|m| FileId::of(&m))
            .map_err(|e| StorageError::io("stat", &self.path, &e))
    }

    /// The directory it is in.
    pub fn dir(&self) -> &Arc<Dir> {
        &self.dir
    }

    /// Check free space (leaving `keep`, the config's `min_free_space`, for everyone else),
    /// then reserve `size` bytes without writing them (nothing if 0).
    pub fn reserve(&self, size: u64, keep: Option<FreeSpace>) -> Result<()> {
        let have = self.file.metadata().map(|m| m.blocks() * 512).unwrap_or(0);
        space::check(&self.dir, size.saturating_sub(have), keep)?;
        self.preallocate(size)
    }

    /// Start this file over: empty it (its space is given back).
    pub fn reset(&self) -> Result<()> {
        self.file
            .set_len(0)
            .map_err(|e| StorageError::io("truncate", &self.path, &e))
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

    /// Read exactly `buf.len()` bytes at `offset` (bytes written before, read back).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| StorageError::io("read", &self.path, &e))
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
        match (self.dir.look(&self.name), self.id()) {
            (Ok(Found::File(there, _)), Ok(ours)) => there == ours,
            _ => false,
        }
    }

    /// Truncate to `len` (unknown-size downloads end where the stream ended).
    pub fn set_len(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| StorageError::io("truncate", &self.path, &e))
    }

    /// The file's bytes from the start, read through the open file (never by its path).
    pub fn reader(&self) -> Result<File> {
        use std::io::Seek;
        let mut f = self
            .file
            .try_clone()
            .map_err(|e| StorageError::io("read", &self.path, &e))?;
        f.rewind()
            .map_err(|e| StorageError::io("read", &self.path, &e))?;
        Ok(f)
    }

    /// fsync, then atomically rename to `name` in its directory. Unless `replace`, an
    /// existing file there (even a dangling symlink) is never replaced: the error then has
    /// kind `AlreadyExists`.
    pub fn finalize(&self, name: &str, replace: bool) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| StorageError::io("sync", &self.path, &e))?;
        self.dir
            .rename(&self.name, name, replace)
            .map_err(|e| StorageError::io("rename", &self.dir.join(name), &e))?;
        self.dir.sync();
        Ok(())
    }
}

//! Storage writer: one `.part` file beside the destination, written at offsets.
//!
//! Invariants: free space is checked before preallocation and the error says how much is
//! missing; preallocation uses `fallocate(2)` (never glibc's `posix_fallocate`, which writes
//! zeros where unsupported, for minutes on big files) and falls back to a sparse `set_len`;
//! bytes are written where they belong as they arrive (no merge step); `sync` is
//! `fdatasync`; finalize is fsync + atomic rename that never replaces an existing file unless
//! asked. Every error names the path and the operation, and is a storage error, never a
//! network one (it is never retried in a loop).
//!
//! ddm never follows a link it did not make: the `.part` file is created with
//! `O_CREAT|O_EXCL|O_NOFOLLOW`, an existing one is reopened only if it is the regular file
//! whose identity (device, inode) the job recorded, and a symlink at the final name counts as
//! taken. Deleting goes through [`remove_own`], which checks that identity.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// `dest` + ".part".
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
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

/// A file's identity: device, inode and (where the file system records it) birth time. The
/// final rename keeps it, so the identity recorded when a job created its `.part` file also
/// recognises the finished file. The birth time guards against an inode number reused by a
/// file created after ours was deleted.
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
        use std::os::unix::fs::MetadataExt;
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

/// Look at `path` without following a symlink.
pub fn look(path: &Path) -> io::Result<Found> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(Found::File(FileId::of(&m), m.len())),
        Ok(_) => Ok(Found::Other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Nothing),
        Err(e) => Err(e),
    }
}

/// Is anything at all at `path` (a dangling symlink counts)?
pub fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Delete `path` only if it is the regular file with identity `id` (a file this job created).
/// Returns whether it was deleted; a symlink, another file or nothing there is left alone.
pub fn remove_own(path: &Path, id: FileId) -> io::Result<bool> {
    match look(path)? {
        Found::File(found, _) if found == id => match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        },
        _ => Ok(false),
    }
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

impl PartFile {
    /// Create the `.part` file for `dest` exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`): it fails
    /// with `AlreadyExists` when anything, even a dangling symlink, is at that path, so ddm
    /// never writes through a link or into a file it did not create.
    pub fn create_new(dest: &Path) -> Result<PartFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = part_path(dest);
        let dir = dest.parent().unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(StorageError::io(
                "open directory",
                dir,
                &io::Error::from_raw_os_error(libc::ENOENT),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| StorageError::io("create", &path, &e))?;
        Ok(PartFile { path, file })
    }

    /// Reopen the `.part` file of `dest` to continue it, only if it is the regular file with
    /// identity `id` (the one this job created; `None`: a job recorded before identities
    /// were kept, which adopts a regular file). Its length is set to `size` if known.
    pub fn open_own(
        dest: &Path,
        id: Option<FileId>,
        size: Option<u64>,
    ) -> std::result::Result<PartFile, Reopen> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = part_path(dest);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
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
        let pf = PartFile { path, file };
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

    /// Check free space, then reserve `size` bytes without writing them (nothing if 0).
    pub fn reserve(&self, size: u64) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let have = self.file.metadata().map(|m| m.blocks() * 512).unwrap_or(0);
        let need = size.saturating_sub(have);
        if need > 0 {
            let free = free_space(dir).map_err(|e| StorageError::io("check space in", dir, &e))?;
            if free < need {
                return Err(StorageError {
                    path: dir.to_path_buf(),
                    op: "check space in",
                    msg: format!(
                        "not enough free space: need {}, have {} ({} missing)",
                        format_mib(need),
                        format_mib(free),
                        format_mib(need - free)
                    ),
                    kind: io::ErrorKind::Other,
                    errno: Some(libc::ENOSPC),
                });
            }
        }
        self.preallocate(size)
    }

    /// Start this file over: empty it and reserve `size` bytes again.
    pub fn reset(&self, size: Option<u64>) -> Result<()> {
        self.file
            .set_len(0)
            .map_err(|e| StorageError::io("truncate", &self.path, &e))?;
        self.reserve(size.unwrap_or(0))
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

    /// fsync, then atomically rename to `dest`. Unless `replace`, an existing `dest` (even a
    /// dangling symlink) is never replaced: the error then has kind `AlreadyExists`.
    pub fn finalize(&self, dest: &Path, replace: bool) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| StorageError::io("sync", &self.path, &e))?;
        if replace {
            std::fs::rename(&self.path, dest).map_err(|e| StorageError::io("rename", dest, &e))?;
        } else {
            rename_noreplace(&self.path, dest).map_err(|e| StorageError::io("rename", dest, &e))?;
        }
        if let Some(dir) = dest.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// `renameat2(RENAME_NOREPLACE)`; where the file system lacks it, `link` + `unlink` (also
/// atomic against replacing: `link` fails if the target exists).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn create(dest: &Path, size: u64) -> PartFile {
        let pf = PartFile::create_new(dest).unwrap();
        pf.reserve(size).unwrap();
        pf
    }

    #[test]
    fn create_preallocates_and_finalize_renames() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("f.bin");
        let pf = create(&dest, 1 << 20);
        assert_eq!(pf.path(), part_path(&dest));
        let meta = std::fs::metadata(pf.path()).unwrap();
        assert_eq!(meta.len(), 1 << 20);
        let id = pf.id().unwrap();
        pf.write_at(b"tail", (1 << 20) - 4).unwrap();
        pf.write_at(b"head", 0).unwrap();
        pf.sync().unwrap();
        pf.finalize(&dest, false).unwrap();
        let data = std::fs::read(&dest).unwrap();
        assert_eq!(&data[..4], b"head");
        assert_eq!(&data[data.len() - 4..], b"tail");
        assert!(!part_path(&dest).exists());
        assert_eq!(
            look(&dest).unwrap(),
            Found::File(id, 1 << 20),
            "the rename keeps the identity"
        );
    }

    #[test]
    fn preallocation_reserves_blocks() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("g.bin");
        let pf = create(&dest, 8 << 20);
        let blocks = std::fs::metadata(pf.path()).unwrap().blocks() * 512;
        // fallocate where supported (ext4, xfs, tmpfs); a sparse file is the documented fallback.
        assert!(blocks == 0 || blocks >= 8 << 20, "blocks={blocks}");
    }

    #[test]
    fn not_enough_space_says_how_much_is_missing() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("huge.bin");
        let pf = PartFile::create_new(&dest).unwrap();
        let err = pf.reserve(u64::MAX / 4).unwrap_err();
        assert!(err.msg.contains("missing"), "{err}");
        assert!(err.to_string().contains(&t.path().display().to_string()));
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("nope/f.bin");
        let err = PartFile::create_new(&dest).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn deleted_part_is_noticed() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("d.bin");
        let pf = create(&dest, 10);
        assert!(pf.still_present());
        std::fs::remove_file(pf.path()).unwrap();
        assert!(!pf.still_present());
    }

    #[test]
    fn reopen_keeps_data_only_for_its_owner() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("r.bin");
        let pf = create(&dest, 100);
        let id = pf.id().unwrap();
        pf.write_at(b"abc", 10).unwrap();
        drop(pf);
        let other = FileId {
            ino: id.ino + 1,
            ..id
        };
        assert!(matches!(
            PartFile::open_own(&dest, Some(other), Some(100)),
            Err(Reopen::NotOurs)
        ));
        let pf = PartFile::open_own(&dest, Some(id), Some(100)).ok().unwrap();
        pf.finalize(&dest, false).unwrap();
        assert_eq!(&std::fs::read(&dest).unwrap()[10..13], b"abc");
        assert!(matches!(
            PartFile::open_own(&dest, Some(id), Some(100)),
            Err(Reopen::Missing)
        ));
    }

    #[test]
    fn links_are_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside.txt");
        std::fs::write(&outside, b"precious").unwrap();
        let dest = t.path().join("l.bin");
        // A dangling link, and a link to an existing file, at the .part path.
        symlink(t.path().join("nowhere"), part_path(&dest)).unwrap();
        let e = PartFile::create_new(&dest).unwrap_err();
        assert_eq!(e.kind, io::ErrorKind::AlreadyExists);
        assert!(
            !t.path().join("nowhere").exists(),
            "no file made through the link"
        );
        std::fs::remove_file(part_path(&dest)).unwrap();
        symlink(&outside, part_path(&dest)).unwrap();
        assert!(matches!(
            PartFile::open_own(&dest, None, Some(10)),
            Err(Reopen::NotOurs)
        ));
        let id = FileId::of(&std::fs::metadata(&outside).unwrap());
        assert!(
            !remove_own(&part_path(&dest), id).unwrap(),
            "the link stays"
        );
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        // A dangling link at the final name is taken: finalize does not replace it.
        std::fs::remove_file(part_path(&dest)).unwrap();
        symlink(t.path().join("nowhere"), &dest).unwrap();
        assert!(taken(&dest));
        let pf = create(&dest, 4);
        let e = pf.finalize(&dest, false).unwrap_err();
        assert_eq!(e.kind, io::ErrorKind::AlreadyExists);
        assert!(std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    /// File systems without birth times (old tmpfs) cannot tell a reused inode apart.
    fn skip_without_birth_times() {
        eprintln!("skipped: this file system records no birth times");
    }

    #[test]
    fn remove_own_deletes_only_the_recorded_file() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("o.bin");
        let pf = create(&dest, 10);
        let id = pf.id().unwrap();
        drop(pf);
        std::fs::remove_file(part_path(&dest)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Another tool's file: it may even get the same inode number back.
        std::fs::write(part_path(&dest), b"another tool's").unwrap();
        if id.born.is_none() {
            return skip_without_birth_times();
        }
        assert!(!remove_own(&part_path(&dest), id).unwrap());
        assert!(part_path(&dest).exists());
        let theirs = FileId::of(&std::fs::metadata(part_path(&dest)).unwrap());
        assert!(remove_own(&part_path(&dest), theirs).unwrap());
        assert!(!part_path(&dest).exists());
    }
}

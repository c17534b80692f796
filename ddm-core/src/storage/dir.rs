//! A directory held open: a job's destination, opened once per run and then used only by
//! handle. Every file of the job is created, opened, looked at, renamed and deleted relative
//! to it (`openat`, `renameat2`, `unlinkat`), never through a path resolved again, so a
//! directory swapped for a symlink or another directory after it was opened changes nothing
//! for the run. Its identity (device, inode, birth time, [`FileId`]) is recorded with the job;
//! a later run compares it (`jobs::open_dir`) and refuses a directory that is not the same.
//!
//! The path is opened as the user gave it (a `~/Downloads` that is a link to a data disk is
//! that disk's directory): the identity, not the way there, tells a swap.
//!
//! Names are single path components: one with `/`, `.`, `..` or nothing is refused. Nothing
//! is opened through a symlink at a name (`O_NOFOLLOW`), a symlink counts as taken, and a
//! rename never follows one at its target.

use super::{FileId, Found};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

/// An open directory (`O_PATH`: it needs no read permission, only search).
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
    fd: File,
}

/// `name` as a C string, if it is one path component.
fn component(name: &OsStr) -> io::Result<CString> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a file name"),
        ));
    }
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Dir {
    /// Open the directory at `path` (following the links on the way, as the user's path does).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)?;
        Ok(Dir {
            path: path.to_path_buf(),
            fd,
        })
    }

    /// The path it was opened by (for messages; never used to reach a file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name`, for messages.
    pub fn join(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    /// The descriptor (`O_PATH`: for `*at` calls and `fstatvfs`).
    pub(super) fn raw_fd(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    /// The identity of the directory that is open.
    pub fn id(&self) -> io::Result<FileId> {
        self.fd.metadata().map(|m| FileId::of(&m))
    }

    fn openat(&self, name: &OsStr, flags: libc::c_int) -> io::Result<File> {
        let c = component(name)?;
        // SAFETY: a valid directory descriptor and NUL-terminated name; the result is a new
        // descriptor that the File owns.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                flags | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        })?;
        // SAFETY: fd was just opened and is owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// What is at `name`, without following a symlink there.
    pub fn look(&self, name: impl AsRef<OsStr>) -> io::Result<Found> {
        // An O_PATH descriptor of the entry itself (a link stays a link): its metadata is
        // read the way `FileId::of` reads an open file's, birth time included.
        match self.openat(name.as_ref(), libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(f) => {
                let m = f.metadata()?;
                Ok(if m.file_type().is_file() {
                    Found::File(FileId::of(&m), m.len())
                } else {
                    Found::Other
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Nothing),
            Err(e) => Err(e),
        }
    }

    /// Is anything at all at `name` (a dangling symlink counts)?
    pub fn taken(&self, name: impl AsRef<OsStr>) -> bool {
        matches!(self.look(name), Ok(Found::File(..) | Found::Other))
    }

    /// Create `name` exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`), for reading and writing.
    pub fn create_new(&self, name: impl AsRef<OsStr>) -> io::Result<File> {
        self.openat(
            name.as_ref(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
        )
    }

    /// Open the existing `name` for reading and writing, never through a symlink (`ELOOP`).
    pub fn open_rw(&self, name: impl AsRef<OsStr>) -> io::Result<File> {
        self.openat(name.as_ref(), libc::O_RDWR | libc::O_NOFOLLOW)
    }

    /// Delete `name` only if it is the regular file with identity `id`. Returns whether it
    /// was deleted; a symlink, another file or nothing there is left alone.
    pub fn remove_own(&self, name: impl AsRef<OsStr>, id: FileId) -> io::Result<bool> {
        let name = name.as_ref();
        match self.look(name)? {
            Found::File(found, _) if found == id => {
                let c = component(name)?;
                // SAFETY: a valid directory descriptor and NUL-terminated name.
                match check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }) {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(false),
        }
    }

    /// Rename `from` to `to` within this directory. Unless `replace`, an existing `to` (even
    /// a dangling symlink) is never replaced: the error is then `AlreadyExists`
    /// (`renameat2(RENAME_NOREPLACE)`; where the file system lacks it, `linkat` + `unlinkat`,
    /// also atomic against replacing).
    pub fn rename(
        &self,
        from: impl AsRef<OsStr>,
        to: impl AsRef<OsStr>,
        replace: bool,
    ) -> io::Result<()> {
        let (a, b) = (component(from.as_ref())?, component(to.as_ref())?);
        let d = self.fd.as_raw_fd();
        let flags = if replace { 0 } else { libc::RENAME_NOREPLACE };
        // SAFETY: valid directory descriptors and NUL-terminated names.
        let rc = unsafe { libc::renameat2(d, a.as_ptr(), d, b.as_ptr(), flags) };
        match check(rc) {
            Ok(_) => Ok(()),
            Err(e) if !replace && matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                // SAFETY: as above.
                check(unsafe { libc::linkat(d, a.as_ptr(), d, b.as_ptr(), 0) })?;
                check(unsafe { libc::unlinkat(d, a.as_ptr(), 0) }).map(|_| ())
            }
            Err(e) if replace && e.raw_os_error() == Some(libc::ENOSYS) => {
                // SAFETY: as above.
                check(unsafe { libc::renameat(d, a.as_ptr(), d, b.as_ptr()) }).map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// Make the directory's entries durable (after a rename). Best effort: it needs read
    /// permission on the directory.
    pub fn sync(&self) {
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c".".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: fd was just opened and is owned by nobody else.
            let _ = unsafe { File::from_raw_fd(fd) }.sync_all();
        }
    }
}

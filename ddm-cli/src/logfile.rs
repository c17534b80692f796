//! `ddm.log`, shared by every ddm process of a data directory and rotated by size.
//!
//! Each process appends (`O_APPEND`: lines of several processes never overwrite each other)
//! to the file it opened, created 0600 and never through a symlink (`O_NOFOLLOW`). After a
//! write that leaves the file at `log_max_size` or more, the writer rotates it: under an
//! exclusive `flock` on the file it has open, and only if `ddm.log` still names that file,
//! `ddm.log.N-1` → `ddm.log.N` … `ddm.log` → `ddm.log.1` (`log_keep` old files; the oldest
//! is replaced), then it opens a new `ddm.log`. A process that finds `ddm.log` naming another
//! file meanwhile (someone else rotated) just opens the new one. So the log takes at most
//! about `(log_keep + 1) × log_max_size`, however many processes write it; rename never
//! follows a symlink, so a link put at `ddm.log.1` is replaced, not written through.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

pub struct LogFile {
    path: PathBuf,
    file: File,
    max: u64,
    keep: u32,
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// `ddm.log.N`.
fn generation(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Holds an exclusive `flock` on a file until dropped.
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn new(f: &'a File) -> io::Result<Self> {
        // SAFETY: flock on a valid descriptor.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Locked(f))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl LogFile {
    /// Open (creating) the log at `path`, to be rotated at `max` bytes keeping `keep` old files.
    pub fn open(path: &Path, max: u64, keep: u32) -> io::Result<LogFile> {
        Ok(LogFile {
            path: path.to_path_buf(),
            file: open(path)?,
            max,
            keep,
        })
    }

    /// Rotate if the file is full (see the module docs). On error the old file stays in use.
    fn rotate_if_full(&mut self) -> io::Result<()> {
        let ours = self.file.metadata()?;
        if ours.len() < self.max {
            return Ok(());
        }
        let lock = Locked::new(&self.file)?;
        let named = std::fs::symlink_metadata(&self.path);
        let still_ours = named
            .as_ref()
            .is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino());
        if still_ours {
            if self.keep == 0 {
                std::fs::remove_file(&self.path)?;
            } else {
                for n in (1..self.keep).rev() {
                    match std::fs::rename(generation(&self.path, n), generation(&self.path, n + 1))
                    {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                std::fs::rename(&self.path, generation(&self.path, 1))?;
            }
        }
        let new = open(&self.path)?;
        drop(lock);
        self.file = new;
        Ok(())
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        let _ = self.rotate_if_full();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_cap_and_keeps_n_generations() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("ddm.log");
        let mut a = LogFile::open(&p, 100, 2).unwrap();
        let mut b = LogFile::open(&p, 100, 2).unwrap();
        for i in 0..40 {
            let w: &mut LogFile = if i % 2 == 0 { &mut a } else { &mut b };
            writeln!(w, "line {i:02} of some length").unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["ddm.log", "ddm.log.1", "ddm.log.2"]);
        for n in &names {
            let len = std::fs::metadata(t.path().join(n)).unwrap().len();
            assert!(len < 100 + 30, "{n}: {len} bytes");
        }
        // The newest lines are in ddm.log and ddm.log.1, none twice.
        let text = std::fs::read_to_string(&p).unwrap()
            + &std::fs::read_to_string(generation(&p, 1)).unwrap();
        assert!(text.contains("line 39"), "{text}");
        assert_eq!(text.matches("line 38").count(), 1, "{text}");
    }

    #[test]
    fn a_link_at_a_generation_is_replaced_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("ddm.log");
        let victim = t.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, generation(&p, 1)).unwrap();
        let mut w = LogFile::open(&p, 10, 3).unwrap();
        writeln!(w, "more than ten bytes").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(
            generation(&p, 2).is_symlink(),
            "the link moved along, untouched"
        );
        assert_eq!(
            std::fs::read_to_string(generation(&p, 1)).unwrap(),
            "more than ten bytes\n"
        );
    }
}

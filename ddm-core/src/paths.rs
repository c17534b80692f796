//! Where ddm keeps its files: config, job database, log, runner lock.
//!
//! Default locations follow the platform conventions (XDG on Linux) via `directories`:
//! `~/.config/ddm/config.toml` and `~/.local/state/ddm/{jobs.db,ddm.log}`. One override moves
//! all of them under a single directory: `--home DIR` or `DDM_HOME` (tests and parallel users
//! need isolation). The state directory is private (0700) because the database may hold
//! request headers the user asked ddm to keep.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
#[cfg(test)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The resolved file locations for one ddm "home".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    /// All files under one directory (the `--home` / `DDM_HOME` override).
    pub fn under(home: &Path) -> Self {
        Paths {
            config_file: home.join("config.toml"),
            state_dir: home.to_path_buf(),
        }
    }

    /// Platform defaults (XDG on Linux).
    pub fn platform() -> io::Result<Self> {
        let dirs = directories::ProjectDirs::from("", "", "ddm").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "cannot find the home directory; set DDM_HOME or pass --home DIR",
            )
        })?;
        let state = dirs
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
        Ok(Paths {
            config_file: dirs.config_dir().join("config.toml"),
            state_dir: state,
        })
    }

    /// `home` if given (flag or environment), else the platform defaults.
    pub fn resolve(home: Option<&Path>) -> io::Result<Self> {
        match home {
            Some(h) => Ok(Self::under(h)),
            None => Self::platform(),
        }
    }

    pub fn db_file(&self) -> PathBuf {
        self.state_dir.join("jobs.db")
    }
    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("ddm.log")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.state_dir.join("runner.lock")
    }

    /// Create the state directory (0700) if missing. An existing directory keeps the mode its
    /// owner gave it (`--home` may name any directory; ddm never changes the modes of files or
    /// directories it did not create).
    pub fn ensure_state_dir(&self) -> io::Result<()> {
        if self.state_dir.is_dir() {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.state_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_override_puts_everything_under_it() {
        let p = Paths::under(Path::new("/x/h"));
        assert_eq!(p.config_file, PathBuf::from("/x/h/config.toml"));
        assert_eq!(p.db_file(), PathBuf::from("/x/h/jobs.db"));
        assert_eq!(p.log_file(), PathBuf::from("/x/h/ddm.log"));
    }

    #[test]
    fn a_new_state_dir_is_private_and_an_existing_one_is_left_alone() {
        let t = tempfile::tempdir().unwrap();
        let p = Paths::under(&t.path().join("a/b"));
        p.ensure_state_dir().unwrap();
        let mode = fs::metadata(&p.state_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let mine = t.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::set_permissions(&mine, fs::Permissions::from_mode(0o755)).unwrap();
        Paths::under(&mine).ensure_state_dir().unwrap();
        let mode = fs::metadata(&mine).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "the owner's choice is kept");
    }
}

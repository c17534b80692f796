//! Exit codes (documented in docs/exit-codes.md) and the CLI error that carries one.

use std::fmt;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Everything asked for was done.
    Ok = 0,
    /// A download failed (the job keeps its progress; `ddm resume` continues it).
    Failed = 1,
    /// Usage or input error: bad flag, URL, header, id, config or HAR file.
    Usage = 2,
    /// Another runner holds this data directory.
    Busy = 3,
    /// Local environment error: database, permissions, disk.
    Env = 4,
    /// A disk is full: the destination's, or the job database's.
    NoSpace = 5,
    /// `get`: the job was paused or removed from another terminal; the file is not there.
    Stopped = 6,
    /// The download link expired and no fresh one came within `link_wait_secs`: the job
    /// waits for one (`ddm set-url ID URL`, `ddm get URL`), its progress kept.
    Waiting = 7,
    /// Interrupted (Ctrl-C); the job is left resumable.
    Interrupted = 130,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> ExitCode {
        ExitCode::from(c as u8)
    }
}

/// An error on its way out of `main`, with its exit code.
pub struct CliError {
    pub code: Code,
    pub err: anyhow::Error,
}

impl CliError {
    pub fn new(code: Code, err: impl Into<anyhow::Error>) -> Self {
        CliError {
            code,
            err: err.into(),
        }
    }
    /// The error and its causes on one line, each said once: a cause whose text the message
    /// already holds (a `thiserror` message that repeats its `source`) is not added again.
    pub fn message(&self) -> String {
        let mut out = self.err.to_string();
        for cause in self.err.chain().skip(1) {
            let c = cause.to_string();
            if !out.contains(&c) {
                out.push_str(": ");
                out.push_str(&c);
            }
        }
        out
    }
    pub fn is_broken_pipe(&self) -> bool {
        self.err.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:#}", self.code, self.err)
    }
}

pub type CliResult<T = Code> = Result<T, CliError>;

/// Usage/input error (exit 2).
pub fn usage(msg: impl fmt::Display) -> CliError {
    CliError::new(Code::Usage, anyhow::anyhow!("{msg}"))
}

/// Map a store error: unknown ids are input errors, a full disk has its own code, the rest
/// are environment errors.
pub fn store(e: ddm_core::store::StoreError) -> CliError {
    match e {
        ddm_core::store::StoreError::NotFound(_) => CliError::new(Code::Usage, e),
        e if e.is_no_space() => CliError::new(Code::NoSpace, e),
        e => CliError::new(Code::Env, e),
    }
}

impl From<ddm_core::store::StoreError> for CliError {
    fn from(e: ddm_core::store::StoreError) -> Self {
        store(e)
    }
}

/// A job that was not added: a name the user gave that is taken is an input error (exit 2,
/// nothing changed); the store's errors as in [`store`].
pub fn added(e: ddm_core::jobs::AddError) -> CliError {
    match e {
        ddm_core::jobs::AddError::Store(e) => store(e),
        e => CliError::new(Code::Usage, e),
    }
}

/// The exit code of a failed job.
pub fn failed(e: &ddm_core::model::JobError) -> Code {
    match e.kind {
        ddm_core::model::ErrorKind::NoSpace => Code::NoSpace,
        _ => Code::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_repeats_is_said_once() {
        let e = ddm_core::config::ConfigError::Read {
            path: "/h/config.toml".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
        };
        let m = CliError::new(Code::Usage, e).message();
        assert_eq!(
            m,
            "cannot read config file /h/config.toml: stream did not contain valid UTF-8"
        );
        let wrapped = anyhow::anyhow!(std::io::Error::other("disk on fire")).context("saving");
        assert_eq!(
            CliError::new(Code::Env, wrapped).message(),
            "saving: disk on fire"
        );
    }
}

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
    pub fn message(&self) -> String {
        format!("{:#}", self.err)
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

/// The exit code of a failed job.
pub fn failed(e: &ddm_core::model::JobError) -> Code {
    match e.kind {
        ddm_core::model::ErrorKind::NoSpace => Code::NoSpace,
        _ => Code::Failed,
    }
}

//! The typed error a job ends with: its kind (what the CLI's hint and `status --json`'s
//! `error_kind` are chosen by) and its message.

use std::fmt;

/// What kind of failure ended a job: the CLI picks its hint and `status --json` shows it as
/// `error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The server could not be asked (refused, unreachable, a proxy failed) or answered
    /// something unusable.
    Probe,
    /// The server wants credentials or refuses them (401, 403).
    Auth,
    /// The server has no such file (404, 410).
    NotFound,
    /// The server's certificate is not trusted (or the TLS handshake failed).
    Tls,
    /// A transfer failed for good (a final HTTP status or an unusable answer mid-download).
    Transfer,
    /// Retries were spent on a failure that may go away (flaky network, overloaded server).
    GaveUp,
    /// The remote file is not the one being downloaded any more.
    RemoteChanged,
    /// The destination file system refused (permission, read-only, file too large, I/O).
    Storage,
    /// No space left where the file goes.
    NoSpace,
    /// The destination directory is not the one the job started in (replaced by a symlink or
    /// another directory between runs): nothing is written there.
    DirChanged,
    /// The name the user gave (`-o NAME`) is taken by a file that appeared after the job was
    /// queued (or by another job): nothing was written there or under another name.
    Exists,
    /// The finished file does not match the expected checksum.
    Checksum,
    /// The job database could not be written (no space for it, read-only, I/O).
    Store,
    /// A run passed its time or speed limit (`--max-time`, `--speed-limit`); progress kept.
    Deadline,
    /// The job it waits for (`--after ID`) failed or was removed before it was done, so it
    /// cannot start.
    Dependency,
    /// A bug or an impossible state.
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::Probe,
        ErrorKind::Auth,
        ErrorKind::NotFound,
        ErrorKind::Tls,
        ErrorKind::Transfer,
        ErrorKind::GaveUp,
        ErrorKind::RemoteChanged,
        ErrorKind::Storage,
        ErrorKind::NoSpace,
        ErrorKind::DirChanged,
        ErrorKind::Exists,
        ErrorKind::Checksum,
        ErrorKind::Store,
        ErrorKind::Deadline,
        ErrorKind::Dependency,
        ErrorKind::Internal,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Probe => "probe",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Tls => "tls",
            ErrorKind::Transfer => "transfer",
            ErrorKind::GaveUp => "gave-up",
            ErrorKind::RemoteChanged => "remote-changed",
            ErrorKind::Storage => "storage",
            ErrorKind::NoSpace => "no-space",
            ErrorKind::DirChanged => "dir-changed",
            ErrorKind::Exists => "exists",
            ErrorKind::Checksum => "checksum",
            ErrorKind::Store => "store",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Dependency => "dependency",
            ErrorKind::Internal => "internal",
        }
    }
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a job failed: its kind and a message naming what went wrong (the path, the status,
/// what changed). What to do next is the CLI's business (it knows the job id and the verbs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub kind: ErrorKind,
    pub message: String,
}

impl JobError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        JobError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JobError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::parse("nope"), None);
    }
}

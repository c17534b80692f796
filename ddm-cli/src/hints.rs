//! What to do next after a job failed, by the kind of failure. The library names what went
//! wrong (`JobError`); the verbs and job ids a user types belong here. Each hint says what
//! can help for that kind, never a sentence the message already says, and `ddm resume` only
//! where trying again can succeed (not after a 404, a refused login or an untrusted
//! certificate: the same request meets the same answer).

use ddm_core::model::{ErrorKind, JobError};

/// The next step for a job that failed with `kind`.
pub fn hint(kind: ErrorKind, id: i64) -> String {
    match kind {
        ErrorKind::Probe => {
            format!("check the URL and the network; `ddm resume {id}` tries again")
        }
        ErrorKind::Auth => format!(
            "give credentials by running the same `ddm get` with `-u USER`, `--netrc` or \
             `-H 'Authorization: …'` (it continues this job), or a fresh link with \
             `ddm set-url {id} URL`"
        ),
        ErrorKind::NotFound => format!(
            "check the URL; `ddm set-url {id} URL` gives this job the right one (its progress \
             is kept)"
        ),
        ErrorKind::Tls => "the same `ddm get` with `--cacert FILE` (or `cacert` in \
             config.toml) continues this job trusting that CA; resuming without it meets the \
             same certificate"
            .to_string(),
        ErrorKind::Transfer => format!(
            "`ddm resume {id}` tries again (progress kept); `ddm resume {id} --restart` starts over"
        ),
        // Its message already says that progress is kept.
        ErrorKind::GaveUp => format!("`ddm resume {id}` continues"),
        ErrorKind::RemoteChanged => {
            format!("`ddm resume {id} --restart` downloads the new version from zero")
        }
        ErrorKind::Storage => {
            format!("fix the destination (permissions, mount, size limit), then `ddm resume {id}`")
        }
        ErrorKind::NoSpace => format!("free some space, then `ddm resume {id}`"),
        ErrorKind::DirChanged => format!(
            "put the directory back, then `ddm resume {id}`; or `ddm resume {id} --restart` \
             starts over in the directory now at that path"
        ),
        ErrorKind::Exists => format!(
            "move or rename that file, then `ddm resume {id}`; or `ddm remove {id}` and add the \
             download again with --overwrite (replaces the file) or another -o NAME"
        ),
        ErrorKind::Checksum => {
            format!("check the expected checksum, or `ddm resume {id} --restart` to download again")
        }
        ErrorKind::Store => {
            "make the job database writable (free space there, check its permissions), then \
             `ddm run` continues from the last saved progress"
                .to_string()
        }
        ErrorKind::Deadline => format!(
            "progress is kept; `ddm resume {id}` continues where it stopped (the same limits \
             apply to each run)"
        ),
        ErrorKind::Dependency => format!(
            "resume the job named there, then `ddm resume {id}`: it starts once that one is \
             done; if that job was removed, `ddm resume {id}` starts it without waiting"
        ),
        ErrorKind::Internal => format!("this is a bug in ddm; `ddm resume {id}` tries again"),
    }
}

/// How to continue a job that waits for a fresh link (its own expired).
pub fn waiting_hint(id: i64) -> String {
    format!(
        "give it a fresh link: `ddm set-url {id} NEWURL` (or `ddm get NEWURL`); its progress \
         is kept"
    )
}

/// `message; hint`, for one line on a terminal.
pub fn with_hint(e: &JobError, id: i64) -> String {
    format!("{}; {}", e.message, hint(e.kind, id))
}

//! Before a transfer: probe, check the remote is still the same file (engine.md 6), choose
//! the file name on the first run, and open or create the `.part` file.

use super::{Event, Observer};
use crate::config::Config;
use crate::http::HttpOptions;
use crate::pieces::{piece_size_for, PieceMap};
use crate::resolver::{self, RemoteInfo};
use crate::storage::{part_path, PartFile};
use crate::store::{host_key, Job, RemoteMeta, Store};
use std::path::PathBuf;

pub struct Prepared {
    pub info: RemoteInfo,
    pub name: String,
    pub dest: PathBuf,
    pub file: PartFile,
    pub pieces: Option<PieceMap>,
    pub connections: usize,
    /// The host is known to refuse more connections than it allows.
    pub capped: bool,
    pub host: String,
    pub http: HttpOptions,
}

impl Prepared {
    fn new(
        info: RemoteInfo,
        name: String,
        dest: PathBuf,
        file: PartFile,
        pieces: Option<PieceMap>,
        http: HttpOptions,
    ) -> Self {
        Prepared {
            host: host_of(&info.final_url),
            info,
            name,
            dest,
            file,
            pieces,
            connections: 1,
            capped: false,
            http,
        }
    }

    /// The starting connection count from the job, the host policy and the config.
    fn with_host_policy(mut self, store: &Store, job: &Job, cfg: &Config) -> Self {
        (self.connections, self.capped) =
            connections(store, job, cfg, &self.host, self.pieces.is_some());
        self
    }
}

/// What differs between the stored validators and a fresh probe (empty: same file).
pub fn changes(job: &Job, info: &RemoteInfo) -> Vec<String> {
    let mut out = Vec::new();
    if job.size != info.size {
        let show = |s: Option<u64>| s.map(|v| format!("{v} bytes")).unwrap_or("unknown".into());
        out.push(format!("size {} → {}", show(job.size), show(info.size)));
    }
    if let (Some(a), Some(b)) = (&job.etag, &info.etag) {
        if a != b {
            out.push(format!("ETag {a} → {b}"));
        }
    }
    if let (Some(a), Some(b)) = (&job.last_modified, &info.last_modified) {
        if a != b {
            out.push(format!("Last-Modified {a} → {b}"));
        }
    }
    out
}

pub fn prepare(
    store: &mut Store,
    job: &Job,
    cfg: &Config,
    obs: &mut dyn Observer,
) -> Result<Prepared, String> {
    let http = HttpOptions::from_config(cfg, job.settings.headers.clone(), job.settings.insecure);
    let info = match (
        probe_with_retries(&job.url, &http, cfg, obs),
        &job.settings.origin_url,
    ) {
        (Ok(i), _) => i,
        // A captured (signed) URL that expired: start again from the chain's beginning.
        (
            Err((
                crate::retry::Failure::Http {
                    status: 403 | 410, ..
                },
                _,
            )),
            Some(origin),
        ) => {
            obs.event(Event::Note(
                "the saved download link was refused; resolving the original URL again".into(),
            ));
            let o = http.for_other_url(origin, &job.url);
            probe_with_retries(origin, &o, cfg, obs).map_err(|(_, m)| m)?
        }
        (Err((_, m)), _) => return Err(m),
    };
    for n in &info.notes {
        obs.event(Event::Note(n.clone()));
    }
    let probed_before = job.final_url.is_some() && job.file_name.is_some();
    if probed_before {
        let diff = changes(job, &info);
        if !diff.is_empty() && job.bytes_done > 0 {
            return Err(format!(
                "the remote file changed since the download started ({}); partial data kept; \
                 run `ddm resume {} --restart` to download the new version from zero",
                diff.join(", "),
                job.id
            ));
        }
        if !diff.is_empty() {
            return fresh(store, job, info, http, cfg, obs);
        }
        if job.final_url.as_deref() != Some(info.final_url.as_str()) {
            store
                .set_final_url(job.id, &info.final_url)
                .map_err(|e| e.to_string())?;
        }
        resume(store, job, info, http, cfg, obs)
    } else {
        fresh(store, job, info, http, cfg, obs)
    }
}

fn probe_with_retries(
    url: &str,
    http: &HttpOptions,
    cfg: &Config,
    obs: &mut dyn Observer,
) -> Result<RemoteInfo, (crate::retry::Failure, String)> {
    let policy = crate::retry::Policy {
        max_attempts: cfg.max_attempts.min(4),
        ..Default::default()
    };
    let mut attempt = 0;
    loop {
        match resolver::probe(url, http) {
            Ok(i) => return Ok(i),
            Err(e) => {
                attempt += 1;
                match crate::retry::decide(
                    &e.failure,
                    attempt,
                    &policy,
                    0.5,
                    std::time::SystemTime::now(),
                ) {
                    crate::retry::Decision::Retry(d) => {
                        obs.event(Event::Note(format!(
                            "probe failed ({}); retrying in {:.1}s",
                            e.failure,
                            d.as_secs_f64()
                        )));
                        std::thread::sleep(d);
                    }
                    crate::retry::Decision::GiveUp => {
                        let msg = if crate::retry::is_retryable(&e.failure) {
                            format!("{e}; `ddm resume ID` tries again")
                        } else {
                            e.to_string()
                        };
                        return Err((e.failure, msg));
                    }
                }
            }
        }
    }
}

/// The job's starting connection count, and whether the host is known to cap connections.
fn connections(store: &Store, job: &Job, cfg: &Config, host: &str, ranged: bool) -> (usize, bool) {
    if !ranged {
        return (1, false);
    }
    let pol = store.host_policy(host).unwrap_or_default();
    let mut n = job
        .settings
        .connections
        .or(pol.recommended)
        .unwrap_or(cfg.connections);
    if let Some(cap) = pol.max_connections {
        n = n.min(cap);
    }
    (
        n.clamp(1, crate::config::MAX_CONNECTIONS) as usize,
        pol.max_connections.is_some(),
    )
}

/// First run (or a restart): choose the name, record the remote, create the `.part` file.
fn fresh(
    store: &mut Store,
    job: &Job,
    info: RemoteInfo,
    http: HttpOptions,
    cfg: &Config,
    obs: &mut dyn Observer,
) -> Result<Prepared, String> {
    let wanted = job
        .file_name
        .clone()
        .unwrap_or_else(|| info.filename.clone());
    let claimed = store.claimed_paths(job.id).map_err(|e| e.to_string())?;
    let dir = job.dest_dir.clone();
    let overwrite = job.settings.overwrite;
    let name = crate::filename::unique_name(&wanted, |cand| {
        let p = dir.join(cand);
        claimed.contains(&p) || part_path(&p).exists() || (!overwrite && p.exists())
    });
    if name != wanted {
        obs.event(Event::Note(format!(
            "{} already exists or is being downloaded; saving as {name}",
            dir.join(&wanted).display()
        )));
    }
    let dest = dir.join(&name);
    let ranged = info.ranges && info.size.is_some();
    let piece = piece_size_for(info.size.unwrap_or(0));
    let pieces = if ranged {
        Some(PieceMap::new(info.size.unwrap_or(0), piece))
    } else {
        None
    };
    let meta = RemoteMeta {
        final_url: info.final_url.clone(),
        file_name: name.clone(),
        size: info.size,
        etag: info.etag.clone(),
        last_modified: info.last_modified.clone(),
        ranges: ranged,
        piece_size: piece,
    };
    let bitmap = pieces
        .as_ref()
        .map(|p| p.as_bytes().to_vec())
        .unwrap_or_default();
    // Record the name before creating the file: a crash in between then leaves a named job
    // without a .part (started afresh), never an orphan .part that pushes it to "name (1)".
    store
        .save_remote(job.id, &meta, &bitmap)
        .map_err(|e| e.to_string())?;
    let file = PartFile::create(&dest, info.size).map_err(|e| e.to_string())?;
    Ok(Prepared::new(info, name, dest, file, pieces, http).with_host_policy(store, job, cfg))
}

/// Continue a job from its bitmap.
fn resume(
    store: &mut Store,
    job: &Job,
    info: RemoteInfo,
    http: HttpOptions,
    cfg: &Config,
    obs: &mut dyn Observer,
) -> Result<Prepared, String> {
    let name = job.file_name.clone().expect("probed job has a name");
    let dest = job.dest_dir.join(&name);
    let ranged = info.ranges && info.size.is_some() && job.ranges == Some(true);
    let restart = |why: &str, obs: &mut dyn Observer| {
        if job.bytes_done > 0 {
            obs.event(Event::Note(format!("{why}; restarting from zero")));
        }
    };
    if !ranged {
        restart(
            "the server does not support ranges, so the download cannot continue",
            obs,
        );
        return fresh_same_name(store, job, info, http, cfg, name);
    }
    let size = info.size.unwrap_or(0);
    let piece = job.piece_size.unwrap_or_else(|| piece_size_for(size));
    let pieces = PieceMap::from_bytes(size, piece, &job.bitmap);
    let file = match (pieces.is_some(), PartFile::open(&dest, Some(size))) {
        (true, Ok(f)) => f,
        (false, _) => {
            restart("the saved progress does not match the file", obs);
            return fresh_same_name(store, job, info, http, cfg, name);
        }
        (true, Err(e)) if e.kind == std::io::ErrorKind::NotFound => {
            restart(
                &format!("the partial file {} is gone", part_path(&dest).display()),
                obs,
            );
            return fresh_same_name(store, job, info, http, cfg, name);
        }
        (true, Err(e)) => return Err(e.to_string()),
    };
    Ok(Prepared::new(info, name, dest, file, pieces, http).with_host_policy(store, job, cfg))
}

/// Start over, keeping the name the job already has.
fn fresh_same_name(
    store: &mut Store,
    job: &Job,
    info: RemoteInfo,
    http: HttpOptions,
    cfg: &Config,
    name: String,
) -> Result<Prepared, String> {
    let mut j = job.clone();
    j.file_name = Some(name);
    j.settings.overwrite = true; // our own name: the .part we replace is ours
    fresh(store, &j, info, http, cfg, &mut super::NoObserver)
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| host_key(&u))
        .unwrap_or_default()
}

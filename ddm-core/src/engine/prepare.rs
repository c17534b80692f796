//! Before the transfers: what to ask first, and what the first answer means for the job:
//! check the remote is still the same file, reserve the file name on the first run
//! (`jobs::reserve`), open or create the `.part` file, and decide whether the first answer's
//! body can be kept (it almost always can).
//!
//! The remote must be the same file: before continuing, size, ETag and Last-Modified from the
//! first answer are compared with the stored ones by the one rule of `identity` (a validator
//! only one side gives is no difference); if any differs and progress exists, the job fails
//! naming what changed (two versions are never spliced). An existing `.part` file
//! is continued only if it is the one this job created (its identity), never through a
//! symlink, and only in the job's own directory, open for the run (`jobs::open_dir`).
//!
//! A job's first answer is also where a routing rule on the server's name or Content-Type is
//! decided (`jobs::route::at_answer`), before the name is reserved: in the rule's directory
//! when it moves the job.

use super::first::{Ask, Opened, FIRST_WINDOW};
use super::{Event, Observer};
use crate::config::Config;
use crate::http::HttpOptions;
use crate::identity::{self, Identity};
use crate::jobs::{self, storage_error, store_error, Reserved};
use crate::model::{ErrorKind, JobError};
use crate::pieces::{piece_size_for, PieceMap};
use crate::resolver::{self, Answered, RemoteInfo};
use crate::storage::{part_path, Dir, PartFile, Reopen};
use crate::store::{host_key, Job, JobSettings, RemoteMeta, Store};
use crate::transfer::Mode;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Prepared {
    pub info: RemoteInfo,
    pub name: String,
    pub file: PartFile,
    pub pieces: Option<PieceMap>,
    /// Bytes kept from an earlier run that cover no whole piece (`Job::partial`).
    pub partial: Vec<std::ops::Range<u64>>,
    pub connections: usize,
    /// The count is ddm's to choose (no `-c`, no saved recommendation): grow by gain.
    pub adaptive: bool,
    /// Where the count came from.
    pub source: super::CountSource,
    /// The host is known to refuse more connections than it allows.
    pub capped: bool,
    /// That host's learned cap (host policy), shared by every job on it.
    pub host_cap: Option<usize>,
    /// The count asked for, when `max_connections_per_host` lowered it to `connections`.
    pub lowered_from: Option<usize>,
    pub host: String,
    /// Where the first answer's body goes (`start..end` with its mode), if it is kept.
    pub first: Option<(u64, u64, Mode)>,
    /// The job as a routing rule left it (directory, settings), when one applied now.
    pub routed: Option<Job>,
}

/// The job's file is already in place (a crash or pause after the final rename).
pub struct Finished {
    pub path: PathBuf,
    pub size: u64,
}

/// What differs between what the job recorded and a fresh answer (empty: the same file, by
/// the one rule of `identity`; the job's own URL is trusted on its size when no validator
/// can be compared).
pub fn changes(job: &Job, info: &RemoteInfo) -> Vec<String> {
    identity::compare(&Identity::of_job(job), &Identity::of_info(info))
        .differences()
        .to_vec()
}

/// The HTTP options of a job: its headers, with credentials (the URL's, `--user`'s, the
/// netrc's) scoped to the URL it was given. Fails when its netrc file cannot be read.
pub fn job_http(job: &Job, cfg: &Config) -> Result<HttpOptions, JobError> {
    http_for(&job.url, &job.settings, cfg)
}

/// The HTTP options of a job with `settings` for `url` (see [`job_http`]).
pub fn http_for(url: &str, settings: &JobSettings, cfg: &Config) -> Result<HttpOptions, JobError> {
    let mut o = HttpOptions::from_config(cfg, settings.headers.clone(), settings.insecure)
        .scoped_to(url)
        .with_user(settings.user.as_ref())
        .with_network(&settings.network)
        .with_netrc(settings.netrc.as_ref())
        .map_err(|e| JobError::new(ErrorKind::Probe, e))?;
    o.cookies = settings.cookies.clone();
    Ok(o)
}

/// A job whose file is already complete (in its directory, `dir`) needs no request at all.
pub fn finished(job: &Job, dir: &Dir) -> Option<Finished> {
    jobs::finished_file(job, dir).map(|path| Finished {
        path,
        size: job.size.unwrap_or(0),
    })
}

/// What the first request asks for: a job with nothing yet asks for the file without a
/// Range header (a range answer costs some servers think time a plain GET does not; the
/// plain answer tells whether ranges are offered), unless `ranged_first`: a rate limit is in
/// force (a plain stream would let the server push megabytes into the sockets ahead of the
/// limit) or the host's ranges are known to cost nothing (a ranged window cuts no response);
/// a job with progress asks for the first range it is missing (within the first window; the
/// whole missing range when it will use one connection, `single`).
pub fn first_ask(job: &Job, single: bool, ranged_first: bool) -> Ask {
    if job.bytes_done == 0 && job.partial.is_empty() && !ranged_first {
        return Ask::Plain;
    }
    let (start, end) = first_span(job, single);
    Ask::Range(start, end)
}

/// The first range the job is missing (see [`first_ask`]).
fn first_span(job: &Job, single: bool) -> (u64, u64) {
    let known = job.final_url.is_some() && job.file_name.is_some() && job.ranges == Some(true);
    let pieces = match (known, job.size) {
        (true, Some(size)) => {
            let piece = job.piece_size.unwrap_or_else(|| piece_size_for(size));
            PieceMap::from_bytes(size, piece, &job.bitmap)
        }
        _ => None,
    };
    let window = if single { u64::MAX } else { FIRST_WINDOW };
    let missing = pieces.map(|p| super::split::subtract(&p.missing(), &job.partial));
    match missing.and_then(|m| m.into_iter().next()) {
        Some(r) => (r.start, r.end.min(r.start.saturating_add(window))),
        None => (0, window),
    }
}

/// The job's host policy key, from the URL its last answer came from (else its own).
fn job_host(job: &Job) -> String {
    let url = job.final_url.as_deref().unwrap_or(&job.url);
    url::Url::parse(url)
        .map(|u| host_key(&u))
        .unwrap_or_default()
}

/// The job will use one connection (`-c 1`, or its host's saved count or cap is 1).
pub fn single_connection(store: &Store, job: &Job, cfg: &Config) -> bool {
    connections(store, job, cfg, &job_host(job), true).n == 1
}

/// The job's host answered ranges as fast as a plain GET before (host policy): a new job
/// there asks a ranged window first, and no response is cut.
pub fn ranges_cheap(store: &Store, job: &Job) -> bool {
    store
        .host_policy(&job_host(job))
        .is_ok_and(|p| p.ranges_cheap == Some(true))
}

/// From a job's waits (`JobIo::wait_ns` of range requests, `plain_wait_ns` of its plain
/// first request; nanoseconds, `u64::MAX` when none was timed): whether range answers cost
/// no more than a plain GET's (within half of it and 10 ms). None when not both were timed.
pub fn ranges_cost_nothing(range_ns: u64, plain_ns: u64) -> Option<bool> {
    if range_ns == u64::MAX || plain_ns == u64::MAX {
        return None;
    }
    Some(
        range_ns
            <= plain_ns
                .saturating_add(plain_ns / 2)
                .saturating_add(10_000_000),
    )
}

/// Interpret the first answer and get the job ready to transfer in `dir`, its directory.
pub fn from_head(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    cfg: &Config,
    obs: &mut dyn Observer,
    o: &Opened,
) -> Result<Prepared, JobError> {
    let answered = Answered {
        url: &job.url,
        head: &o.head.head,
        final_url: &o.head.url,
        redirects: o.head.redirects.clone(),
        start: o.asked.0,
        asked_whole: o.plain,
    };
    let mut info = resolver::interpret(answered, None, Vec::new()).map_err(|f| {
        JobError::new(
            ErrorKind::Probe,
            format!("{}: {f}", crate::model::redact_url(&job.url)),
        )
    })?;
    // A plain answer that does not say whether ranges work: worth one range to find out
    // only for a file large enough and a job that may open a second connection
    // (`coordinator/proof.rs`); otherwise it is a server without ranges.
    if o.plain
        && info.ranges
        && !resolver::advertises_ranges(&o.head.head)
        && (info.size.unwrap_or(0) < super::coordinator::PROBE_MIN
            || job.settings.connections == Some(1))
    {
        info.ranges = false;
    }
    for n in &info.notes {
        obs.event(Event::Note(n.clone()));
    }
    let probed_before = job.final_url.is_some() && job.file_name.is_some();
    if !probed_before {
        // A name the user gave (-o) is that name or nothing; the server's may become `(1)`.
        let (wanted, exact) = match &job.file_name {
            Some(n) => (n.clone(), job.name_fixed),
            None => (info.filename.clone(), false),
        };
        let ct = info.content_type.clone();
        let routed = jobs::route::at_answer(store, job, &cfg.rule, &wanted, ct.as_deref())?;
        let Some(r) = routed else {
            return fresh(store, job, dir, info, cfg, obs, (&wanted, exact), o);
        };
        let into = match &r.dir {
            Some(_) => format!("; saving into {}", r.job.dest_dir.display()),
            None => String::new(),
        };
        obs.event(Event::Note(format!("{}{into}", r.applied)));
        let dir = r.dir.as_ref().unwrap_or(dir);
        let mut p = fresh(store, &r.job, dir, info, cfg, obs, (&wanted, exact), o)?;
        p.routed = Some(r.job);
        return Ok(p);
    }
    let diff = changes(job, &info);
    if !diff.is_empty() && job.bytes_done > 0 {
        return Err(JobError::new(
            ErrorKind::RemoteChanged,
            format!(
                "the remote file changed since the download started ({}); partial data kept",
                diff.join(", ")
            ),
        ));
    }
    let name = job.file_name.clone().expect("probed job has a name");
    if !diff.is_empty() {
        return restart(store, job, dir, info, cfg, &name, o);
    }
    let protocol = (!info.protocol.is_empty()).then_some(info.protocol.as_str());
    if job.final_url.as_deref() != Some(info.final_url.as_str())
        || job.protocol.as_deref() != protocol
    {
        store
            .set_answered(job.id, &info.final_url, protocol)
            .map_err(store_error)?;
    }
    resume(store, job, dir, info, cfg, obs, name, o)
}

/// Where the first answer's body goes in a fresh start (from byte 0), if anywhere.
fn first_use_fresh(info: &RemoteInfo, o: &Opened) -> Option<(u64, u64, Mode)> {
    let h = &o.head.head;
    match h.status {
        206 if info.ranges && o.asked.0 == 0 => {
            let cr = h.content_range()?;
            Some((0, cr.last + 1, Mode::Range))
        }
        // Asked without a range from a server that offers them: the stream is the file's
        // first segment (the coordinator cuts it at its share once the others start).
        200 if info.ranges => Some((0, info.size?, Mode::Whole)),
        // The server ignored the range: this body is the whole file, as long as it goes (a
        // stream without ranges is read to its end, whatever length it announced before).
        200 => Some((0, u64::MAX, Mode::Whole)),
        _ => None,
    }
}

/// A job's connection count and where its limits come from.
pub(super) struct Count {
    pub(super) n: usize,
    /// The count is ddm's to choose (grown by measured gain).
    adaptive: bool,
    /// The host's learned cap (host policy), if it refused connections before.
    host_cap: Option<usize>,
    /// The count asked for (`-c`, a saved recommendation) when `max_connections_per_host`
    /// lowered it.
    lowered_from: Option<usize>,
}

/// The job's most connections: its own (`-c`), else the host's saved recommendation, else
/// the config's; never above the host's learned cap, nor above what the budget lets one job
/// open to its host (`-c 32` with `max_connections_per_host = 8` is 8: the count shown is the
/// one that can be opened).
fn connections(store: &Store, job: &Job, cfg: &Config, host: &str, ranged: bool) -> Count {
    let pol = store.host_policy(host).unwrap_or_default();
    count(&pol, job, cfg, ranged)
}

/// [`connections`] given the host's policy.
pub(super) fn count(
    pol: &crate::store::HostPolicy,
    job: &Job,
    cfg: &Config,
    ranged: bool,
) -> Count {
    if !ranged {
        return Count {
            n: 1,
            adaptive: false,
            host_cap: None,
            lowered_from: None,
        };
    }
    let chosen = job.settings.connections.or(pol.recommended);
    let host_cap = pol.max_connections.map(|c| c.max(1) as usize);
    let wanted = chosen.unwrap_or(cfg.connections) as usize;
    let n = wanted
        .min(host_cap.unwrap_or(usize::MAX))
        .clamp(1, crate::config::MAX_CONNECTIONS as usize);
    let budget = cfg.host_connections();
    Count {
        n: n.min(budget),
        adaptive: chosen.is_none(),
        host_cap,
        lowered_from: (chosen.is_some() && n > budget).then_some(n),
    }
}

/// What the store records of a fresh start, and the empty piece map (None without ranges).
fn plan(info: &RemoteInfo) -> (RemoteMeta, Option<PieceMap>) {
    let ranged = info.ranges && info.size.is_some();
    let piece = piece_size_for(info.size.unwrap_or(0));
    let pieces = ranged.then(|| PieceMap::new(info.size.unwrap_or(0), piece));
    let meta = RemoteMeta {
        final_url: info.final_url.clone(),
        file_name: String::new(), // chosen by the reservation
        size: info.size,
        etag: info.etag.clone(),
        last_modified: info.last_modified.clone(),
        ranges: ranged,
        piece_size: piece,
        protocol: (!info.protocol.is_empty()).then(|| info.protocol.clone()),
    };
    (meta, pieces)
}

fn bitmap(pieces: &Option<PieceMap>) -> Vec<u8> {
    pieces
        .as_ref()
        .map(|p| p.as_bytes().to_vec())
        .unwrap_or_default()
}

/// A transfer ready to start: the starting connection count comes from the job, the host
/// policy and the config.
fn ready(
    store: &Store,
    job: &Job,
    cfg: &Config,
    info: RemoteInfo,
    r: Reserved,
    (pieces, partial): (Option<PieceMap>, Vec<std::ops::Range<u64>>),
    first: Option<(u64, u64, Mode)>,
) -> Prepared {
    let host = url::Url::parse(&info.final_url)
        .map(|u| host_key(&u))
        .unwrap_or_default();
    let count = connections(store, job, cfg, &host, pieces.is_some());
    let source = match (pieces.is_some(), job.settings.connections, count.adaptive) {
        (false, _, _) => super::CountSource::NoRanges,
        (true, Some(_), _) if job.settings.connections_from_rule => super::CountSource::Rule,
        (true, Some(_), _) => super::CountSource::Flag,
        (true, None, false) => super::CountSource::Bench,
        (true, None, true) => super::CountSource::Adaptive,
    };
    Prepared {
        info,
        name: r.name,
        file: r.file,
        pieces,
        partial,
        connections: count.n,
        adaptive: count.adaptive,
        source,
        capped: count.host_cap.is_some(),
        host_cap: count.host_cap,
        lowered_from: count.lowered_from,
        host,
        first,
        routed: None,
    }
}

/// First run (or a start under a new name): reserve the name (`wanted`, or with `exact` only
/// it), record the remote, create and preallocate the `.part` file.
#[allow(clippy::too_many_arguments)]
fn fresh(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    info: RemoteInfo,
    cfg: &Config,
    obs: &mut dyn Observer,
    (wanted, exact): (&str, bool),
    o: &Opened,
) -> Result<Prepared, JobError> {
    let (meta, pieces) = plan(&info);
    let r = jobs::reserve(store, job, dir, wanted, exact, &meta, &bitmap(&pieces))?;
    if r.name != wanted {
        obs.event(Event::Note(format!(
            "{} already exists or is being downloaded; saving as {}",
            job.dest_dir.join(wanted).display(),
            r.name
        )));
    }
    r.file
        .reserve(info.size.unwrap_or(0), cfg.min_free_space)
        .map_err(|e| storage_error(&e))?;
    let first = first_use_fresh(&info, o);
    Ok(ready(store, job, cfg, info, r, (pieces, Vec::new()), first))
}

/// Start over under the job's own name, reusing its own `.part` file if it is still there.
fn restart(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    info: RemoteInfo,
    cfg: &Config,
    name: &str,
    o: &Opened,
) -> Result<Prepared, JobError> {
    let (meta, pieces) = plan(&info);
    let r = jobs::restart_in_place(store, job, dir, name, &meta, &bitmap(&pieces))?;
    r.file
        .reserve(info.size.unwrap_or(0), cfg.min_free_space)
        .map_err(|e| storage_error(&e))?;
    let first = first_use_fresh(&info, o);
    Ok(ready(store, job, cfg, info, r, (pieces, Vec::new()), first))
}

/// Continue a job from its bitmap.
#[allow(clippy::too_many_arguments)]
fn resume(
    store: &mut Store,
    job: &Job,
    dir: &Arc<Dir>,
    info: RemoteInfo,
    cfg: &Config,
    obs: &mut dyn Observer,
    name: String,
    o: &Opened,
) -> Result<Prepared, JobError> {
    let dest = job.dest_dir.join(&name);
    let ranged = info.ranges && info.size.is_some() && job.ranges == Some(true);
    let note = |why: &str, obs: &mut dyn Observer| {
        if job.bytes_done > 0 {
            obs.event(Event::Note(format!("{why}; restarting from zero")));
        }
    };
    if !ranged {
        note(
            "the server does not support ranges, so the download cannot continue",
            obs,
        );
        return restart(store, job, dir, info, cfg, &name, o);
    }
    let size = info.size.unwrap_or(0);
    let piece = job.piece_size.unwrap_or_else(|| piece_size_for(size));
    let Some(pieces) = PieceMap::from_bytes(size, piece, &job.bitmap) else {
        note("the saved progress does not match the file", obs);
        return restart(store, job, dir, info, cfg, &name, o);
    };
    let file = match PartFile::open_own_in(dir, &name, job.part_id, Some(size)) {
        Ok(f) => f,
        Err(Reopen::Missing) => {
            note(
                &format!("the partial file {} is gone", part_path(&dest).display()),
                obs,
            );
            return restart(store, job, dir, info, cfg, &name, o);
        }
        Err(Reopen::NotOurs) => {
            obs.event(Event::Note(format!(
                "{} is not the file ddm created (a link, or another file put in its place); \
                 it is left alone and the download starts over under a new name",
                part_path(&dest).display()
            )));
            return fresh(store, job, dir, info, cfg, obs, (&name, false), o);
        }
        Err(Reopen::Failed(e)) => return Err(storage_error(&e)),
    };
    let fid = file.id().map_err(|e| storage_error(&e))?;
    if job.part_id.is_none() {
        // A job recorded before identities were kept adopts its regular `.part` file.
        store.adopt_part(job.id, fid).map_err(store_error)?;
    }
    file.reserve(size, cfg.min_free_space)
        .map_err(|e| storage_error(&e))?;
    // The first answer covers the first missing range from where it was asked.
    let h = &o.head.head;
    let first = match (h.status, h.content_range()) {
        (206, Some(cr)) if cr.first == o.asked.0 && !pieces.all_done() => {
            Some((cr.first, cr.last + 1, Mode::Range))
        }
        // Asked without a range (nothing was kept): the stream is the first segment.
        (200, _) if o.plain && pieces.bytes_done() == 0 && job.partial.is_empty() => {
            Some((0, size, Mode::Whole))
        }
        _ => None,
    };
    let r = Reserved { name, file };
    Ok(ready(
        store,
        job,
        cfg,
        info,
        r,
        (Some(pieces), job.partial.clone()),
        first,
    ))
}

//! One pass of a job, as a pipeline of typed phases, each taking what the one before it
//! returned:
//!
//! ```text
//! open ─ Ready ─▶ first request ─ Opened ─▶ prepare ─ Prepared ─▶ adopt ─ Adopting ─▶
//!        transfer ─ Transferred ─▶ verify ─ Verified ─▶ finalize ─▶ Outcome
//! ```
//!
//! - **open** ([`open`]): the job's directory (held for the whole pass), a job already
//!   complete on disk recorded as done, the rate gate and the HTTP options;
//! - **first request** ([`first_request`], `first.rs`): a head to use, or why not;
//! - **prepare** (`prepare.rs`): the same file, its name, the `.part` file, pieces, the
//!   connection count;
//! - **adopt** ([`adopt`]): the first answer's body goes on into its segment (`Go`) or is
//!   dropped, the host's cap shared, the start told;
//! - **transfer** ([`transfer`]): the coordinator works until complete or stopped;
//! - **verify** ([`verify`]): every piece done, the file's length, the checksum;
//! - **finalize** (`finish.rs`): rename into place and record `done`.
//!
//! A phase that ends the pass early returns the [`Pass`] to end it with (`Err`), so the
//! pipeline reads top to bottom with `?`.

use super::coordinator::{self, Adopted, Coordinator, Params, RangeProof, Stop};
use super::prepare::{self, Prepared};
use super::{finish, first, linkwait, record, Control, Event, Note, Observer, Outcome};
use crate::config::Config;
use crate::jobs::{self, storage_error};
use crate::model::{ErrorKind, JobError, Origin};
use crate::rate::{Bucket, Gate};
use crate::storage::{Dir, PartFile};
use crate::store::{Job, Store};
use crate::transfer::{Expect, JobIo, Mode, Reply, Report, Segment, Task, WorkerId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one pass of a run ended.
pub(super) enum Pass {
    Ended(Outcome),
    /// The job was given a new link this pass could not take in place: start again with it.
    Again,
}

impl From<Outcome> for Pass {
    fn from(o: Outcome) -> Self {
        Pass::Ended(o)
    }
}

/// A phase's result: the value the next phase takes, or how the pass ends.
type Step<T> = Result<T, Pass>;

fn failed(e: JobError) -> Pass {
    Outcome::Failed(e).into()
}

/// What one pass works with, from start to end.
struct Run<'a> {
    store: &'a mut Store,
    /// The job as the run found it, or as a routing rule left it with the first answer.
    job: std::borrow::Cow<'a, Job>,
    cfg: &'a Config,
    ctl: &'a Control,
    obs: &'a mut dyn Observer,
    started: Instant,
}

/// Run one pass of `job`.
pub(super) fn run_pass(
    store: &mut Store,
    job: &Job,
    cfg: &Config,
    ctl: &Control,
    obs: &mut dyn Observer,
    started: Instant,
) -> Pass {
    let mut run = Run {
        store,
        job: std::borrow::Cow::Borrowed(job),
        cfg,
        ctl,
        obs,
        started,
    };
    match run_inner(&mut run) {
        Ok(p) | Err(p) => p,
    }
}

fn run_inner(run: &mut Run<'_>) -> Step<Pass> {
    let mut ready = open(run)?;
    let opened = first_request(run, &mut ready)?;
    let prepared = prepare(run, &ready, opened)?;
    let adopting = adopt(run, &ready, prepared);
    let transferred = transfer(run, ready, adopting)?;
    let verified = verify(run, transferred)?;
    Ok(finalize(run, verified))
}

/// After [`open`]: the job's directory, its transfers' shared state and report channel.
struct Ready {
    dir: Arc<Dir>,
    io: Arc<JobIo>,
    /// The job's share of the rate gate (a routing rule may change its rate).
    gate: Arc<Gate>,
    /// Set when the pass is over: the job's share of the rate gate stops waiting.
    cancel: Arc<AtomicBool>,
    tx: Sender<Report>,
    rx: Receiver<Report>,
    /// The run's time and speed limits, from its first request on.
    deadline: coordinator::deadline::Deadline,
}

/// The job's directory, open for the whole run: everything happens relative to it, and a
/// directory that is not the one the job started in is refused before any request. A job
/// whose file is already in place is recorded as done here.
fn open(run: &mut Run<'_>) -> Step<Ready> {
    let job = &*run.job;
    let dir = jobs::open_dir(job).map_err(failed)?;
    if job.dir_id.is_none() && job.part_id.is_some() {
        // A job recorded before directory identities were kept adopts this one.
        if let Ok(id) = dir.id() {
            let _ = run.store.adopt_dir(job.id, id);
        }
    }
    if let Some(f) = prepare::finished(job, &dir) {
        run.obs.event(Event::Said(Note::AlreadyComplete {
            path: f.path.clone(),
        }));
        let done = finish::record_done(run.store, job.id, f.path, f.size, 0, run.started);
        return Err(done.into());
    }
    let cancel = Arc::new(AtomicBool::new(false));
    if let Ok(g) = run.store.global_rate() {
        run.ctl.rate.set_rate(g.unwrap_or(run.cfg.max_rate));
    }
    let gate = Arc::new(Gate {
        job: Bucket::new(job.settings.rate_limit),
        global: run.ctl.rate.clone(),
        cancel: cancel.clone(),
    });
    let opts = prepare::job_http(job, run.cfg).map_err(failed)?;
    let (tx, rx) = std::sync::mpsc::channel();
    Ok(Ready {
        dir,
        io: Arc::new(JobIo::new(opts, Some(gate.clone()))),
        gate,
        cancel,
        tx,
        rx,
        deadline: coordinator::deadline::Deadline::new(
            coordinator::deadline::Limits::of(&job.settings, run.cfg),
            run.started,
        ),
    })
}

/// The first request's head, or how the pass ends: stopped, failed, or (a refused link on
/// a job with progress) waiting for a fresh link and then starting again.
fn first_request(run: &mut Run<'_>, ready: &mut Ready) -> Step<first::Opened> {
    let (job, ctl, io) = (&*run.job, run.ctl, &ready.io);
    let deadline = &mut ready.deadline;
    let store = &*run.store;
    let mut control = || {
        record::poll_stop(Some(store), job.id, ctl).or_else(|| {
            let received = io.received.load(Ordering::Relaxed);
            deadline.check(Instant::now(), received).map(Stop::Failed)
        })
    };
    let ch = first::Channel {
        tx: &ready.tx,
        rx: &ready.rx,
    };
    let single = prepare::single_connection(store, job, run.cfg);
    // Under a rate limit a plain stream would let the server fill the sockets' buffers
    // (megabytes) ahead of the limit, and where ranges cost nothing a plain stream's cut
    // would waste them: such a job asks in windows from its first request.
    let limited = ready.gate.job.rate().is_some() || ready.gate.global.rate().is_some();
    let ranged_first = limited || prepare::ranges_cheap(store, job);
    let opened = first::open(
        job,
        io,
        ctl,
        &ch,
        prepare::first_ask(job, single, ranged_first),
        run.cfg.max_attempts,
        run.obs,
        &mut control,
    );
    match opened {
        Ok(o) => Ok(o),
        Err(first::NoHead::Stopped(stop)) => Err(stopped(stop)),
        Err(first::NoHead::Failed(e)) => Err(failed(e)),
        // Refused on a job with progress: wait for a fresh link, then start again with it.
        Err(first::NoHead::Expired(why)) => Err(
            match linkwait::for_link(run.store, job, run.cfg, ctl, run.obs, &why) {
                Ok(()) => Pass::Again,
                Err(o) => o.into(),
            },
        ),
    }
}

/// The head read (`prepare.rs`): the file is the job's, named, reserved and sized. On a
/// refusal the first answer is dropped and its worker goes back to the pool.
fn prepare(
    run: &mut Run<'_>,
    ready: &Ready,
    opened: first::Opened,
) -> Step<(first::Opened, Prepared)> {
    match prepare::from_head(run.store, &run.job, &ready.dir, run.cfg, run.obs, &opened) {
        Ok(mut p) => {
            // A routing rule applied with the first answer: the run goes on as it left the
            // job (its directory, connections, rate).
            if let Some(j) = p.routed.take() {
                ready.gate.job.set_rate(j.settings.rate_limit);
                run.job = std::borrow::Cow::Owned(j);
            }
            Ok((opened, p))
        }
        Err(e) => {
            opened.worker.reply(Reply::Abort);
            let _ = first::wait_done(&ready.rx);
            run.ctl.hand_back(opened.worker, None, opened.permit);
            Err(failed(e))
        }
    }
}

/// After [`adopt`]: the first answer's worker, if its body goes on, and where it went.
struct Adopting {
    /// What `prepare` decided, but the file (the job's transfers hold it now).
    name: String,
    info: crate::resolver::RemoteInfo,
    pieces: Option<crate::pieces::PieceMap>,
    partial: Vec<std::ops::Range<u64>>,
    connections: usize,
    adaptive: bool,
    capped: bool,
    /// The host policy's key.
    host: String,
    adopted: Option<Adopted>,
    /// The URL that answered (after redirects) and its origin.
    url: String,
    origin: Option<Origin>,
    /// What answered first: the job's URL or a mirror's.
    source: String,
    /// The first answer's wait, the first round-trip measurement.
    first_wait: Duration,
    /// What the first answer said of ranges (`coordinator/proof.rs`).
    range_proof: RangeProof,
}

/// The first answer's body flows on into its segment (`Go`, with the size and validators
/// every later answer must agree with), or the answer is dropped; the host's cap is shared
/// with every job on it; the start is told.
fn adopt(run: &mut Run<'_>, ready: &Ready, (opened, prep): (first::Opened, Prepared)) -> Adopting {
    let (ctl, io) = (run.ctl, &ready.io);
    io.set_file(prep.file);
    let url = prep.info.final_url.clone();
    let origin = Origin::parse(&url);
    if let (Some(o), Some(cap)) = (&origin, prep.host_cap) {
        // The host refuses more than this: all jobs on it share that many (its cap, not this
        // job's own count: a job with `-c 2` does not hold the others to 2).
        ctl.connections.cap_host(o, cap);
    }
    let first::Opened {
        worker,
        mut permit,
        head,
        source,
        ..
    } = opened;
    let adopted = match prep.first {
        Some((start, end, mode)) => {
            let seg = Segment::new(start, end);
            let expect = Expect {
                size: prep.info.size,
                etag: prep.info.etag.clone(),
                last_modified: prep.info.last_modified.clone(),
            };
            let (io, to, first) = (io.clone(), ready.tx.clone(), WorkerId::FIRST);
            // The rest of the first answer: asked as one window (it is under way already).
            // The coordinator lets it go once it has cut the segment at its share.
            let go = match mode {
                Mode::Range => {
                    Task::range(io, to, first, seg.clone(), url.clone(), u64::MAX, expect)
                }
                _ => Task::whole(io, to, first, seg.clone(), url.clone(), expect),
            };
            permit.rehome(origin.as_ref());
            Some(Adopted {
                worker,
                seg,
                permit,
                go,
            })
        }
        None => {
            worker.reply(Reply::Abort);
            let _ = first::wait_done(&ready.rx);
            ctl.hand_back(worker, origin.clone(), permit);
            None
        }
    };
    if let Some(p) = io.opts.proxy_for(&url) {
        let p = crate::model::redact_url(&p);
        tracing::info!(job = run.job.id, "through proxy {p}");
    }
    run.obs.event(Event::Started {
        job: run.job.id,
        name: &prep.name,
        size: prep.info.size,
        connections: prep.connections,
        source: prep.source,
        ranged: prep.pieces.is_some(),
        redirects: &head.redirects,
        protocol: &head.head.version,
    });
    if let Some(asked) = prep.lowered_from {
        run.obs.event(Event::Said(Note::ConnectionsCapped {
            asked,
            max: prep.connections,
        }));
    }
    // Asked without a range and answered 200: ranges are offered, or only not refused.
    let range_proof = match (prep.pieces.is_some(), head.head.status) {
        (true, 200) if crate::resolver::advertises_ranges(&head.head) => RangeProof::Offered,
        (true, 200) => RangeProof::Unsaid,
        _ => RangeProof::Proven,
    };
    Adopting {
        name: prep.name,
        info: prep.info,
        pieces: prep.pieces,
        partial: prep.partial,
        connections: prep.connections,
        adaptive: prep.adaptive,
        capped: prep.capped,
        host: prep.host,
        adopted,
        url,
        origin,
        source,
        first_wait: head.arrived.duration_since(head.started),
        range_proof,
    }
}

/// After [`transfer`]: the transfers are over and every piece is done.
struct Transferred {
    io: Arc<JobIo>,
    name: String,
    ranged: bool,
    size: Option<u64>,
    /// Bytes at the end of a stream of unknown length.
    stream_len: Option<u64>,
    complete: Option<bool>,
}

/// The coordinator works the job until it is complete or must stop; a cap the host taught
/// is kept for every job on it.
fn transfer(run: &mut Run<'_>, ready: Ready, a: Adopting) -> Step<Transferred> {
    let (job, ctl, cfg) = (&*run.job, run.ctl, run.cfg);
    let params = Params {
        job_id: job.id,
        name: a.name.clone(),
        url: a.url,
        first_url: job
            .settings
            .origin_url
            .clone()
            .unwrap_or_else(|| job.url.clone()),
        mode: if a.pieces.is_some() {
            Mode::Range
        } else {
            Mode::Whole
        },
        size: a.info.size,
        etag: a.info.etag.clone(),
        last_modified: a.info.last_modified.clone(),
        // Sources besides the one that answered first (a mirror, when the job's URL did not).
        mirrors: job
            .settings
            .mirrors
            .iter()
            .filter(|m| **m != a.source)
            .cloned()
            .collect(),
        connections: a.connections,
        adaptive: a.adaptive,
        capped: a.capped,
        limit: None,
        partial: a.partial,
        range_proof: a.range_proof,
        deadline: ready.deadline,
        relink: Some(coordinator::Relink {
            wait: Duration::from_secs(cfg.link_wait_secs),
            url: job.url.clone(),
            settings: job.settings.clone(),
        }),
        cfg,
    };
    let mut rec = record::JobRecord {
        store: &mut *run.store,
        job: job.id,
        max_rate: cfg.max_rate,
        link_gen: job.link_gen,
    };
    let mut coord = Coordinator::new(
        params,
        &mut rec,
        ctl,
        &mut *run.obs,
        ready.io.clone(),
        (ready.tx, ready.rx),
        a.pieces,
        a.adopted,
    );
    // The first answer's wait is the first round-trip measurement (request windows use it).
    coord.stats.ttfb.push(a.first_wait);
    let stop = coord.run();
    let learned = coord.learned_cap();
    let complete = coord.pieces().map(|p| p.all_done());
    // Ranges probable may have turned out refused: the file came in one stream then.
    let ranged = coord.pieces().is_some();
    let stream_len = coord.stream_len;
    drop(coord);
    ready.cancel.store(true, Ordering::Relaxed);
    // What a range answer cost beyond a plain one, measured when the first request was plain:
    // the host's next jobs ask accordingly.
    let waits = (
        ready.io.wait_ns.load(Ordering::Relaxed),
        ready.io.plain_wait_ns.load(Ordering::Relaxed),
    );
    if let Some(cheap) = prepare::ranges_cost_nothing(waits.0, waits.1) {
        let _ = run.store.set_host_ranges_cheap(&a.host, cheap);
    }
    if let Some(own) = learned {
        // What the host allows is what all jobs on it had working when it refused (the cap
        // the budget learned while they shared it), not this job's share of it.
        let shared = a.origin.as_ref().and_then(|o| ctl.connections.host_cap(o));
        let cap = shared.map_or(own, |h| h.max(own));
        let _ = run.store.set_host_cap(&a.host, cap as u32);
        if let Some(o) = &a.origin {
            ctl.connections.cap_host(o, cap);
        }
    }
    match stop {
        Stop::Complete => Ok(Transferred {
            io: ready.io,
            name: a.name,
            ranged,
            size: a.info.size,
            stream_len,
            complete,
        }),
        other => Err(stopped(other)),
    }
}

/// After [`verify`]: the file whole, of its final length, with the right checksum.
struct Verified {
    file: PartFile,
    name: String,
    size: u64,
    /// Bytes received in this pass.
    moved: u64,
}

fn internal(what: &str) -> Pass {
    failed(JobError::new(
        ErrorKind::Internal,
        format!("internal error: {what}"),
    ))
}

/// Done means every piece is done: decided from the bitmap, never from "all workers
/// exited" (failed ranges may have been in flight while the queue looked empty). The file
/// is the size every answer confirmed, and its checksum the one asked for.
fn verify(run: &mut Run<'_>, t: Transferred) -> Step<Verified> {
    if t.complete == Some(false) {
        return Err(internal("transfers ended but pieces are missing"));
    }
    let moved = t.io.received.load(Ordering::Relaxed);
    let io = Arc::try_unwrap(t.io).map_err(|_| internal("workers still hold the file"))?;
    let file = io.into_file().ok_or_else(|| internal("no file"))?;
    // A ranged file is the size every answer confirmed; a stream without ranges is as long
    // as it went, which the worker held to the length its answer (or, without one, the
    // first answer) stated.
    let size = match (t.ranged, t.size, t.stream_len) {
        (true, Some(s), _) => s,
        (_, _, Some(n)) => {
            file.set_len(n).map_err(|e| failed(storage_error(&e)))?;
            n
        }
        (_, s, None) => s.unwrap_or(0),
    };
    finish::verify(&run.job, &file, run.obs).map_err(failed)?;
    Ok(Verified {
        file,
        name: t.name,
        size,
        moved,
    })
}

/// Rename into place and record `done` (`finish.rs`).
fn finalize(run: &mut Run<'_>, v: Verified) -> Pass {
    let dest = match finish::finalize(&v.file, &v.name, &run.job, run.obs) {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    finish::record_done(run.store, run.job.id, dest, v.size, v.moved, run.started).into()
}

/// How a pass that stopped before completing ends.
fn stopped(stop: Stop) -> Pass {
    Pass::Ended(match stop {
        Stop::Paused => Outcome::Paused,
        Stop::Removed => Outcome::Removed,
        Stop::Interrupted => Outcome::Interrupted,
        Stop::Waiting(why) => Outcome::Waiting(why),
        Stop::Relink => return Pass::Again,
        Stop::Failed(e) => Outcome::Failed(e),
        Stop::Complete => Outcome::Failed(JobError::new(
            ErrorKind::Internal,
            "internal error: completed without a transfer",
        )),
    })
}

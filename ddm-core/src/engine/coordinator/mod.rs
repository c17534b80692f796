//! The coordinator: the one place that owns a download's policy and state.
//!
//! Workers only transfer bytes. The coordinator hands them segments, steals work for idle
//! connections from the largest remaining range, retries failures through the classifier,
//! lowers the connection count when the server throttles, checkpoints durable progress
//! (write → fdatasync → commit the bitmap: after a crash only committed pieces are trusted)
//! about once a second *and* every `CHECKPOINT_BYTES` received whatever the file's size, so a
//! crash costs at most the pieces in flight plus 16 MiB (plus what arrives during an
//! fdatasync, when the link outruns the disk), polls the store so a `pause`/`remove` from another
//! terminal takes effect within a second, and decides completion from the bitmap, never from
//! "the queue is empty". A checkpoint the store cannot save stops the job with that error.

mod caps;
mod crew;
pub mod deadline;
mod failure;
mod link;
mod progress;
mod proof;
mod reports;
mod schedule;
mod slot;
mod sources;
mod verify;

use crate::engine::Note;
use crew::Crew;
pub use link::Relink;
pub use proof::{RangeProof, PROBE_MIN};
use slot::{Plan, Role, Slot};
use verify::Trust;

use super::coverage::Coverage;
use super::governor::Governor;
use super::record::Checkpointer;
use super::split::{self, initial_segments, subtract};
use super::{Control, Event, Observer};
use crate::budget::Permit;
use crate::config::Config;
use crate::model::Origin;
use crate::model::{ErrorKind, JobError};
use crate::pieces::PieceMap;
use crate::retry;
use crate::transfer::{JobIo, Mode, Reply, Report, Segment, Task, WorkerHandle, WorkerId};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(50);
const CONTROL_EVERY: Duration = Duration::from_millis(250);
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// How often connection speeds are sampled for the governor.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Start kernel writeback after this many new bytes, so the final fsync finds little to do.
const WRITEBACK_EVERY: u64 = 32 << 20;
/// Checkpoint after this many bytes received since the last one, whatever the time and the
/// file's size: at 128 MiB/s a one-second cadence alone would lose a second of transfer to a
/// crash. This is the documented crash-loss bound, so it does not grow with the file (a
/// sixteenth of it once was: up to 1 GiB for a 16 GiB file); its fdatasync costs little,
/// since kernel writeback started after every `WRITEBACK_EVERY` bytes has written most of
/// the data already (measured in docs/benchmarks.md, `bench/checkpoint.sh`).
const CHECKPOINT_BYTES: u64 = 16 << 20;
/// How long a worker (and its unit of the budget) rests after we cut its response: the
/// server counts the connection as open until it notices the close, so a new one at once
/// would exceed the host's share from its side. Longer on a host that refused connections.
const CUT_REST: Duration = Duration::from_millis(50);
const COOL_DOWN: Duration = Duration::from_millis(300);

/// How a transfer phase ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Complete,
    Paused,
    Removed,
    Interrupted,
    Failed(JobError),
    /// The link expired and no fresh one came in time (or Ctrl-C while waiting): the job
    /// rests waiting for one (`link.rs`).
    Waiting(String),
    /// A new link that needs other HTTP options: start again from the first request.
    Relink,
}

pub struct Params<'a> {
    pub job_id: i64,
    pub name: String,
    pub url: String,
    pub first_url: String,
    /// `Range` for a file with ranges, `Whole` for one stream from 0.
    pub mode: Mode,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Other URLs of the same file (`--mirror`); used only with ranges.
    pub mirrors: Vec<String>,
    /// The most connections (`-c`, the host policy or the config).
    pub connections: usize,
    /// Start small and grow by measured gain (the count is ddm's to choose).
    pub adaptive: bool,
    /// The host is known to cap connections (host policy).
    pub capped: bool,
    /// Stop a single stream here (bench); None = the whole file.
    pub limit: Option<u64>,
    /// Bytes kept from an earlier run that cover no whole piece (sorted, disjoint).
    pub partial: Vec<std::ops::Range<u64>>,
    /// What the first answer said of ranges: proven (a 206, or no ranges used), or, for a
    /// 200 to a request without a Range header, offered or only not refused (`proof.rs`).
    pub range_proof: RangeProof,
    /// The run's time and speed limits (`deadline.rs`).
    pub deadline: deadline::Deadline,
    /// Waiting for a fresh link when the job's expires, and taking new ones (`link.rs`);
    /// None: an expired link fails (`ddm bench`).
    pub relink: Option<Relink>,
    pub cfg: &'a Config,
}

/// The worker whose first answer's body goes on into `seg`: it waits for `go`, which the
/// coordinator sends once it has cut the segment at its share (so a fast stream never runs
/// past its share before the cut).
pub struct Adopted {
    pub worker: WorkerHandle,
    pub seg: Arc<Segment>,
    /// Its unit of the budget.
    pub permit: Permit,
    /// The task the body goes on as (`Reply::Go`).
    pub go: Task,
}

pub struct Coordinator<'a> {
    p: Params<'a>,
    /// Where checkpoints go and where pause, remove and rate limits come from.
    record: &'a mut dyn Checkpointer,
    ctl: &'a Control,
    obs: &'a mut dyn Observer,
    io: Arc<JobIo>,
    origin: Option<Origin>,
    /// The job's URL and its mirrors (see `sources.rs`).
    sources: Vec<sources::Source>,
    /// The job's workers, their speeds, sources and budget units (`crew.rs`).
    crew: Crew,
    /// The plan: the work cut into slots, what is written (`slot.rs`).
    plan: Plan,
    tx: Sender<Report>,
    rx: Receiver<Report>,
    /// How many connections, and which to replace.
    gov: Governor,
    /// The server's refusal was said (once; later ones go to the log).
    cap_said: bool,
    policy: retry::Policy,
    budget: retry::Budget,
    /// Expired links: resolving the job's URL again, or waiting for a fresh one (`link.rs`).
    relink: link::Relinking,
    /// Ranges proven, or only probable (`proof.rs`).
    proof: proof::Proof,
    started: Instant,
    samples: VecDeque<(Instant, u64)>,
    /// Speed of the last progress sample (bytes/s), recorded with each checkpoint.
    last_speed: Option<u64>,
    rng: u64,
    /// Bytes at the end of a stream of unknown length.
    pub stream_len: Option<u64>,
    /// What happened, for `ddm bench` and the log.
    pub stats: Stats,
}

/// Counters of one transfer phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Failed attempts (each was retried or ended the job).
    pub errors: u32,
    /// Signs that the server limits us: 429/503, connections refused or closed unanswered.
    pub throttled: u32,
    /// Attempts ended by the stall (low-speed) timeout.
    pub stalls: u32,
    /// Time to the first body byte of each attempt that received one.
    pub ttfb: Vec<std::time::Duration>,
    /// Connections closed for being far slower than their peers.
    pub replaced: u32,
    /// Slow tails raced by a second request that finished first.
    pub races: u32,
    pub races_won: u32,
}

impl<'a> Coordinator<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: Params<'a>,
        record: &'a mut dyn Checkpointer,
        ctl: &'a Control,
        obs: &'a mut dyn Observer,
        io: Arc<JobIo>,
        (tx, rx): (Sender<Report>, Receiver<Report>),
        pieces: Option<PieceMap>,
        adopted: Option<Adopted>,
    ) -> Self {
        let mut written = Coverage::default();
        let mut slots = Vec::new();
        let mut workers = Vec::new();
        let mut busy = 0;
        let mut units = Vec::new();
        let first_seg = adopted.as_ref().map(|a| a.seg.clone());
        // The first answer's worker keeps going on its segment (once it is cut, below).
        let mut go = None;
        if let Some(a) = adopted {
            go = Some(a.go);
            units.push(Some(a.permit));
            let mut slot = Slot::new(a.seg);
            slot.worker = Some(WorkerId::FIRST);
            slot.attempt_start = slot.seg.origin;
            slots.push(slot);
            workers.push(Some(a.worker));
            busy = 1;
        }
        let ceiling = if p.mode == Mode::Range {
            p.connections.max(1)
        } else {
            1
        };
        // The work is cut for the connections that open now (a count that grows takes its
        // work by stealing), so each connection asks once for a long range.
        let gov = Governor::new(ceiling, p.adaptive, p.capped, Instant::now());
        let proof = proof::Proof::of(p.range_proof, pieces.is_some(), ceiling, first_seg);
        // While a probe asks whether ranges work, the first stream and the probe are all.
        let opening = if proof.is_probing() { 2 } else { gov.target() };
        // The first answer may run to the end of the file (asked open-ended, or without a
        // range): its connection keeps a fair share of what is missing from where it is (its
        // body waits for `go`, sent below) and the rest goes to the others.
        if let (Some(first), Some(pm)) = (slots.first(), &pieces) {
            let now = first.seg.span().claimed;
            let missing: u64 = subtract(&pm.missing(), &p.partial)
                .iter()
                .map(|r| r.end.saturating_sub(r.start.max(now)))
                .sum();
            let share = match proof.is_probing() {
                true => missing.saturating_sub(proof::PROBE_LEN),
                false => (missing / opening.max(1) as u64).max(split::MIN_TAKE),
            };
            first.seg.cut(now.saturating_add(share));
        }
        if let (Some(go), Some(Some(w))) = (go, workers.first()) {
            w.reply(Reply::Go(go));
        }
        let taken: Vec<std::ops::Range<u64>> = slots
            .iter()
            .map(|s| s.seg.origin..s.seg.span().end)
            .collect();
        match &pieces {
            Some(pm) => {
                for r in pm
                    .done_ranges()
                    .into_iter()
                    .chain(p.partial.iter().cloned())
                {
                    written.insert(r);
                }
                let mut missing = subtract(&subtract(&pm.missing(), &p.partial), &taken);
                // The first answer's window may be shorter than a fair share: the rest of that
                // share waits for the same connection, after its window.
                if let (Some(first), Some(gap)) = (taken.first(), missing.first().cloned()) {
                    let share = pm.size() / opening.max(1) as u64;
                    let want = share.saturating_sub(first.end - first.start);
                    let kept = !proof.is_probing();
                    if kept && gap.start == first.end && want >= split::MIN_TAKE && opening > 1 {
                        let end = (gap.start + want).min(gap.end);
                        let mut slot = Slot::new(Segment::new(gap.start, end));
                        slot.role = Role::Kept(WorkerId::FIRST);
                        slots.push(slot);
                        missing = subtract(&missing, std::slice::from_ref(&(gap.start..end)));
                    }
                }
                let others = opening.saturating_sub(busy).max(1);
                for r in initial_segments(&missing, others) {
                    slots.push(Slot::new(Segment::new(r.start, r.end)));
                }
            }
            None if slots.is_empty() => {
                let end = p.limit.unwrap_or(u64::MAX);
                slots.push(Slot::new(Segment::new(0, end)))
            }
            None => {}
        }
        let policy = retry::Policy {
            max_attempts: p.cfg.max_attempts,
            ..retry::Policy::default()
        };
        let budget = retry::Budget::new(p.cfg.retry_budget);
        let rng = (std::process::id() as u64) << 32 ^ p.job_id as u64 ^ 0x9e37_79b9_7f4a_7c15;
        let origin = Origin::parse(&p.url);
        let mut sources = vec![sources::Source::new(&p.url, Trust::Reference)];
        sources.extend(
            p.mirrors
                .iter()
                .map(|m| sources::Source::new(m, Trust::Unproven)),
        );
        // The first answer's connection works on the job's URL.
        sources[0].busy = busy;
        Coordinator {
            p,
            record,
            ctl,
            obs,
            io,
            origin,
            sources,
            crew: Crew::new(workers, units, busy),
            plan: Plan {
                pieces,
                written,
                slots,
                rebalance_due: false,
            },
            tx,
            rx,
            gov,
            cap_said: false,
            policy,
            budget,
            relink: link::Relinking::default(),
            proof,
            started: Instant::now(),
            samples: VecDeque::new(),
            last_speed: None,
            rng,
            stream_len: None,
            stats: Stats::default(),
        }
    }

    /// Work until the download is complete or must stop; always ends with a checkpoint.
    pub fn run(&mut self) -> Stop {
        if self.sources.len() > 1 && self.p.mode != Mode::Range {
            self.obs.event(Event::Said(Note::MirrorsUnused));
        }
        let mut last_control = Instant::now();
        let mut seen_nudge = self.ctl.nudged.load(Ordering::Acquire);
        let mut last_progress = Instant::now() - PROGRESS_EVERY;
        let mut last_sample = Instant::now();
        let mut last_checkpoint = Instant::now();
        let checkpoint_every = Duration::from_secs_f64(self.p.cfg.checkpoint_secs);
        let mut flushed = 0u64;
        let mut checkpointed = 0u64;
        let checkpoint_bytes = CHECKPOINT_BYTES;
        self.assign();
        let stop = loop {
            if let Some(stop) = self.drain_reports() {
                break stop;
            }
            // Done when only checks are out and no mirror's bytes wait for one.
            if self
                .plan
                .slots
                .iter()
                .all(|s| matches!(s.role, Role::Check(_)))
                && !self.unproven_bytes()
            {
                break Stop::Complete;
            }
            let received = self.io.received.load(Ordering::Relaxed);
            if let Some(e) = self.p.deadline.check(Instant::now(), received) {
                break Stop::Failed(e);
            }
            if received - flushed >= WRITEBACK_EVERY {
                flushed = received;
                if let Some(f) = self.io.file() {
                    f.start_writeback();
                }
            }
            let nudged = self.ctl.nudged.load(Ordering::Acquire);
            if last_control.elapsed() >= CONTROL_EVERY || nudged != seen_nudge {
                last_control = Instant::now();
                seen_nudge = nudged;
                if let Some(stop) = self.check_control() {
                    break stop;
                }
            }
            if let Some(stop) = self.resolved() {
                break stop;
            }
            self.assign();
            if last_checkpoint.elapsed() >= checkpoint_every
                || received - checkpointed >= checkpoint_bytes
            {
                last_checkpoint = Instant::now();
                checkpointed = received;
                if let Err(e) = self.checkpoint() {
                    break Stop::Failed(e);
                }
            }
            if last_sample.elapsed() >= SAMPLE_EVERY {
                last_sample = Instant::now();
                self.sample_speeds();
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let p = self.progress();
                self.obs.event(Event::Progress(&p));
            }
        };
        let stop = self.settle_stop(stop);
        self.shutdown();
        if let Err(e) = self.checkpoint_final() {
            // Progress that cannot be saved must be said, whatever ended the transfer (a
            // removed job has nothing left to save).
            let unsaved = e.kind == ErrorKind::Store || e.kind == ErrorKind::NoSpace;
            match &stop {
                Stop::Removed => {}
                Stop::Failed(first) if !unsaved => {
                    tracing::warn!("final checkpoint after {first}: {e}")
                }
                Stop::Complete | Stop::Failed(_) => return Stop::Failed(e),
                _ if unsaved => return Stop::Failed(e),
                _ => tracing::warn!("final checkpoint: {e}"),
            }
        }
        let p = self.progress();
        self.obs.event(Event::Progress(&p));
        if let Some(s) = self.source_summary() {
            tracing::info!(job = self.p.job_id, "{s}");
            if stop == Stop::Complete {
                self.obs.event(Event::Note(s));
            }
        }
        stop
    }

    /// Pause, remove, Ctrl-C, rate limits that changed while the job runs (`ddm limit`), and
    /// a new link given to the job (`link.rs`).
    fn check_control(&mut self) -> Option<Stop> {
        let asked = self.record.asked(self.ctl);
        if let Some(gate) = &self.io.rate {
            if let Some(r) = asked.job_rate {
                gate.job.set_rate(r);
            }
            if let Some(g) = asked.global_rate {
                gate.global.set_rate(g);
            }
        }
        match asked.stop {
            Some(stop) => Some(stop),
            None => self.on_link(asked.link),
        }
    }

    /// Tell the observer what was done with the connections (a steal, race, replacement or
    /// retry).
    fn happened(&mut self, h: super::Happening) {
        self.obs.event(Event::Happened(h));
    }

    /// The job's pieces, if the file has ranges: complete when every one is done.
    pub fn pieces(&self) -> Option<&PieceMap> {
        self.plan.pieces.as_ref()
    }

    /// The learned connection cap, if the server refused connections: the most that were
    /// seen receiving at once.
    pub fn learned_cap(&self) -> Option<usize> {
        self.gov.learned_cap()
    }
}

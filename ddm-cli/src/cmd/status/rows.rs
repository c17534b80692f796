//! One job as `status` shows it: a row of the table (with the lines under it: where the job
//! stands in the queue, the rule that routed it, its error, why it waits) or a JSON object.
//! Rows are written one at a time, as the store reads them.

use crate::ctx::Ctx;
use crate::exit::{store, CliResult};
use crate::hints::{hint, waiting_hint, with_hint};
use crate::ui::{self, clean};
use ddm_core::model::redact_url;
use ddm_core::store::{Job, JobState, StateKind};
use std::collections::HashMap;
use std::io::Write;

/// What every row needs besides its job: whether a runner is alive (a job marked running
/// without one has no live speed), each queued job's place (1 first), the time now.
pub struct Shown {
    live: bool,
    places: HashMap<i64, usize>,
    now: i64,
}

impl Shown {
    pub fn new(ctx: &Ctx, live: bool) -> CliResult<Shown> {
        let places = ctx
            .store
            .queue_order()
            .map_err(store)?
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i + 1))
            .collect();
        Ok(Shown {
            live,
            places,
            now: ddm_core::clock::now(),
        })
    }

    /// The most connections each job may open, as the runner decides it.
    pub fn ceilings<'a>(&self, ctx: &'a Ctx) -> ddm_core::engine::Ceilings<'a> {
        ddm_core::engine::Ceilings::new(&ctx.store, &ctx.config)
    }

    /// The job as a JSON object (`max`: the most connections it may open).
    pub fn json<'j>(&self, j: &'j Job, max: Option<usize>) -> JobJson<'j> {
        let running = j.shown() == StateKind::Running && self.live;
        let err = j.state.error();
        let waiting = j.waits_for_link();
        JobJson {
            after: j.after,
            bytes_done: j.bytes_done,
            connections: if running { j.conns } else { None },
            connections_max: max,
            error: err.map(|e| e.message.as_str()),
            error_kind: err.map(|e| e.kind.as_str()),
            final_url: j.final_url.as_deref().map(redact_url),
            held: j.held.as_deref(),
            hint: err
                .map(|e| hint(e.kind, j.id))
                .or_else(|| waiting.map(|_| waiting_hint(j.id))),
            id: j.id,
            path: j.path().map(|p| p.display().to_string()),
            place: self.place(j),
            priority: j.priority,
            protocol: j.protocol.as_deref(),
            rule: j.rule.as_ref(),
            size: j.size,
            speed: if running { j.speed } else { None },
            starts_at: j.not_before,
            starts_at_local: j.not_before.map(ddm_core::clock::format),
            state: j.shown().name(),
            url: redact_url(&j.url),
            waiting,
        }
    }

    /// The job's place in the queue (1 first); None out of it (most jobs of a big store:
    /// looked up only for those in it).
    fn place(&self, j: &Job) -> Option<usize> {
        let in_queue = matches!(
            j.state.kind(),
            StateKind::Queued | StateKind::Paused | StateKind::Waiting
        );
        in_queue.then(|| self.places.get(&j.id).copied()).flatten()
    }

    /// Where a queued (or paused) job stands: its place with its priority, start time or
    /// dependency; None for a job out of the queue, or one with none of those.
    fn queue_line(&self, j: &Job) -> Option<String> {
        let place = self.place(j)?;
        let mut parts = vec![format!("place {place} in the queue")];
        if j.priority != 0 {
            parts.push(format!(
                "priority {}",
                ddm_core::store::priority_name(j.priority)
            ));
        }
        if let Some(t) = j.not_before.filter(|t| *t > self.now) {
            parts.push(format!(
                "starts at {} (in {})",
                ddm_core::clock::format(t),
                ddm_core::clock::span(t - self.now)
            ));
        }
        if let Some(d) = j.after {
            parts.push(format!("after job {d} is done"));
        }
        // A plain queued job says nothing more than its row.
        (parts.len() > 1).then(|| parts.join("; "))
    }
}

/// A job in `status --json`. Fields in alphabetical order, as scripts have always seen
/// them (the names are stable).
#[derive(Debug, serde::Serialize)]
pub struct JobJson<'a> {
    after: Option<i64>,
    bytes_done: u64,
    connections: Option<u32>,
    connections_max: Option<usize>,
    error: Option<&'a str>,
    error_kind: Option<&'static str>,
    final_url: Option<String>,
    held: Option<&'a str>,
    hint: Option<String>,
    id: i64,
    path: Option<String>,
    place: Option<usize>,
    priority: i64,
    protocol: Option<&'a str>,
    rule: Option<&'a ddm_core::rules::Applied>,
    size: Option<u64>,
    speed: Option<u64>,
    starts_at: Option<i64>,
    starts_at_local: Option<String>,
    state: &'static str,
    url: String,
    waiting: Option<&'a str>,
}

/// The job table, written a row at a time.
pub struct Table<'a> {
    shown: &'a Shown,
    ceilings: ddm_core::engine::Ceilings<'a>,
    long: bool,
    rows: usize,
    /// A job is marked running (a runner left it so if none is alive).
    running: bool,
    /// The row being written.
    line: String,
}

/// `s` padded with spaces to `width` bytes, on the left (`right`-aligned) or the right.
fn pad(out: &mut String, s: &str, width: usize, right: bool) {
    let fill = width.saturating_sub(s.len());
    if right {
        out.extend(std::iter::repeat_n(' ', fill));
    }
    out.push_str(s);
    if !right {
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

impl<'a> Table<'a> {
    pub fn new(shown: &'a Shown, ctx: &'a Ctx, long: bool) -> Self {
        Table {
            shown,
            ceilings: shown.ceilings(ctx),
            long,
            rows: 0,
            running: false,
            line: String::new(),
        }
    }

    pub fn row(&mut self, out: &mut impl Write, j: &Job) -> std::io::Result<()> {
        if self.rows == 0 {
            writeln!(
                out,
                "{:>5}  {:<8} {:>6}  {:>10}  {:>11}  {:>5}  NAME",
                "ID", "STATE", "DONE", "SIZE", "SPEED", "CONN"
            )?;
        }
        self.rows += 1;
        self.running |= j.state == JobState::Running;
        // As `{:.1}%` of `Job::percent` (at most 100), in integers.
        let pct = match j.size {
            Some(0) if j.state.is_done() => "100.0%".into(),
            Some(0) => "0.0%".into(),
            Some(s) => format!(
                "{}%",
                ui::tenths(u128::from(j.bytes_done.min(s)) * 100, s.into())
            ),
            None if j.bytes_done > 0 => ui::bytes(j.bytes_done),
            None => "-".into(),
        };
        let size = j.size.map(ui::bytes).unwrap_or_else(|| "?".into());
        let live = j.shown() == StateKind::Running && self.shown.live;
        let speed = match (live, j.speed) {
            (true, Some(s)) => ui::speed(s),
            _ => String::new(),
        };
        // Open now out of the most it may open, while a runner works it.
        let conn = match (live, live.then(|| self.ceilings.of(j)).flatten()) {
            (true, Some(m)) => crate::line::conns(j.conns.unwrap_or(0) as usize, m),
            _ => String::new(),
        };
        let name = match &j.file_name {
            Some(n) => clean(n),
            None => clean(&redact_url(&j.url)),
        };
        // The row as `{:>5}  {:<8} {:>6}  {:>10}  {:>11}  {:>5}  {}` would write it, padded
        // by hand into one buffer (the formatting machinery was a fifth of `status`'s time
        // for 100,000 jobs). Every padded field is ASCII: bytes are columns.
        let l = &mut self.line;
        l.clear();
        let id = j.id.to_string();
        pad(l, &id, 5, true);
        l.push_str("  ");
        pad(l, j.shown().name(), 8, false);
        l.push(' ');
        pad(l, &pct, 6, true);
        l.push_str("  ");
        pad(l, &size, 10, true);
        l.push_str("  ");
        pad(l, &speed, 11, true);
        l.push_str("  ");
        pad(l, &conn, 5, true);
        l.push_str("  ");
        l.push_str(&name);
        l.push('\n');
        out.write_all(l.as_bytes())?;
        if self.long {
            writeln!(
                out,
                "{:>5}  into {}, from {}",
                "",
                clean(&j.dest_dir.display().to_string()),
                clean(&redact_url(&j.url))
            )?;
        }
        if let Some(q) = self.shown.queue_line(j) {
            writeln!(out, "{:>5}  {q}", "")?;
        }
        if let Some(r) = &j.rule {
            writeln!(out, "{:>5}  rule: {}", "", clean(&r.to_string()))?;
        }
        if let Some(h) = &j.held {
            writeln!(
                out,
                "{:>5}  held by the schedule ({}); continues when the hold ends",
                "",
                clean(h)
            )?;
        }
        if let Some(e) = j.state.error() {
            writeln!(out, "{:>5}  error: {}", "", clean(&with_hint(e, j.id)))?;
        }
        if let Some(w) = j.waits_for_link() {
            let w = format!("{w}; {}", waiting_hint(j.id));
            writeln!(out, "{:>5}  waiting for a fresh link: {}", "", clean(&w))?;
        }
        Ok(())
    }

    /// After the last row: what an empty table or a dead runner means.
    pub fn end(self, out: &mut impl Write) -> std::io::Result<()> {
        if self.rows == 0 {
            return writeln!(out, "no jobs (queue one with `ddm add URL`)");
        }
        if self.running && !self.shown.live {
            writeln!(
                out,
                "note: no runner is working the jobs marked running (it was stopped); `ddm run` continues them"
            )?;
        }
        Ok(())
    }
}

//! Showing a running job: a live bar on a terminal, plain periodic lines otherwise, or NDJSON
//! events (`--json`) for scripts. Drawn on a fixed cadence, never per chunk.

use crate::board::Board;
use crate::hints::{hint, waiting_hint, with_hint};
use crate::line::{bar_line, Eta, Shown};
use crate::ui::{self, clean};
use ddm_core::engine::{CountSource, Event, Observer, Outcome, Progress};
use ddm_core::runner::Reporter;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub enum Mode {
    Bar,
    Lines,
    Json,
}

/// How jobs are shown; shared by all the jobs a runner works at once.
pub struct Display {
    mode: Mode,
    quiet: bool,
    verbose: u8,
    board: Board,
    /// Jobs running from a server without byte ranges: stopping one keeps nothing.
    no_ranges: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// One job's view: its line on the board (terminal) or its line cadence (plain output).
pub struct JobView<'a> {
    d: &'a Display,
    job: i64,
    eta: Eta,
    /// Job id and the short name shown on the board.
    bar: Option<(i64, String)>,
    last_line: Option<Instant>,
    /// The job waits for a fresh link: its line says so instead of its progress.
    waiting: bool,
}

impl Drop for JobView<'_> {
    fn drop(&mut self) {
        if let Some((job, _)) = self.bar.take() {
            self.d.board.remove(job);
        }
    }
}

impl Reporter for Display {
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_> {
        Box::new(self.job(job))
    }
    fn finished(&self, job: i64, outcome: &Outcome) {
        Display::finished(self, job, outcome)
    }
    fn say(&self, msg: &str) {
        Display::say(self, msg)
    }
}

impl Display {
    pub fn new(json: bool, quiet: bool, verbose: u8) -> Self {
        let mode = if json {
            Mode::Json
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Display {
            mode,
            quiet,
            verbose,
            board: Board::default(),
            no_ranges: Default::default(),
        }
    }

    /// Whether what job `id` received so far can be kept when it stops (forgets the job).
    fn kept(&self, id: i64) -> bool {
        !self
            .no_ranges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
    }

    pub fn job(&self, job: i64) -> JobView<'_> {
        JobView {
            d: self,
            job,
            eta: Eta::default(),
            bar: None,
            last_line: None,
            waiting: false,
        }
    }

    fn json(&self, v: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", crate::ui::json_text(&v.to_string()));
        let _ = out.flush();
    }

    /// A line about job `job` (not with `-q`).
    pub fn say_job(&self, job: i64, msg: &str) {
        self.say(&format!("job {job}: {msg}"));
    }

    pub fn say(&self, msg: &str) {
        if self.quiet {
            return;
        }
        self.print(msg);
    }

    /// A line on stderr that does not tear the progress bars (control characters from a
    /// server never reach the terminal).
    fn print(&self, msg: &str) {
        let msg = clean(msg);
        match self.mode {
            Mode::Bar => self.board.println(&msg),
            _ => eprintln!("{msg}"),
        }
    }

    /// `get` met a download that finished before, its file still in place: nothing was
    /// asked or written.
    pub fn already_done(&self, id: i64, path: &std::path::Path, size: u64) {
        match self.mode {
            Mode::Json => self.json(serde_json::json!({
                "event": "done", "job": id, "path": path.display().to_string(), "size": size,
                "received": 0, "seconds": 0.0, "already": true})),
            _ => self.say(&format!(
                "job {id}: already done: {} ({}); nothing downloaded (--overwrite downloads it \
                 again)",
                path.display(),
                ui::bytes(size)
            )),
        }
    }

    /// The end of a runner: how many jobs did what, each failure with its error and hint,
    /// the bytes received and the time (`-q`: the failures only).
    pub fn summary(&self, s: &ddm_core::runner::Summary, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(1e-3);
        if let Mode::Json = self.mode {
            let failures: Vec<_> = s
                .failures
                .iter()
                .map(|(id, e)| {
                    serde_json::json!({"job": id, "error": e.message,
                        "error_kind": e.kind.as_str(), "hint": hint(e.kind, *id)})
                })
                .collect();
            self.json(serde_json::json!({
                "event": "summary", "ran": s.ran, "done": s.done, "failed": s.failed,
                "stopped": s.stopped, "waiting": s.waiting, "interrupted": s.interrupted, "received": s.received,
                "seconds": secs, "failures": failures}));
            return;
        }
        let mut parts = vec![format!("{} done", s.done)];
        if s.failed > 0 {
            parts.push(format!("{} failed", s.failed));
        }
        if s.stopped > 0 {
            parts.push(format!("{} paused or removed", s.stopped));
        }
        if s.waiting > 0 {
            parts.push(format!("{} waiting for a fresh link", s.waiting));
        }
        if s.interrupted {
            parts.push("interrupted (the rest is queued, progress kept)".into());
        }
        let line = format!(
            "summary: {} job{} ran: {}; {} received in {} ({})",
            s.ran,
            if s.ran == 1 { "" } else { "s" },
            parts.join(", "),
            ui::bytes(s.received),
            ui::duration(secs),
            ui::speed((s.received as f64 / secs) as u64)
        );
        self.say(&line);
        for (id, e) in &s.failures {
            let msg = format!("  job {id} failed: {}", with_hint(e, *id));
            // Failures are said even with -q.
            self.print(&msg);
        }
    }

    /// Report how a job ended.
    pub fn finished(&self, id: i64, o: &Outcome) {
        // A stream without ranges cannot be taken up where it stopped: never "progress saved".
        let kept = self.kept(id);
        match self.mode {
            Mode::Json => {
                let v = match o {
                    Outcome::Done {
                        path,
                        size,
                        moved,
                        elapsed,
                    } => serde_json::json!({
                        "event": "done", "job": id, "path": path.display().to_string(),
                        "size": size, "received": moved, "seconds": elapsed.as_secs_f64()}),
                    Outcome::Failed(e) => serde_json::json!({
                        "event": "failed", "job": id, "error": e.message,
                        "error_kind": e.kind.as_str(), "hint": hint(e.kind, id)}),
                    Outcome::Paused => {
                        serde_json::json!({"event": "paused", "job": id, "progress_kept": kept})
                    }
                    Outcome::Removed => serde_json::json!({"event": "removed", "job": id}),
                    Outcome::Interrupted => {
                        serde_json::json!({"event": "interrupted", "job": id, "progress_kept": kept})
                    }
                    Outcome::Waiting(why) => serde_json::json!({
                        "event": "waiting", "job": id, "reason": why, "ended": true,
                        "hint": waiting_hint(id)}),
                };
                self.json(v);
            }
            _ => {
                let msg = match o {
                    Outcome::Done {
                        path,
                        size,
                        moved,
                        elapsed,
                    } => {
                        // The speed counts only what this run received.
                        let secs = elapsed.as_secs_f64().max(1e-3);
                        let got = if moved < size {
                            format!("{} received", ui::bytes(*moved))
                        } else {
                            ui::bytes(*size)
                        };
                        format!(
                            "job {id}: done: {} ({got} in {}, {})",
                            path.display(),
                            ui::duration(secs),
                            ui::speed((*moved as f64 / secs) as u64)
                        )
                    }
                    Outcome::Failed(e) => format!("job {id}: failed: {}", with_hint(e, id)),
                    Outcome::Paused if !kept => format!(
                        "job {id}: paused; the server sends no byte ranges, so what was received \
                         cannot be kept: `ddm resume {id}` starts it over from zero"
                    ),
                    Outcome::Paused => format!("job {id}: paused (progress kept; `ddm resume {id}`)"),
                    Outcome::Removed => format!("job {id}: removed"),
                    Outcome::Interrupted if !kept => format!(
                        "job {id}: interrupted; the server sends no byte ranges, so what was \
                         received cannot be kept: `ddm run` (or the same `ddm get`) starts it \
                         over from zero"
                    ),
                    Outcome::Interrupted => format!(
                        "job {id}: interrupted; progress saved, `ddm run` (or the same `ddm get`) continues it"
                    ),
                    Outcome::Waiting(why) => format!(
                        "job {id}: waiting for a fresh link ({why}); {}",
                        waiting_hint(id)
                    ),
                };
                if matches!(o, Outcome::Failed(_) | Outcome::Waiting(_)) || !self.quiet {
                    self.print(&msg);
                }
            }
        }
    }
}

impl JobView<'_> {
    fn progress(&mut self, p: &Progress) {
        let speed = (p.speed > 0.0).then_some(p.speed);
        let left = p.size.map(|s| s.saturating_sub(p.bytes));
        let eta = self.eta.update(p.elapsed.as_secs_f64(), left, p.speed);
        match self.d.mode {
            Mode::Json => self.d.json(serde_json::json!({
                "event": "progress", "job": p.job, "bytes": p.bytes, "size": p.size,
                "speed": p.speed as u64, "eta_seconds": eta,
                "connections": p.connections, "connections_max": p.max_connections,
                "elapsed": p.elapsed.as_secs_f64()})),
            Mode::Bar => {
                if let Some((job, name)) = self.bar.as_ref().filter(|_| !self.waiting) {
                    let shown = Shown {
                        bytes: p.bytes,
                        size: p.size,
                        speed,
                        eta,
                        connections: p.connections,
                        max_connections: p.max_connections,
                    };
                    let line = bar_line(*job, name, &shown, crate::board::width());
                    self.d.board.set(*job, line);
                }
            }
            Mode::Lines => {
                // Nothing to say before the first speed is measured (no "0 B/s ETA --").
                if self.d.quiet
                    || speed.is_none()
                    || self
                        .last_line
                        .is_some_and(|t| t.elapsed() < Duration::from_secs(2))
                {
                    return;
                }
                self.last_line = Some(Instant::now());
                let pct = p
                    .size
                    .filter(|s| *s > 0)
                    .map(|s| format!("{:5.1}% ", p.bytes as f64 * 100.0 / s as f64))
                    .unwrap_or_default();
                eprintln!(
                    "job {}: {pct}{} of {}  {}  ETA {}  {} conn",
                    p.job,
                    ui::bytes(p.bytes),
                    p.size.map(ui::bytes).unwrap_or_else(|| "?".into()),
                    ui::speed(p.speed as u64),
                    eta.map_or("--".into(), ui::duration),
                    crate::line::conns(p.connections, p.max_connections)
                );
            }
        }
    }
}

impl JobView<'_> {
    /// The job waits for a fresh link (`Some(why)`), or one came (`None`).
    fn waiting(&mut self, why: Option<&str>) {
        self.waiting = why.is_some();
        let job = self.job;
        match (&self.d.mode, why) {
            (Mode::Json, Some(why)) => self.d.json(serde_json::json!({
                "event": "waiting", "job": job, "reason": why, "hint": waiting_hint(job)})),
            (Mode::Json, None) => self
                .d
                .json(serde_json::json!({"event": "link", "job": job})),
            (_, Some(why)) => {
                // Said even with --quiet: the job needs the user.
                self.d.print(&format!(
                    "job {job}: waiting for a fresh link: {why}; {}",
                    waiting_hint(job)
                ));
                if let Some((id, name)) = &self.bar {
                    let line = format!("{id:>4}  {name}  waiting for a fresh link");
                    self.d.board.set(*id, line);
                }
            }
            (_, None) => self
                .d
                .say(&format!("job {job}: a fresh link came; going on")),
        }
    }
}

impl Observer for JobView<'_> {
    fn event(&mut self, e: Event<'_>) {
        // Ranges turned out refused: what came cannot be kept either.
        if let Event::Said(ddm_core::engine::Note::RangesIgnored { .. }) = &e {
            let mut set = self.d.no_ranges.lock().unwrap_or_else(|e| e.into_inner());
            set.insert(self.job);
        }
        match e {
            Event::Started {
                job,
                name,
                size,
                connections,
                source,
                ranged,
                redirects,
                protocol,
            } => {
                if !ranged {
                    let mut set = self.d.no_ranges.lock().unwrap_or_else(|e| e.into_inner());
                    set.insert(job);
                }
                // The ceiling, not what is open: the progress lines show both (`3/16 conn`).
                let count = format!(
                    "up to {connections} connection{} ({})",
                    if connections == 1 { "" } else { "s" },
                    source.as_str()
                );
                if self.d.verbose > 0 && !matches!(self.d.mode, Mode::Json) {
                    for r in redirects {
                        self.d.say(&format!("job {job}: redirected from {r}"));
                    }
                    if !protocol.is_empty() {
                        self.d.say(&format!("job {job}: {protocol}, {count}"));
                    }
                }
                match self.d.mode {
                    Mode::Json => self.d.json(serde_json::json!({
                        "event": "started", "job": job, "name": name, "size": size,
                        "connections": connections, "connections_from": source.as_str(),
                        "ranges": ranged, "protocol": protocol, "redirects": redirects})),
                    Mode::Bar if !self.d.quiet => {
                        // A saved count is worth saying: it explains a surprising number.
                        if source == CountSource::Bench && self.d.verbose == 0 {
                            self.d.say(&format!("job {job}: {count}"));
                        }
                        self.bar = Some((job, clean(name)));
                    }
                    _ => self.d.say(&format!(
                        "job {job}: {name}, {}, {count}",
                        size.map(ui::bytes).unwrap_or_else(|| "unknown size".into()),
                    )),
                }
            }
            Event::Progress(p) => self.progress(p),
            Event::Waiting(why) => self.waiting(why),
            Event::Said(n) => match self.d.mode {
                // The note's kind and fields (docs/events.md), and the same sentence.
                Mode::Json => {
                    let mut v = serde_json::to_value(&n).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("event".into(), "note".into());
                        o.insert("job".into(), self.job.into());
                        o.insert("message".into(), n.to_string().into());
                    }
                    self.d.json(v)
                }
                _ => self.d.say(&format!("job {}: note: {n}", self.job)),
            },
            Event::Note(n) => match self.d.mode {
                Mode::Json => self
                    .d
                    .json(serde_json::json!({"event": "note", "job": self.job, "message": n})),
                // Several jobs print here at once (`ddm run`): every note names its job.
                _ => self.d.say(&format!("job {}: note: {n}", self.job)),
            },
            // What the coordinator does with connections: `ddm serve`'s page shows it; the
            // terminal keeps to progress.
            Event::Happened(_) => {}
        }
    }
}

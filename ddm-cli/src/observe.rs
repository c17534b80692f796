//! Showing a running job: a live bar on a terminal, plain periodic lines otherwise, or NDJSON
//! events (`--json`) for scripts. Drawn on a fixed cadence, never per chunk.

use crate::board::{bar, Board};
use crate::hints::{hint, with_hint};
use crate::ui::{self, clean};
use ddm_core::engine::{Event, Observer, Outcome, Progress};
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
    board: Board,
}

/// One job's view: its line on the board (terminal) or its line cadence (plain output).
pub struct JobView<'a> {
    d: &'a Display,
    job: i64,
    /// Job id and the short name shown on the board.
    bar: Option<(i64, String)>,
    last_line: Option<Instant>,
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
}

impl Display {
    pub fn new(json: bool, quiet: bool) -> Self {
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
            board: Board::default(),
        }
    }

    pub fn job(&self, job: i64) -> JobView<'_> {
        JobView {
            d: self,
            job,
            bar: None,
            last_line: None,
        }
    }

    fn json(&self, v: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }

    fn say(&self, msg: &str) {
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

    /// Report how a job ended.
    pub fn finished(&self, id: i64, o: &Outcome) {
        match self.mode {
            Mode::Json => {
                let v = match o {
                    Outcome::Done {
                        path,
                        size,
                        elapsed,
                    } => serde_json::json!({
                        "event": "done", "job": id, "path": path.display().to_string(),
                        "size": size, "seconds": elapsed.as_secs_f64()}),
                    Outcome::Failed(e) => serde_json::json!({
                        "event": "failed", "job": id, "error": e.message,
                        "error_kind": e.kind.as_str(), "hint": hint(e.kind, id)}),
                    Outcome::Paused => serde_json::json!({"event": "paused", "job": id}),
                    Outcome::Removed => serde_json::json!({"event": "removed", "job": id}),
                    Outcome::Interrupted => {
                        serde_json::json!({"event": "interrupted", "job": id})
                    }
                };
                self.json(v);
            }
            _ => {
                let msg = match o {
                    Outcome::Done { path, size, elapsed } => {
                        let secs = elapsed.as_secs_f64().max(1e-3);
                        format!(
                            "job {id}: done: {} ({} in {}, {})",
                            path.display(),
                            ui::bytes(*size),
                            ui::duration(secs),
                            ui::speed((*size as f64 / secs) as u64)
                        )
                    }
                    Outcome::Failed(e) => format!("job {id}: failed: {}", with_hint(e, id)),
                    Outcome::Paused => format!("job {id}: paused (progress kept; `ddm resume {id}`)"),
                    Outcome::Removed => format!("job {id}: removed"),
                    Outcome::Interrupted => format!(
                        "job {id}: interrupted; progress saved, `ddm run` (or the same `ddm get`) continues it"
                    ),
                };
                if matches!(o, Outcome::Failed(_)) || !self.quiet {
                    self.print(&msg);
                }
            }
        }
    }
}

impl JobView<'_> {
    fn progress(&mut self, p: &Progress) {
        let eta = match p.size {
            Some(s) if p.speed > 0.0 => s.saturating_sub(p.bytes) as f64 / p.speed,
            _ => f64::INFINITY,
        };
        match self.d.mode {
            Mode::Json => self.d.json(serde_json::json!({
                "event": "progress", "job": p.job, "bytes": p.bytes, "size": p.size,
                "speed": p.speed as u64, "eta_seconds": eta.is_finite().then_some(eta),
                "connections": p.connections, "elapsed": p.elapsed.as_secs_f64()})),
            Mode::Bar => {
                if let Some((job, name)) = &self.bar {
                    let (frac, total) = match p.size {
                        Some(s) if s > 0 => (p.bytes as f64 / s as f64, ui::bytes(s)),
                        _ => (0.0, "?".into()),
                    };
                    let line = format!(
                        "{job}: {name} {} {:>10}/{:<10} {:>3.0}%  {:>11}  ETA {:>6}  {:>2} conn",
                        bar(frac, 30),
                        ui::bytes(p.bytes),
                        total,
                        frac * 100.0,
                        ui::speed(p.speed as u64),
                        ui::duration(eta),
                        p.connections
                    );
                    self.d.board.set(*job, line);
                }
            }
            Mode::Lines => {
                if self.d.quiet
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
                    ui::duration(eta),
                    p.connections
                );
            }
        }
    }
}

impl Observer for JobView<'_> {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Started {
                job,
                name,
                size,
                connections,
                ranged,
            } => match self.d.mode {
                Mode::Json => self.d.json(serde_json::json!({
                    "event": "started", "job": job, "name": name, "size": size,
                    "connections": connections, "ranges": ranged})),
                Mode::Bar if !self.d.quiet => {
                    let name = clean(name);
                    let mut short: String = name.chars().take(28).collect();
                    if short.len() < name.len() {
                        short.push('…');
                    }
                    self.bar = Some((job, short));
                }
                _ => self.d.say(&format!(
                    "job {job}: {name}, {}, {connections} connection{}",
                    size.map(ui::bytes).unwrap_or_else(|| "unknown size".into()),
                    if connections == 1 { "" } else { "s" }
                )),
            },
            Event::Progress(p) => self.progress(p),
            Event::Note(n) => match self.d.mode {
                Mode::Json => self
                    .d
                    .json(serde_json::json!({"event": "note", "job": self.job, "message": n})),
                _ => self.d.say(&format!("note: {n}")),
            },
        }
    }
}

//! `ddm top`: a live view of the whole queue, from any terminal.
//!
//! It only reads the store (its own connection, polled twice a second), so it works while a
//! runner or several `ddm get`s run elsewhere, and changes jobs only the way `ddm pause`,
//! `ddm resume` and `ddm remove` do (one store call each; removing asks first and never
//! deletes a finished file). What is drawn is `render::lines`, a pure function of the rows, the
//! selection and the terminal size; the keys are `input::action`. When stdout is not a
//! terminal it prints one plain snapshot and exits. The terminal is restored on every way out
//! (q, Esc, Ctrl-C, SIGTERM, an error, a panic).

mod input;
mod lanes;
mod render;

use crate::cli::Global;
use crate::ctx::Ctx;
use crate::exit::{store, CliError, CliResult, Code};
use ddm_core::config::Config;
use ddm_core::jobs;
use ddm_core::store::{Store, StoreError};
use input::Action;
use ratatui::crossterm::event::{self, Event};
use ratatui::DefaultTerminal;
use render::{Footer, JobRow, Screen};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Watch every job live, refreshed in place; keys pause, resume and remove jobs.
///
/// Shows each job's id, state, progress, bytes, speed, ETA, connections (CONN: `3/16` is open
/// now out of the most it may open while it runs; `-/16` before it runs) and name. Keys: up/down (or j/k) select a
/// job, Enter shows its lanes (one line per open connection: range, progress, speed, time to
/// first byte, source; asked of the `ddm serve` working the queue, which alone knows them),
/// `p` pauses it, `r` resumes it, `d` removes it (after a y/n question; its `.part` file
/// is deleted, a finished file stays), `q`, Esc or Ctrl-C quit. Works while `ddm run` or
/// `ddm get` work in other terminals. When stdout is not a terminal, prints the table once.
///
/// Example: ddm top   |   ddm top | cat
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds between refreshes (0.1 to 60).
    #[arg(long, value_name = "SECS", default_value_t = 0.5, value_parser = interval)]
    pub interval: f64,
}

impl Default for Args {
    fn default() -> Self {
        Args { interval: 0.5 }
    }
}

fn interval(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.1..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: write a number of seconds from 0.1 to 60")),
    }
}

/// `ddm top` with its defaults (for `ddm status --watch`).
pub fn watch(g: &Global) -> CliResult {
    run(g, Args::default())
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let mut ctx = Ctx::open_read(g)?;
    if !std::io::stdout().is_terminal() {
        return snapshot(&ctx);
    }
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        env(e)
    })?;
    let result = event_loop(&mut terminal, &mut ctx, Duration::from_secs_f64(a.interval));
    let _ = terminal.show_cursor();
    ratatui::restore();
    result
}

fn env(e: impl Into<anyhow::Error>) -> CliError {
    CliError::new(Code::Env, e)
}

/// Every job as shown, and whether a runner is alive (`lock_file`'s holder).
fn rows(store: &Store, lock_file: &Path, cfg: &Config) -> Result<(Vec<JobRow>, bool), StoreError> {
    // Jobs left `running` by a killed runner have no live speed.
    let alive = ddm_core::lock::holder_alive(lock_file);
    let jobs = store.list()?;
    let max = ddm_core::engine::ceilings(store, &jobs, cfg);
    let rows = jobs
        .iter()
        .zip(max)
        .map(|(j, m)| JobRow::from_job(j, alive, m))
        .collect();
    Ok((rows, alive))
}

fn snapshot(ctx: &Ctx) -> CliResult {
    let (rows, alive) = rows(&ctx.store, &ctx.paths.lock_file(), &ctx.config).map_err(store)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let schedule = crate::caps::schedule_short(&ctx.config);
    for line in render::plain(&rows, alive, schedule.as_deref()) {
        writeln!(out, "{line}").map_err(env)?;
    }
    out.flush().map_err(env)?;
    Ok(Code::Ok)
}

/// How long a message about the last key stays on the bottom line.
const MESSAGE_FOR: Duration = Duration::from_secs(4);

#[derive(Default)]
struct App {
    rows: Vec<JobRow>,
    runner_alive: bool,
    /// The selected job, followed by id while rows come and go.
    selected: Option<i64>,
    /// A removal waiting for y/n.
    asking: Option<i64>,
    /// The lanes panel is open (Enter), showing the selected job's.
    lanes_open: bool,
    lanes: Option<lanes::Lanes>,
    message: Option<(String, Instant)>,
}

impl App {
    fn index(&self) -> Option<usize> {
        self.selected
            .and_then(|id| self.rows.iter().position(|r| r.id == id))
    }

    fn refresh(&mut self, store: &Store, lock_file: &Path, cfg: &Config) {
        let old = self.index();
        match rows(store, lock_file, cfg) {
            Ok((rows, alive)) => {
                self.rows = rows;
                self.runner_alive = alive;
            }
            Err(e) => self.say(format!("cannot read the job database: {e}")),
        }
        // A job that disappeared: select the one that took its place.
        if self.index().is_none() {
            let i = input::moved(old, Action::Nothing, self.rows.len());
            self.selected = i.map(|i| self.rows[i].id);
        }
        if self
            .asking
            .is_some_and(|id| !self.rows.iter().any(|r| r.id == id))
        {
            self.asking = None;
        }
    }

    fn say(&mut self, m: String) {
        self.message = Some((m, Instant::now()));
    }

    fn footer(&self) -> Footer {
        if let Some(id) = self.asking {
            let name = self
                .rows
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.as_str())
                .unwrap_or("");
            return Footer::Confirm(format!(
                "remove job {id} ({name})? its .part file is deleted, a finished file stays [y/n]"
            ));
        }
        match &self.message {
            Some((m, at)) if at.elapsed() < MESSAGE_FOR => Footer::Message(m.clone()),
            _ => Footer::Keys,
        }
    }

    /// Apply one key; false when it is time to quit.
    fn key(&mut self, a: Action, store: &mut Store) -> bool {
        let id = self.selected;
        match (a, id) {
            (Action::Quit, _) => return false,
            (Action::Up | Action::Down | Action::First | Action::Last, _) => {
                let i = input::moved(self.index(), a, self.rows.len());
                self.selected = i.map(|i| self.rows[i].id);
            }
            (Action::Pause, Some(id)) => {
                let m = change(store, id, "paused", |s| s.pause(&[id]));
                self.say(m);
            }
            (Action::Resume, Some(id)) => {
                let m = change(store, id, "queued", |s| s.resume(&[id]));
                self.say(m);
            }
            (Action::AskRemove, Some(id)) => self.asking = Some(id),
            (Action::Lanes, _) => {
                self.lanes_open = !self.lanes_open;
                self.lanes = None;
            }
            (Action::Confirm(yes), _) => {
                if let Some(id) = self.asking.take() {
                    let m = match yes {
                        true => remove(store, id),
                        false => format!("{id}: not removed"),
                    };
                    self.say(m);
                }
            }
            _ => {}
        }
        true
    }
}

impl App {
    /// The selected job's lanes, while the panel is open.
    fn refresh_lanes(&mut self, src: &lanes::Source) {
        self.lanes = match (self.lanes_open, self.selected) {
            (true, Some(id)) => Some(lanes::fetch(src, id)),
            _ => None,
        };
    }
}

/// Where `ddm serve` listens for this data directory, and the token `top` may use.
fn lanes_source(ctx: &Ctx) -> lanes::Source {
    let file = ctx.paths.state_dir.join(super::serve::ADDR_FILE);
    lanes::Source {
        addr: std::fs::read_to_string(file)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        token: super::serve::known_secret(&ctx.config, &ctx.paths),
    }
}

/// Pause or resume one job; what happened, in the words `ddm pause`/`resume` use.
fn change(
    store: &mut Store,
    id: i64,
    done: &str,
    f: impl FnOnce(&mut Store) -> Result<Vec<i64>, StoreError>,
) -> String {
    match f(store) {
        Ok(changed) if changed.contains(&id) => format!("{id}: {done}"),
        Ok(_) => {
            let st = store.state(id).ok().flatten();
            let verb = if done == "paused" {
                "paused"
            } else {
                "resumed"
            };
            format!(
                "{id}: not {verb} (it is {})",
                st.map(|s| s.name()).unwrap_or("gone")
            )
        }
        Err(StoreError::NotFound(_)) => format!("{id}: gone (removed elsewhere)"),
        Err(e) => format!("{id}: {e}"),
    }
}

fn remove(store: &mut Store, id: i64) -> String {
    match jobs::remove(store, id, false) {
        Ok(r) => match r.left_alone {
            Some(p) => format!(
                "{id}: removed; {} was left in place: ddm did not create it",
                crate::ui::clean(&p.display().to_string())
            ),
            None => format!("{id}: removed"),
        },
        Err(StoreError::NotFound(_)) => format!("{id}: removed (already gone)"),
        Err(e) => format!("{id}: {e}"),
    }
}

fn event_loop(terminal: &mut DefaultTerminal, ctx: &mut Ctx, every: Duration) -> CliResult {
    // In raw mode Ctrl-C is a key; this flag is a SIGTERM (or a `kill -INT`) from elsewhere,
    // which must also restore the terminal.
    let stop = crate::signals::install();
    let lock_file = ctx.paths.lock_file();
    let mut app = App::default();
    app.refresh(&ctx.store, &lock_file, &ctx.config);
    let mut next = Instant::now() + every;
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Code::Ok);
        }
        let footer = app.footer();
        let screen = Screen {
            lanes: app.lanes.as_ref(),
            rows: &app.rows,
            selected: app.index(),
            runner_alive: app.runner_alive,
            footer,
            schedule: crate::caps::schedule_short(&ctx.config),
        };
        terminal.draw(|f| render::draw(f, &screen)).map_err(env)?;
        let wait = next.saturating_duration_since(Instant::now());
        if event::poll(wait).map_err(env)? {
            if let Event::Key(k) = event::read().map_err(env)? {
                let a = input::action(k, app.asking.is_some());
                if !app.key(a, &mut ctx.store) {
                    return Ok(Code::Ok);
                }
                if matches!(a, Action::Pause | Action::Resume | Action::Confirm(true)) {
                    app.refresh(&ctx.store, &lock_file, &ctx.config);
                }
                if matches!(
                    a,
                    Action::Lanes | Action::Up | Action::Down | Action::First | Action::Last
                ) {
                    app.refresh_lanes(&lanes_source(ctx));
                }
            }
            // Other events (a resize) only redraw.
        }
        if Instant::now() >= next {
            app.refresh(&ctx.store, &lock_file, &ctx.config);
            app.refresh_lanes(&lanes_source(ctx));
            next = Instant::now() + every;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddm_core::store::{JobSettings, NewJob, StateKind};

    fn store_with(n: usize) -> Store {
        let mut s = Store::open_in_memory().unwrap();
        for i in 0..n {
            s.add(&NewJob {
                url: format!("http://127.0.0.1:9/f{i}.bin"),
                dest_dir: std::env::temp_dir(),
                file_name: None,
                settings: JobSettings::default(),
                queue: Default::default(),
            })
            .unwrap();
        }
        s
    }

    fn state(app: &App, id: i64) -> Option<StateKind> {
        app.rows.iter().find(|r| r.id == id).map(|r| r.state)
    }

    #[test]
    fn keys_pause_resume_and_remove_the_selected_job() {
        let mut store = store_with(3);
        let lock = Path::new("/nonexistent/runner.lock");
        let mut app = App::default();
        app.refresh(&store, lock, &Config::default());
        assert_eq!(app.selected, Some(1));
        assert_eq!(app.index(), Some(0));

        assert!(app.key(Action::Down, &mut store));
        assert!(app.key(Action::Pause, &mut store));
        app.refresh(&store, lock, &Config::default());
        assert_eq!(state(&app, 2), Some(StateKind::Paused));
        assert_eq!(app.footer(), Footer::Message("2: paused".into()));
        app.key(Action::Pause, &mut store);
        assert_eq!(
            app.footer(),
            Footer::Message("2: not paused (it is paused)".into())
        );
        app.key(Action::Resume, &mut store);
        app.refresh(&store, lock, &Config::default());
        assert_eq!(state(&app, 2), Some(StateKind::Queued));

        // Removing asks first; anything but yes keeps the job.
        app.key(Action::AskRemove, &mut store);
        assert!(matches!(app.footer(), Footer::Confirm(q) if q.contains("remove job 2")));
        app.key(Action::Confirm(false), &mut store);
        app.refresh(&store, lock, &Config::default());
        assert_eq!(state(&app, 2), Some(StateKind::Queued));
        assert_eq!(app.footer(), Footer::Message("2: not removed".into()));

        app.key(Action::AskRemove, &mut store);
        app.key(Action::Confirm(true), &mut store);
        app.refresh(&store, lock, &Config::default());
        assert_eq!(state(&app, 2), None);
        assert_eq!(app.footer(), Footer::Message("2: removed".into()));
        // The selection moves to the job that took its place, rows stay in id order.
        assert_eq!(app.selected, Some(3));
        let ids: Vec<i64> = app.rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 3]);

        assert!(!app.key(Action::Quit, &mut store));
    }

    #[test]
    fn a_job_removed_elsewhere_is_reported_not_fatal() {
        let mut store = store_with(1);
        let lock = Path::new("/nonexistent/runner.lock");
        let mut app = App::default();
        app.refresh(&store, lock, &Config::default());
        ddm_core::jobs::remove(&mut store, 1, false).unwrap();
        app.key(Action::Pause, &mut store);
        assert_eq!(
            app.footer(),
            Footer::Message("1: gone (removed elsewhere)".into())
        );
        app.key(Action::AskRemove, &mut store);
        app.refresh(&store, lock, &Config::default());
        // The question went with the job.
        assert_eq!(app.asking, None);
        assert!(app.rows.is_empty() && app.selected.is_none());
    }

    #[test]
    fn server_text_is_cleaned_before_display() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .add(&NewJob {
                url: "http://u:secret@127.0.0.1:9/x".into(),
                dest_dir: std::env::temp_dir(),
                file_name: Some("evil\x1b[2Jname\u{9b}.bin".into()),
                settings: JobSettings::default(),
                queue: Default::default(),
            })
            .unwrap();
        let cfg = Config::default();
        let (rows, alive) = rows(&store, Path::new("/nonexistent/runner.lock"), &cfg).unwrap();
        assert!(!alive);
        let r = &rows[0];
        assert_eq!(r.name, "evil\\x1b[2Jname\\x9b.bin");
        assert!(!r.target.chars().any(char::is_control), "{}", r.target);
        assert!(!r.target.contains("secret"));
    }

    #[test]
    fn interval_is_checked() {
        assert_eq!(interval("0.5"), Ok(0.5));
        assert!(interval("0").is_err());
        assert!(interval("fast").is_err());
    }
}

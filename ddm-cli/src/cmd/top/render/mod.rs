//! What `ddm top` shows: a pure function from (rows, selection, width, height) to lines.
//!
//! Invariants: rows stay in the order given (by id); the id, state, percentage and speed
//! columns are never cut; when the width runs short the name is shortened first (with `…` in
//! the middle, so the extension stays), then the least useful columns are dropped (connections,
//! bytes, ETA), and only below ~40 columns is a line clipped. Column widths come from all rows,
//! not only the visible ones, so they do not jump while scrolling. Every text that came from a
//! server (names, errors) has gone through `ui::clean` when a `JobRow` is built.

use crate::hints::{waiting_hint, with_hint};
use crate::ui::{self, clean};
use ddm_core::model::redact_url;
use ddm_core::store::{Job, StateKind};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// One job as `ddm top` shows it (display-ready, text already cleaned).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub state: StateKind,
    pub percent: Option<f64>,
    pub done: u64,
    pub size: Option<u64>,
    /// Bytes per second, only while a live runner works the job.
    pub speed: Option<u64>,
    /// Connections open while the job runs (None otherwise).
    pub connections: Option<u32>,
    /// The most the job may open (None when done): shown apart, `3/16`.
    pub max_connections: Option<u32>,
    pub name: String,
    /// Where the file goes (or the URL while the name is unknown), for the detail line.
    pub target: String,
    /// The error and what to do next, for failed jobs.
    pub error: Option<String>,
    /// Why it waits for a fresh link and how to give one, for waiting jobs.
    pub waiting: Option<String>,
    /// The routing rule that routed it (`video (rule 1)`), for the detail line.
    pub rule: Option<String>,
    /// The schedule window that holds it (paused by the schedule, not by the user).
    pub held: Option<String>,
}

impl JobRow {
    /// `max`: the most connections the job may open (`engine::ceiling`).
    pub fn from_job(j: &Job, runner_alive: bool, max: Option<usize>) -> JobRow {
        let running = j.shown() == StateKind::Running && runner_alive;
        let url = redact_url(&j.url);
        JobRow {
            id: j.id,
            state: j.shown(),
            percent: j.percent().map(|p| p.min(100.0)),
            done: j.bytes_done,
            size: j.size,
            speed: if running { j.speed } else { None },
            connections: if running {
                Some(j.conns.unwrap_or(0))
            } else {
                None
            },
            max_connections: max.map(|m| m as u32),
            name: clean(j.file_name.as_deref().unwrap_or(&url)),
            target: clean(
                &j.path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| url.clone()),
            ),
            error: j.state.error().map(|e| clean(&with_hint(e, j.id))),
            waiting: j
                .waits_for_link()
                .map(|w| clean(&format!("{w}; {}", waiting_hint(j.id)))),
            rule: j.rule.as_ref().map(|r| clean(&r.label())),
            held: j.held.as_deref().map(clean),
        }
    }

    /// Seconds left at the current speed, when size and speed are known.
    pub fn eta(&self) -> Option<f64> {
        match (self.size, self.speed) {
            (Some(size), Some(speed)) if speed > 0 && self.state == StateKind::Running => {
                Some(size.saturating_sub(self.done) as f64 / speed as f64)
            }
            _ => None,
        }
    }
}

/// What the bottom line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Footer {
    /// The key help.
    Keys,
    /// A yes/no question (removing a job).
    Confirm(String),
    /// The result of the last key (`3: paused`) or a store error.
    Message(String),
}

/// Everything one frame shows.
#[derive(Debug, Clone)]
pub struct Screen<'a> {
    pub rows: &'a [JobRow],
    /// The selected job's lanes, when Enter opened them (`lanes.rs`).
    pub lanes: Option<&'a super::lanes::Lanes>,
    /// Index into `rows`.
    pub selected: Option<usize>,
    pub runner_alive: bool,
    pub footer: Footer,
    /// The schedule window in force when it caps or holds (`caps::schedule_short`).
    pub schedule: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Id,
    State,
    Percent,
    Bytes,
    Speed,
    Eta,
    Conn,
}

impl Col {
    /// In display order; the name comes last.
    const ALL: [Col; 7] = [
        Col::Id,
        Col::State,
        Col::Percent,
        Col::Bytes,
        Col::Speed,
        Col::Eta,
        Col::Conn,
    ];
    /// Dropped in this order when the width runs short (the rest never are).
    const OPTIONAL: [Col; 3] = [Col::Conn, Col::Bytes, Col::Eta];

    fn title(self) -> &'static str {
        match self {
            Col::Id => "ID",
            Col::State => "STATE",
            Col::Percent => "DONE",
            Col::Bytes => "BYTES",
            Col::Speed => "SPEED",
            Col::Eta => "ETA",
            Col::Conn => "CONN",
        }
    }

    fn cell(self, r: &JobRow) -> String {
        match self {
            Col::Id => r.id.to_string(),
            Col::State => r.state.name().to_string(),
            Col::Percent => match r.percent {
                Some(p) => format!("{p:.1}%"),
                None => "-".into(),
            },
            Col::Bytes => format!(
                "{}/{}",
                ui::bytes(r.done),
                r.size.map(ui::bytes).unwrap_or_else(|| "?".into())
            ),
            Col::Speed => r.speed.map(ui::speed).unwrap_or_default(),
            Col::Eta => match (r.state, r.eta()) {
                (StateKind::Done, _) => String::new(),
                (_, Some(s)) if s >= 100.0 * 3600.0 => ">99h".into(),
                (_, Some(s)) => ui::duration(s),
                (_, None) => "--".into(),
            },
            // Open now out of the most it may open; before it runs, only the ceiling.
            Col::Conn => match (r.connections, r.max_connections) {
                (Some(open), Some(max)) => format!("{open}/{max}"),
                (Some(open), None) => open.to_string(),
                (None, Some(max)) if r.state != StateKind::Done => format!("-/{max}"),
                _ => String::new(),
            },
        }
    }
}

/// Left of every row: the selection marker.
const MARK: usize = 2;
/// The name is shortened down to this many columns before another column is dropped.
const NAME_MIN: usize = 12;
/// Two spaces between columns only while the names still get this much room.
const NAME_ROOMY: usize = 24;
/// Lines above the rows (title, header) and below them (detail, keys).
const CHROME: usize = 4;

/// The columns shown and their widths, and the spaces between them.
#[derive(Debug)]
struct Layout {
    cols: Vec<(Col, usize)>,
    gap: usize,
}

impl Layout {
    /// The columns shown at `width` (None: all, for a plain snapshot) and their widths: two
    /// spaces between columns while the names keep room, else one, then optional columns go.
    fn new(rows: &[JobRow], width: Option<usize>) -> Layout {
        let cols: Vec<(Col, usize)> = Col::ALL
            .iter()
            .map(|&c| {
                let w = rows
                    .iter()
                    .map(|r| c.cell(r).width())
                    .chain([c.title().width()])
                    .max()
                    .unwrap_or(0);
                (c, w)
            })
            .collect();
        let mut l = Layout { cols, gap: 2 };
        let Some(width) = width else {
            return l;
        };
        let longest = rows.iter().map(|r| r.name.width()).max().unwrap_or(0);
        if l.fixed() + longest.min(NAME_ROOMY) <= width {
            return l;
        }
        l.gap = 1;
        for drop in Col::OPTIONAL {
            if l.fixed() + NAME_MIN <= width {
                break;
            }
            l.cols.retain(|(c, _)| *c != drop);
        }
        l
    }

    /// Columns used left of the name, with the selection marker.
    fn fixed(&self) -> usize {
        MARK + self.cols.iter().map(|(_, w)| w + self.gap).sum::<usize>()
    }

    /// One table line (`r`, or the header): the fixed columns, then the name in what is left
    /// (`name_w`, None: all of it).
    fn line(&self, r: Option<&JobRow>, name_w: Option<usize>) -> String {
        let mut line = String::new();
        for &(c, w) in &self.cols {
            let text = match r {
                Some(r) => c.cell(r),
                None => c.title().to_string(),
            };
            let fill = " ".repeat(w.saturating_sub(text.width()));
            if c == Col::State {
                line.push_str(&text);
                line.push_str(&fill);
            } else {
                line.push_str(&fill);
                line.push_str(&text);
            }
            line.push_str(&" ".repeat(self.gap));
        }
        let name = r.map(|r| r.name.as_str()).unwrap_or("NAME");
        match name_w {
            Some(w) => line.push_str(&fit(name, w)),
            None => line.push_str(name),
        }
        line
    }
}

/// `s` in at most `w` columns: unchanged if it fits, else shortened in the middle with `…`.
pub fn fit(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let room = w - 1; // for the `…`
    let tail_room = room / 3;
    let head_room = room - tail_room;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > head_room {
            break;
        }
        used += cw;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut tail_used = 0;
    for c in s.chars().rev() {
        let cw = c.width().unwrap_or(0);
        if tail_used + cw > room - used {
            break;
        }
        tail_used += cw;
        tail.push(c);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn state_style(s: StateKind) -> Style {
    match s {
        StateKind::Running => Style::default().fg(Color::Green),
        StateKind::Queued => Style::default(),
        StateKind::Paused | StateKind::Waiting => Style::default().fg(Color::Yellow),
        StateKind::Done => Style::default().add_modifier(Modifier::DIM),
        StateKind::Failed => Style::default().fg(Color::Red),
    }
}

/// The top line: the runner first, then the counts; whole parts are left out (most detailed
/// first) rather than cut when the width runs short.
fn title(s: &Screen<'_>, width: usize) -> String {
    let count = |k: StateKind| s.rows.iter().filter(|r| r.state == k).count();
    let total: u64 = s.rows.iter().filter_map(|r| r.speed).sum();
    let runner = if s.runner_alive {
        format!("runner working, {}", ui::speed(total))
    } else if count(StateKind::Running) > 0 {
        "no runner: `ddm run` continues the jobs marked running".to_string()
    } else {
        "no runner".to_string()
    };
    let jobs = format!(
        "{} job{}",
        s.rows.len(),
        if s.rows.len() == 1 { "" } else { "s" }
    );
    let by_state: Vec<String> = [
        StateKind::Running,
        StateKind::Waiting,
        StateKind::Queued,
        StateKind::Paused,
        StateKind::Failed,
        StateKind::Done,
    ]
    .iter()
    .filter(|&&k| count(k) > 0)
    .map(|&k| format!("{} {}", count(k), k.name()))
    .collect();
    let runner = match &s.schedule {
        Some(w) => format!("{runner}  |  {w}"),
        None => runner,
    };
    let candidates = [
        format!("ddm top  |  {runner}  |  {jobs}: {}", by_state.join(", ")),
        format!("ddm top  |  {runner}  |  {jobs}"),
        format!("ddm top  |  {runner}"),
    ];
    let pick = candidates
        .iter()
        .find(|t| t.width() <= width)
        .unwrap_or(&candidates[2]);
    fit(pick, width)
}

/// The lines of one frame at `width` x `height`.
pub fn lines(s: &Screen<'_>, width: u16, height: u16) -> Vec<Line<'static>> {
    let (width, height) = (width as usize, height as usize);
    let layout = Layout::new(s.rows, Some(width));
    let name_w = width.saturating_sub(layout.fixed());
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut out = vec![Line::styled(title(s, width), bold)];
    let header = layout.line(None, Some(name_w));
    out.push(Line::styled(
        format!("{}{}", " ".repeat(MARK), header),
        bold.add_modifier(Modifier::REVERSED),
    ));
    let panel = s
        .lanes
        .map(|l| super::lanes::lines(l, width, height / 2))
        .unwrap_or_default();
    let room = height.saturating_sub(CHROME + panel.len());
    if s.rows.is_empty() {
        out.push(Line::raw(fit(
            "  no jobs (queue one with `ddm add URL`)",
            width,
        )));
    }
    // Scroll just far enough that the selected row is visible.
    let first = match s.selected {
        Some(i) if i >= room => i + 1 - room,
        _ => 0,
    };
    for (i, r) in s.rows.iter().enumerate().skip(first).take(room) {
        let selected = s.selected == Some(i);
        let mark = if selected { "> " } else { "  " };
        let text = format!("{mark}{}", layout.line(Some(r), Some(name_w)));
        let mut style = state_style(r.state);
        if selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        out.push(Line::styled(text, style));
    }
    while out.len() < height.saturating_sub(2 + panel.len()) {
        out.push(Line::raw(""));
    }
    out.extend(panel);
    let detail = s
        .selected
        .and_then(|i| s.rows.get(i))
        .map(|r| match (&r.error, &r.waiting) {
            (Some(e), _) => Line::styled(
                fit(&format!("{}: error: {e}", r.id), width),
                Style::default().fg(Color::Red),
            ),
            (None, Some(w)) => Line::styled(
                fit(&format!("{}: waiting for a fresh link: {w}", r.id), width),
                Style::default().fg(Color::Yellow),
            ),
            (None, None) => {
                let rule = r
                    .rule
                    .as_ref()
                    .map(|l| format!(" (rule: {l})"))
                    .unwrap_or_default();
                let held = r
                    .held
                    .as_ref()
                    .map(|h| format!(" (held by the schedule: {h})"))
                    .unwrap_or_default();
                Line::raw(fit(&format!("{}: {}{rule}{held}", r.id, r.target), width))
            }
        });
    out.push(detail.unwrap_or_default());
    out.push(match &s.footer {
        Footer::Keys => {
            let long =
                "up/down or j/k select   Enter lanes   p pause   r resume   d remove   q quit";
            let short = "j/k select  Enter lanes  p pause  r resume  d remove  q quit";
            let keys = if long.width() <= width { long } else { short };
            Line::styled(
                fit(keys, width),
                Style::default().add_modifier(Modifier::DIM),
            )
        }
        Footer::Confirm(q) => Line::styled(fit(q, width), bold.fg(Color::Yellow)),
        Footer::Message(m) => Line::raw(fit(m, width)),
    });
    out.truncate(height.max(1));
    out
}

/// Draw one frame into the whole terminal area.
pub fn draw(frame: &mut Frame<'_>, s: &Screen<'_>) {
    let area = frame.area();
    frame.render_widget(Paragraph::new(lines(s, area.width, area.height)), area);
}

/// The table as plain text, nothing shortened (stdout is not a terminal): what `ddm status`
/// prints, plus bytes, ETA and connections; first the schedule window in force when it caps
/// or holds.
pub fn plain(rows: &[JobRow], runner_alive: bool, schedule: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = schedule.map(str::to_string).into_iter().collect();
    if rows.is_empty() {
        out.push("no jobs (queue one with `ddm add URL`)".into());
        return out;
    }
    let layout = Layout::new(rows, None);
    out.push(layout.line(None, None));
    for r in rows {
        out.push(layout.line(Some(r), None).trim_end().to_string());
        if let Some(l) = &r.rule {
            out.push(format!("{}  rule: {l}", " ".repeat(layout.cols[0].1)));
        }
        if let Some(h) = &r.held {
            out.push(format!(
                "{}  held by the schedule: {h}",
                " ".repeat(layout.cols[0].1)
            ));
        }
        if let Some(e) = &r.error {
            out.push(format!("{}  error: {e}", " ".repeat(layout.cols[0].1)));
        }
        if let Some(w) = &r.waiting {
            out.push(format!(
                "{}  waiting for a fresh link: {w}",
                " ".repeat(layout.cols[0].1)
            ));
        }
    }
    if !runner_alive && rows.iter().any(|r| r.state == StateKind::Running) {
        out.push(
            "note: no runner is working the jobs marked running (it was stopped); `ddm run` \
             continues them"
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests;

//! The live progress board on a terminal: one line per running job, redrawn in place.
//!
//! Lines are rewritten with ANSI cursor movement (up N lines, clear line); messages are
//! printed above the board. The caller (the engine's 5 Hz progress events) sets the cadence.

use std::io::Write;
use std::sync::Mutex;

#[derive(Default)]
struct Inner {
    lines: Vec<(i64, String)>,
    /// Lines currently on screen below the cursor's home.
    drawn: usize,
}

#[derive(Default)]
pub struct Board {
    inner: Mutex<Inner>,
}

/// Terminal width of stderr (80 if unknown).
pub fn width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct for a terminal descriptor.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        80
    }
}

fn fit(line: &str, w: usize) -> String {
    if line.chars().count() < w {
        return line.to_string();
    }
    line.chars().take(w.saturating_sub(1)).collect()
}

impl Inner {
    fn clear(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A\r\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }
    fn draw(&mut self, out: &mut impl Write) {
        let w = width();
        for (_, l) in &self.lines {
            let _ = writeln!(out, "\r\x1b[2K{}", fit(l, w));
        }
        self.drawn = self.lines.len();
    }
}

impl Board {
    /// Set (or add) the line of `job` and redraw.
    pub fn set(&self, job: i64, line: String) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match b.lines.iter_mut().find(|(j, _)| *j == job) {
            Some(slot) => slot.1 = line,
            None => b.lines.push((job, line)),
        }
        let mut err = std::io::stderr().lock();
        b.clear(&mut err);
        b.draw(&mut err);
        let _ = err.flush();
    }

    /// Drop the line of `job`.
    pub fn remove(&self, job: i64) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        b.clear(&mut err);
        b.lines.retain(|(j, _)| *j != job);
        b.draw(&mut err);
        let _ = err.flush();
    }

    /// Print a message above the board.
    pub fn println(&self, msg: &str) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        b.clear(&mut err);
        let _ = writeln!(err, "{msg}");
        b.draw(&mut err);
        let _ = err.flush();
    }
}

/// `[=====>    ]` for a fraction in 0..=1.
pub fn bar(fraction: f64, width: usize) -> String {
    let f = fraction.clamp(0.0, 1.0);
    let full = (f * width as f64) as usize;
    let mut s = String::with_capacity(width + 2);
    s.push('[');
    for i in 0..width {
        s.push(if i < full {
            '='
        } else if i == full && full < width {
            '>'
        } else {
            ' '
        });
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_shapes() {
        assert_eq!(bar(0.0, 4), "[>   ]");
        assert_eq!(bar(0.5, 4), "[==> ]");
        assert_eq!(bar(1.0, 4), "[====]");
        assert_eq!(bar(7.0, 2), "[==]");
    }

    #[test]
    fn long_lines_are_cut_to_the_width() {
        assert_eq!(fit("abcdef", 4), "abc");
        assert_eq!(fit("ab", 4), "ab");
    }
}

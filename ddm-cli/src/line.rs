//! One job's progress line, fitted to a terminal width, and an ETA that does not jump.
//!
//! The numbers (done/size, percent, speed, ETA, connections) are never cut: at a narrow
//! width they take a compact form, and the name and the bar shrink first (the bar down to
//! nothing, the name to a few characters with `…`). Pure functions, tested at 60, 80 and 200
//! columns.

use crate::board::bar;
use crate::ui;

/// What a progress line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub bytes: u64,
    pub size: Option<u64>,
    /// Bytes per second; None until measured.
    pub speed: Option<f64>,
    /// Seconds left; None until it can be told.
    pub eta: Option<f64>,
    /// Connections open now, and the most the job may open: shown apart (`3/16 conn`).
    pub connections: usize,
    pub max_connections: usize,
}

/// `open/ceiling`, e.g. `3/16`.
pub fn conns(open: usize, max: usize) -> String {
    format!("{open}/{max}")
}

const BAR_MAX: usize = 30;
const BAR_MIN: usize = 8;
const NAME_MIN: usize = 6;

fn numbers(s: &Shown, compact: bool) -> String {
    let total = s.size.map(ui::bytes).unwrap_or_else(|| "?".into());
    let pct = match s.size {
        Some(t) if t > 0 => format!("{:>3.0}%", s.bytes as f64 * 100.0 / t as f64),
        Some(_) => "100%".into(),
        None => "   -".into(),
    };
    let speed = s.speed.map_or("…".into(), |v| ui::speed(v as u64));
    let eta = s.eta.map_or("--".into(), ui::duration);
    let c = conns(s.connections, s.max_connections);
    if compact {
        format!(
            "{:>9}/{:<9} {pct} {speed:>10} {eta:>5} {c:>5}c",
            ui::bytes(s.bytes),
            total,
        )
    } else {
        format!(
            "{:>10}/{:<10} {pct}  {speed:>11}  ETA {eta:>6}  {c:>5} conn",
            ui::bytes(s.bytes),
            total,
        )
    }
}

/// `name` cut to `max` characters, with `…` when shortened.
fn shorten(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        return name.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut s: String = name.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// The line of job `job` for a terminal `width` columns wide (the last column is left free
/// so the cursor never wraps).
pub fn bar_line(job: i64, name: &str, s: &Shown, width: usize) -> String {
    let width = width.saturating_sub(1);
    let prefix = format!("{job}: ");
    let full = numbers(s, false);
    let used = |nums: &str| prefix.chars().count() + nums.chars().count() + 1;
    // The full form when a bar and a readable name still fit beside it; else the compact one.
    let readable = name.chars().count().clamp(NAME_MIN, 24);
    let nums = if used(&full) + readable + 1 + BAR_MIN + 2 <= width {
        full
    } else {
        numbers(s, true)
    };
    let room = width.saturating_sub(used(&nums));
    let name_len = name.chars().count();
    // Room for the name and a bar (with its brackets and a space): the bar shrinks first.
    let (name_w, bar_w) = if room >= name_len + 1 + BAR_MAX + 2 {
        (name_len, BAR_MAX)
    } else if room >= name_len + 1 + BAR_MIN + 2 {
        (name_len, room - name_len - 3)
    } else if room >= NAME_MIN + 1 + BAR_MIN + 2 {
        (room - BAR_MIN - 3, BAR_MIN)
    } else {
        (room.min(name_len), 0)
    };
    let frac = match s.size {
        Some(t) if t > 0 => s.bytes as f64 / t as f64,
        Some(_) => 1.0,
        None => 0.0,
    };
    let mut line = prefix;
    line.push_str(&shorten(name, name_w));
    if bar_w > 0 {
        line.push(' ');
        line.push_str(&bar(frac, bar_w));
    }
    line.push(' ');
    line.push_str(&nums);
    line
}

/// A smoothed ETA: nothing in the first second (the speed is still ramping up), then an
/// average that follows the measured one without jumping.
#[derive(Debug, Default)]
pub struct Eta {
    last: Option<(f64, f64)>, // (elapsed, eta)
}

impl Eta {
    /// The ETA to show at `elapsed` seconds for `left` bytes at `speed` bytes/s.
    pub fn update(&mut self, elapsed: f64, left: Option<u64>, speed: f64) -> Option<f64> {
        let (Some(left), true) = (left, speed > 0.0 && elapsed >= 1.0) else {
            return self.last.map(|(t, e)| (e - (elapsed - t)).max(0.0));
        };
        let raw = left as f64 / speed;
        let smooth = match self.last {
            Some((t, e)) => {
                let carried = (e - (elapsed - t)).max(0.0);
                0.7 * carried + 0.3 * raw
            }
            None => raw,
        };
        self.last = Some((elapsed, smooth));
        Some(smooth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown() -> Shown {
        Shown {
            bytes: 64 << 20,
            size: Some(256 << 20),
            speed: Some(12.5 * 1048576.0),
            eta: Some(15.0),
            connections: 12,
            max_connections: 16,
        }
    }

    fn has_numbers(line: &str) {
        for part in ["64.0 MiB", "256.0 MiB", "25%", "12.5 MiB/s", "15s", "12/16"] {
            assert!(line.contains(part), "{part:?} missing from {line:?}");
        }
    }

    #[test]
    fn the_numbers_always_fit_and_are_never_cut() {
        let long = "a-rather-long-file-name-of-an-iso-image-2026-11-29-amd64.iso";
        for width in [60, 80, 200] {
            let line = bar_line(7, long, &shown(), width);
            assert!(line.chars().count() < width, "{width}: {line:?}");
            assert!(line.starts_with("7: "), "{line}");
            has_numbers(&line);
        }
        let wide = bar_line(7, long, &shown(), 200);
        assert!(
            wide.contains(long) && wide.contains(&"=".repeat(7)),
            "{wide}"
        );
        let narrow = bar_line(7, long, &shown(), 60);
        assert!(narrow.contains('…'), "the name shrinks: {narrow}");
    }

    #[test]
    fn the_bar_goes_before_the_name() {
        let name = "ubuntu.iso";
        let line = bar_line(1, name, &shown(), 80);
        assert!(line.contains(name), "{line}");
        assert!(line.contains('['), "{line}");
        assert!(line.chars().count() < 80);
    }

    #[test]
    fn unknown_speed_and_size_show_as_such() {
        let s = Shown {
            bytes: 1000,
            size: None,
            speed: None,
            eta: None,
            connections: 1,
            max_connections: 1,
        };
        let line = bar_line(2, "x", &s, 80);
        assert!(!line.contains("0 B/s"), "{line}");
        assert!(line.contains('…') && line.contains("--"), "{line}");
    }

    #[test]
    fn the_eta_waits_a_second_then_moves_smoothly() {
        let mut e = Eta::default();
        assert_eq!(e.update(0.3, Some(100 << 20), 1_000_000.0), None);
        // A steady 10 MiB/s with 80 MiB left: 8 s.
        let v = 10.0 * 1048576.0;
        let first = e.update(1.0, Some(80 << 20), v).unwrap();
        assert!((first - 8.0).abs() < 0.01);
        // A momentary dip to a tenth of the speed does not make it jump to 80 s.
        let dip = e.update(1.5, Some(79 << 20), v / 10.0).unwrap();
        assert!(dip < 30.0, "{dip}");
        // It counts down between samples.
        let later = e.update(2.0, None, 0.0).unwrap();
        assert!(later < dip);
    }
}

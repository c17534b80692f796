//! One `[[schedule]]` window as the config writes it and as ddm holds it: the days it starts
//! on, its start and end as seconds of the local day, its rate cap and whether it holds the
//! queue. Every mistake is refused naming the window and what to write.

use serde::Deserialize;

/// Day names as a window writes them, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A schedule window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Raw")]
pub struct Window {
    /// The days it starts on: bit 0 Monday … bit 6 Sunday. A window across midnight ends on
    /// the next day.
    pub days: u8,
    /// Seconds of the local day it starts at (0 to 86399).
    pub start: u32,
    /// Seconds of the local day it ends at (1 to 86400; at or before `start`: the next day).
    pub end: u32,
    /// Bytes per second all jobs together may receive while it is in force.
    pub max_rate: Option<u64>,
    /// The queue is held: no job starts, running ones are paused (progress kept) and resumed
    /// when it ends.
    pub hold: bool,
}

/// A window as written in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    days: Option<String>,
    start: String,
    end: String,
    #[serde(default)]
    max_rate: Option<toml::Value>,
    #[serde(default)]
    queue: Option<String>,
}

impl TryFrom<Raw> for Window {
    type Error = String;
    fn try_from(r: Raw) -> Result<Window, String> {
        let days = match &r.days {
            None => 0x7f,
            Some(d) => parse_days(d)?,
        };
        let time = |key: &str, v: &str| {
            crate::clock::parse_time_of_day(v).ok_or_else(|| {
                format!(
                    "[[schedule]] {key} = {v:?}: not a time; write HH:MM (local, 00:00 to 24:00)"
                )
            })
        };
        let start = time("start", &r.start)?;
        let end = time("end", &r.end)?;
        if start >= 86_400 {
            return Err(format!(
                "[[schedule]] start = {:?}: a window starts at 23:59 at the latest (00:00 is midnight)",
                r.start
            ));
        }
        if start == end {
            return Err(format!(
                "[[schedule]] start = {:?}, end = {:?}: a window of no length; for the whole day \
                 write start = \"00:00\", end = \"24:00\"",
                r.start, r.end
            ));
        }
        let max_rate = match r.max_rate {
            None => None,
            Some(toml::Value::Integer(n)) if n > 0 => Some(n as u64),
            Some(toml::Value::String(s)) => Some(
                crate::config::parse_rate(&s)
                    .map_err(|e| format!("[[schedule]] max_rate = {s:?}: {e}"))?,
            ),
            Some(v) => {
                return Err(format!(
                    "[[schedule]] max_rate = {v}: write bytes per second, e.g. 500000 or \"500K\""
                ))
            }
        };
        let hold = match r.queue.as_deref() {
            None | Some("run") => false,
            Some("hold") => true,
            Some(q) => {
                return Err(format!(
                    "[[schedule]] queue = {q:?}: write \"run\" (jobs start) or \"hold\" (no job \
                     starts; running ones are paused, progress kept, until the window ends)"
                ))
            }
        };
        Ok(Window {
            days,
            start,
            end: if end == 0 { 86_400 } else { end },
            max_rate,
            hold,
        })
    }
}

/// `mon-fri`, `sat,sun`, `mon,wed-fri`, `all`, `weekdays`, `weekends`.
fn parse_days(s: &str) -> Result<u8, String> {
    let bad = || {
        format!(
            "[[schedule]] days = {s:?}: write day names ({}), ranges and lists such as \
             \"mon-fri\" or \"sat,sun\", or \"all\"",
            DAY_NAMES.join(", ")
        )
    };
    let day = |d: &str| {
        DAY_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(d.trim()))
            .ok_or_else(bad)
    };
    let mut mask = 0u8;
    for part in s.split(',') {
        let part = part.trim();
        match part.to_ascii_lowercase().as_str() {
            "all" | "daily" => mask |= 0x7f,
            "weekdays" => mask |= 0x1f,
            "weekends" => mask |= 0x60,
            _ => match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    // `fri-mon` wraps over the weekend.
                    let mut d = a;
                    loop {
                        mask |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => mask |= 1 << day(part)?,
            },
        }
    }
    if mask == 0 {
        return Err(bad());
    }
    Ok(mask)
}

impl Window {
    /// Whether it starts on weekday `wd` (0 Monday).
    pub fn on(&self, wd: u32) -> bool {
        self.days & (1 << (wd % 7)) != 0
    }

    /// It ends on the day after it starts.
    pub fn across_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// `mon-fri 22:00-06:00`, as `ddm schedule` shows it.
    pub fn describe(&self) -> String {
        let days = match self.days {
            0x7f => "every day".to_string(),
            m => {
                // Runs of consecutive days, Monday first.
                let mut parts = Vec::new();
                let mut d = 0;
                while d < 7 {
                    if m & (1 << d) != 0 {
                        let s = d;
                        while d + 1 < 7 && m & (1 << (d + 1)) != 0 {
                            d += 1;
                        }
                        parts.push(if s == d {
                            DAY_NAMES[s].to_string()
                        } else {
                            format!("{}-{}", DAY_NAMES[s], DAY_NAMES[d])
                        });
                    }
                    d += 1;
                }
                parts.join(",")
            }
        };
        let hm = |s: u32| {
            if s % 60 == 0 {
                format!("{:02}:{:02}", s / 3600, s / 60 % 60)
            } else {
                format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
            }
        };
        let mut what = Vec::new();
        if self.hold {
            what.push("queue held".to_string());
        }
        if let Some(r) = self.max_rate {
            what.push(format!("max_rate {}/s", rate_text(r)));
        }
        if what.is_empty() {
            what.push("queue runs, no cap".to_string());
        }
        format!(
            "{days} {}-{}{}: {}",
            hm(self.start),
            hm(self.end),
            if self.across_midnight() {
                " (next day)"
            } else {
                ""
            },
            what.join(", ")
        )
    }
}

/// A rate as the config would write it: `1M`, `500K`, or bytes.
pub fn rate_text(r: u64) -> String {
    match r {
        r if r >= 1 << 30 && r % (1 << 30) == 0 => format!("{}G", r >> 30),
        r if r >= 1 << 20 && r % (1 << 20) == 0 => format!("{}M", r >> 20),
        r if r >= 1 << 10 && r % (1 << 10) == 0 => format!("{}K", r >> 10),
        r => format!("{r}B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(toml: &str) -> Result<Window, String> {
        #[derive(Deserialize, Debug)]
        struct C {
            schedule: Vec<Window>,
        }
        toml::from_str::<C>(toml)
            .map(|mut c| c.schedule.remove(0))
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn windows_as_written_and_refused_with_what_to_write() {
        let a = w("[[schedule]]\ndays = \"mon-fri\"\nstart = \"22:00\"\nend = \"06:00\"\nmax_rate = \"1M\"\n")
            .unwrap();
        assert_eq!(
            (a.days, a.start, a.end, a.max_rate, a.hold),
            (0x1f, 79_200, 21_600, Some(1 << 20), false)
        );
        assert!(a.across_midnight());
        assert_eq!(
            a.describe(),
            "mon-fri 22:00-06:00 (next day): max_rate 1M/s"
        );
        let b = w("[[schedule]]\ndays = \"fri-mon, wed\"\nstart = \"00:00\"\nend = \"24:00\"\nqueue = \"hold\"\n")
            .unwrap();
        assert_eq!(b.days, 0b111_0101);
        assert_eq!(b.describe(), "mon,wed,fri-sun 00:00-24:00: queue held");
        let c = w("[[schedule]]\nstart = \"09:00:30\"\nend = \"00:00\"\n").unwrap();
        assert_eq!((c.days, c.end), (0x7f, 86_400));
        assert_eq!(c.describe(), "every day 09:00:30-24:00: queue runs, no cap");
        for (bad, says) in [
            (
                "days = \"mon-fr\"\nstart = \"01:00\"\nend = \"02:00\"",
                "write day names",
            ),
            ("start = \"25:00\"\nend = \"01:00\"", "not a time"),
            ("start = \"24:00\"\nend = \"01:00\"", "23:59 at the latest"),
            ("start = \"08:00\"\nend = \"08:00\"", "no length"),
            (
                "start = \"08:00\"\nend = \"09:00\"\nqueue = \"stop\"",
                "\"hold\"",
            ),
            (
                "start = \"08:00\"\nend = \"09:00\"\nmax_rate = \"fast\"",
                "max_rate",
            ),
            (
                "start = \"08:00\"\nend = \"09:00\"\nrate = 1",
                "unknown field",
            ),
        ] {
            let e = w(&format!("[[schedule]]\n{bad}\n")).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}

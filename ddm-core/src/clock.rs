//! Local time, in the system's time zone (`TZ`, else `/etc/localtime`), through libc's
//! `localtime_r` and `mktime`: start times (`ddm add --at`), when `status` says a job starts,
//! and the schedule's windows (`schedule`). No time zone database of ddm's own: the zone the
//! rest of the system uses, daylight saving time included, is the one ddm uses.
//!
//! Times are epoch seconds (`i64`); a [`Local`] is what a wall clock shows at one of them.

use std::time::{SystemTime, UNIX_EPOCH};

/// A wall-clock time and date in the local zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 Monday … 6 Sunday.
    pub weekday: u32,
    /// Seconds east of UTC in force at that moment (daylight saving time included).
    pub offset: i64,
}

impl Local {
    /// Seconds since local midnight.
    pub fn seconds_of_day(&self) -> u32 {
        self.hour * 3600 + self.minute * 60 + self.second
    }
}

/// Now, in epoch seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What the local wall clock shows at `t`.
pub fn local(t: i64) -> Local {
    let time = t as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value to be overwritten; `localtime_r` is the
    // reentrant form and writes only into `tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&time, &mut tm).is_null() };
    if !ok {
        // Out of the C library's range: say UTC.
        return utc(t);
    }
    Local {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec.min(59) as u32,
        weekday: ((tm.tm_wday + 6) % 7) as u32,
        offset: tm.tm_gmtoff as i64,
    }
}

/// `t` in UTC (for times the C library cannot convert).
fn utc(t: i64) -> Local {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400) as u32;
    let (year, month, day) = civil(days);
    Local {
        year,
        month,
        day,
        hour: secs / 3600,
        minute: secs / 60 % 60,
        second: secs % 60,
        weekday: weekday_of_day(days),
        offset: 0,
    }
}

/// The weekday (0 Monday) of the `days`th day after 1970-01-01 (a Thursday).
pub fn weekday_of_day(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32
}

/// (year, month, day) of the `days`th day after 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// The epoch time a local wall clock shows as this date and time (`mktime`, daylight saving
/// time decided by the zone); None when the C library cannot represent it. A time that does
/// not exist locally (skipped when clocks go forward) comes out as the C library normalises
/// it (glibc: the same distance past the jump).
pub fn from_local(year: i32, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    // SAFETY: an all-zero `tm` is valid; `mktime` reads and normalises it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = year - 1900;
    tm.tm_mon = month as i32 - 1;
    tm.tm_mday = day as i32;
    tm.tm_hour = h as i32;
    tm.tm_min = m as i32;
    tm.tm_sec = s as i32;
    tm.tm_isdst = -1;
    let t = unsafe { libc::mktime(&mut tm) };
    (t != -1).then_some(t as i64)
}

/// `2025-06-01 02:00:00`, local.
pub fn format(t: i64) -> String {
    let l = local(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        l.year, l.month, l.day, l.hour, l.minute, l.second
    )
}

/// A duration in words: `45s`, `12m 5s`, `3h 12m`, `2d 4h`.
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

/// `HH:MM[:SS]` as seconds of the day (`24:00` is the end of the day).
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    if h == 24 && m == 0 && sec == 0 {
        return Some(86_400);
    }
    (h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

/// A start time as `--at` takes it, local: `HH:MM[:SS]` (the next time the clock shows it:
/// today, or tomorrow when it has passed) or `YYYY-MM-DD HH:MM[:SS]` (also with a `T`).
pub fn parse_at(s: &str, now: i64) -> Result<i64, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "{t:?} is not a time; write HH:MM (the next time the clock shows it), or \
             YYYY-MM-DD HH:MM, local time; or give --in DURATION"
        )
    };
    if let Some(secs) = parse_time_of_day(t) {
        if secs >= 86_400 {
            return Err(bad());
        }
        let today = local(now);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        // Today at that time, else the next day at it (mktime normalises day 32).
        for add in 0..=2 {
            let at =
                from_local(today.year, today.month, today.day + add, h, m, s).ok_or_else(bad)?;
            if at > now {
                return Ok(at);
            }
        }
        return Err(bad());
    }
    let (date, time) = t
        .split_once(['T', ' '])
        .map(|(d, t)| (d.trim(), t.trim()))
        .ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return Err(bad());
    }
    let (y, mo, day): (i32, u32, u32) = (
        d[0].parse().map_err(|_| bad())?,
        d[1].parse().map_err(|_| bad())?,
        d[2].parse().map_err(|_| bad())?,
    );
    let secs = parse_time_of_day(time)
        .filter(|s| *s < 86_400)
        .ok_or_else(bad)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let at = from_local(y, mo, day, secs / 3600, secs / 60 % 60, secs % 60).ok_or_else(bad)?;
    // mktime quietly turns 02-31 into 03-03: refuse a date that does not exist.
    let back = local(at);
    if (back.year, back.month) != (y, mo) || back.day != day {
        return Err(format!("{t:?}: {date} is not a date"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_by_hand() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(weekday_of_day(0), 3, "a Thursday");
        // 2024-02-29 (a leap day), a Thursday.
        let d = 19_782;
        assert_eq!(civil(d), (2024, 2, 29));
        assert_eq!(weekday_of_day(d), 3);
        let l = utc(d * 86_400 + 3600 * 13 + 61);
        assert_eq!((l.hour, l.minute, l.second), (13, 1, 1));
    }

    #[test]
    fn times_of_day_parse() {
        assert_eq!(parse_time_of_day("02:00"), Some(7200));
        assert_eq!(parse_time_of_day("23:59:30"), Some(86_370));
        assert_eq!(parse_time_of_day("24:00"), Some(86_400));
        for bad in ["2:00", "24:01", "12:60", "12", "12:00:00:00", "ab:cd"] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn at_takes_the_next_time_the_clock_shows() {
        let now = now();
        let l = local(now);
        // A minute ago: tomorrow (about 23 h 59 m ahead, give or take a DST change).
        let before = local(now - 60);
        let t = parse_at(
            &format!(
                "{:02}:{:02}:{:02}",
                before.hour, before.minute, before.second
            ),
            now,
        )
        .unwrap();
        assert!((now + 82_000..now + 90_000).contains(&t), "{}", t - now);
        let d = parse_at(
            &format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                l.year, l.month, l.day, l.hour, l.minute
            ),
            now,
        )
        .unwrap();
        assert!((now - 60..=now).contains(&d));
        assert!(parse_at("2025-02-30 10:00", now)
            .unwrap_err()
            .contains("not a date"));
        assert!(parse_at("tomorrow", now).unwrap_err().contains("HH:MM"));
    }

    #[test]
    fn spans_in_words() {
        assert_eq!(span(45), "45s");
        assert_eq!(span(725), "12m 5s");
        assert_eq!(span(3 * 3600 + 12 * 60), "3h 12m");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2d 4h");
    }
}

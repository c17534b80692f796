//! Which window is in force, and when that changes next: pure functions of the windows and
//! the local time. The time zone is a parameter ([`Zone`]): the system's ([`System`],
//! libc's `localtime_r`/`mktime`), or in the tests a zone with daylight saving time.
//!
//! A window is a stretch of wall-clock time, so a day when clocks go forward has an hour
//! less of it (a window from 02:30 starts at 03:00 when 02:00-03:00 is skipped) and a day when
//! they go back may have an hour more (01:30-01:45 happens twice). The next change is found
//! among the candidate instants (each window's start and end on the days around, the same an
//! hour or half an hour either side, where a clock change moves them, and every quarter hour,
//! where clock changes happen) as the first at which the window in force differs.

use super::Window;
use crate::clock::Local;

/// A time zone: what the wall clock shows at an instant, and the instant a wall-clock time
/// is (as `mktime` normalises it: a day past the month's end is the next month's, a time
/// skipped by a clock change is as far past the jump).
pub trait Zone {
    fn local(&self, t: i64) -> Local;
    fn instant(&self, year: i32, month: u32, day: u32, secs: u32) -> Option<i64>;
}

/// The system's time zone (`TZ`, else `/etc/localtime`).
#[derive(Debug, Clone, Copy)]
pub struct System;

impl Zone for System {
    fn local(&self, t: i64) -> Local {
        crate::clock::local(t)
    }
    fn instant(&self, year: i32, month: u32, day: u32, secs: u32) -> Option<i64> {
        crate::clock::from_local(year, month, day, secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// What a schedule says at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForce {
    /// The window in force (its index in the config), None outside all.
    pub window: Option<usize>,
    /// Its rate cap.
    pub max_rate: Option<u64>,
    /// The queue is held.
    pub hold: bool,
}

impl Window {
    /// Whether the window contains the wall-clock time `at`.
    pub fn contains(&self, at: &Local) -> bool {
        let (wd, s) = (at.weekday, at.seconds_of_day());
        if self.across_midnight() {
            (self.on(wd) && s >= self.start) || (self.on((wd + 6) % 7) && s < self.end)
        } else {
            self.on(wd) && s >= self.start && s < self.end
        }
    }
}

/// The window in force at wall-clock time `at` (the first listed that contains it).
pub fn in_force(windows: &[Window], at: &Local) -> InForce {
    match windows.iter().position(|w| w.contains(at)) {
        Some(i) => InForce {
            window: Some(i),
            max_rate: windows[i].max_rate,
            hold: windows[i].hold,
        },
        None => InForce {
            window: None,
            max_rate: None,
            hold: false,
        },
    }
}

/// The next instant after `now` at which the window in force changes, and what is in force
/// from then; None when nothing changes within eight days (no windows, or one always in
/// force).
pub fn next_change(windows: &[Window], now: i64, zone: &dyn Zone) -> Option<(i64, InForce)> {
    if windows.is_empty() {
        return None;
    }
    let today = zone.local(now);
    let current = in_force(windows, &today);
    let horizon = now + 8 * 86_400;
    let mut candidates: Vec<i64> = Vec::new();
    // Every quarter hour (clock changes happen on one).
    let first = (now.div_euclid(900) + 1) * 900;
    candidates.extend((first..=horizon).step_by(900));
    // Each window's start and end on the days from yesterday on.
    for k in 0..=9u32 {
        // Day `today.day - 1 + k` (mktime takes day 0 as the last of the month before).
        let day = today.day - 1 + k;
        for w in windows {
            for (d, s) in [
                (day, w.start),
                (day + u32::from(w.across_midnight()), w.end),
            ] {
                let (d, s) = if s == 86_400 { (d + 1, 0) } else { (d, s) };
                if let Some(t) = zone.instant(today.year, today.month, d, s) {
                    for shift in [0, -3600, 3600, -1800, 1800] {
                        candidates.push(t + shift);
                    }
                }
            }
        }
    }
    candidates.retain(|&t| t > now && t <= horizon);
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().find_map(|t| {
        let f = in_force(windows, &zone.local(t));
        (f != current).then_some((t, f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Window;

    /// Central European time with its 2026 clock changes: +1 h, then +2 h from 29 March
    /// 01:00 UTC (02:00 → 03:00 local), then +1 h again from 25 October 01:00 UTC (03:00 →
    /// 02:00 local).
    struct Cet;

    const SPRING: i64 = 1_774_746_000; // 2026-03-29 01:00:00 UTC
    const AUTUMN: i64 = 1_792_890_000; // 2026-10-25 01:00:00 UTC

    fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
        let y = i64::from(y) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (i64::from(m) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    impl Cet {
        fn offset(t: i64) -> i64 {
            if (SPRING..AUTUMN).contains(&t) {
                7200
            } else {
                3600
            }
        }
    }

    impl Zone for Cet {
        fn local(&self, t: i64) -> Local {
            let off = Cet::offset(t);
            let w = t + off;
            // Back from days to a date: search forward from a month start (test-only).
            let days = w.div_euclid(86_400);
            let secs = w.rem_euclid(86_400) as u32;
            let (mut y, mut m) = (1970, 1);
            while days_from_civil(y + 1, 1, 1) <= days {
                y += 1;
            }
            while m < 12 && days_from_civil(y, m + 1, 1) <= days {
                m += 1;
            }
            let d = (days - days_from_civil(y, m, 1) + 1) as u32;
            Local {
                year: y,
                month: m,
                day: d,
                hour: secs / 3600,
                minute: secs / 60 % 60,
                second: secs % 60,
                weekday: crate::clock::weekday_of_day(days),
                offset: off,
            }
        }
        fn instant(&self, year: i32, month: u32, day: u32, secs: u32) -> Option<i64> {
            // Wall time as if it were UTC, then the offset that makes it true (the earlier
            // instant when two do); in a gap, as far past the jump as it was into it.
            let naive = days_from_civil(year, month, 1) * 86_400
                + (i64::from(day) - 1) * 86_400
                + i64::from(secs);
            for off in [7200, 3600] {
                if Cet::offset(naive - off) == off {
                    return Some(naive - off);
                }
            }
            Some(naive - 3600)
        }
    }

    /// Epoch seconds of a CET/CEST wall-clock time (the first, when it happens twice).
    fn at(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> i64 {
        Cet.instant(y, m, d, hh * 3600 + mm * 60).unwrap()
    }

    fn win(days: u8, start: (u32, u32), end: (u32, u32), rate: Option<u64>, hold: bool) -> Window {
        Window {
            days,
            start: start.0 * 3600 + start.1 * 60,
            end: match end.0 * 3600 + end.1 * 60 {
                0 => 86_400,
                e => e,
            },
            max_rate: rate,
            hold,
        }
    }

    const ALL: u8 = 0x7f;
    const WEEKDAYS: u8 = 0x1f;
    const FRI: u8 = 1 << 4;

    #[test]
    fn the_window_in_force_at_each_time() {
        // 0: weekdays 09:00-18:00 capped; 1: every night 23:00-07:00 (across midnight) runs
        // free; 2: Friday night 22:00-02:00 held (listed after 1: from 23:00 1 wins).
        let ws = [
            win(WEEKDAYS, (9, 0), (18, 0), Some(100_000), false),
            win(ALL, (23, 0), (7, 0), None, false),
            win(FRI, (22, 0), (2, 0), None, true),
        ];
        // 2026-03-02 is a Monday; 2026-03-06 a Friday; 2026-03-07 a Saturday.
        let table: &[(i64, Option<usize>)] = &[
            (at(2026, 3, 2, 8, 59), None),
            (at(2026, 3, 2, 9, 0), Some(0)),
            (at(2026, 3, 2, 17, 59), Some(0)),
            (at(2026, 3, 2, 18, 0), None),
            (at(2026, 3, 2, 23, 0), Some(1)),
            (at(2026, 3, 3, 0, 30), Some(1)),
            (at(2026, 3, 3, 6, 59), Some(1)),
            (at(2026, 3, 3, 7, 0), None),
            // Friday night: held from 22:00, the earlier-listed night window from 23:00.
            (at(2026, 3, 6, 21, 59), None),
            (at(2026, 3, 6, 22, 0), Some(2)),
            (at(2026, 3, 6, 23, 30), Some(1)),
            // Saturday early morning: the Friday windows, across midnight, still hold.
            (at(2026, 3, 7, 1, 0), Some(1)),
            // Saturday 09:00: no weekday window.
            (at(2026, 3, 7, 9, 0), None),
            // Sunday 23:30 → Monday: the night window started on Sunday.
            (at(2026, 3, 9, 0, 15), Some(1)),
        ];
        for &(t, want) in table {
            let l = Cet.local(t);
            assert_eq!(
                in_force(&ws, &l).window,
                want,
                "{}-{:02}-{:02} {:02}:{:02}",
                l.year,
                l.month,
                l.day,
                l.hour,
                l.minute
            );
        }
        let f = in_force(&ws, &Cet.local(at(2026, 3, 6, 22, 30)));
        assert_eq!((f.hold, f.max_rate), (true, None));
        let f = in_force(&ws, &Cet.local(at(2026, 3, 2, 10, 0)));
        assert_eq!((f.hold, f.max_rate), (false, Some(100_000)));
    }

    #[test]
    fn the_next_change_across_midnight_and_clock_changes() {
        let night = [win(ALL, (22, 0), (6, 0), Some(1), false)];
        let capped = InForce {
            window: Some(0),
            max_rate: Some(1),
            hold: false,
        };
        let free = InForce {
            window: None,
            max_rate: None,
            hold: false,
        };
        let early = [win(ALL, (2, 30), (4, 0), None, true)];
        let held = InForce {
            window: Some(0),
            max_rate: None,
            hold: true,
        };
        let twice = [win(ALL, (2, 10), (2, 20), None, true)];
        let table: &[(&[Window], i64, i64, InForce)] = &[
            // An ordinary evening: the window opens at 22:00 …
            (&night, at(2026, 3, 2, 12, 0), at(2026, 3, 2, 22, 0), capped),
            // … and ends at 06:00 the next day.
            (&night, at(2026, 3, 2, 23, 0), at(2026, 3, 3, 6, 0), free),
            // The night the clocks go forward: 22:00 CET to 06:00 CEST, 7 hours.
            (&night, at(2026, 3, 28, 23, 0), at(2026, 3, 29, 6, 0), free),
            // 02:30 does not exist on 29 March: the window is in force from the jump, 03:00
            // CEST (01:00 UTC).
            (&early, at(2026, 3, 29, 1, 0), SPRING, held),
            // It ends at 04:00 CEST.
            (&early, SPRING, at(2026, 3, 29, 4, 0), free),
            // The night the clocks go back: 02:10-02:20 happens twice; first in CEST …
            (&twice, at(2026, 10, 25, 1, 0), AUTUMN - 3000, held),
            // … it ends at 02:20 CEST …
            (&twice, AUTUMN - 3000, AUTUMN - 2400, free),
            // … and is in force again at 02:10 CET, an hour after the first time.
            (&twice, AUTUMN - 2400, AUTUMN + 600, held),
            (&twice, AUTUMN + 600, AUTUMN + 1200, free),
        ];
        for (i, &(ws, now, when, what)) in table.iter().enumerate() {
            assert_eq!(next_change(ws, now, &Cet), Some((when, what)), "row {i}");
        }
        // No windows, or one always in force: nothing changes.
        assert_eq!(next_change(&[], at(2026, 3, 2, 12, 0), &Cet), None);
        let always = [win(ALL, (0, 0), (0, 0), Some(5), false)];
        assert_eq!(next_change(&always, at(2026, 3, 2, 12, 0), &Cet), None);
    }

    #[test]
    fn the_test_zone_is_central_european_time() {
        assert_eq!(at(2026, 3, 29, 1, 59) + 60, SPRING);
        assert_eq!(Cet.local(SPRING).hour, 3);
        assert_eq!(Cet.local(AUTUMN).hour, 2);
        assert_eq!(Cet.local(AUTUMN - 1).hour, 2);
        assert_eq!(Cet.local(at(2026, 3, 2, 12, 0)).weekday, 0);
    }
}

//! Deadlines of one run of a job, off unless asked for: curl's `--max-time` (the run's wall
//! clock) and `--speed-limit`/`--speed-time` (aria2's `lowest-speed-limit`): a run whose
//! received bytes over the last `speed_time` seconds average under `speed_limit` bytes per
//! second fails. Either way the job fails with kind `deadline` and a message naming the
//! limit; progress is kept and `ddm resume ID` continues (its next run has the limits anew).
//!
//! A run is one `ddm get` or one claim by `ddm run`, from its start (the first request, its
//! retries and waits included) to the last byte; the checksum check and the rename are not
//! counted. The stall timeout (`stall_timeout_secs`) is another thing: it abandons one
//! attempt that receives nothing and retries it; these end the job.

use crate::config::Config;
use crate::model::{ErrorKind, JobError};
use crate::store::JobSettings;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often the received byte count is sampled for the speed limit.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The limits of a job: its own (`--max-time`, `--speed-limit`, `--speed-time`, 0 = off),
/// else the config's (`max_time_secs`, `lowest_speed_limit`, `lowest_speed_time_secs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_time: Option<Duration>,
    /// Bytes per second, and for how long the average may stay under it.
    pub low_speed: Option<(u64, Duration)>,
}

impl Limits {
    pub fn of(s: &JobSettings, cfg: &Config) -> Limits {
        let max = s.max_time_secs.unwrap_or(cfg.max_time_secs);
        // As in curl, a speed time alone means "nothing at all for that long" (1 byte/s).
        let rate = s
            .speed_limit
            .or(cfg.lowest_speed_limit)
            .or(s.speed_time_secs.map(|_| 1))
            .unwrap_or(0);
        let time = s
            .speed_time_secs
            .unwrap_or(cfg.lowest_speed_time_secs)
            .max(1);
        Limits {
            max_time: (max > 0).then(|| Duration::from_secs(max)),
            low_speed: (rate > 0).then(|| (rate, Duration::from_secs(time))),
        }
    }
}

/// The limits of one run, with what they need to remember.
#[derive(Debug)]
pub struct Deadline {
    limits: Limits,
    since: Instant,
    /// (when, bytes received by then), oldest first, one at most older than the window.
    samples: VecDeque<(Instant, u64)>,
}

impl Deadline {
    /// The limits of a run that started at `since` (nothing received then).
    pub fn new(limits: Limits, since: Instant) -> Deadline {
        Deadline {
            limits,
            since,
            samples: VecDeque::from([(since, 0)]),
        }
    }

    /// No limits (`ddm bench`).
    pub fn off() -> Deadline {
        Deadline::new(Limits::default(), Instant::now())
    }

    /// The error that ends the run, if a limit is passed at `now` with `received` bytes
    /// received since the run started.
    pub fn check(&mut self, now: Instant, received: u64) -> Option<JobError> {
        if let Some(max) = self.limits.max_time {
            if now.saturating_duration_since(self.since) >= max {
                return Some(JobError::new(
                    ErrorKind::Deadline,
                    format!(
                        "time limit: the run lasted {} (--max-time, config max_time_secs) \
                         and was stopped after {} received",
                        secs(max),
                        bytes(received)
                    ),
                ));
            }
        }
        let (rate, window) = self.limits.low_speed?;
        if self
            .samples
            .back()
            .is_none_or(|(t, _)| now.saturating_duration_since(*t) >= SAMPLE_EVERY)
        {
            self.samples.push_back((now, received));
        }
        while self.samples.len() >= 2 && now.saturating_duration_since(self.samples[1].0) >= window
        {
            self.samples.pop_front();
        }
        let (t0, b0) = self.samples[0];
        let span = now.saturating_duration_since(t0);
        if span < window {
            return None;
        }
        let got = received.saturating_sub(b0);
        let avg = got as f64 / span.as_secs_f64();
        (avg < rate as f64).then(|| {
            JobError::new(
                ErrorKind::Deadline,
                format!(
                    "too slow: {}/s on average over the last {}, under the speed limit of \
                     {}/s (--speed-limit and --speed-time, config lowest_speed_limit)",
                    bytes(avg as u64),
                    secs(window),
                    bytes(rate)
                ),
            )
        })
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn limits_come_from_the_job_then_the_config_and_are_off_by_default() {
        let cfg = Config::default();
        let none = JobSettings::default();
        assert_eq!(Limits::of(&none, &cfg), Limits::default());
        let cfg2 = Config {
            max_time_secs: 60,
            lowest_speed_limit: Some(1000),
            lowest_speed_time_secs: 20,
            ..Config::default()
        };
        let l = Limits::of(&none, &cfg2);
        assert_eq!(l.max_time, Some(Duration::from_secs(60)));
        assert_eq!(l.low_speed, Some((1000, Duration::from_secs(20))));
        // The job's own, 0 = off even where the config sets one.
        let own = JobSettings {
            max_time_secs: Some(0),
            speed_limit: Some(0),
            ..JobSettings::default()
        };
        assert_eq!(Limits::of(&own, &cfg2), Limits::default());
        // A speed time alone: 1 byte/s, as in curl; a speed limit alone: 30 s.
        let time = JobSettings {
            speed_time_secs: Some(5),
            ..JobSettings::default()
        };
        assert_eq!(
            Limits::of(&time, &cfg).low_speed,
            Some((1, Duration::from_secs(5)))
        );
        let rate = JobSettings {
            speed_limit: Some(4096),
            ..JobSettings::default()
        };
        assert_eq!(
            Limits::of(&rate, &cfg).low_speed,
            Some((4096, Duration::from_secs(30)))
        );
    }

    #[test]
    fn max_time_ends_the_run_at_its_wall_clock() {
        let t = Instant::now();
        let mut d = Deadline::new(
            Limits {
                max_time: Some(Duration::from_secs(3)),
                low_speed: None,
            },
            t,
        );
        assert!(d.check(at(t, 2999), 10).is_none());
        let e = d.check(at(t, 3000), 2048).unwrap();
        assert_eq!(e.kind, ErrorKind::Deadline);
        assert!(
            e.message.contains("time limit") && e.message.contains("3 s"),
            "{e}"
        );
        assert!(e.message.contains("after 2.0 KiB received"), "{e}");
    }

    #[test]
    fn a_speed_under_the_limit_for_the_whole_window_ends_the_run() {
        let t = Instant::now();
        let limits = Limits {
            max_time: None,
            low_speed: Some((1000, Duration::from_secs(2))),
        };
        // Fast for 5 s, then a trickle of 100 bytes/s: fails 2 s into the trickle.
        let mut d = Deadline::new(limits, t);
        let mut failed = None;
        let mut bytes = 0;
        for ms in (50..20_000).step_by(50) {
            bytes += if ms <= 5000 { 5000 } else { 5 };
            if let Some(e) = d.check(at(t, ms), bytes) {
                failed = Some((ms, e));
                break;
            }
        }
        let (ms, e) = failed.expect("the trickle fails");
        assert!((6900..=7400).contains(&ms), "failed at {ms} ms");
        assert!(
            e.message.contains("too slow") && e.message.contains("1000 B/s"),
            "{e}"
        );
        // Steady at the limit: never.
        let mut d = Deadline::new(limits, t);
        for ms in (50..20_000).step_by(50) {
            assert!(d.check(at(t, ms), ms * 2).is_none(), "{ms}");
        }
        // Nothing at all for the first 2 s (a slow first answer): fails then.
        let mut d = Deadline::new(limits, t);
        assert!(d.check(at(t, 1900), 0).is_none());
        assert!(d.check(at(t, 2000), 0).is_some());
    }
}

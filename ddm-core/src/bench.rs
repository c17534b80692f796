//! `ddm bench`: measure throughput per connection count on one URL and recommend a count.
//!
//! Each count downloads the same first bytes with the real engine into a scratch file that is
//! removed. The recommendation is the smallest count within ~5% of the best throughput among
//! the counts that showed no throttle signals (429/503, refused or unanswered connections):
//! many connections only when the server really rewards them.

use crate::config::Config;
use crate::engine::{measure, Control, Measurement};
use crate::http::HttpOptions;
use crate::resolver::RemoteInfo;
use std::path::Path;

/// Within this fraction of the best throughput counts as "as good".
pub const TOLERANCE: f64 = 0.05;

/// The smallest count within TOLERANCE of the best unthrottled throughput.
pub fn recommend(results: &[Measurement]) -> usize {
    let clean: Vec<&Measurement> = results
        .iter()
        .filter(|m| m.stats.throttled == 0 && m.failed.is_none())
        .collect();
    let pool: Vec<&Measurement> = if clean.is_empty() {
        results.iter().filter(|m| m.failed.is_none()).collect()
    } else {
        clean
    };
    let best = pool.iter().map(|m| m.mib_per_s()).fold(0.0, f64::max);
    pool.iter()
        .filter(|m| m.mib_per_s() >= best * (1.0 - TOLERANCE))
        .map(|m| m.connections)
        .min()
        .unwrap_or(1)
}

/// What to measure.
#[derive(Debug)]
pub struct Plan<'a> {
    pub info: &'a RemoteInfo,
    pub http: &'a HttpOptions,
    pub cfg: &'a Config,
    pub counts: &'a [usize],
    /// Bytes per measurement (capped at the file size).
    pub limit: u64,
    /// Times each count is measured; the best throughput counts (noise protection).
    pub rounds: usize,
    /// Where the scratch file goes (it is removed after each count).
    pub scratch_dir: &'a Path,
}

/// Run the measurements, calling `each` as results arrive.
pub fn run(
    plan: &Plan<'_>,
    ctl: &Control,
    mut each: impl FnMut(&Measurement),
) -> Result<Vec<Measurement>, String> {
    let Plan {
        info,
        http,
        cfg,
        counts,
        limit,
        rounds,
        scratch_dir,
    } = *plan;
    let counts: Vec<usize> = if info.ranges {
        counts.to_vec()
    } else {
        vec![1] // without ranges only one connection is possible
    };
    let mut best: Vec<Option<Measurement>> = vec![None; counts.len()];
    for round in 0..rounds.max(1) {
        // Alternate the order so a slow spell of the machine or the link does not always
        // hit the same counts.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..counts.len()).collect()
        } else {
            (0..counts.len()).rev().collect()
        };
        for i in order {
            if ctl.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let m = measure(
                info,
                http,
                cfg,
                counts[i],
                limit,
                &scratch_dir.join("ddm-bench.bin"),
                ctl,
            )?;
            best[i] = Some(match best[i].take() {
                None => m,
                Some(prev) => merge(prev, m),
            });
        }
    }
    let out: Vec<Measurement> = best.into_iter().flatten().collect();
    for m in &out {
        each(m);
    }
    Ok(out)
}

/// Two measurements of one count: the faster run's time, every run's errors and signals.
fn merge(a: Measurement, b: Measurement) -> Measurement {
    let (mut keep, other) =
        if b.failed.is_none() && (a.failed.is_some() || b.mib_per_s() > a.mib_per_s()) {
            (b, a)
        } else {
            (a, b)
        };
    keep.stats.errors += other.stats.errors;
    keep.stats.throttled += other.stats.throttled;
    keep.stats.stalls += other.stats.stalls;
    keep.stats.ttfb.extend(other.stats.ttfb);
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stats;
    use std::time::Duration;

    fn m(connections: usize, secs: f64, throttled: u32) -> Measurement {
        Measurement {
            connections,
            bytes: 64 << 20,
            elapsed: Duration::from_secs_f64(secs),
            stats: Stats {
                throttled,
                ..Stats::default()
            },
            failed: None,
        }
    }

    #[test]
    fn per_connection_throttle_recommends_many() {
        let r = [
            m(1, 8.0, 0),
            m(2, 4.0, 0),
            m(4, 2.0, 0),
            m(8, 1.0, 0),
            m(16, 0.5, 0),
        ];
        assert_eq!(recommend(&r), 16);
    }

    #[test]
    fn unthrottled_link_recommends_few() {
        let r = [
            m(1, 0.30, 0),
            m(2, 0.29, 0),
            m(4, 0.31, 0),
            m(8, 0.35, 0),
            m(16, 0.40, 0),
        ];
        assert_eq!(recommend(&r), 1, "2 is only 3% better");
    }

    #[test]
    fn throttled_counts_are_not_recommended() {
        let r = [m(1, 4.0, 0), m(4, 1.0, 0), m(8, 0.9, 3), m(16, 0.8, 12)];
        assert_eq!(recommend(&r), 4);
    }

    #[test]
    fn merge_keeps_the_faster_run_and_all_signals() {
        let slow = m(8, 2.0, 1);
        let fast = m(8, 1.0, 2);
        let both = merge(slow, fast);
        assert_eq!(both.elapsed, Duration::from_secs(1));
        assert_eq!(both.stats.throttled, 3);
        let mut failed = m(4, 0.5, 0);
        failed.failed = Some("x".into());
        let kept = merge(failed, m(4, 3.0, 0));
        assert!(
            kept.failed.is_none(),
            "a completed run wins over a failed one"
        );
    }

    #[test]
    fn failed_runs_are_ignored() {
        let mut bad = m(16, 0.1, 0);
        bad.failed = Some("x".into());
        assert_eq!(recommend(&[m(1, 1.0, 0), m(2, 0.5, 0), bad]), 2);
        assert_eq!(recommend(&[]), 1);
    }
}

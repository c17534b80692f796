//! `ddm bench`: measure throughput per connection count on one URL and recommend a count.
//!
//! Each count downloads the same first bytes with the real engine into a scratch file that is
//! removed, in two rounds (alternating order) keeping the best run of each count. The
//! recommendation (see `recommend`) takes more connections only while they really pay: many
//! where each connection is throttled, few where one connection already gets the link.

use crate::config::Config;
use crate::engine::{measure, Control, Measurement};
use crate::http::HttpOptions;
use crate::resolver::RemoteInfo;
use std::path::Path;

/// A higher connection count must gain at least this much per doubling to be worth it.
pub const GAIN_PER_DOUBLING: f64 = 0.15;

/// The recommendation: walking the counts upwards, move to a higher count only when it beats
/// the current choice by at least GAIN_PER_DOUBLING per doubling of connections (or by the
/// measured run-to-run noise, if that is larger). Where each connection is throttled,
/// throughput scales with the count and every step pays; where it is not, 1-4 connections
/// already reach the plateau and more would only load the server. Counts that saw throttle
/// signals (429/503, refused connections) are never recommended.
pub fn recommend(results: &[Measurement]) -> usize {
    let clean: Vec<&Measurement> = results
        .iter()
        .filter(|m| m.stats.throttled == 0 && m.failed.is_none())
        .collect();
    let mut pool: Vec<&Measurement> = if clean.is_empty() {
        results.iter().filter(|m| m.failed.is_none()).collect()
    } else {
        clean
    };
    pool.sort_by_key(|m| m.connections);
    // Differences smaller than the typical noise seen between rounds are ties, not wins
    // (the median, so one cold first run does not blunt the rule).
    let mut spreads: Vec<f64> = pool.iter().map(|m| m.spread).collect();
    spreads.sort_by(f64::total_cmp);
    let noise = spreads
        .get(spreads.len() / 2)
        .copied()
        .unwrap_or(0.0)
        .min(0.5);
    let Some(mut rec) = pool.first().copied() else {
        return 1;
    };
    for m in &pool[1..] {
        let doublings = (m.connections as f64 / rec.connections as f64).log2();
        let needed = (1.0 + GAIN_PER_DOUBLING * doublings).max(1.0 + noise);
        if m.mib_per_s() >= rec.mib_per_s() * needed {
            rec = m;
        }
    }
    rec.connections
}

/// The counts to measure, ascending and without repeats: those asked for (by default 1, 2,
/// 4, … up to the cap), none above what one job may open to a host
/// ([`Config::host_connections`]): a count the budget would not let a job open measures
/// nothing real and must never be recommended or saved. Returns them and the counts left
/// out for that reason.
pub fn counts(asked: Option<&[usize]>, cfg: &Config) -> (Vec<usize>, Vec<usize>) {
    let cap = cfg.host_connections();
    let mut all: Vec<usize> = match asked {
        Some(a) => a.to_vec(),
        None => {
            let mut v: Vec<usize> = std::iter::successors(Some(1usize), |n| Some(n * 2))
                .take_while(|&n| n < cap)
                .collect();
            v.push(cap);
            v
        }
    };
    all.sort_unstable();
    all.dedup();
    let (keep, over): (Vec<usize>, Vec<usize>) = all.into_iter().partition(|&n| n <= cap);
    if keep.is_empty() {
        // Only counts above the cap were asked for: the cap is the most that can be measured.
        return (vec![cap], over);
    }
    (keep, over)
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
    mut measuring: impl FnMut(usize, usize),
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
            measuring(counts[i], round + 1);
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
    if keep.failed.is_none() && other.failed.is_none() {
        let (hi, lo) = (keep.mib_per_s(), other.mib_per_s());
        let spread = if hi > 0.0 { (hi - lo).abs() / hi } else { 0.0 };
        keep.spread = keep.spread.max(other.spread).max(spread);
    }
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
            spread: 0.0,
        }
    }

    #[test]
    fn counts_stay_within_what_one_job_may_open_to_a_host() {
        let cfg = Config {
            max_connections_per_host: 8,
            ..Config::default()
        };
        assert_eq!(counts(None, &cfg), (vec![1, 2, 4, 8], vec![]));
        assert_eq!(
            counts(Some(&[16, 1, 4, 32, 4]), &cfg),
            (vec![1, 4], vec![16, 32])
        );
        assert_eq!(counts(Some(&[32]), &cfg), (vec![8], vec![32]));
        let cfg = Config {
            max_connections_per_host: 12,
            max_total_connections: 6,
            ..Config::default()
        };
        assert_eq!(counts(None, &cfg), (vec![1, 2, 4, 6], vec![]));
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
    fn a_mild_gain_from_many_connections_is_not_worth_it() {
        // Measured on loopback nginx (MiB/s): 8 connections give 13% over 1.
        let mibs = [
            (1, 1138.0),
            (2, 1150.0),
            (4, 1150.0),
            (8, 1306.0),
            (16, 1259.0),
        ];
        let r: Vec<_> = mibs.iter().map(|&(c, v)| m(c, 64.0 / v, 0)).collect();
        assert_eq!(recommend(&r), 1);
    }

    #[test]
    fn a_plateau_then_a_real_jump_still_moves_up() {
        let r = [m(1, 1.0, 0), m(2, 0.99, 0), m(4, 0.3, 0)];
        assert_eq!(recommend(&r), 4);
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
    fn differences_within_the_measured_noise_are_ties() {
        // 2 connections look 30% faster, but runs of each count differed by 40%: noise.
        let mut one = m(1, 1.0, 0);
        one.spread = 0.4;
        let mut two = m(2, 1.0 / 1.3, 0);
        two.spread = 0.4;
        assert_eq!(recommend(&[one, two]), 1);
        // Without noise, 30% for one doubling is a real win.
        assert_eq!(recommend(&[m(1, 1.0, 0), m(2, 1.0 / 1.3, 0)]), 2);
    }

    #[test]
    fn merge_keeps_the_faster_run_and_all_signals() {
        let slow = m(8, 2.0, 1);
        let fast = m(8, 1.0, 2);
        let both = merge(slow, fast);
        assert_eq!(both.elapsed, Duration::from_secs(1));
        assert_eq!(both.stats.throttled, 3);
        assert!((both.spread - 0.5).abs() < 1e-9, "{}", both.spread);
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

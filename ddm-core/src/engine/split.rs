//! Planning: the initial segments of a download, how the work left is re-cut among the
//! connections allowed, and where an idle connection steals from.
//!
//! Pure functions, unit-tested. Stealing takes the back part of the largest remaining range
//! of an active segment; the split point is weighted by speed so that the owner and the thief
//! should finish together (a 20× slower owner keeps ~5% of what is left), instead of a blind
//! half that leaves a straggler holding the download at 99%.

use std::ops::Range;

/// No initial segment is smaller than this (few large segments, split on demand).
pub const MIN_SEGMENT: u64 = 512 * 1024;
/// A thief never takes less than this (request storms get clients banned).
pub const MIN_STEAL: u64 = 128 * 1024;
/// Split points are aligned to this.
const ALIGN: u64 = 16 * 1024;

/// Cut the missing ranges into about `n` segments of similar size.
pub fn initial_segments(missing: &[Range<u64>], n: usize) -> Vec<Range<u64>> {
    let total: u64 = missing.iter().map(|r| r.end - r.start).sum();
    if total == 0 {
        return Vec::new();
    }
    let target = (total / n.max(1) as u64).max(MIN_SEGMENT);
    let mut out = Vec::new();
    for r in missing {
        let len = r.end - r.start;
        let parts = len.div_ceil(target).max(1);
        let step = len / parts;
        let mut start = r.start;
        for i in 0..parts {
            let end = if i + 1 == parts {
                r.end
            } else {
                align_up(start + step).min(r.end)
            };
            if end > start {
                out.push(start..end);
            }
            start = end;
        }
    }
    out
}

fn align_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// Least time a steal must save: a steal costs a request, and usually the owner's connection
/// (its response is cut where the thief begins, and what the server had sent past that
/// point is wasted).
pub const MIN_GAIN_SECS: f64 = 0.15;
/// A thief takes at least this much from an owner that is not much slower than itself (less
/// is not worth cutting a connection for).
pub const MIN_TAKE: u64 = 512 * 1024;

/// Where to cut a segment at `pos..end` so an idle connection can take `at..end`.
/// Speeds are bytes/s (0 = unknown); `ttfb` is what the thief waits for its first byte.
/// The split makes both finish together: the owner keeps `k` with `k / owner = ttfb +
/// (rest - k) / thief`. None when a speed is not known yet (a blind half would cut a
/// connection for nothing), when the steal would not save at least [`MIN_GAIN_SECS`], or
/// would take a small piece from an owner that is not much slower than the thief.
pub fn steal_point(
    pos: u64,
    end: u64,
    owner_speed: f64,
    thief_speed: f64,
    ttfb: f64,
) -> Option<u64> {
    let remaining = end.checked_sub(pos)?;
    if remaining < 2 * MIN_STEAL && !(owner_speed > 0.0 && thief_speed > 4.0 * owner_speed) {
        return None;
    }
    let known = owner_speed > 0.0 && thief_speed > 0.0;
    // A straggler: the owner is far slower than the thief, any tail of it is worth taking.
    let slow_owner = known && thief_speed > 4.0 * owner_speed;
    if !known {
        return None;
    }
    let k = (ttfb * thief_speed + remaining as f64) * owner_speed / (owner_speed + thief_speed);
    let gain = (remaining as f64 - k) / owner_speed;
    if gain < MIN_GAIN_SECS {
        return None;
    }
    // Plus what arrives in the ~100 ms before the owner notices.
    let keep = (k as u64).max((owner_speed * 0.1) as u64);
    let at = align_up(pos + keep.max(1));
    let min_take = if slow_owner { ALIGN } else { MIN_TAKE };
    (at < end && end - at >= min_take).then_some(at)
}

/// `ranges` without the parts covered by `taken` (both sorted by start, `taken` disjoint).
pub(crate) fn subtract(ranges: &[Range<u64>], taken: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    for r in ranges {
        let mut start = r.start;
        for t in taken {
            if t.end <= start || t.start >= r.end {
                continue;
            }
            if t.start > start {
                out.push(start..t.start);
            }
            start = start.max(t.end);
        }
        if start < r.end {
            out.push(start..r.end);
        }
    }
    out
}

/// How much of the `free` work each of `n` connections should get next so that all finish
/// together: a fair share of everything left, less what each working connection still has
/// in hand. Largest first (the connection that frees up first takes the lowest segment).
pub(crate) fn shares(free: &[Range<u64>], in_hand: &[u64], n: usize) -> Vec<u64> {
    let free_total: u64 = free.iter().map(|r| r.end - r.start).sum();
    let total = free_total + in_hand.iter().sum::<u64>();
    let share = total / n.max(1) as u64;
    let mut need: Vec<u64> = in_hand.iter().map(|r| share.saturating_sub(*r)).collect();
    need.resize(n.max(in_hand.len()), share);
    need.retain(|n| *n > 0);
    let sum: u64 = need.iter().sum();
    if sum == 0 {
        return vec![free_total];
    }
    // Scale to exactly what is free (rounding goes to the last one).
    let mut out: Vec<u64> = need
        .iter()
        .map(|n| (*n as u128 * free_total as u128 / sum as u128) as u64)
        .collect();
    let given: u64 = out.iter().sum();
    if let Some(last) = out.last_mut() {
        *last += free_total - given;
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.retain(|n| *n > 0);
    out
}

/// Cut `runs` (in order) into consecutive segments of `sizes`; a segment also ends where a
/// run ends.
pub(crate) fn carve(runs: &[Range<u64>], sizes: &[u64]) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut sizes = sizes.iter().copied();
    let mut want = sizes.next().unwrap_or(u64::MAX);
    for r in runs {
        let mut start = r.start;
        while start < r.end {
            let end = r.end.min(start.saturating_add(want.max(1)));
            out.push(start..end);
            want -= (end - start).min(want);
            if want == 0 {
                want = sizes.next().unwrap_or(u64::MAX);
            }
            start = end;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one-range expectations read naturally
mod tests {
    use super::*;

    #[test]
    fn initial_split_covers_everything_once() {
        let missing = vec![0..(100 << 20)];
        let segs = initial_segments(&missing, 8);
        assert_eq!(segs.len(), 8);
        assert_eq!(segs[0].start, 0);
        assert_eq!(segs.last().unwrap().end, 100 << 20);
        for w in segs.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
    }

    #[test]
    fn small_files_get_few_segments() {
        assert_eq!(initial_segments(&[0..1000], 16), vec![0..1000]);
        assert_eq!(initial_segments(&[0..(2 << 20)], 16).len(), 4);
        assert!(initial_segments(&[], 4).is_empty());
    }

    #[test]
    fn scattered_missing_ranges_are_kept_apart() {
        let segs = initial_segments(&[0..(1 << 20), (5 << 20)..(6 << 20)], 2);
        assert_eq!(segs, vec![0..(1 << 20), (5 << 20)..(6 << 20)]);
    }

    #[test]
    fn no_blind_steal_before_speeds_are_known() {
        assert_eq!(steal_point(0, 10 << 20, 0.0, 0.0, 0.0), None);
        assert_eq!(steal_point(0, 10 << 20, 1e6, 0.0, 0.0), None);
        let at = steal_point(0, 10 << 20, 1e6, 1e6, 0.0).unwrap();
        assert_eq!(at, 5 << 20, "equal speeds: halves");
    }

    #[test]
    fn slow_owner_keeps_little() {
        let at = steal_point(0, 10 << 20, 100_000.0, 2_000_000.0, 0.0).unwrap();
        assert!(at < 1 << 20, "owner keeps ~5%: {at}");
        assert_eq!(at % ALIGN, 0);
    }

    #[test]
    fn equal_speeds_split_so_both_finish_together_counting_the_thiefs_first_byte() {
        let v = 4.0 * 1024.0 * 1024.0; // 4 MiB/s each, 8 MiB left: two seconds alone
        let at = steal_point(0, 8 << 20, v, v, 0.0).unwrap();
        assert_eq!(at, 4 << 20);
        // The thief waits 0.5 s for its first byte: the owner keeps 1 MiB more.
        let at = steal_point(0, 8 << 20, v, v, 0.5).unwrap();
        assert_eq!(at, 5 << 20);
    }

    #[test]
    fn steals_that_save_little_are_not_made() {
        let v = 4.0 * 1024.0 * 1024.0;
        // 1 MiB left at 4 MiB/s: a steal saves an eighth of a second.
        assert_eq!(steal_point(0, 1 << 20, v, v, 0.0), None);
        // A long first byte eats the gain of a larger one too.
        assert_eq!(steal_point(0, 4 << 20, v, v, 0.8), None);
    }

    #[test]
    fn tiny_remainders_are_not_split() {
        assert_eq!(steal_point(0, MIN_STEAL, 1e6, 1e6, 0.0), None);
        assert_eq!(steal_point(100, 50, 1e6, 1e6, 0.0), None);
        // ...unless the owner is far slower than the thief and would need long for it.
        assert!(steal_point(0, 3 * MIN_STEAL / 2, 10_000.0, 1_000_000.0, 0.0).is_some());
        let at = steal_point(0, 64 * 1024, 10_000.0, 1_000_000.0, 0.0).unwrap();
        assert_eq!(at, ALIGN, "a 64 KiB tail at 10 kB/s is taken over");
        assert_eq!(
            steal_point(0, 64 * 1024, 500_000.0, 4_000_000.0, 0.0),
            None,
            "a tail its owner finishes in 0.13 s is left alone"
        );
        // An owner about as fast as the thief gives at least MIN_TAKE or nothing.
        let v = 1_000_000.0;
        assert_eq!(steal_point(0, 900 * 1024, v, v, 0.0), None);
    }

    const M: u64 = 1 << 20;

    #[test]
    fn shares_let_the_allowed_connections_finish_together() {
        // 6 connections work, each with 4 MiB in hand; 40 MiB wait. All end with 64/6 each.
        let free = [0..40 * M];
        let sizes = shares(&free, &[4 * M; 6], 6);
        assert_eq!(sizes.len(), 6);
        assert_eq!(sizes.iter().sum::<u64>(), 40 * M);
        for s in &sizes {
            let total = s + 4 * M;
            assert!(total.abs_diff(64 * M / 6) < 16, "{total}");
        }
        // Uneven hands: the one with least in hand gets most, and comes first.
        let sizes = shares(&free, &[M, 7 * M], 2);
        assert_eq!(sizes, vec![23 * M, 17 * M]);
    }

    #[test]
    fn carve_follows_the_sizes_and_never_crosses_a_gap() {
        let runs = [0..10 * M, 20 * M..26 * M];
        let cut = carve(&runs, &[8 * M, 5 * M, 3 * M]);
        assert_eq!(
            cut,
            vec![0..8 * M, 8 * M..10 * M, 20 * M..23 * M, 23 * M..26 * M]
        );
        let covered: u64 = cut.iter().map(|r| r.end - r.start).sum();
        assert_eq!(covered, 16 * M);
    }

    #[test]
    fn subtract_takes_out_the_ranges_in_hand() {
        assert_eq!(
            subtract(&[0..100], &[10..20, 50..60]),
            vec![0..10, 20..50, 60..100]
        );
        assert_eq!(
            subtract(&[0..100], &[0..100]),
            Vec::<std::ops::Range<u64>>::new()
        );
    }
}

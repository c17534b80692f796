//! Rate limits: token buckets shared by every connection they cover, so a job's limit holds
//! whatever its connection count (its tail runs at the cap, not at a per-connection share),
//! and a global limit holds across all jobs of a runner. Rates can change while transfers
//! run (`ddm limit`): the next bytes taken see the new rate.
//!
//! The bucket is "virtual scheduling" (GCRA): each taker reserves the time its bytes need
//! after the previous reservation and waits until its slot comes, so connections are served
//! in the order they ask and none starves. A short burst (a quarter second of the rate) is
//! allowed, so a rate change or a new connection does not stall the others.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Burst allowance, as a time at the current rate.
const BURST: Duration = Duration::from_millis(250);

/// One token bucket. A rate of 0 means unlimited. Its rate is the lower of two: the one
/// set (`max_rate`, `ddm limit`) and a cap laid over it (a schedule window's `max_rate`),
/// each changeable on its own.
#[derive(Debug)]
pub struct Bucket {
    rate: AtomicU64,
    /// The schedule's cap over `rate` (0: none).
    cap: AtomicU64,
    /// When the next byte may go ("theoretical arrival time").
    tat: Mutex<Instant>,
}

impl Bucket {
    pub fn new(rate: Option<u64>) -> Arc<Bucket> {
        Arc::new(Bucket {
            rate: AtomicU64::new(rate.unwrap_or(0)),
            cap: AtomicU64::new(0),
            tat: Mutex::new(Instant::now()),
        })
    }
    /// The rate in force: the lower of the one set and the cap.
    pub fn rate(&self) -> Option<u64> {
        Some(self.effective()).filter(|r| *r > 0)
    }
    pub fn set_rate(&self, rate: Option<u64>) {
        self.rate.store(rate.unwrap_or(0), Ordering::Relaxed);
    }
    /// Lay a cap over the rate (None: lift it); the rate set stays as it was.
    pub fn set_cap(&self, cap: Option<u64>) {
        self.cap.store(cap.unwrap_or(0), Ordering::Relaxed);
    }
    pub fn cap(&self) -> Option<u64> {
        Some(self.cap.load(Ordering::Relaxed)).filter(|r| *r > 0)
    }
    fn effective(&self) -> u64 {
        match (
            self.rate.load(Ordering::Relaxed),
            self.cap.load(Ordering::Relaxed),
        ) {
            (0, c) => c,
            (r, 0) => r,
            (r, c) => r.min(c),
        }
    }
    /// Reserve `n` bytes at `now`; returns when they may be used: as soon as the previous
    /// reservations end within the burst of it. An idle bucket banks at most the burst.
    pub fn reserve(&self, n: u64, now: Instant) -> Instant {
        let rate = self.effective();
        if rate == 0 {
            return now;
        }
        let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        let ready = tat.checked_sub(BURST).map_or(now, |t| t.max(now));
        let cost = Duration::from_secs_f64(n as f64 / rate as f64);
        *tat = (*tat).max(ready) + cost;
        ready
    }
}

/// The buckets one connection takes from: its job's and the runner's.
#[derive(Debug)]
pub struct Gate {
    pub job: Arc<Bucket>,
    pub global: Arc<Bucket>,
    /// Set when the job stops: a waiting taker returns at once.
    pub cancel: Arc<AtomicBool>,
}

impl Gate {
    /// Take `n` bytes from both buckets, sleeping until both allow them (in short slices, so
    /// a cancelled job stops within a tenth of a second).
    pub fn take(&self, n: u64) {
        let now = Instant::now();
        let until = self.job.reserve(n, now).max(self.global.reserve(n, now));
        while Instant::now() < until && !self.cancel.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let b = Bucket::new(None);
        let t = Instant::now();
        assert_eq!(b.reserve(u64::MAX / 2, t), t);
    }

    #[test]
    fn reservations_follow_the_rate_after_the_burst() {
        let b = Bucket::new(Some(1000));
        let t = Instant::now();
        // Within the burst (a quarter second) bytes go at once; after it, one second per
        // 1000 bytes.
        assert_eq!(b.reserve(250, t), t);
        assert_eq!(b.reserve(1000, t), t);
        let later = b.reserve(500, t);
        let wait = later.duration_since(t).as_secs_f64();
        assert!((wait - 1.0).abs() < 0.01, "{wait}");
        let last = b.reserve(1, t);
        assert!((last.duration_since(t).as_secs_f64() - 1.5).abs() < 0.01);
    }

    #[test]
    fn an_idle_bucket_banks_no_more_than_the_burst() {
        let b = Bucket::new(Some(1000));
        let t = Instant::now();
        let much_later = t + Duration::from_secs(10);
        assert_eq!(b.reserve(250, much_later), much_later);
        assert_eq!(b.reserve(1000, much_later), much_later);
        let next = b.reserve(1, much_later);
        assert!((next.duration_since(much_later).as_secs_f64() - 1.0).abs() < 0.01);
    }

    #[test]
    fn a_rate_change_applies_to_the_next_bytes() {
        let b = Bucket::new(Some(1000));
        let t = Instant::now();
        b.reserve(1250, t); // the burst and a second of bytes: the next may go at t + 1 s
        b.set_rate(Some(10_000));
        b.reserve(10_000, t + Duration::from_secs(1));
        let next = b.reserve(1, t + Duration::from_secs(1));
        assert!((next.duration_since(t).as_secs_f64() - 2.0).abs() < 0.01);
        b.set_rate(None);
        assert_eq!(b.reserve(1 << 40, t), t);
    }

    #[test]
    fn takers_share_one_rate() {
        // Four threads taking 10 KiB each from a 40 KiB/s bucket: about a second in all,
        // whatever the split (a per-connection share would let each run alone at the cap).
        let g = Arc::new(Gate {
            job: Bucket::new(Some(40 * 1024)),
            global: Bucket::new(None),
            cancel: Arc::new(AtomicBool::new(false)),
        });
        let t = Instant::now();
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        g.take(1024);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let took = t.elapsed().as_secs_f64();
        assert!((0.6..1.6).contains(&took), "{took}");
    }
}

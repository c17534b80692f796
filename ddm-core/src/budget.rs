//! The connection budget of a runner: how many transfers all running jobs may have open at
//! once, in all and per host (a host's limit applies across every job on that host).
//!
//! A coordinator takes one unit (for its host) before it hands a worker a range, as a
//! [`Permit`]: the unit goes back to the budget when the permit drops, so a unit cannot be
//! lost on any path (a leak of them was once fixed by hand). The coordinator holds the
//! permits of ended requests until its idle workers are back in the pool, then drops them;
//! a job whose share is used up simply waits for a unit. The
//! runner starts a new job only while units are free, counting the jobs it started that
//! have not taken their first unit yet ([`Ticket`]): so its concurrency comes from the
//! budget, many small jobs at once, a few large ones.

use crate::model::Origin;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct ConnectionBudget {
    /// Both changeable while jobs run (`ddm serve`'s page): a lower one takes effect as
    /// units are given back, a higher one at once.
    limit: AtomicUsize,
    per_host: AtomicUsize,
    used: AtomicUsize,
    hosts: Mutex<HashMap<Origin, Host>>,
    /// Signalled whenever a unit is given back (waiters in [`Self::take_within`]).
    released: Condvar,
    /// Jobs started whose first connection is not open yet.
    pending: AtomicUsize,
}

#[derive(Debug, Default)]
struct Host {
    used: usize,
    /// A lower limit learned for this host (it refused more), if any.
    cap: Option<usize>,
    /// A job has said that this host refuses connections.
    announced: bool,
    /// Connections receiving a body from this host now, and the most at once: the server
    /// let that many work, so a cap it teaches is never below it.
    receiving: usize,
    peak_receiving: usize,
}

impl ConnectionBudget {
    pub fn new(limit: usize) -> Self {
        Self::with_host_limit(limit, limit)
    }

    pub fn with_host_limit(limit: usize, per_host: usize) -> Self {
        ConnectionBudget {
            limit: AtomicUsize::new(limit.max(1)),
            per_host: AtomicUsize::new(per_host.max(1)),
            used: AtomicUsize::new(0),
            hosts: Mutex::default(),
            released: Condvar::new(),
            pending: AtomicUsize::new(0),
        }
    }

    pub fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// The most connections to one host, by all jobs together.
    pub fn per_host(&self) -> usize {
        self.per_host.load(Ordering::Acquire)
    }

    /// New caps, in all and per host, while jobs run: a raised one has units free at once
    /// (waiting jobs are woken), a lowered one is met as connections end (none is cut).
    pub fn set_limits(&self, limit: usize, per_host: usize) {
        self.limit.store(limit.max(1), Ordering::Release);
        self.per_host.store(per_host.max(1), Ordering::Release);
        let _hosts = self.lock();
        self.released.notify_all();
    }

    /// Every host with units in use (open transfers, all jobs together): (host, in use, the
    /// cap it taught if any), busiest first.
    pub fn hosts(&self) -> Vec<(Origin, usize, Option<usize>)> {
        let mut v: Vec<_> = self
            .lock()
            .iter()
            .filter(|(_, h)| h.used > 0)
            .map(|(o, h)| (o.clone(), h.used, h.cap))
            .collect();
        v.sort_by_key(|h| std::cmp::Reverse(h.1));
        v
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Origin, Host>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A unit for `host` if the budget and the host's share allow: given back when the
    /// permit drops.
    pub fn try_permit(self: &Arc<Self>, host: Option<&Origin>) -> Option<Permit> {
        self.try_take(host).then(|| Permit::new(self, host))
    }

    /// A unit for `host`, waiting up to `max` for one to be given back.
    pub fn permit_within(self: &Arc<Self>, host: Option<&Origin>, max: Duration) -> Option<Permit> {
        self.take_within(host, max).then(|| Permit::new(self, host))
    }

    /// Take one connection for `host` if the budget and the host's share allow.
    fn try_take(&self, host: Option<&Origin>) -> bool {
        self.take_locked(&mut self.lock(), host)
    }

    /// Take one connection for `host`, waiting up to `max` for one to be given back: a job
    /// waiting for its host's share starts the moment another job's connection is free.
    fn take_within(&self, host: Option<&Origin>, max: Duration) -> bool {
        let until = Instant::now() + max;
        let mut hosts = self.lock();
        loop {
            if self.take_locked(&mut hosts, host) {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            hosts = self
                .released
                .wait_timeout(hosts, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn take_locked(&self, hosts: &mut HashMap<Origin, Host>, host: Option<&Origin>) -> bool {
        if let Some(h) = host {
            let entry = hosts.entry(h.clone()).or_default();
            let per_host = self.per_host();
            if entry.used >= entry.cap.unwrap_or(per_host).min(per_host) {
                return false;
            }
        }
        let ok = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < self.limit()).then_some(u + 1)
            })
            .is_ok();
        if ok {
            if let Some(h) = host {
                hosts.entry(h.clone()).or_default().used += 1;
            }
        }
        ok
    }

    /// Give back a connection taken for `host` (only a [`Permit`] that drops does).
    fn give(&self, host: Option<&Origin>) {
        let mut hosts = self.lock();
        if let Some(e) = host.and_then(|h| hosts.get_mut(h)) {
            e.used = e.used.saturating_sub(1);
        }
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| u.checked_sub(1));
        drop(hosts);
        self.released.notify_all();
    }

    /// A connection taken for `from` (a first request, before redirects told where it goes)
    /// now belongs to `to`.
    fn move_host(&self, from: Option<&Origin>, to: Option<&Origin>) {
        if from == to {
            return;
        }
        let mut hosts = self.lock();
        if let Some(e) = from.and_then(|h| hosts.get_mut(h)) {
            e.used = e.used.saturating_sub(1);
        }
        if let Some(h) = to {
            hosts.entry(h.clone()).or_default().used += 1;
        }
        drop(hosts);
        // `from` has a unit free now.
        self.released.notify_all();
    }

    /// A host refuses more than `n` connections: every job on it shares that many.
    pub fn cap_host(&self, host: &Origin, n: usize) {
        let mut hosts = self.lock();
        hosts.entry(host.clone()).or_default().cap = Some(n.max(1));
        drop(hosts);
        // A raised cap has units free at once.
        self.released.notify_all();
    }

    /// A host refused a connection while `n` worked on it (all jobs together): it allows
    /// no more than that, for every job on it. Only ever lowers the cap.
    pub fn lower_cap(&self, host: &Origin, n: usize) {
        let mut hosts = self.lock();
        let e = hosts.entry(host.clone()).or_default();
        // Refusals race with requests in flight (a refused one gives its unit back before
        // the next is counted): never below what the host let work at once.
        e.cap = Some(
            e.cap
                .unwrap_or(self.per_host())
                .min(n)
                .max(e.peak_receiving)
                .max(1),
        );
    }

    /// A connection to `host` started receiving a body (`starts`), or stopped.
    pub fn receiving(&self, host: &Origin, starts: bool) {
        let mut hosts = self.lock();
        let e = hosts.entry(host.clone()).or_default();
        if starts {
            e.receiving += 1;
            e.peak_receiving = e.peak_receiving.max(e.receiving);
        } else {
            e.receiving = e.receiving.saturating_sub(1);
        }
    }

    /// True the first time it is asked for `host`: the one job that says the host refuses
    /// connections (so a runner says it once, not once per job or refused request).
    pub fn announce(&self, host: &Origin) -> bool {
        let mut hosts = self.lock();
        let e = hosts.entry(host.clone()).or_default();
        !std::mem::replace(&mut e.announced, true)
    }

    /// The cap learned for `host` in this runner, if any.
    pub fn host_cap(&self, host: &Origin) -> Option<usize> {
        self.lock().get(host).and_then(|h| h.cap)
    }

    /// Units in use for `host`, by all jobs together.
    pub fn host_used(&self, host: &Origin) -> usize {
        self.lock().get(host).map_or(0, |h| h.used)
    }

    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Units neither in use nor promised to a job that is starting.
    pub fn free(&self) -> usize {
        self.limit()
            .saturating_sub(self.in_use() + self.pending.load(Ordering::Acquire))
    }

    /// Promise a unit to a job that is starting; the promise ends when the ticket drops.
    pub fn ticket(&self) -> Ticket<'_> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        Ticket { budget: Some(self) }
    }
}

impl Default for ConnectionBudget {
    fn default() -> Self {
        Self::unlimited()
    }
}

/// One unit of the budget, taken for a host: given back when it drops (the one way a unit
/// goes back). Whoever holds it decides when: a coordinator holds those of ended requests
/// until the job's idle connections are back in the pool.
#[derive(Debug)]
#[must_use = "a permit dropped at once gives its unit straight back"]
pub struct Permit {
    budget: Arc<ConnectionBudget>,
    host: Option<Origin>,
}

impl Permit {
    fn new(budget: &Arc<ConnectionBudget>, host: Option<&Origin>) -> Permit {
        Permit {
            budget: budget.clone(),
            host: host.cloned(),
        }
    }

    /// The host the unit counts for.
    pub fn host(&self) -> Option<&Origin> {
        self.host.as_ref()
    }

    /// The unit now counts for `to` (a first request, taken before redirects told where it
    /// goes).
    pub fn rehome(&mut self, to: Option<&Origin>) {
        self.budget.move_host(self.host.as_ref(), to);
        self.host = to.cloned();
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.budget.give(self.host.as_ref());
    }
}

/// A unit promised to a starting job (see [`ConnectionBudget::ticket`]).
#[derive(Debug)]
pub struct Ticket<'a> {
    budget: Option<&'a ConnectionBudget>,
}

impl Ticket<'_> {
    /// The job holds its first connection now (or ended): the promise is kept.
    pub fn redeem(&mut self) {
        if let Some(b) = self.budget.take() {
            b.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.redeem();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Origin {
        Origin::parse(s).unwrap()
    }

    #[test]
    fn limits_change_while_jobs_run() {
        let b = std::sync::Arc::new(ConnectionBudget::with_host_limit(4, 1));
        let h = host("http://a.example/");
        assert!(b.try_take(Some(&h)));
        assert!(!b.try_take(Some(&h)), "one per host");
        // A job waiting for its host's share starts when the share is raised.
        let waiter = {
            let (b, h) = (b.clone(), h.clone());
            std::thread::spawn(move || b.take_within(Some(&h), Duration::from_secs(5)))
        };
        std::thread::sleep(Duration::from_millis(50));
        b.set_limits(4, 2);
        assert!(waiter.join().unwrap());
        assert_eq!(b.hosts(), vec![(h.clone(), 2, None)]);
        // Lowered: nothing is cut, no new unit until enough are given back.
        b.set_limits(1, 2);
        assert!(!b.try_take(None));
        b.give(Some(&h));
        assert!(!b.try_take(None), "still 1 in use of 1");
        b.give(Some(&h));
        assert!(b.try_take(None));
        assert_eq!((b.limit(), b.per_host()), (1, 2));
    }

    #[test]
    fn a_permit_gives_its_unit_back_where_it_counts_when_it_drops() {
        let b = Arc::new(ConnectionBudget::with_host_limit(2, 1));
        let (a, c) = (host("http://a.example/"), host("http://c.example/"));
        let first = b.try_permit(Some(&a)).expect("a free unit");
        assert!(b.try_permit(Some(&a)).is_none(), "a's one unit is taken");
        {
            let _other = b.try_permit(Some(&c)).expect("c has its own share");
            assert!(b.try_permit(None).is_none(), "2 of 2 in use");
        }
        assert_eq!(b.in_use(), 1, "the dropped permit gave its unit back");
        // A first request's unit moves to the host its redirects led to.
        let mut moved = first;
        moved.rehome(Some(&c));
        assert_eq!(moved.host(), Some(&c));
        assert_eq!((b.host_used(&a), b.host_used(&c)), (0, 1));
        let again = b.try_permit(Some(&a)).expect("a is free again");
        drop((moved, again));
        assert_eq!((b.in_use(), b.host_used(&a), b.host_used(&c)), (0, 0, 0));
    }

    #[test]
    fn take_until_limit_then_give_back() {
        let b = ConnectionBudget::new(2);
        assert!(b.try_take(None));
        assert!(b.try_take(None));
        assert!(!b.try_take(None));
        assert_eq!(b.in_use(), 2);
        b.give(None);
        assert!(b.try_take(None));
        b.give(None);
        b.give(None);
        b.give(None); // never below zero
        assert_eq!(b.in_use(), 0);
    }

    #[test]
    fn a_hosts_share_holds_across_jobs_and_learned_caps_lower_it() {
        let b = ConnectionBudget::with_host_limit(10, 3);
        let (a, c) = (host("http://a.example/"), host("http://c.example/"));
        assert!(b.try_take(Some(&a)) && b.try_take(Some(&a)) && b.try_take(Some(&a)));
        assert!(!b.try_take(Some(&a)), "a's share is used up");
        assert!(b.try_take(Some(&c)), "another host still gets one");
        b.give(Some(&a));
        assert!(b.try_take(Some(&a)));
        b.cap_host(&c, 1);
        assert!(!b.try_take(Some(&c)), "c refuses more than one");
        assert_eq!(b.in_use(), 4);
    }

    #[test]
    fn a_cap_learned_while_several_jobs_share_a_host_only_ever_lowers() {
        let b = ConnectionBudget::with_host_limit(64, 16);
        let a = host("http://a.example/");
        for _ in 0..6 {
            assert!(b.try_take(Some(&a)));
        }
        assert_eq!(b.host_used(&a), 6);
        assert_eq!(b.host_cap(&a), None);
        b.lower_cap(&a, 5);
        b.lower_cap(&a, 7);
        assert_eq!(b.host_cap(&a), Some(5), "never raised by a later refusal");
        b.give(Some(&a));
        b.give(Some(&a));
        assert!(b.try_take(Some(&a)), "4 in use, 5 allowed");
        assert!(!b.try_take(Some(&a)), "the host's 5 are in use");
        b.cap_host(&a, 8);
        assert!(b.try_take(Some(&a)), "a job's end may set it higher");
    }

    #[test]
    fn a_waiting_taker_gets_the_unit_given_back_at_once() {
        let b = ConnectionBudget::with_host_limit(8, 1);
        let a = host("http://a.example/");
        assert!(b.try_take(Some(&a)));
        let t = Instant::now();
        assert!(
            !b.take_within(Some(&a), Duration::from_millis(30)),
            "a's share is used"
        );
        assert!(t.elapsed() >= Duration::from_millis(30));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let t = Instant::now();
                (
                    b.take_within(Some(&a), Duration::from_secs(10)),
                    t.elapsed(),
                )
            });
            std::thread::sleep(Duration::from_millis(50));
            b.give(Some(&a));
            let (got, waited) = waiter.join().unwrap();
            assert!(got);
            assert!(
                waited < Duration::from_secs(5),
                "woken by the give: {waited:?}"
            );
        });
        assert_eq!(b.in_use(), 1);
    }

    #[test]
    fn tickets_count_as_used_until_redeemed() {
        let b = ConnectionBudget::new(3);
        let mut t = b.ticket();
        assert_eq!(b.free(), 2);
        assert!(b.try_take(None));
        t.redeem();
        assert_eq!(b.free(), 2);
        drop(t);
        assert_eq!(b.free(), 2, "redeemed once only");
        {
            let _t = b.ticket();
            assert_eq!(b.free(), 1);
        }
        assert_eq!(b.free(), 2);
    }

    #[test]
    fn shared_between_threads() {
        let b = std::sync::Arc::new(ConnectionBudget::new(8));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..100).filter(|_| b.try_take(None)).count())
            })
            .collect();
        let taken: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(taken, 8);
    }
}

//! The global connection budget: how many transfers all running jobs may have open at once.
//!
//! A coordinator takes one unit before it hands a worker a range and gives it back when the
//! worker reports; a job whose share is used up simply waits for a unit.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct ConnectionBudget {
    limit: usize,
    used: AtomicUsize,
}

impl ConnectionBudget {
    pub fn new(limit: usize) -> Self {
        ConnectionBudget {
            limit: limit.max(1),
            used: AtomicUsize::new(0),
        }
    }

    pub fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    /// Take one connection if the budget allows.
    pub fn try_take(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < self.limit).then_some(u + 1)
            })
            .is_ok()
    }

    pub fn give(&self) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| u.checked_sub(1));
    }

    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

impl Default for ConnectionBudget {
    fn default() -> Self {
        Self::unlimited()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_until_limit_then_give_back() {
        let b = ConnectionBudget::new(2);
        assert!(b.try_take());
        assert!(b.try_take());
        assert!(!b.try_take());
        assert_eq!(b.in_use(), 2);
        b.give();
        assert!(b.try_take());
        b.give();
        b.give();
        b.give(); // never below zero
        assert_eq!(b.in_use(), 0);
    }

    #[test]
    fn shared_between_threads() {
        let b = std::sync::Arc::new(ConnectionBudget::new(8));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..100).filter(|_| b.try_take()).count())
            })
            .collect();
        let taken: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(taken, 8);
    }
}

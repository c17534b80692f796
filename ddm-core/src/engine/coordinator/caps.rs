//! Connection caps a server teaches. A refusal (429/503, a connection closed unanswered while
//! others work) lowers the job's connection count at once to what works. A server's limit is
//! per client, not per job: when other jobs of the runner work the same host, what works is
//! what they all have there together, so the host is capped at that number in the runner's
//! budget, the job may aim at it, and the budget shares it: the units a job gives back (its
//! requests end, the job ends) go to the jobs still running on that host instead of each
//! keeping the one or two it had when the cap was met. A job alone on its host keeps the
//! governor's own measure (and may try one more after a quiet while).
//!
//! The first lowering is said once, in one line; later ones go to the log.

use super::Coordinator;
use crate::engine::Event;
use crate::engine::Note;
use crate::retry::Failure;
use std::time::Instant;

/// What a refusal taught.
struct Learned {
    /// The connections the job may count as working.
    working: usize,
    /// The host's cap in the budget, when other jobs share the host (lowered or not).
    shared: Option<usize>,
}

impl Coordinator<'_> {
    /// Slot `i`'s request on its source was refused with `f`.
    pub(super) fn refused(&mut self, i: usize, f: &Failure) {
        self.stats.throttled += 1;
        let src = self.plan.slots[i].source;
        let learned = self.working_with_host(src);
        // On a host the runner's jobs share, the job aims at the host's cap: the budget
        // shares it, so units freed by jobs that end come to this one.
        let aim = learned
            .shared
            .map_or(learned.working, |cap| cap.max(learned.working));
        let lowered = self.gov.on_refusal(Instant::now(), aim);
        if lowered.is_some() {
            self.plan.rebalance_due = true;
        }
        // While several jobs meet the cap its number is still settling (their requests in
        // flight count until answered): the line says what happens, the log the numbers.
        let why = f.to_string();
        let msg = match (learned.shared, lowered) {
            (Some(cap), _) => {
                tracing::info!(job = self.p.job_id, "host capped at {cap} connections");
                Note::Throttled { why, limit: None }
            }
            (None, Some(limit)) => Note::Throttled {
                why,
                limit: Some(limit),
            },
            (None, None) => return,
        };
        // One line per host and runner; the rest goes to the log.
        let first = !self.cap_said
            && self.sources[src]
                .origin
                .as_ref()
                .is_none_or(|o| self.ctl.connections.announce(o));
        self.cap_said = true;
        if first {
            self.obs.event(Event::Said(msg));
        } else {
            tracing::info!(job = self.p.job_id, "{msg}");
        }
    }

    /// The connections this job may count as working after a refusal on `src`: its own,
    /// plus those other jobs have on that host (which then caps the host in the budget).
    fn working_with_host(&self, src: usize) -> Learned {
        let alone = Learned {
            working: self.crew.busy,
            shared: None,
        };
        let Some(origin) = self.sources[src].origin.as_ref() else {
            return alone;
        };
        // This job's units on that host: its requests there, and those ended this round
        // (held until its idle connections are in the pool).
        let ours: usize = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, s)| s.origin.as_ref() == Some(origin))
            .map(|(k, s)| s.busy + self.crew.held_for(k))
            .sum();
        let others = self.ctl.connections.host_used(origin).saturating_sub(ours);
        if others == 0 {
            // Other jobs may have capped the host already (and be between requests now).
            return Learned {
                shared: self.ctl.connections.host_cap(origin),
                ..alone
            };
        }
        let here: usize = self
            .sources
            .iter()
            .filter(|s| s.origin.as_ref() == Some(origin))
            .map(|s| s.busy)
            .sum();
        self.ctl.connections.lower_cap(origin, here + others);
        Learned {
            working: self.crew.busy + others,
            shared: self.ctl.connections.host_cap(origin),
        }
    }
}

//! `ddm get` as the data directory's runner: its own job first, then every job queued while
//! it holds the directory (a `ddm add`, a `ddm resume`, another `ddm get` handing its job
//! over), shown like `ddm run` shows them; it exits once they are all over, with its own
//! job's exit code.

use crate::observe::Display;
use ddm_core::engine::{Observer, Outcome};
use ddm_core::runner::Reporter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct Foreground<'a> {
    pub display: &'a Display,
    pub own: i64,
    /// Say which jobs run here besides our own (not with `--json` or `-q`).
    pub talk: bool,
    running: AtomicUsize,
    outcome: Mutex<Option<Outcome>>,
}

impl<'a> Foreground<'a> {
    pub fn new(display: &'a Display, own: i64, talk: bool) -> Self {
        Foreground {
            display,
            own,
            talk,
            running: AtomicUsize::new(0),
            outcome: Mutex::new(None),
        }
    }

    /// How our own job ended (None if it never ran, e.g. the store failed first).
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Reporter for Foreground<'_> {
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_> {
        self.running.fetch_add(1, Ordering::AcqRel);
        if job != self.own && self.talk {
            self.display.say_job(
                job,
                "queued while this `ddm get` works the data directory: it runs here too",
            );
        }
        self.display.observer(job)
    }

    fn finished(&self, job: i64, outcome: &Outcome) {
        let left = self
            .running
            .fetch_sub(1, Ordering::AcqRel)
            .saturating_sub(1);
        self.display.finished(job, outcome);
        if job == self.own {
            *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome.clone());
            if left > 0 && self.talk {
                self.display.say(&format!(
                    "this `ddm get` goes on until the {left} job{} queued meanwhile {} done \
                     (Ctrl-C puts {} back in the queue, progress kept)",
                    if left == 1 { "" } else { "s" },
                    if left == 1 { "is" } else { "are" },
                    if left == 1 { "it" } else { "them" },
                ));
            }
        }
    }

    fn say(&self, msg: &str) {
        self.display.say(msg);
    }
}

//! The runner's reporter with hooks: a job's first `Started` fires `on_start`, its end
//! `on_complete` (done) or `on_error` (failed, or resting while it waits for a fresh link
//! because none came in time); paused, removed and interrupted jobs fire nothing (someone
//! chose to stop them). Everything is passed on to the reporter it wraps unchanged; firing
//! only puts a message on a channel.

use super::{Facts, Hook, Hooks};
use crate::engine::{Event, Observer, Outcome};
use crate::runner::Reporter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

pub(crate) struct Hooked<'a> {
    inner: &'a dyn Reporter,
    hooks: &'a Hooks,
    /// Ctrl-C (or a service's shutdown): a job then rests waiting because it was stopped.
    interrupt: &'a AtomicBool,
    /// When each running job's run started.
    started: Mutex<HashMap<i64, SystemTime>>,
}

impl<'a> Hooked<'a> {
    pub(crate) fn new(
        inner: &'a dyn Reporter,
        hooks: &'a Hooks,
        interrupt: &'a AtomicBool,
    ) -> Self {
        Hooked {
            inner,
            hooks,
            interrupt,
            started: Mutex::new(HashMap::new()),
        }
    }
}

impl Reporter for Hooked<'_> {
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_> {
        let started = SystemTime::now();
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job, started);
        Box::new(Watch {
            inner: self.inner.observer(job),
            hooks: self.hooks,
            job,
            started,
            fired: false,
        })
    }

    fn finished(&self, job: i64, outcome: &Outcome) {
        self.inner.finished(job, outcome);
        let started = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&job);
        let facts = Facts {
            started,
            ended: Some(SystemTime::now()),
            ..Facts::default()
        };
        let (hook, facts) = match outcome {
            Outcome::Done {
                path, size, moved, ..
            } => (
                Hook::Complete,
                Facts {
                    status: "done",
                    path: Some(path.clone()),
                    size: Some(*size),
                    received: Some(*moved),
                    ..facts
                },
            ),
            Outcome::Failed(e) => (
                Hook::Error,
                Facts {
                    status: "failed",
                    error_kind: Some(e.kind),
                    error_message: Some(e.message.clone()),
                    ..facts
                },
            ),
            Outcome::Waiting(_) if self.interrupt.load(Ordering::Relaxed) => return,
            Outcome::Waiting(why) => (
                Hook::Error,
                Facts {
                    status: "waiting",
                    error_message: Some(why.clone()),
                    ..facts
                },
            ),
            Outcome::Paused | Outcome::Removed | Outcome::Interrupted => return,
        };
        self.hooks.fire(hook, job, facts);
    }

    fn say(&self, msg: &str) {
        self.inner.say(msg);
    }
}

/// One job's events: the first `Started` fires `on_start` (a run that starts over with a new
/// link does not fire it again).
struct Watch<'a> {
    inner: Box<dyn Observer + Send + 'a>,
    hooks: &'a Hooks,
    job: i64,
    started: SystemTime,
    fired: bool,
}

impl Observer for Watch<'_> {
    fn event(&mut self, e: Event<'_>) {
        if let (Event::Started { name, size, .. }, false) = (&e, self.fired) {
            self.fired = true;
            self.hooks.fire(
                Hook::Start,
                self.job,
                Facts {
                    status: "running",
                    name: Some(name.to_string()),
                    size: *size,
                    started: Some(self.started),
                    ..Facts::default()
                },
            );
        }
        self.inner.event(e);
    }
}

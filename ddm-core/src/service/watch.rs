//! The runner's reports into the service: each running job's engine events become its live
//! state in the view (bytes, speed, one lane per open connection), a point of its speed
//! history, and entries of its log of happenings; each becomes a [`Notice`] for the fronts
//! (`Progress` about five times a second, as the coordinator emits it; `Happened` as steals,
//! races, replacements and retries occur). The end of a job refreshes the view at once.

use super::live::Service;
use super::{Live, Notice};
use crate::engine::{Event, Observer, Outcome};
use crate::runner::Reporter;

/// Now, as Unix time in milliseconds (the graphs' clock).
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The runner reports to the service's view and to the console.
pub(super) struct Tee<'a> {
    pub svc: &'a Service,
    pub shown: &'a dyn Reporter,
}

impl Reporter for Tee<'_> {
    fn observer(&self, job: i64) -> Box<dyn Observer + Send + '_> {
        Box::new(Watch {
            svc: self.svc,
            job,
            inner: self.shown.observer(job),
        })
    }

    fn finished(&self, job: i64, outcome: &Outcome) {
        self.svc
            .table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .end_live(job);
        self.svc.refresh();
        self.shown.finished(job, outcome);
    }

    fn say(&self, msg: &str) {
        self.shown.say(msg);
    }
}

/// One running job's events, into the view.
struct Watch<'a> {
    svc: &'a Service,
    job: i64,
    inner: Box<dyn Observer + Send + 'a>,
}

impl Observer for Watch<'_> {
    fn event(&mut self, e: Event<'_>) {
        match &e {
            Event::Started { .. } => self.svc.refresh(),
            Event::Progress(p) => {
                let live = Live {
                    bytes: p.bytes,
                    speed: p.speed as u64,
                    connections: p.connections,
                    max_connections: p.max_connections,
                    lanes: p.lanes.clone(),
                };
                self.svc
                    .tracks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .progress(self.job, &live, now_ms());
                self.svc
                    .table
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .set_live(self.job, live);
                self.svc.tell(&[Notice::Progress(self.job)]);
            }
            Event::Happened(h) => {
                self.svc
                    .tracks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .happened(self.job, h.clone(), now_ms());
                self.svc.tell(&[Notice::Happened(self.job)]);
            }
            _ => {}
        }
        self.inner.event(e);
    }
}

//! The job's link from outside: a link that expired with no way to resolve it again makes
//! the job wait for a fresh one instead of failing, and a new link given from another
//! process (`set-url`, `get`/`add` of a fresh link, read through the store every control
//! round like pause and rate limits) is taken up while the job runs or waits.
//!
//! Waiting: new requests stop (as while the original URL is resolved again), requests under
//! way finish their windows, idle connections go back to the runner's pool, and the job's
//! ranges keep what they hold in memory, so a fresh link continues each range from the byte
//! it reached: nothing is fetched twice. The store shows the job as waiting (with why) while
//! its runner still owns it; after `Relink::wait` without a fresh link, or on Ctrl-C, the
//! job rests as `waiting` with its progress checkpointed.
//!
//! A new link is taken in place when the job's HTTP options stay valid for it (same settings,
//! and credentials, if any, for the same origin); otherwise the transfer phase ends
//! ([`Stop::Relink`]) and the engine starts again from the first request with the new link.
//! Its identity was checked by whoever gave it (`relink`); every answer is still checked
//! against the size and validators, as always.

use super::verify::Trust;
use super::{sources::Source, Coordinator, Stop};
use crate::engine::Event;
use crate::engine::Note;
use crate::model::Origin;
use crate::store::{JobSettings, Link};
use std::time::{Duration, Instant};

/// What a job needs to wait for a fresh link and take one in place (None for `ddm bench`,
/// which fails instead).
#[derive(Debug, Clone)]
pub struct Relink {
    /// How long to wait for a fresh link (config `link_wait_secs`; zero: rest at once).
    pub wait: Duration,
    /// The URL the job's HTTP options were scoped to (its URL as given), and its settings.
    pub url: String,
    pub settings: JobSettings,
}

/// What the coordinator keeps about its link: resolving the job's URL again after it
/// expired (`failure.rs`), or waiting for a fresh one from the user (here).
#[derive(Default)]
pub(super) struct Relinking {
    /// Bumped each time the URL is resolved again; attempts on an older one just retry.
    pub(super) url_gen: u32,
    /// A resolution of the original URL (running off the loop, or waiting to be tried
    /// again), and the ranges waiting for it.
    pub(super) resolving: Option<super::failure::Resolution>,
    pub(super) awaiting_url: Vec<std::sync::Arc<crate::transfer::Segment>>,
    /// Waiting for a fresh link from the user.
    pub(super) link_wait: Option<LinkWait>,
    /// `received` when the URL was last resolved again (another expiry needs progress
    /// since).
    pub(super) reresolved_at: Option<u64>,
    /// Set when the transfer ends: a resolution still running off the loop gives up (it
    /// holds a unit and a worker of the runner, never the job's file).
    pub(super) ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relinking {
    /// New requests wait: the link is being resolved again, or a fresh one is awaited.
    pub(super) fn awaits(&self) -> bool {
        self.resolving.is_some() || self.link_wait.is_some()
    }
}

/// Waiting for a fresh link from the user: since when, and why.
pub(super) struct LinkWait {
    since: Instant,
    why: String,
}

impl Coordinator<'_> {
    /// New requests wait: the link is being resolved again, or a fresh one is awaited.
    pub(super) fn awaits_link(&self) -> bool {
        self.relink.awaits()
    }

    /// May this job wait for a fresh link? A ranged download that has bytes to keep, run
    /// by a job that can be given a link (not `ddm bench`).
    pub(super) fn may_wait_for_link(&self) -> bool {
        self.p.relink.is_some()
            && self.p.mode == crate::transfer::Mode::Range
            && (self.plan.written.total() > 0
                || self.io.received.load(std::sync::atomic::Ordering::Relaxed) > 0)
    }

    /// How much of the file is here, for saying so (`1.5 MiB`).
    pub(super) fn has_arrived(&self) -> String {
        let n = self
            .plan
            .pieces
            .as_ref()
            .map_or(0, |p| p.bytes_done())
            .max(self.plan.written.total());
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    }

    /// The link was refused (`why`) and cannot be resolved again. With another trusted
    /// source (a proven mirror) the job goes on from it; otherwise it waits for a fresh link,
    /// or rests at once when it may not wait (`link_wait_secs = 0`). The refused range was
    /// put with those awaiting the link by the caller. `None` while the job goes on.
    pub(super) fn wait_for_link(&mut self, why: String) -> Option<Stop> {
        if self.relink.link_wait.is_some() {
            return None;
        }
        let mirrored =
            (1..self.sources.len()).any(|k| !self.sources[k].dropped && self.sources[k].trusted());
        if mirrored {
            self.drop_source(0, &why);
            self.release_awaiting();
            return None;
        }
        let Some(wait) = self.p.relink.as_ref().map(|r| r.wait) else {
            return Some(Stop::Waiting(why));
        };
        if wait.is_zero() {
            return Some(Stop::Waiting(why));
        }
        tracing::info!(job = self.p.job_id, "waiting for a fresh link: {why}");
        self.record.waiting(Some(&why));
        self.obs.event(Event::Waiting(Some(&why)));
        self.relink.link_wait = Some(LinkWait {
            since: Instant::now(),
            why,
        });
        None
    }

    /// Each control round: take a new link given meanwhile, or end a wait that lasted its
    /// bound (the job rests as waiting).
    pub(super) fn on_link(&mut self, link: Option<Link>) -> Option<Stop> {
        if let Some(l) = link {
            return self.take_link(l);
        }
        let (w, bound) = (
            self.relink.link_wait.as_ref()?,
            self.p.relink.as_ref()?.wait,
        );
        (w.since.elapsed() >= bound).then(|| Stop::Waiting(w.why.clone()))
    }

    /// How a stop is recorded: a job stopped (Ctrl-C) while it waits for a fresh link rests
    /// as waiting, not queued (its link is known to be refused).
    pub(super) fn settle_stop(&self, stop: Stop) -> Stop {
        match (&self.relink.link_wait, stop) {
            (Some(w), Stop::Interrupted) => Stop::Waiting(w.why.clone()),
            (_, stop) => stop,
        }
    }

    /// A new link: go on with it where the HTTP options allow, else start over from the
    /// first request with it.
    fn take_link(&mut self, l: Link) -> Option<Stop> {
        let Some(base) = &self.p.relink else {
            return None;
        };
        let fits = fits(base, &l);
        let waited = self.relink.link_wait.take().is_some();
        if waited {
            self.record.waiting(None);
            self.obs.event(Event::Waiting(None));
        }
        if !fits {
            tracing::info!(
                job = self.p.job_id,
                "a new link with other credentials or settings: starting from its first request"
            );
            return Some(Stop::Relink);
        }
        let url = l.final_url.clone().unwrap_or_else(|| l.url.clone());
        self.retarget(&url);
        self.p.first_url = l.settings.origin_url.clone().unwrap_or(l.url.clone());
        // Its answers are checked against (and `If-Range` carries) what the new link gives.
        self.p.etag = l.etag;
        self.p.last_modified = l.last_modified;
        if let Some(base) = &mut self.p.relink {
            base.url = l.url;
        }
        self.relink.url_gen += 1;
        self.relink.resolving = None;
        self.relink.reresolved_at = None;
        self.release_awaiting();
        if !waited {
            self.obs.event(Event::Said(Note::NewLink));
        }
        None
    }

    /// The ranges that waited for a link go now.
    pub(super) fn release_awaiting(&mut self) {
        let now = Instant::now();
        for seg in std::mem::take(&mut self.relink.awaiting_url) {
            if let Some(s) = self
                .plan
                .slots
                .iter_mut()
                .find(|s| std::sync::Arc::ptr_eq(&s.seg, &seg))
            {
                s.not_before = now;
            }
        }
    }

    /// The job's URL (source 0) is now `url`. On another host, the connection units its
    /// requests under way took stay counted for the old host: those requests are moved to
    /// a dropped source of their own that gives them back there.
    fn retarget(&mut self, url: &str) {
        let origin = Origin::parse(url);
        if origin != self.sources[0].origin {
            let busy = self.sources[0].busy;
            if busy > 0 || self.crew.held.iter().any(|(h, _)| *h == 0) {
                let mut old = Source::new(&self.sources[0].url, Trust::Reference);
                old.dropped = true;
                old.busy = busy;
                old.bytes = std::mem::take(&mut self.sources[0].bytes);
                let k = self.sources.len();
                self.sources.push(old);
                for s in self.plan.slots.iter_mut().filter(|s| s.source == 0) {
                    if let Some(w) = s.worker {
                        s.source = k;
                        self.crew.worker_source[w.index()] = k;
                    }
                }
                for (h, _) in self.crew.held.iter_mut().filter(|(h, _)| *h == 0) {
                    *h = k;
                }
                self.sources[0].busy = 0;
            }
            self.sources[0].origin = origin.clone();
            self.origin = origin;
        }
        self.sources[0].url = url.to_string();
        self.p.url = url.to_string();
    }
}

/// Do the HTTP options made for `base` hold for the new link? They do when the settings are
/// the same (the captured chain's start aside) and no credential is bound to an origin that
/// changes (`--user`, a secret header, a netrc, a `user:password` in either URL).
fn fits(base: &Relink, l: &Link) -> bool {
    let plain = |s: &JobSettings| JobSettings {
        origin_url: None,
        ..s.clone()
    };
    if plain(&base.settings) != plain(&l.settings) {
        return false;
    }
    let userinfo = |u: &str| {
        url::Url::parse(u)
            .map(|u| (u.username().to_string(), u.password().map(str::to_string)))
            .unwrap_or_default()
    };
    if userinfo(&base.url) != userinfo(&l.url) {
        return false;
    }
    let credentials = l.settings.user.is_some()
        || l.settings.netrc.is_some()
        || l.settings.headers.iter().any(|h| h.is_secret())
        || userinfo(&l.url) != Default::default();
    !credentials || Origin::parse(&base.url) == Origin::parse(&l.url)
}

//! What the job has: bytes received (for display), the progress snapshot with a smoothed
//! speed, and the checkpoint (write, fdatasync, then commit the bitmap: after a crash only
//! committed pieces are trusted).

use super::{Coordinator, CHECKPOINT_BYTES, TICK};
use crate::engine::Progress;
use crate::jobs::storage_error;
use crate::model::{ErrorKind, JobError};
use std::time::{Duration, Instant};

impl Coordinator<'_> {
    /// How long the loop may wait for a worker's report: a tick, or less while the job
    /// receives fast, so that the next checkpoint falls due within a quarter of
    /// `CHECKPOINT_BYTES` of its mark (at 1 GiB/s a 50 ms tick alone is 50 MiB).
    pub(super) fn tick(&self) -> Duration {
        match self.last_speed {
            Some(v) if v > 0 => TICK
                .min(Duration::from_secs_f64(
                    (CHECKPOINT_BYTES / 4) as f64 / v as f64,
                ))
                .max(Duration::from_millis(2)),
            _ => TICK,
        }
    }

    /// Bytes received so far (written, buffered, durable or not): for display only.
    fn bytes_now(&self) -> u64 {
        self.plan.written.total()
            + self
                .plan
                .slots
                .iter()
                .filter(|s| s.is_plain()) // a race's bytes are a second copy, a check's too
                .map(|s| s.seg.span().claimed - s.seg.origin)
                .sum::<u64>()
    }

    /// Bytes per second received over (at least) the last `over`, from the progress
    /// samples; None before there is that much history.
    pub(super) fn recent_rate(&self, over: Duration) -> Option<f64> {
        let now = Instant::now();
        let (t, b) = self
            .samples
            .iter()
            .rev()
            .find(|(t, _)| now.duration_since(*t) >= over)?;
        let dt = now.duration_since(*t).as_secs_f64();
        Some(self.bytes_now().saturating_sub(*b) as f64 / dt)
    }

    pub(super) fn progress(&mut self) -> Progress {
        let now = Instant::now();
        let bytes = self.bytes_now();
        self.samples.push_back((now, bytes));
        while self.samples.len() > 2
            && now.duration_since(self.samples[0].0) > Duration::from_secs(5)
        {
            self.samples.pop_front();
        }
        let (t0, b0) = self.samples[0];
        let dt = now.duration_since(t0).as_secs_f64();
        let speed = if dt > 0.05 {
            bytes.saturating_sub(b0) as f64 / dt
        } else {
            0.0
        };
        self.last_speed = Some(speed as u64);
        Progress {
            job: self.p.job_id,
            name: self.p.name.clone(),
            size: self.p.size,
            bytes,
            speed,
            connections: self.crew.busy,
            max_connections: self.gov.target(),
            elapsed: self.started.elapsed(),
            lanes: self.lanes(),
        }
    }

    /// The open connections: each one's source, range and speed. A connection's range runs
    /// on over the segment kept for it next (the rest of its share after its first window).
    fn lanes(&self) -> Vec<crate::engine::Lane> {
        self.plan
            .slots
            .iter()
            .filter(|s| s.worker.is_some() && s.is_plain())
            .map(|s| {
                let span = s.seg.span();
                let kept = self.plan.slots.iter().find(|k| {
                    k.kept_for() == s.worker && k.worker.is_none() && k.seg.origin == span.end
                });
                let to = kept.map_or(span.end, |k| k.seg.span().end);
                let url = match s.source {
                    0 => &self.p.url,
                    k => &self.sources[k].url,
                };
                crate::engine::Lane {
                    id: s.worker.map_or(0, crate::transfer::WorkerId::index),
                    url: crate::model::redact_url(url),
                    from: s.seg.origin,
                    to,
                    pos: span.claimed,
                    speed: s.speed.max(0.0) as u64,
                    ttfb_ms: s.seg.ttfb().map(|t| t.as_millis() as u64),
                }
            })
            .collect()
    }

    /// The checkpoint at the end of a transfer phase. A stream without ranges cannot be taken
    /// up where it stopped: the store then records nothing of it, so `status` and the next
    /// run never claim progress that the next run fetches again from zero.
    pub(super) fn checkpoint_final(&mut self) -> Result<(), JobError> {
        self.checkpoint()?;
        if self.plan.pieces.is_none() && self.p.limit.is_none() {
            return self.record.save(&[], &[], 0, None, None);
        }
        Ok(())
    }

    /// Durability order: snapshot what is written, fdatasync, then commit the bitmap.
    pub(super) fn checkpoint(&mut self) -> Result<(), JobError> {
        let mut snap = self.plan.written.clone();
        for s in &self.plan.slots {
            snap.insert(s.seg.origin..s.seg.span().pos);
        }
        // A mirror's bytes become durable only once it is proven (`verify.rs`).
        for r in self.tainted() {
            snap.remove(r);
        }
        let Some(file) = self.io.file() else {
            return Ok(()); // nothing written yet
        };
        if !file.still_present() {
            return Err(JobError::new(
                ErrorKind::Storage,
                format!(
                    "the partial file {} was deleted or replaced during the download",
                    file.path().display()
                ),
            ));
        }
        let syncing = Instant::now();
        file.sync().map_err(|e| storage_error(&e))?;
        let sync_ms = syncing.elapsed().as_secs_f64() * 1e3;
        let (bitmap, partial, done) = match &mut self.plan.pieces {
            Some(pm) => {
                for r in snap.ranges() {
                    pm.mark_covered(r);
                }
                // What no whole piece covers is kept too, byte-exact: a resume asks only for
                // what is missing.
                let partial = crate::engine::split::subtract(snap.ranges(), &pm.done_ranges());
                let extra: u64 = partial.iter().map(|r| r.end - r.start).sum();
                (pm.as_bytes().to_vec(), partial, pm.bytes_done() + extra)
            }
            // No resume state without ranges: progress is shown, not trusted.
            None => (Vec::new(), Vec::new(), snap.total()),
        };
        // Every second of every download: trace, so that ddm.log does not grow with it.
        let received = self.io.received.load(std::sync::atomic::Ordering::Relaxed);
        tracing::trace!(job = self.p.job_id, done, received, sync_ms, "checkpoint");
        let conns = (self.crew.busy > 0).then_some(self.crew.busy as u32);
        self.record
            .save(&bitmap, &partial, done, self.last_speed, conns)
    }
}

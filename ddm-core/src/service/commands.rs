//! What fronts ask of the service ([`Jobs`] on [`Service`]): adding a job (its URL checked,
//! its directory and name within the places allowed, a routing rule decided by the URL
//! applied), commands (pause, resume, remove, move, set a rate, a fresh URL, the budget)
//! recorded in the store like the CLI's and handed to running jobs at once
//! (`Control::nudge`), and reads of the in-memory view.

use super::live::{store_err, Service};
use super::{AddSpec, Globals, JobView, Jobs, Move, Notice, ServiceError};
use super::{HostUse, Runner, Track};
use crate::model::ErrorKind;
use crate::store::{JobSettings, NewJob, StateKind};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver};

impl Jobs for Service {
    fn add(&self, spec: AddSpec) -> Result<i64, ServiceError> {
        let (url, mirrors) = spec
            .urls
            .split_first()
            .ok_or_else(|| ServiceError::Invalid("no URL given".into()))?;
        let check = |u: &str| {
            crate::urls::parse_http_url(u)
                .map(|u| u.to_string())
                .map_err(ServiceError::Invalid)
        };
        let url = check(url)?;
        let mirrors = mirrors
            .iter()
            .map(|m| check(m))
            .collect::<Result<Vec<_>, _>>()?;
        let checksum = spec
            .checksum
            .as_deref()
            .map(crate::engine::checksum::parse)
            .transpose()
            .map_err(ServiceError::Invalid)?;
        let file_name = spec
            .out
            .as_deref()
            .map(super::places::plain_name)
            .transpose()?;
        let dest_dir = self.places.directory(spec.dir.as_deref())?;
        let mut new = NewJob {
            url,
            dest_dir,
            file_name,
            settings: JobSettings {
                headers: spec.headers,
                connections: spec.connections,
                rate_limit: spec.rate_limit,
                checksum,
                overwrite: spec.overwrite,
                insecure: spec.insecure,
                user: spec.user,
                mirrors,
                network: spec.network,
                origin_url: spec.origin_url,
                dir_chosen: spec.dir.is_some() || spec.out.is_some(),
                ..JobSettings::default()
            },
            queue: crate::store::Queueing {
                priority: spec.priority.unwrap_or_default(),
                ..Default::default()
            },
        };
        // A routing rule decided by the URL alone applies now (one on the server's name or
        // type, with the first answer).
        crate::jobs::route::at_add(&self.cfg.rule, &mut new).map_err(ServiceError::Invalid)?;
        let id = {
            let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            let id =
                crate::jobs::add(&mut store, std::slice::from_ref(&new)).map_err(|e| match e {
                    crate::jobs::AddError::Store(e) => store_err(e),
                    e => ServiceError::Invalid(e.to_string()),
                })?[0];
            if spec.paused {
                store.pause(&[id]).map_err(store_err)?;
            }
            if let Some(p) = spec.position {
                store.move_job(id, Move::Set(p as i64)).map_err(store_err)?;
            }
            id
        };
        self.changed();
        Ok(id)
    }

    fn jobs(&self) -> Vec<JobView> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).views()
    }

    fn job(&self, id: i64) -> Option<JobView> {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .view_of(id)
    }

    fn pause(&self, id: i64, _force: bool) -> Result<(), ServiceError> {
        let job = self.job_of(id)?;
        if job.shown() == StateKind::Paused {
            return Ok(());
        }
        let changed = self.with_store(|s| s.pause(&[id]))?;
        if changed.is_empty() {
            return Err(ServiceError::State(format!(
                "job {id} is {}: only a queued, running or waiting job pauses",
                job.shown().name()
            )));
        }
        self.changed();
        self.until_stopped(&[id]);
        Ok(())
    }

    fn resume(&self, id: i64) -> Result<(), ServiceError> {
        let job = self.job_of(id)?;
        if matches!(job.shown(), StateKind::Queued | StateKind::Running) {
            return Ok(());
        }
        let changed = self.with_store(|s| s.resume(&[id]))?;
        if changed.is_empty() {
            return Err(ServiceError::State(format!(
                "job {id} is {}: only a paused, failed or waiting job resumes",
                job.shown().name()
            )));
        }
        self.changed();
        Ok(())
    }

    fn remove(&self, id: i64, _force: bool) -> Result<(), ServiceError> {
        self.job_of(id)?;
        self.with_store(|s| crate::jobs::remove(s, id, false).map(|_| ()))?;
        self.changed();
        self.until_stopped(&[id]);
        Ok(())
    }

    fn forget(&self, id: i64) -> Result<(), ServiceError> {
        if self
            .table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .forget(id)
        {
            return Ok(());
        }
        let job = self.job_of(id)?;
        if !matches!(job.shown(), StateKind::Done | StateKind::Failed) {
            return Err(ServiceError::State(format!(
                "job {id} is {}: only a finished, failed or removed job is forgotten",
                job.shown().name()
            )));
        }
        self.with_store(|s| crate::jobs::remove(s, id, false).map(|_| ()))?;
        self.refresh();
        // Forgotten, not removed: no tombstone.
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .forget(id);
        Ok(())
    }

    fn purge(&self) {
        let ended = self.table.read().unwrap_or_else(|e| e.into_inner()).ended();
        for id in ended {
            let _ = self.with_store(|s| crate::jobs::remove(s, id, false).map(|_| ()));
        }
        self.refresh();
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .purge_removed();
    }

    fn pause_all(&self, _force: bool) {
        let ids = self
            .with_store(|s| s.ids_in(&[StateKind::Queued, StateKind::Running, StateKind::Waiting]));
        if let Ok(ids) = ids {
            let _ = self.with_store(|s| s.pause(&ids));
            self.changed();
            self.until_stopped(&ids);
        }
    }

    fn resume_all(&self) {
        let ids = self.with_store(|s| s.ids_in(&[StateKind::Paused]));
        if let Ok(ids) = ids {
            let _ = self.with_store(|s| s.resume(&ids));
        }
        self.changed();
    }

    fn move_job(&self, id: i64, to: Move) -> Result<usize, ServiceError> {
        let place = self.with_store(|s| s.move_job(id, to))?;
        self.refresh();
        Ok(place)
    }

    fn change_uris(
        &self,
        id: i64,
        remove: &[String],
        add: &[String],
    ) -> Result<(usize, usize), ServiceError> {
        let job = self.job_of(id)?;
        if job.shown() == StateKind::Done {
            return Err(ServiceError::State(format!("job {id} is done")));
        }
        let mut settings = job.settings.clone();
        let before = settings.mirrors.len();
        settings.mirrors.retain(|m| !remove.contains(m));
        let mut removed = before - settings.mirrors.len();
        let main_removed = remove.contains(&job.url);
        let mut add = add.to_vec();
        for a in &add {
            crate::urls::parse_http_url(a).map_err(ServiceError::Invalid)?;
        }
        if main_removed {
            // The job's URL goes: the first added (or a mirror) takes its place, proven to
            // serve the same file like `ddm set-url`.
            let next = if add.is_empty() {
                settings.mirrors.first().cloned()
            } else {
                Some(add.remove(0))
            }
            .ok_or_else(|| {
                ServiceError::Invalid(format!("job {id} would be left without a URL"))
            })?;
            settings.mirrors.retain(|m| *m != next);
            let target = crate::store::Job {
                url: next.clone(),
                settings: settings.clone(),
                ..job.clone()
            };
            let opts =
                crate::engine::job_http(&target, &self.cfg).map_err(|e| ServiceError::Failed {
                    kind: e.kind,
                    message: e.message,
                })?;
            let info = crate::resolver::probe(&next, &opts).map_err(|e| ServiceError::Failed {
                kind: ErrorKind::Probe,
                message: e.to_string(),
            })?;
            let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            crate::relink::set_url(&mut store, id, &next, &info, &opts, false, &settings)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            removed += 1;
        }
        let added = add.len() + usize::from(main_removed);
        settings.mirrors.extend(add);
        if !main_removed {
            let s = settings.clone();
            self.with_store(|st| {
                let tx = st.begin()?;
                tx.set_settings(id, &s)?;
                tx.commit()
            })?;
        }
        self.changed();
        Ok((removed, added))
    }

    fn set_rate(&self, id: i64, rate: Option<u64>) -> Result<(), ServiceError> {
        self.job_of(id)?;
        self.with_store(|s| s.set_job_rate(id, rate))?;
        self.changed();
        Ok(())
    }

    fn set_connections(&self, id: i64, n: u32) -> Result<(), ServiceError> {
        let job = self.job_of(id)?;
        let n = n.clamp(1, crate::config::MAX_CONNECTIONS);
        let mut s = job.settings.clone();
        s.connections = Some(n);
        self.with_store(|st| {
            let tx = st.begin()?;
            tx.set_settings(id, &s)?;
            tx.commit()
        })?;
        self.refresh();
        Ok(())
    }

    fn globals(&self) -> Globals {
        let mut g = Globals {
            max_rate: self.ctl.rate.rate(),
            max_active: self.max_active.load(Ordering::Relaxed) as u32,
            dir: self.places.dir.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Globals::default()
        };
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .counts(&mut g);
        g
    }

    fn set_global_rate(&self, rate: Option<u64>) {
        let _ = self.with_store(|s| s.set_global_rate(rate));
        self.ctl.rate.set_rate(rate);
        self.ctl.nudge();
    }

    fn set_max_active(&self, n: u32) {
        self.max_active.store(n as usize, Ordering::Relaxed);
    }

    fn track(&self, id: i64) -> Option<Track> {
        self.job(id)?;
        Some(self.tracks.lock().unwrap_or_else(|e| e.into_inner()).of(id))
    }

    fn runner(&self) -> Runner {
        let b = &self.ctl.connections;
        Runner {
            history: self
                .tracks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .runner(),
            max_connections: b.limit(),
            max_per_host: b.per_host(),
            in_use: b.in_use(),
            hosts: b
                .hosts()
                .into_iter()
                .map(|(o, open, cap)| HostUse {
                    host: o.to_string(),
                    open,
                    cap,
                })
                .collect(),
        }
    }

    fn set_budget(&self, total: u32, per_host: u32) -> Result<(), ServiceError> {
        if total == 0 || per_host == 0 {
            return Err(ServiceError::Invalid(format!(
                "connections {total} in all, {per_host} per host: give at least 1 each"
            )));
        }
        self.ctl
            .connections
            .set_limits(total as usize, per_host as usize);
        self.ctl.nudge();
        Ok(())
    }

    fn subscribe(&self) -> Receiver<Notice> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    fn shutdown(&self, _force: bool) {
        self.stop.store(true, Ordering::Relaxed);
        self.ctl.interrupt.store(true, Ordering::Relaxed);
    }
}

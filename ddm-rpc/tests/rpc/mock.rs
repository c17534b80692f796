//! A `Jobs` service for the tests: serves the `JobView`s a test sets, records every command
//! it is given (so a test proves what reached the service, and that nothing did), and sends
//! the notices a test asks for.

use ddm_core::service::{
    AddSpec, Globals, HostUse, JobView, Jobs, Lane, Live, Move, Notice, Runner, ServiceError, Track,
};
use ddm_core::store::{Job, JobSettings, JobState};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

#[derive(Default)]
pub struct Mock {
    pub views: Mutex<Vec<JobView>>,
    /// Commands in the order they came: `pause 3 false`, `rate 2 Some(1024)`, ...
    pub calls: Mutex<Vec<String>>,
    pub added: Mutex<Vec<AddSpec>>,
    pub globals: Mutex<Globals>,
    /// What `track` answers for every job.
    pub track: Mutex<Track>,
    subscribers: Mutex<Vec<Sender<Notice>>>,
}

pub fn job(id: i64, state: JobState) -> Job {
    Job {
        id,
        url: format!("http://127.0.0.1:9/file{id}.iso"),
        final_url: None,
        dest_dir: PathBuf::from("/srv/downloads"),
        file_name: None,
        name_fixed: false,
        size: None,
        etag: None,
        last_modified: None,
        ranges: None,
        piece_size: None,
        bitmap: Vec::new(),
        state,
        settings: JobSettings::default(),
        bytes_done: 0,
        created_at: id,
        updated_at: id,
        speed: None,
        conns: None,
        part_id: None,
        dir_id: None,
        protocol: None,
        waiting: None,
        link_gen: 0,
        position: id,
        partial: Vec::new(),
        priority: 0,
        not_before: None,
        after: None,
        rule: None,
        base_dir: None,
        held: None,
    }
}

pub fn view(job: Job) -> JobView {
    JobView {
        position: job.id as usize,
        job: job.into(),
        live: None,
        removed: false,
    }
}

/// A running job of 4 pieces of 256 KiB, pieces 0 and 2 done, two connections open.
pub fn running(id: i64) -> JobView {
    let mut j = job(id, JobState::Running);
    j.file_name = Some(format!("file{id}.iso"));
    j.final_url = Some(j.url.clone());
    j.size = Some(1 << 20);
    j.piece_size = Some(256 << 10);
    j.bitmap = vec![0b1010_0000];
    j.bytes_done = 512 << 10;
    let lane = |id, url: &str, speed| Lane {
        id,
        url: url.into(),
        from: 0,
        to: 1,
        pos: 0,
        speed,
        ttfb_ms: Some(12),
    };
    let url = j.url.clone();
    let mut v = view(j);
    v.live = Some(Live {
        bytes: 600 << 10,
        speed: 3000,
        connections: 2,
        max_connections: 4,
        lanes: vec![lane(0, &url, 1000), lane(1, &url, 2000)],
    });
    v
}

impl Mock {
    pub fn with(views: Vec<JobView>) -> Mock {
        let m = Mock::default();
        *m.views.lock().unwrap() = views;
        *m.globals.lock().unwrap() = Globals {
            dir: PathBuf::from("/srv/downloads"),
            version: "0.1.0".into(),
            ..Globals::default()
        };
        m
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    pub fn notify(&self, n: Notice) {
        for s in self.subscribers.lock().unwrap().iter() {
            let _ = s.send(n);
        }
    }
    fn record(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    fn has(&self, id: i64) -> Result<(), ServiceError> {
        match self.views.lock().unwrap().iter().any(|v| v.job.id == id) {
            true => Ok(()),
            false => Err(ServiceError::NotFound(id)),
        }
    }
    fn set_state(&self, id: i64, state: JobState) {
        for v in self.views.lock().unwrap().iter_mut() {
            if v.job.id == id {
                std::sync::Arc::make_mut(&mut v.job).state = state.clone();
            }
        }
    }
}

impl Jobs for Mock {
    fn add(&self, spec: AddSpec) -> Result<i64, ServiceError> {
        if spec.urls.iter().any(|u| u.starts_with("ftp:")) {
            return Err(ServiceError::Invalid(
                "only http and https URLs can be downloaded".into(),
            ));
        }
        let mut views = self.views.lock().unwrap();
        let id = views.iter().map(|v| v.job.id).max().unwrap_or(0) + 1;
        let state = if spec.paused {
            JobState::Paused
        } else {
            JobState::Queued
        };
        let mut j = job(id, state);
        j.url = spec.urls[0].clone();
        j.settings.headers = spec.headers.clone();
        j.settings.user = spec.user.clone();
        views.push(view(j));
        self.added.lock().unwrap().push(spec);
        self.record(format!("add {id}"));
        Ok(id)
    }
    fn jobs(&self) -> Vec<JobView> {
        let mut v = self.views.lock().unwrap().clone();
        v.sort_by_key(|v| v.position);
        v
    }
    fn job(&self, id: i64) -> Option<JobView> {
        self.views
            .lock()
            .unwrap()
            .iter()
            .find(|v| v.job.id == id)
            .cloned()
    }
    fn pause(&self, id: i64, force: bool) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("pause {id} {force}"));
        self.set_state(id, JobState::Paused);
        Ok(())
    }
    fn resume(&self, id: i64) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("resume {id}"));
        self.set_state(id, JobState::Queued);
        Ok(())
    }
    fn remove(&self, id: i64, force: bool) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("remove {id} {force}"));
        for v in self.views.lock().unwrap().iter_mut() {
            if v.job.id == id {
                v.removed = true;
            }
        }
        Ok(())
    }
    fn forget(&self, id: i64) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("forget {id}"));
        self.views.lock().unwrap().retain(|v| v.job.id != id);
        Ok(())
    }
    fn purge(&self) {
        self.record("purge".into());
        self.views
            .lock()
            .unwrap()
            .retain(|v| !v.removed && !matches!(v.job.state, JobState::Done | JobState::Failed(_)));
    }
    fn pause_all(&self, force: bool) {
        self.record(format!("pause_all {force}"));
    }
    fn resume_all(&self) {
        self.record("resume_all".into());
    }
    fn move_job(&self, id: i64, to: Move) -> Result<usize, ServiceError> {
        self.has(id)?;
        self.record(format!("move {id} {to:?}"));
        Ok(0)
    }
    fn change_uris(
        &self,
        id: i64,
        remove: &[String],
        add: &[String],
    ) -> Result<(usize, usize), ServiceError> {
        self.has(id)?;
        self.record(format!("uris {id} -{remove:?} +{add:?}"));
        Ok((remove.len(), add.len()))
    }
    fn set_rate(&self, id: i64, rate: Option<u64>) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("rate {id} {rate:?}"));
        Ok(())
    }
    fn set_connections(&self, id: i64, n: u32) -> Result<(), ServiceError> {
        self.has(id)?;
        self.record(format!("connections {id} {n}"));
        Ok(())
    }
    fn globals(&self) -> Globals {
        self.globals.lock().unwrap().clone()
    }
    fn set_global_rate(&self, rate: Option<u64>) {
        self.record(format!("global_rate {rate:?}"));
    }
    fn set_max_active(&self, n: u32) {
        self.record(format!("max_active {n}"));
    }
    fn track(&self, id: i64) -> Option<Track> {
        self.job(id)?;
        Some(self.track.lock().unwrap().clone())
    }
    fn runner(&self) -> Runner {
        Runner {
            history: Vec::new(),
            max_connections: 32,
            max_per_host: 8,
            in_use: 2,
            hosts: vec![HostUse {
                host: "http://127.0.0.1:9".into(),
                open: 2,
                cap: None,
            }],
        }
    }
    fn set_budget(&self, total: u32, per_host: u32) -> Result<(), ServiceError> {
        if total == 0 || per_host == 0 {
            return Err(ServiceError::Invalid("give at least 1 each".into()));
        }
        self.record(format!("budget {total} {per_host}"));
        Ok(())
    }
    fn subscribe(&self) -> std::sync::mpsc::Receiver<Notice> {
        let (tx, rx) = channel();
        self.subscribers.lock().unwrap().push(tx);
        rx
    }
    fn shutdown(&self, force: bool) {
        self.record(format!("shutdown {force}"));
    }
}

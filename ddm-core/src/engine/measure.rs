//! One measured transfer for `ddm bench`: the real coordinator and workers download the
//! first `limit` bytes with N connections into a scratch file, without a job or store.

use super::coordinator::{Coordinator, Params, Stats, Stop};
use super::{Control, NoObserver};
use crate::config::Config;
use crate::http::HttpOptions;
use crate::pieces::{piece_size_for, PieceMap};
use crate::resolver::RemoteInfo;
use crate::storage::PartFile;
use crate::transfer::{JobIo, Mode};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub connections: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub stats: Stats,
    /// Set when the transfer did not complete.
    pub failed: Option<String>,
    /// Relative spread of throughput between repeated runs of this count (0 for one run):
    /// how noisy the measurement is.
    pub spread: f64,
}

impl Measurement {
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.elapsed.as_secs_f64().max(1e-6)
    }
    /// Median time to first byte.
    pub fn ttfb(&self) -> Option<Duration> {
        let mut v = self.stats.ttfb.clone();
        v.sort();
        v.get(v.len() / 2).copied()
    }
}

/// Download `0..limit` of the probed file with `connections` connections into `scratch`
/// (a file path that is created and removed).
pub fn measure(
    info: &RemoteInfo,
    http: &HttpOptions,
    cfg: &Config,
    connections: usize,
    limit: u64,
    scratch: &Path,
    ctl: &Control,
) -> Result<Measurement, String> {
    let ranged = info.ranges && info.size.is_some();
    let limit = info.size.map_or(limit, |s| s.min(limit));
    let file = PartFile::create_new(scratch).map_err(|e| e.to_string())?;
    if let Err(e) = file.reserve(limit, cfg.min_free_space) {
        let _ = std::fs::remove_file(file.path());
        return Err(e.to_string());
    }
    let part = file.path().to_path_buf();
    let io = Arc::new(JobIo::new(http.clone(), None));
    io.set_file(file);
    // Pieces over the first `limit` bytes only; ranges are still checked against the real size.
    let pieces = ranged.then(|| PieceMap::new(limit, piece_size_for(limit)));
    let params = Params {
        job_id: 0,
        name: String::new(),
        url: info.final_url.clone(),
        first_url: info.url.clone(),
        mode: if ranged { Mode::Range } else { Mode::Whole },
        size: info.size,
        etag: info.etag.clone(),
        last_modified: info.last_modified.clone(),
        mirrors: Vec::new(),
        connections: if ranged { connections } else { 1 },
        adaptive: false,
        capped: false,
        limit: Some(limit),
        partial: Vec::new(),
        range_proof: super::coordinator::RangeProof::Proven,
        deadline: super::coordinator::deadline::Deadline::off(),
        relink: None,
        cfg,
    };
    let mut obs = NoObserver;
    let start = Instant::now();
    let mut record = super::record::NoRecord;
    let mut coord = Coordinator::new(
        params,
        &mut record,
        ctl,
        &mut obs,
        io.clone(),
        std::sync::mpsc::channel(),
        pieces,
        None,
    );
    let stop = coord.run();
    let elapsed = start.elapsed();
    let stats = coord.stats.clone();
    drop(coord);
    let _ = std::fs::remove_file(&part);
    let failed = match stop {
        Stop::Complete => None,
        Stop::Failed(e) => Some(e.message),
        other => Some(format!("{other:?}")),
    };
    Ok(Measurement {
        connections: if ranged { connections } else { 1 },
        bytes: io
            .received
            .load(std::sync::atomic::Ordering::Relaxed)
            .min(limit),
        elapsed,
        stats,
        failed,
        spread: 0.0,
    })
}

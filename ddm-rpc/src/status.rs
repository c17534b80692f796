//! aria2's status struct built from a [`JobView`]: every value a string, keys as aria2 names
//! them, filtered by the `keys` a client asks for (a key it does not know or that does not
//! apply is left out, as aria2 does).
//!
//! States: running → `active` (also while its runner holds it waiting for a fresh link:
//! the link can still be given and the job goes on in place); queued → `waiting`; paused,
//! and a job at rest waiting for a fresh link (nothing will start it by itself) → `paused`;
//! failed → `error`; done → `complete`; removed (still listed until purged) → `removed`.
//! `verifiedLength` and `verifyIntegrityPending` are never given: AriaNg reads their mere
//! presence as "verifying", and ddm checks a checksum only after the last byte.

use ddm_core::model::{redact_text, redact_url, ErrorKind, JobError};
use ddm_core::pieces::{piece_size_for, PieceMap, MIN_PIECE};
use ddm_core::service::JobView;
use ddm_core::store::JobState;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Active,
    Waiting,
    Paused,
    Error,
    Complete,
    Removed,
}

impl State {
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Waiting => "waiting",
            State::Paused => "paused",
            State::Error => "error",
            State::Complete => "complete",
            State::Removed => "removed",
        }
    }
    /// Listed by `tellStopped`.
    pub(crate) fn stopped(self) -> bool {
        matches!(self, State::Error | State::Complete | State::Removed)
    }
}

pub(crate) fn state(v: &JobView) -> State {
    if v.removed {
        return State::Removed;
    }
    match &v.job.state {
        JobState::Running => State::Active,
        JobState::Queued => State::Waiting,
        JobState::Paused | JobState::Waiting(_) => State::Paused,
        JobState::Done => State::Complete,
        JobState::Failed(_) => State::Error,
    }
}

/// The keys a client asked for (none: all).
#[derive(Debug, Default)]
pub(crate) struct Keys(Option<Vec<String>>);

impl Keys {
    pub(crate) fn parse(v: Option<&Value>) -> Result<Keys, String> {
        match v {
            None | Some(Value::Null) => Ok(Keys(None)),
            Some(Value::Array(a)) => {
                let keys = a
                    .iter()
                    .map(|k| k.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("the keys must be strings")?;
                Ok(Keys((!keys.is_empty()).then_some(keys)))
            }
            Some(_) => Err("the keys must be an array of strings".into()),
        }
    }
    fn wants(&self, k: &str) -> bool {
        self.0.as_ref().is_none_or(|ks| ks.iter().any(|x| x == k))
    }
}

/// The status struct of one job, shown as `gid` (`tellStatus`).
pub(crate) fn status(v: &JobView, gid: &str, keys: &Keys) -> Map<String, Value> {
    match serde_json::to_value(Status { view: v, gid, keys }) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// One job's status struct, written straight to JSON: the lists of a thousand jobs that
/// front-ends ask for every second are serialized without a `Value` tree per job (no map,
/// no string per key), the one definition of what a status holds.
pub(crate) struct Status<'a> {
    pub view: &'a JobView,
    pub gid: &'a str,
    pub keys: &'a Keys,
}

/// A number as aria2 gives every number: its decimal text.
struct Num(u64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// An entry, when the client asked for its key.
fn put<M: SerializeMap, T: Serialize + ?Sized>(
    m: &mut M,
    keys: &Keys,
    k: &str,
    v: &T,
) -> Result<(), M::Error> {
    if keys.wants(k) {
        m.serialize_entry(k, v)?;
    }
    Ok(())
}

impl Serialize for Status<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (v, keys) = (self.view, self.keys);
        let st = state(v);
        let mut m = s.serialize_map(None)?;
        let total = total_length(v);
        let done = completed_length(v);
        let live = v.live.as_ref().filter(|_| st == State::Active);
        put(&mut m, keys, "gid", self.gid)?;
        put(&mut m, keys, "status", st.name())?;
        put(&mut m, keys, "totalLength", &Num(total))?;
        put(&mut m, keys, "completedLength", &Num(done))?;
        put(&mut m, keys, "uploadLength", "0")?;
        put(
            &mut m,
            keys,
            "downloadSpeed",
            &Num(live.map_or(0, |l| l.speed)),
        )?;
        put(&mut m, keys, "uploadSpeed", "0")?;
        let conns = live.map_or(0, |l| l.connections as u64);
        put(&mut m, keys, "connections", &Num(conns))?;
        if keys.wants("bitfield") || keys.wants("pieceLength") || keys.wants("numPieces") {
            let (piece, count, bits) = pieces(v);
            if let Some(b) = bits {
                put(&mut m, keys, "bitfield", &b)?;
            }
            put(&mut m, keys, "pieceLength", &Num(piece))?;
            put(&mut m, keys, "numPieces", &Num(count))?;
        }
        match (&v.job.state, st) {
            (_, State::Removed) => {
                put(&mut m, keys, "errorCode", "31")?;
                put(&mut m, keys, "errorMessage", "removed")?;
            }
            (JobState::Failed(e), _) => {
                put(&mut m, keys, "errorCode", &Num(error_code(e).into()))?;
                put(&mut m, keys, "errorMessage", &redact_text(&e.message))?;
            }
            (JobState::Done, _) => {
                put(&mut m, keys, "errorCode", "0")?;
                put(&mut m, keys, "errorMessage", "")?;
            }
            // Not aria2's: why a job waits for a fresh link (set one with changeUri).
            _ => {
                if let Some(why) = v.job.waits_for_link() {
                    put(&mut m, keys, "errorMessage", &redact_text(why))?;
                }
            }
        }
        put(&mut m, keys, "dir", &v.job.dest_dir.display().to_string())?;
        put(&mut m, keys, "files", &Files(v))?;
        m.end()
    }
}

/// `getFiles`: ddm's job is one file.
pub(crate) fn files(v: &JobView) -> Value {
    serde_json::to_value(Files(v)).unwrap_or(Value::Null)
}

struct Files<'a>(&'a JobView);

impl Serialize for Files<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let path = v
            .job
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut seq = s.serialize_seq(Some(1))?;
        seq.serialize_element(&File {
            index: "1",
            path,
            length: Num(total_length(v)),
            completed_length: Num(completed_length(v)),
            selected: "true",
            uris: Uris(v),
        })?;
        seq.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    index: &'static str,
    path: String,
    length: Num,
    completed_length: Num,
    selected: &'static str,
    uris: Uris<'a>,
}

/// `getUris`: the job's URL then its mirrors, `used` when asked already, credentials hidden.
pub(crate) fn uris(v: &JobView) -> Value {
    serde_json::to_value(Uris(v)).unwrap_or(Value::Null)
}

struct Uris<'a>(&'a JobView);

#[derive(Serialize)]
struct Uri {
    uri: String,
    status: &'static str,
}

impl Serialize for Uris<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let lanes: Vec<&str> = v
            .live
            .iter()
            .flat_map(|l| l.lanes.iter().map(|x| x.url.as_str()))
            .collect();
        let started = v.job.final_url.is_some() || v.job.bytes_done > 0;
        let all = std::iter::once(&v.job.url).chain(v.job.settings.mirrors.iter());
        let mut seq = s.serialize_seq(Some(1 + v.job.settings.mirrors.len()))?;
        for (i, u) in all.enumerate() {
            let shown = redact_url(u);
            let used = (i == 0 && started) || lanes.contains(&shown.as_str());
            seq.serialize_element(&Uri {
                status: if used { "used" } else { "waiting" },
                uri: shown,
            })?;
        }
        seq.end()
    }
}

/// `getServers`: one entry per open connection of a running job.
pub(crate) fn servers(v: &JobView) -> Value {
    let servers: Vec<Value> = v
        .live
        .iter()
        .flat_map(|l| l.lanes.iter())
        .map(|lane| {
            json!({
                "uri": lane.url,
                "currentUri": lane.url,
                "downloadSpeed": lane.speed.to_string(),
            })
        })
        .collect();
    json!([{ "index": "1", "servers": servers }])
}

fn total_length(v: &JobView) -> u64 {
    v.job.size.unwrap_or_else(|| {
        if v.job.state.is_done() {
            v.job.bytes_done
        } else {
            0
        }
    })
}

pub(crate) fn completed_length(v: &JobView) -> u64 {
    if v.job.state.is_done() {
        return total_length(v);
    }
    match &v.live {
        Some(l) if state(v) == State::Active => l.bytes.max(v.job.bytes_done),
        _ => v.job.bytes_done,
    }
}

/// (pieceLength, numPieces, bitfield): the completion bitmap in hex, high bit = piece 0.
pub(crate) fn pieces(v: &JobView) -> (u64, u64, Option<String>) {
    let Some(size) = v.job.size.filter(|&s| s > 0) else {
        return (v.job.piece_size.unwrap_or(MIN_PIECE), 0, None);
    };
    let piece = v
        .job
        .piece_size
        .filter(|&p| p > 0)
        .unwrap_or_else(|| piece_size_for(size));
    let map = if v.job.bitmap.is_empty() {
        let mut m = PieceMap::new(size, piece);
        if v.job.state.is_done() {
            (0..m.count()).for_each(|i| m.set_done(i));
        }
        Some(m)
    } else {
        PieceMap::from_bytes(size, piece, &v.job.bitmap)
    };
    let bits = map.map(|m| m.as_bytes().iter().map(|b| format!("{b:02x}")).collect());
    (piece, size.div_ceil(piece), bits)
}

/// aria2's exit code for a ddm error: 2 timeout, 3 not found, 5 too slow, 6 network, 9 no
/// space, 13 file already existed, 16 file could not be opened, 17 I/O, 19 name resolution,
/// 22 bad response, 24 authorization, 29 server overloaded, 32 checksum, 1 anything else.
pub(crate) fn error_code(e: &JobError) -> u32 {
    let m = e.message.as_str();
    let http = |codes: &[u16]| codes.iter().any(|c| m.contains(&format!("HTTP {c}")));
    match e.kind {
        ErrorKind::NoSpace => 9,
        ErrorKind::Checksum => 32,
        ErrorKind::Storage => 17,
        ErrorKind::DirChanged => 16,
        ErrorKind::Deadline if m.starts_with("too slow") => 5,
        ErrorKind::Deadline => 2,
        ErrorKind::RemoteChanged => 22,
        ErrorKind::NotFound => 3,
        ErrorKind::Auth => 24,
        ErrorKind::Tls => 1,
        ErrorKind::Exists => 13,
        ErrorKind::Store | ErrorKind::Internal | ErrorKind::Dependency => 1,
        ErrorKind::Probe | ErrorKind::Transfer | ErrorKind::GaveUp => {
            if http(&[404, 410]) {
                3
            } else if http(&[401, 403, 407]) {
                24
            } else if http(&[503]) {
                29
            } else if m.contains("could not resolve") {
                19
            } else if m.contains("timed out") || m.contains("stalled") {
                2
            } else if e.kind == ErrorKind::Transfer || m.contains("invalid response") {
                22
            } else {
                6
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_map_to_aria2_exit_codes() {
        let c = |k, m: &str| error_code(&JobError::new(k, m));
        assert_eq!(c(ErrorKind::Probe, "http://h/x: HTTP 404 (not found)"), 3);
        assert_eq!(
            c(ErrorKind::Probe, "http://h/x: HTTP 401 (unauthorized)"),
            24
        );
        assert_eq!(c(ErrorKind::Probe, "could not resolve the host name"), 19);
        assert_eq!(c(ErrorKind::GaveUp, "connection refused"), 6);
        assert_eq!(c(ErrorKind::Transfer, "HTTP 500"), 22);
        assert_eq!(c(ErrorKind::NoSpace, "x"), 9);
        assert_eq!(c(ErrorKind::Checksum, "x"), 32);
        assert_eq!(c(ErrorKind::Deadline, "too slow: 1 B/s"), 5);
        assert_eq!(c(ErrorKind::Deadline, "time limit: 3 s"), 2);
    }
}

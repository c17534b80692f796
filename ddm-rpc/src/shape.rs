//! ddm's own JSON for its page (`ddm.*` methods and `ddm.onUpdate`): a job as the queue shows
//! it, its open connections (lanes) and completion map, its speed history and log of
//! happenings, and the runner. Numbers are JSON numbers (not aria2's strings); URLs without
//! passwords; a header that carries a credential shows its name and `***`, never its value;
//! a login shows its user name only.

use crate::gid::Gids;
use crate::status;
use ddm_core::model::{redact_text, redact_url};
use ddm_core::service::{Globals, Happening, JobView, Logged, Runner, Track};
use ddm_core::store::StateKind;
use serde_json::{json, Value};

/// The state the page shows: the store's (with `waiting` while a runner holds a job waiting
/// for a fresh link), or `removed`.
pub(crate) fn state(v: &JobView) -> &'static str {
    if v.removed {
        return "removed";
    }
    match v.job.shown() {
        StateKind::Running => "running",
        k => k.name(),
    }
}

/// The name the page shows: the file's, else the last part of the URL.
fn name(v: &JobView) -> String {
    if let Some(n) = &v.job.file_name {
        return n.clone();
    }
    let u = redact_url(&v.job.url);
    let path = u.split(['?', '#']).next().unwrap_or(&u);
    path.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(&u)
        .to_string()
}

/// One job, as the queue lists it (with its settings, secrets hidden).
pub(crate) fn job(v: &JobView, gids: &Gids) -> Value {
    let j = &v.job;
    let st = state(v);
    let live = v.live.as_ref().filter(|_| st == "running");
    let s = &j.settings;
    let headers: Vec<Value> = s
        .headers
        .iter()
        .map(|h| {
            let value = if h.is_secret() {
                "***"
            } else {
                h.value.as_str()
            };
            json!({ "name": h.name, "value": value, "secret": h.is_secret() })
        })
        .collect();
    let error = j
        .state
        .error()
        .map(|e| json!({ "kind": e.kind.as_str(), "message": redact_text(&e.message) }));
    json!({
        "gid": gids.shown(j.id),
        "id": j.id,
        "name": name(v),
        "state": st,
        "size": j.size,
        "done": status::completed_length(v),
        "speed": live.map_or(0, |l| l.speed),
        "connections": live.map_or(0, |l| l.connections),
        "maxConnections": live.map_or(0, |l| l.max_connections),
        "position": v.position,
        "dir": j.dest_dir.display().to_string(),
        "url": redact_url(&j.url),
        "mirrors": s.mirrors.iter().map(|m| redact_url(m)).collect::<Vec<_>>(),
        "error": error,
        "waiting": j.waits_for_link().map(redact_text),
        // The routing rule that chose where it goes, and the schedule window holding it.
        "rule": j.rule.as_ref().map(|r| json!({ "index": r.index, "name": r.name, "why": r.why })),
        "held": j.held,
        "priority": j.priority,
        "settings": {
            "rate": s.rate_limit,
            "connections": s.connections,
            "checksum": s.checksum.as_deref().map(|c| c.split(':').next().unwrap_or("")),
            "headers": headers,
            "user": s.user.as_ref().map(|u| u.user.clone()),
            "cookies": s.cookies.len(),
            "insecure": s.insecure,
        },
    })
}

/// A running job's open connections and the completion map of its file: pieces done (the
/// last checkpoint's bitmap, hex, high bit first) and each lane's range, received up to
/// `pos` (the rest of its range is in flight or to come).
pub(crate) fn connections(v: &JobView, gids: &Gids) -> Value {
    let (piece, count, bits) = status::pieces(v);
    let lanes: Vec<Value> = v
        .live
        .iter()
        .filter(|_| state(v) == "running")
        .flat_map(|l| l.lanes.iter())
        .map(|l| {
            json!({
                "id": l.id, "url": l.url, "from": l.from, "to": l.to, "pos": l.pos,
                "speed": l.speed, "ttfbMs": l.ttfb_ms,
            })
        })
        .collect();
    json!({
        "gid": gids.shown(v.job.id),
        "size": v.job.size,
        "pieceLength": piece,
        "numPieces": count,
        "bitfield": bits,
        "lanes": lanes,
    })
}

/// One happening of the log.
pub(crate) fn event(e: &Logged) -> Value {
    let mut v = match &e.what {
        Happening::Steal { from, at, end } => {
            json!({ "kind": "steal", "from": from, "at": at, "end": end })
        }
        Happening::Race { from, to } => json!({ "kind": "race", "from": from, "to": to }),
        Happening::RaceEnded { from, to, won } => {
            json!({ "kind": "race-ended", "from": from, "to": to, "won": won })
        }
        Happening::Replaced { from, speed } => {
            json!({ "kind": "replaced", "from": from, "speed": speed })
        }
        Happening::Retry {
            from,
            attempt,
            delay_ms,
            why,
        } => json!({
            "kind": "retry", "from": from, "attempt": attempt, "delayMs": delay_ms,
            "why": redact_text(why),
        }),
    };
    v["seq"] = json!(e.seq);
    v["t"] = json!(e.at_ms);
    v
}

/// A job's speed history (`[t, total, [[lane, speed], ...]]` a second) and its log.
pub(crate) fn track(t: &Track) -> Value {
    let history: Vec<Value> = t
        .history
        .iter()
        .map(|p| json!([p.at_ms, p.speed, p.lanes]))
        .collect();
    json!({
        "history": history,
        "events": t.events.iter().map(event).collect::<Vec<_>>(),
    })
}

/// The runner: its speed (now and a point a second), caps, and connections per host.
pub(crate) fn runner(r: &Runner, g: &Globals, history: bool) -> Value {
    let mut v = json!({
        "speed": g.speed,
        "active": g.active,
        "waiting": g.waiting,
        "stopped": g.stopped,
        "maxRate": g.max_rate,
        "maxActive": g.max_active,
        "maxConnections": r.max_connections,
        "maxPerHost": r.max_per_host,
        "inUse": r.in_use,
        "hosts": r.hosts.iter().map(|h| json!({
            "host": redact_url(&h.host), "open": h.open, "cap": h.cap,
        })).collect::<Vec<_>>(),
        "dir": g.dir.display().to_string(),
        "version": g.version,
    });
    if history {
        v["history"] = r
            .history
            .iter()
            .map(|p| json!([p.at_ms, p.speed]))
            .collect();
    }
    v
}

//! Reads: one download's status, files, sources and connections; the active, waiting and
//! stopped lists (with aria2's offset rules: a negative offset counts from the end and
//! lists newest first); the global numbers and the version. All answer from the service's
//! memory (`Jobs::jobs`, `Jobs::job`).

use super::{Ctx, Params};
use crate::envelope::{Fault, Json};
use crate::status::{self, Keys, State, Status};
use ddm_core::service::JobView;
use serde_json::{json, Value};

fn view(ctx: &Ctx, p: &Params) -> Result<(JobView, String), Fault> {
    let id = p.gid(ctx, 0)?;
    let gid = ctx.gids.shown(id);
    match ctx.jobs.job(id) {
        Some(v) => Ok((v, gid)),
        None => Err(Fault::method(format!("GID {gid} is not found"))),
    }
}

fn keys(p: &Params, i: usize) -> Result<Keys, Fault> {
    Keys::parse(p.get(i)).map_err(|e| Fault::method(format!("{}: {e}", p.method)))
}

pub(super) fn tell_status(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let (v, gid) = view(ctx, p)?;
    Ok(Value::Object(status::status(&v, &gid, &keys(p, 1)?)))
}

pub(super) fn get_uris(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    Ok(status::uris(&view(ctx, p)?.0))
}

pub(super) fn get_files(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    Ok(status::files(&view(ctx, p)?.0))
}

pub(super) fn get_servers(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let (v, gid) = view(ctx, p)?;
    if status::state(&v) != State::Active {
        return Err(Fault::method(format!("No active download for GID#{gid}")));
    }
    Ok(status::servers(&v))
}

/// ddm has no peers (no BitTorrent): an empty list for a download that exists.
pub(super) fn get_peers(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    view(ctx, p)?;
    Ok(json!([]))
}

/// A list of status structs, as JSON text (a thousand jobs, several times a second per
/// front-end: no `Value` tree, and the last answer to the same call again while it holds).
/// `gids`: the GIDs' generation, read before the views were.
fn list(ctx: &Ctx, p: &Params, gids: u64, views: &[JobView], keys: &Keys) -> Result<Json, Fault> {
    let call = format!("{} {}", p.method, Value::Array(p.list.clone()));
    ctx.lists.answer(call, views, gids, || {
        let shown: Vec<String> = views.iter().map(|v| ctx.gids.shown(v.job.id)).collect();
        let statuses: Vec<Status> = views
            .iter()
            .zip(&shown)
            .map(|(view, gid)| Status { view, gid, keys })
            .collect();
        // About 400 bytes a job: one allocation, not a doubling series of copies.
        let mut out = Vec::with_capacity(512 * statuses.len() + 2);
        serde_json::to_writer(&mut out, &statuses)
            .map_err(|e| Fault::method(format!("cannot write the list: {e}")))?;
        String::from_utf8(out).map_err(|e| Fault::method(format!("cannot write the list: {e}")))
    })
}

fn listed(ctx: &Ctx, which: impl Fn(State) -> bool) -> Vec<JobView> {
    ctx.jobs
        .jobs()
        .into_iter()
        .filter(|v| which(status::state(v)))
        .collect()
}

pub(super) fn tell_active(ctx: &Ctx, p: &Params) -> Result<Json, Fault> {
    let keys = keys(p, 0)?;
    let gids = ctx.gids.generation();
    list(ctx, p, gids, &listed(ctx, |s| s == State::Active), &keys)
}

/// `tellWaiting(offset, num, keys?)`: queued and paused downloads in queue order.
pub(super) fn tell_waiting(ctx: &Ctx, p: &Params) -> Result<Json, Fault> {
    let (offset, num, keys) = (p.int(0, "the offset")?, count(p)?, keys(p, 2)?);
    let gids = ctx.gids.generation();
    let mut views = listed(ctx, |s| matches!(s, State::Waiting | State::Paused));
    views.sort_by_key(|v| v.position);
    list(ctx, p, gids, &page(views, offset, num), &keys)
}

/// `tellStopped(offset, num, keys?)`: finished, failed and removed downloads, in the order
/// they stopped.
pub(super) fn tell_stopped(ctx: &Ctx, p: &Params) -> Result<Json, Fault> {
    let (offset, num, keys) = (p.int(0, "the offset")?, count(p)?, keys(p, 2)?);
    let gids = ctx.gids.generation();
    let mut views = listed(ctx, State::stopped);
    views.sort_by_key(|v| (v.job.updated_at, v.job.id));
    list(ctx, p, gids, &page(views, offset, num), &keys)
}

fn count(p: &Params) -> Result<i64, Fault> {
    match p.int(1, "the count")? {
        n if n < 0 => Err(Fault::method(format!(
            "{}: the count must be 0 or more",
            p.method
        ))),
        n => Ok(n),
    }
}

/// aria2's pagination: `num` items from `offset`; a negative offset counts from the end
/// (-1 is the last) and the items come newest first.
fn page<T>(items: Vec<T>, offset: i64, num: i64) -> Vec<T> {
    let size = items.len() as i64;
    if num <= 0 {
        return Vec::new();
    }
    let (start, n) = if offset < 0 {
        let last = offset + size;
        if last < 0 {
            return Vec::new();
        }
        let start = last - (num - 1);
        if start < 0 {
            (0, last + 1)
        } else {
            (start, num)
        }
    } else if offset >= size {
        return Vec::new();
    } else {
        (offset, num)
    };
    let end = (start + n).min(size);
    let mut out: Vec<T> = items
        .into_iter()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect();
    if offset < 0 {
        out.reverse();
    }
    out
}

pub(super) fn global_stat(ctx: &Ctx) -> Result<Value, Fault> {
    let g = ctx.jobs.globals();
    Ok(json!({
        "downloadSpeed": g.speed.to_string(),
        "uploadSpeed": "0",
        "numActive": g.active.to_string(),
        "numWaiting": g.waiting.to_string(),
        "numStopped": g.stopped.to_string(),
        "numStoppedTotal": g.stopped_total.to_string(),
    }))
}

/// ddm's version; the features are those aria2 names that ddm has.
pub(super) fn version(ctx: &Ctx) -> Result<Value, Fault> {
    Ok(json!({
        "version": ctx.jobs.globals().version,
        "enabledFeatures": ["HTTPS", "Message Digest"],
    }))
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn pages_follow_aria2s_rules() {
        let v: Vec<i32> = (0..5).collect();
        assert_eq!(page(v.clone(), 0, 1000), vec![0, 1, 2, 3, 4]);
        assert_eq!(page(v.clone(), 1, 2), vec![1, 2]);
        assert_eq!(page(v.clone(), 5, 2), Vec::<i32>::new());
        assert_eq!(page(v.clone(), -1, 1000), vec![4, 3, 2, 1, 0]);
        assert_eq!(page(v.clone(), -1, 2), vec![4, 3]);
        assert_eq!(page(v.clone(), -2, 2), vec![3, 2]);
        assert_eq!(page(v.clone(), -6, 2), Vec::<i32>::new());
        assert_eq!(page(v, 0, 0), Vec::<i32>::new());
    }
}

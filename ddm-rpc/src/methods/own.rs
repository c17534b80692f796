//! ddm's own methods (`ddm.*`), for its page: what aria2's API cannot tell (each open
//! connection's range, speed and time to first byte, the completion map with what is in
//! flight, the speed history, the log of steals, races, replacements and retries, the
//! connection budget and connections per host) and what it cannot take (a browser's "Copy as
//! cURL" command, a HAR capture, ddm's secret headers). Numbers are JSON numbers; the shapes
//! are in [`crate::shape`]; a job is named by its GID, as in aria2's methods.
//!
//! `ddm.subscribe` (WebSocket only) starts `ddm.onUpdate` notifications on that session: at
//! most five a second, each with the jobs that changed, the runner, and for the job the page
//! has open its lanes and new happenings ([`crate::own`]).

use super::{Ctx, Params};
use crate::envelope::Fault;
use crate::options::Options;
use crate::shape;
use ddm_core::service::AddSpec;
use serde_json::{json, Value};

/// Every `ddm.*` method.
pub(crate) const METHODS: &[&str] = &[
    "ddm.listJobs",
    "ddm.getJob",
    "ddm.getConnections",
    "ddm.getTrack",
    "ddm.getRunner",
    "ddm.changeRunner",
    "ddm.setUrl",
    "ddm.addCurl",
    "ddm.addHar",
    "ddm.subscribe",
];

/// How a call came: `ddm.subscribe` needs a session to push to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Http,
    WebSocket,
}

pub(super) fn call(ctx: &Ctx, p: &Params, via: Via) -> Result<Value, Fault> {
    match p.method {
        "ddm.listJobs" => Ok(ctx
            .jobs
            .jobs()
            .iter()
            .map(|v| shape::job(v, &ctx.gids))
            .collect()),
        "ddm.getJob" => {
            let (id, v) = view(ctx, p)?;
            let track = ctx.jobs.track(id).unwrap_or_default();
            Ok(json!({
                "job": shape::job(&v, &ctx.gids),
                "connections": shape::connections(&v, &ctx.gids),
                "track": shape::track(&track),
            }))
        }
        "ddm.getConnections" => Ok(shape::connections(&view(ctx, p)?.1, &ctx.gids)),
        "ddm.getTrack" => {
            let id = p.gid(ctx, 0)?;
            let t = ctx
                .jobs
                .track(id)
                .ok_or_else(|| ctx.fault(ddm_core::service::ServiceError::NotFound(id)))?;
            Ok(shape::track(&t))
        }
        "ddm.getRunner" => Ok(shape::runner(&ctx.jobs.runner(), &ctx.jobs.globals(), true)),
        "ddm.changeRunner" => change_runner(ctx, p),
        "ddm.setUrl" => {
            let (id, v) = view(ctx, p)?;
            let url = p.string(1, "the URL")?.to_string();
            let (_, added) = ctx
                .jobs
                .change_uris(id, std::slice::from_ref(&v.job.url), &[url])
                .map_err(|e| ctx.fault(e))?;
            Ok(json!(added == 1))
        }
        "ddm.addCurl" => super::adding::curl(ctx, p),
        "ddm.addHar" => super::adding::har(ctx, p),
        "ddm.subscribe" => subscribe(ctx, p, via),
        m => Err(Fault::method(format!("No such method: {m}"))),
    }
}

fn view(ctx: &Ctx, p: &Params) -> Result<(i64, ddm_core::service::JobView), Fault> {
    let id = p.gid(ctx, 0)?;
    let v = ctx
        .jobs
        .job(id)
        .ok_or_else(|| ctx.fault(ddm_core::service::ServiceError::NotFound(id)))?;
    Ok((id, v))
}

/// `ddm.changeRunner({maxRate, maxConnections, maxPerHost, maxActive})`: each given value
/// changes live; all are checked before any changes.
fn change_runner(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let Some(Value::Object(m)) = p.get(0) else {
        return Err(p.wrong("the settings", "a struct"));
    };
    let num = |k: &str| -> Result<Option<u64>, Fault> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                Fault::method(format!("ddm.changeRunner: {k} must be a whole number ≥ 0"))
            }),
        }
    };
    let (rate, total, host, active) = (
        num("maxRate")?,
        num("maxConnections")?,
        num("maxPerHost")?,
        num("maxActive")?,
    );
    for (k, v) in [("maxConnections", total), ("maxPerHost", host)] {
        if v.is_some_and(|v| !(1..=4096).contains(&v)) {
            return Err(Fault::method(format!(
                "ddm.changeRunner: {k} must be between 1 and 4096"
            )));
        }
    }
    if total.is_some() || host.is_some() {
        let r = ctx.jobs.runner();
        let total = total.unwrap_or(r.max_connections as u64) as u32;
        let host = host.unwrap_or(r.max_per_host as u64) as u32;
        ctx.jobs.set_budget(total, host).map_err(|e| ctx.fault(e))?;
    }
    if let Some(r) = rate {
        ctx.jobs.set_global_rate((r > 0).then_some(r));
    }
    if let Some(n) = active {
        ctx.jobs.set_max_active(n.min(1024) as u32);
    }
    Ok(shape::runner(
        &ctx.jobs.runner(),
        &ctx.jobs.globals(),
        false,
    ))
}

/// `ddm.subscribe({job: GID | null})`: the session's updates start (or change which job's
/// lanes they carry). The WebSocket session reads `id` from the answer.
fn subscribe(ctx: &Ctx, p: &Params, via: Via) -> Result<Value, Fault> {
    if via == Via::Http {
        return Err(Fault::method(
            "ddm.subscribe works over the WebSocket at /jsonrpc only: the updates are pushed \
             on it",
        ));
    }
    let job = match p.get(0).and_then(|o| o.get("job")).filter(|j| !j.is_null()) {
        None => None,
        Some(Value::String(g)) => Some(ctx.job_id(g)?),
        Some(_) => return Err(p.wrong("job", "a GID or null")),
    };
    Ok(json!({
        "subscribed": true,
        "job": job.map(|id| ctx.gids.shown(id)),
        "id": job,
    }))
}

/// The options of an add (aria2's names, plus ddm's `secret-header`) for `url`.
pub(super) fn spec(p: &Params, i: usize, url: String) -> Result<AddSpec, Fault> {
    let opts = Options::parse(p.get(i)).map_err(Fault::method)?;
    Ok(opts.into_spec(vec![url], None))
}

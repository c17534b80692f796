//! Options of a download and of the service: `getOption`, `changeOption` (live:
//! `max-download-limit`, `split` / `max-connection-per-server`), `getGlobalOption`,
//! `changeGlobalOption` (live: `max-overall-download-limit`, `max-concurrent-downloads`).
//!
//! A value is checked before anything changes. `changeOption` refuses, naming them, the
//! options ddm keeps as a job was added (its directory, name, headers, credentials,
//! checksum, proxy): the front-end learns the change did not happen. `changeGlobalOption`
//! ignores per-download defaults (front-ends send their whole saved set): the service's
//! config holds those.

use super::{Ctx, Params};
use crate::envelope::Fault;
use crate::options::{self, Options};
use serde_json::{json, Value};

pub(super) fn get_option(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    match ctx.jobs.job(id) {
        Some(v) => Ok(Value::Object(options::of_job(&v))),
        None => Err(Fault::method(format!(
            "GID {} is not found",
            ctx.gids.shown(id)
        ))),
    }
}

fn required(p: &Params, i: usize) -> Result<Options, Fault> {
    match p.get(i) {
        Some(v @ Value::Object(_)) => Options::parse(Some(v)).map_err(Fault::method),
        _ => Err(p.wrong("the options", "a struct of option names and values")),
    }
}

pub(super) fn change_option(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    let opts = required(p, 1)?;
    let fixed: Vec<&str> = opts
        .given
        .iter()
        .map(String::as_str)
        .filter(|n| options::FIXED.contains(n))
        .collect();
    if !fixed.is_empty() {
        return Err(Fault::method(format!(
            "{} cannot be changed on a download that exists: ddm keeps a download's \
             directory, name, headers, credentials, checksum and proxy as it was added \
             (remove it and add it again); changeOption changes {}",
            fixed.join(", "),
            options::CHANGEABLE.join(", ")
        )));
    }
    if let Some(rate) = opts.rate {
        ctx.jobs.set_rate(id, rate).map_err(|e| ctx.fault(e))?;
    }
    if let Some(n) = opts.connections() {
        ctx.jobs.set_connections(id, n).map_err(|e| ctx.fault(e))?;
    }
    Ok(json!("OK"))
}

pub(super) fn get_global_option(ctx: &Ctx) -> Result<Value, Fault> {
    let g = ctx.jobs.globals();
    Ok(json!({
        "dir": g.dir.display().to_string(),
        "max-overall-download-limit": g.max_rate.unwrap_or(0).to_string(),
        "max-concurrent-downloads": g.max_active.to_string(),
    }))
}

pub(super) fn change_global_option(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let opts = required(p, 0)?;
    if let Some(rate) = opts.overall_rate {
        ctx.jobs.set_global_rate(rate);
    }
    if let Some(n) = opts.max_concurrent {
        ctx.jobs.set_max_active(n);
    }
    Ok(json!("OK"))
}

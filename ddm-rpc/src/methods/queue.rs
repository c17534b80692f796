//! Commands: add, pause, unpause, remove, reorder, change sources, forget results, shut down.
//! Each answers as aria2 does: the GID for a command on one download, `"OK"` for the others,
//! the new place for `changePosition`, `[removed, added]` for `changeUri`.

use super::{Ctx, Params};
use crate::envelope::Fault;
use crate::options::Options;
use ddm_core::service::{Move, ServiceError};
use serde_json::{json, Value};

/// `addUri(uris, options?, position?)`: one download of the first URI, the others its
/// mirrors (aria2 also takes them as sources of one file).
pub(super) fn add_uri(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let urls = p.strings(0, "the URIs")?;
    if urls.is_empty() {
        return Err(Fault::method("URI is not provided."));
    }
    let opts = Options::parse(p.get(1)).map_err(Fault::method)?;
    let position = match p.opt_int(2, "the position")? {
        Some(n) if n < 0 => {
            return Err(Fault::method(
                "Position must be greater than or equal to 0.",
            ))
        }
        n => n.map(|n| n as usize),
    };
    let chosen = opts.gid;
    let spec = opts.into_spec(urls, position);
    let id = ctx
        .gids
        .add_with(
            chosen,
            || ctx.jobs.add(spec),
            |g| ServiceError::Invalid(format!("gid {g:016x} is already used by another download")),
        )
        .map_err(|e| ctx.fault(e))?;
    Ok(json!(ctx.gids.shown(id)))
}

pub(super) fn remove(ctx: &Ctx, p: &Params, force: bool) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    let gid = ctx.gids.shown(id);
    ctx.jobs.remove(id, force).map_err(|e| ctx.fault(e))?;
    Ok(json!(gid))
}

pub(super) fn pause(ctx: &Ctx, p: &Params, force: bool) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    ctx.jobs.pause(id, force).map_err(|e| ctx.fault(e))?;
    Ok(json!(ctx.gids.shown(id)))
}

pub(super) fn pause_all(ctx: &Ctx, force: bool) -> Result<Value, Fault> {
    ctx.jobs.pause_all(force);
    Ok(json!("OK"))
}

pub(super) fn unpause(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    ctx.jobs.resume(id).map_err(|e| ctx.fault(e))?;
    Ok(json!(ctx.gids.shown(id)))
}

pub(super) fn unpause_all(ctx: &Ctx) -> Result<Value, Fault> {
    ctx.jobs.resume_all();
    Ok(json!("OK"))
}

/// `changePosition(gid, pos, how)`: the runner claims in the queue's order.
pub(super) fn change_position(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    let pos = p.int(1, "the position")?;
    let to = match p.string(2, "how (POS_SET, POS_CUR or POS_END)")? {
        "POS_SET" => Move::Set(pos),
        "POS_CUR" => Move::Cur(pos),
        "POS_END" => Move::End(pos),
        other => {
            return Err(Fault::method(format!(
                "Illegal argument: how must be POS_SET, POS_CUR or POS_END, not {other:?}"
            )))
        }
    };
    let place = ctx.jobs.move_job(id, to).map_err(|e| ctx.fault(e))?;
    Ok(json!(place))
}

/// `changeUri(gid, fileIndex, delUris, addUris, position?)`: the job's URL and mirrors.
/// ddm adds new sources after the others (`position` is not used).
pub(super) fn change_uri(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    if p.int(1, "the file index")? != 1 {
        return Err(Fault::method(
            "fileIndex is out of range: a ddm download has one file, index 1",
        ));
    }
    let del = p.strings(2, "the URIs to remove")?;
    let add = p.strings(3, "the URIs to add")?;
    let (removed, added) = ctx
        .jobs
        .change_uris(id, &del, &add)
        .map_err(|e| ctx.fault(e))?;
    Ok(json!([removed, added]))
}

pub(super) fn purge(ctx: &Ctx) -> Result<Value, Fault> {
    ctx.jobs.purge();
    ctx.gids.retain(&ctx.jobs.jobs());
    Ok(json!("OK"))
}

pub(super) fn remove_result(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let id = p.gid(ctx, 0)?;
    ctx.jobs.forget(id).map_err(|e| ctx.fault(e))?;
    ctx.gids.retain(&ctx.jobs.jobs());
    Ok(json!("OK"))
}

/// `shutdown` / `forceShutdown`: answered first, the service told shortly after (as aria2
/// does), so the client gets its `"OK"`.
pub(super) fn shutdown(ctx: &Ctx, force: bool) -> Result<Value, Fault> {
    let jobs = ctx.jobs.clone();
    let after = ctx.shutdown_after;
    std::thread::Builder::new()
        .name("rpc-shutdown".into())
        .spawn(move || {
            std::thread::sleep(after);
            jobs.shutdown(force);
        })
        .map_err(|e| Fault::method(format!("could not start the shutdown: {e}")))?;
    Ok(json!("OK"))
}

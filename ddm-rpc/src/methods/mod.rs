//! aria2's methods: the token check, dispatch by name, `system.multicall`,
//! `system.listMethods` and `system.listNotifications`. Each method only translates its
//! parameters onto [`Jobs`] and the answer back (`queue`: commands; `read`: lists and
//! status; `settings`: options); every decision stays behind the trait.
//!
//! Methods run on a blocking thread (a `Jobs` call may touch SQLite); they never sleep.

mod adding;
mod lists;
mod own;
mod queue;
mod read;
mod settings;

pub(crate) use own::Via;

use crate::auth;
use crate::envelope::{Fault, Json};
use crate::gid::Gids;
use ddm_core::model::redact_text;
use ddm_core::service::{Jobs, ServiceError};
use serde_json::{json, Value};
use std::sync::Arc;

/// Every method, as `system.listMethods` names them.
pub(crate) const METHODS: &[&str] = &[
    "aria2.addUri",
    "aria2.addTorrent",
    "aria2.getPeers",
    "aria2.addMetalink",
    "aria2.remove",
    "aria2.pause",
    "aria2.forcePause",
    "aria2.pauseAll",
    "aria2.forcePauseAll",
    "aria2.unpause",
    "aria2.unpauseAll",
    "aria2.forceRemove",
    "aria2.changePosition",
    "aria2.tellStatus",
    "aria2.getUris",
    "aria2.getFiles",
    "aria2.getServers",
    "aria2.tellActive",
    "aria2.tellWaiting",
    "aria2.tellStopped",
    "aria2.getOption",
    "aria2.changeUri",
    "aria2.changeOption",
    "aria2.getGlobalOption",
    "aria2.changeGlobalOption",
    "aria2.purgeDownloadResult",
    "aria2.removeDownloadResult",
    "aria2.getVersion",
    "aria2.getSessionInfo",
    "aria2.shutdown",
    "aria2.forceShutdown",
    "aria2.getGlobalStat",
    "aria2.saveSession",
    "system.multicall",
    "system.listMethods",
    "system.listNotifications",
];

/// Every notification sent over WebSocket.
pub(crate) const NOTIFICATIONS: &[&str] = &[
    "aria2.onDownloadStart",
    "aria2.onDownloadPause",
    "aria2.onDownloadStop",
    "aria2.onDownloadComplete",
    "aria2.onDownloadError",
];

/// What every call needs: the service, the secret, the GIDs clients chose.
pub(crate) struct Ctx {
    pub jobs: Arc<dyn Jobs>,
    pub secret: String,
    pub gids: Arc<Gids>,
    /// `getSessionInfo`: random, new each start.
    pub session_id: String,
    /// How long after answering `shutdown` the service is told to stop.
    pub shutdown_after: std::time::Duration,
    /// The last answers to the long lists.
    pub lists: lists::Lists,
}

impl Ctx {
    /// The job a GID parameter names.
    fn job_id(&self, gid: &str) -> Result<i64, Fault> {
        self.gids
            .resolve(self.jobs.as_ref(), gid)
            .map_err(Fault::method)
    }
    /// A service error as a method error; URLs in it shown without passwords.
    fn fault(&self, e: ServiceError) -> Fault {
        Fault::method(match e {
            ServiceError::NotFound(id) => format!("GID {} is not found", self.gids.shown(id)),
            ServiceError::Invalid(m) | ServiceError::State(m) => redact_text(&m),
            ServiceError::Failed { kind, message } => format!("{kind}: {}", redact_text(&message)),
        })
    }
}

/// Run one call. `denied` is set when it (or a call inside it) had a wrong or missing token.
pub(crate) fn call(
    ctx: &Ctx,
    method: &str,
    mut params: Vec<Value>,
    denied: &mut bool,
    via: Via,
) -> Result<Json, Fault> {
    match method {
        "system.listMethods" => return Ok(json!(METHODS).into()),
        "system.listNotifications" => return Ok(json!(NOTIFICATIONS).into()),
        "system.multicall" => return multicall(ctx, params, denied, via),
        _ => {}
    }
    let token = auth::take_token(&mut params);
    if !auth::check(&ctx.secret, token.as_deref()) {
        *denied = true;
        return Err(Fault::method(auth::UNAUTHORIZED));
    }
    // The name only (never the parameters: they may hold credentials), and only a known one.
    if let Some(m) = METHODS.iter().chain(own::METHODS).find(|m| **m == method) {
        tracing::debug!(method = m, "rpc call");
    }
    let p = Params {
        method,
        list: params,
    };
    if method.starts_with("ddm.") {
        return own::call(ctx, &p, via).map(Json::from);
    }
    // The lists come as text already (written straight from the jobs).
    match method {
        "aria2.tellActive" => return read::tell_active(ctx, &p),
        "aria2.tellWaiting" => return read::tell_waiting(ctx, &p),
        "aria2.tellStopped" => return read::tell_stopped(ctx, &p),
        _ => {}
    }
    let value = match method {
        "aria2.addUri" => queue::add_uri(ctx, &p),
        "aria2.addTorrent" | "aria2.addMetalink" => Err(Fault::method(format!(
            "{method} is not supported by ddm yet: it downloads http and https URLs; \
             give the file's URL to aria2.addUri"
        ))),
        "aria2.remove" => queue::remove(ctx, &p, false),
        "aria2.forceRemove" => queue::remove(ctx, &p, true),
        "aria2.pause" => queue::pause(ctx, &p, false),
        "aria2.forcePause" => queue::pause(ctx, &p, true),
        "aria2.pauseAll" => queue::pause_all(ctx, false),
        "aria2.forcePauseAll" => queue::pause_all(ctx, true),
        "aria2.unpause" => queue::unpause(ctx, &p),
        "aria2.unpauseAll" => queue::unpause_all(ctx),
        "aria2.changePosition" => queue::change_position(ctx, &p),
        "aria2.changeUri" => queue::change_uri(ctx, &p),
        "aria2.purgeDownloadResult" => queue::purge(ctx),
        "aria2.removeDownloadResult" => queue::remove_result(ctx, &p),
        "aria2.shutdown" => queue::shutdown(ctx, false),
        "aria2.forceShutdown" => queue::shutdown(ctx, true),
        // The store is written as things happen: there is no session to save.
        "aria2.saveSession" => Ok(json!("OK")),
        "aria2.tellStatus" => read::tell_status(ctx, &p),
        "aria2.getUris" => read::get_uris(ctx, &p),
        "aria2.getFiles" => read::get_files(ctx, &p),
        "aria2.getServers" => read::get_servers(ctx, &p),
        "aria2.getPeers" => read::get_peers(ctx, &p),
        "aria2.getGlobalStat" => read::global_stat(ctx),
        "aria2.getVersion" => read::version(ctx),
        "aria2.getSessionInfo" => Ok(json!({ "sessionId": ctx.session_id })),
        "aria2.getOption" => settings::get_option(ctx, &p),
        "aria2.changeOption" => settings::change_option(ctx, &p),
        "aria2.getGlobalOption" => settings::get_global_option(ctx),
        "aria2.changeGlobalOption" => settings::change_global_option(ctx, &p),
        _ => Err(Fault::method(format!("No such method: {method}"))),
    };
    value.map(Json::from)
}

/// `system.multicall([{methodName, params}, ...])`: an array with, per call, `[result]` or
/// `{code, message}`. Each call carries its own token.
fn multicall(
    ctx: &Ctx,
    mut params: Vec<Value>,
    denied: &mut bool,
    via: Via,
) -> Result<Json, Fault> {
    // Not aria2's: a token given to the multicall itself is ignored like listMethods' is.
    auth::take_token(&mut params);
    let Some(Value::Array(calls)) = params.into_iter().next() else {
        return Err(Fault::method(
            "system.multicall: the parameter must be an array of {methodName, params} structs",
        ));
    };
    // `[[result], {code, message}, ...]`, written as text: a result may be text already.
    let mut out = String::from("[");
    for (i, c) in calls.into_iter().enumerate() {
        let r = match c {
            Value::Object(mut spec) => match spec.get("methodName").and_then(Value::as_str) {
                None => Err(Fault::method("Missing methodName.")),
                Some("system.multicall") => {
                    Err(Fault::method("Recursive system.multicall forbidden."))
                }
                Some(m) => {
                    let m = m.to_string();
                    let params = match spec.remove("params") {
                        Some(Value::Array(p)) => p,
                        _ => Vec::new(),
                    };
                    call(ctx, &m, params, denied, via)
                }
            },
            _ => Err(Fault::method("system.multicall expected struct.")),
        };
        if i > 0 {
            out.push(',');
        }
        match r {
            Ok(v) => {
                out.push('[');
                v.push_to(&mut out);
                out.push(']');
            }
            Err(f) => out.push_str(&json!({ "code": f.code, "message": f.message }).to_string()),
        }
    }
    out.push(']');
    Ok(Json::Text(out.into()))
}

/// A call's parameters (after the token), with errors that name the method and parameter.
pub(crate) struct Params<'a> {
    pub(crate) method: &'a str,
    list: Vec<Value>,
}

impl Params<'_> {
    /// Parameter `i`; `null` counts as absent (JavaScript clients send `undefined` as it).
    fn get(&self, i: usize) -> Option<&Value> {
        self.list.get(i).filter(|v| !v.is_null())
    }
    fn wrong(&self, what: &str, kind: &str) -> Fault {
        Fault::method(format!("{}: {what} must be {kind}", self.method))
    }
    fn string(&self, i: usize, what: &str) -> Result<&str, Fault> {
        self.get(i)
            .and_then(Value::as_str)
            .ok_or_else(|| self.wrong(what, "a string"))
    }
    fn gid(&self, ctx: &Ctx, i: usize) -> Result<i64, Fault> {
        ctx.job_id(self.string(i, "the GID")?)
    }
    /// An integer (also given as its text).
    fn int(&self, i: usize, what: &str) -> Result<i64, Fault> {
        match self.get(i) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| self.wrong(what, "an integer"))
    }
    fn opt_int(&self, i: usize, what: &str) -> Result<Option<i64>, Fault> {
        self.get(i).map(|_| self.int(i, what)).transpose()
    }
    fn list(&self, i: usize, what: &str) -> Result<&[Value], Fault> {
        match self.get(i) {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(self.wrong(what, "an array")),
        }
    }
    /// Strings of a list; other items are skipped (aria2's).
    fn strings(&self, i: usize, what: &str) -> Result<Vec<String>, Fault> {
        Ok(self
            .list(i, what)?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }
}

//! Notifications: the service's [`Notice`]s (whatever caused them: a front-end, `ddm pause`
//! in another terminal, a failure) turned into aria2's notifications and handed to every
//! open WebSocket session: `{"jsonrpc": "2.0", "method": "aria2.onDownloadStart", "params":
//! [{"gid": ...}]}`.
//!
//! `Jobs::subscribe` gives a blocking receiver: one thread reads it and stops within
//! [`POLL`] of the front being stopped.

use crate::gid::Gids;
use ddm_core::service::{Jobs, Notice};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::broadcast;

const POLL: Duration = Duration::from_millis(200);

/// aria2's notification for a notice (None: ddm's own, sent by `own::pump` to the sessions
/// that asked with `ddm.subscribe`).
pub(crate) fn method(n: Notice) -> Option<(&'static str, i64)> {
    Some(match n {
        Notice::Started(id) => ("aria2.onDownloadStart", id),
        Notice::Paused(id) => ("aria2.onDownloadPause", id),
        Notice::Stopped(id) => ("aria2.onDownloadStop", id),
        Notice::Complete(id) => ("aria2.onDownloadComplete", id),
        Notice::Error(id) => ("aria2.onDownloadError", id),
        Notice::Changed(_) | Notice::Progress(_) | Notice::Happened(_) => return None,
    })
}

/// Start the thread that forwards notices until `stop` is set.
pub(crate) fn pump(
    jobs: &dyn Jobs,
    gids: Arc<Gids>,
    to: broadcast::Sender<Arc<str>>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let from = jobs.subscribe();
    std::thread::Builder::new()
        .name("rpc-notify".into())
        .spawn(move || loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match from.recv_timeout(POLL) {
                Ok(n) => {
                    let Some((method, id)) = method(n) else {
                        continue;
                    };
                    let text = json!({
                        "jsonrpc": "2.0",
                        "method": method,
                        "params": [{ "gid": gids.shown(id) }],
                    })
                    .to_string();
                    // No session open: nobody to tell.
                    let _ = to.send(text.into());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        })
}

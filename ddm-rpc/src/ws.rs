//! WebSocket at `/jsonrpc` (RFC 6455): calls and answers as text frames, and the
//! notifications (`aria2.onDownloadStart`, ...) pushed to every open session; a session that
//! called `ddm.subscribe` also gets ddm's own `ddm.onUpdate` batches ([`crate::updates`]).
//!
//! An upgrade from a web page that is not allowed is refused with 403 ([`crate::origin`]);
//! sessions are capped (503 past the cap). A message over `max_body` or a malformed frame
//! (bad opcode, unmasked, invalid UTF-8 in a text frame) ends that session only. A session
//! answers its messages one at a time (a refused token holds its own session back, no
//! other); notifications go out meanwhile. A ping every `ping_every`: a client whose pongs
//! stop is dropped by the connection's idle timeout. A session too slow to take its
//! notifications skips those it missed rather than holding memory.

use crate::envelope::{self, Reply};
use crate::http::App;
use crate::methods::Via;
use crate::origin::Verdict;
use crate::updates::Batch;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

pub(crate) async fn upgrade(app: Arc<App>, req: Request) -> Response {
    let h = req.headers();
    let text = |k| {
        h.get(k)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let origin = text(header::ORIGIN);
    if app.policy.judge(origin, text(header::HOST)) == Verdict::Refused {
        let origin = origin.unwrap_or_default();
        tracing::warn!("rpc: WebSocket from page {origin:?} refused (not --allow-origin)");
        let why = format!(
            "WebSocket from the page {origin:?} refused: ddm serve lets in only the page \
             given with --allow-origin"
        );
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let Ok(slot) = app.ws_slots.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket sessions are open; close one or use HTTP",
        )
            .into_response();
    };
    let (mut parts, _) = req.into_parts();
    let up = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    up.max_message_size(app.max_body)
        .max_frame_size(app.max_body)
        .on_upgrade(move |socket| async move {
            session(app, socket).await;
            drop(slot);
        })
}

type Pending = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What a `ddm.subscribe` answer asks of the session: updates, with the lanes of this job.
fn subscribed(reply: &Reply) -> Option<Option<i64>> {
    // Unescaped quotes: only a key can match (inside a string they are `\"`), so the answers
    // of every other call (lists of a thousand jobs) are not parsed again.
    if !reply.body.contains("\"subscribed\":true") {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(&reply.body).ok()?;
    let r = body.get("result")?;
    (r.get("subscribed")? == true).then(|| r.get("id").and_then(serde_json::Value::as_i64))
}

async fn session(app: Arc<App>, mut socket: WebSocket) {
    let mut notices = app.notices.subscribe();
    // `ddm.onUpdate`, once the page asked (`ddm.subscribe`), with the job it has open.
    let mut updates: Option<broadcast::Receiver<Arc<Batch>>> = None;
    let mut open: Option<i64> = None;
    let mut ping = tokio::time::interval(app.ping_every);
    ping.tick().await;
    let mut pending: Option<Pending> = None;
    loop {
        tokio::select! {
            reply = async { pending.as_mut().expect("guarded").await }, if pending.is_some() => {
                pending = None;
                if let Some(job) = subscribed(&reply) {
                    open = job;
                    updates.get_or_insert_with(|| app.batches.subscribe());
                }
                let text = reply.body;
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            msg = socket.recv(), if pending.is_none() => {
                let bytes = match msg {
                    Some(Ok(Message::Text(t))) => axum::body::Bytes::from(t),
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        tracing::info!("rpc: WebSocket session closed: {e}");
                        break;
                    }
                };
                let app = app.clone();
                pending = Some(Box::pin(async move {
                    app.answer(move |ctx| envelope::reply(ctx, &bytes, Via::WebSocket)).await
                }));
            }
            n = notices.recv() => match n {
                Ok(text) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!("rpc: a WebSocket session missed {missed} notifications");
                }
                Err(RecvError::Closed) => break,
            },
            b = async { updates.as_mut().expect("guarded").recv().await }, if updates.is_some() => {
                match b {
                    Ok(batch) => {
                        let text = batch.message(open);
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    // A page too slow for five a second skips batches: it is told to read
                    // the whole list again (`ddm.listJobs`).
                    Err(RecvError::Lagged(_)) => {
                        let text = r#"{"jsonrpc":"2.0","method":"ddm.onUpdate","params":[{"resync":true}]}"#;
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Err(RecvError::Closed) => updates = None,
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(axum::body::Bytes::new())).await.is_err() {
                    break;
                }
            }
        }
    }
}

//! HTTP at `/jsonrpc`: POST (any Content-Type, or none: aria2p sends none, extensions send
//! `text/plain`), GET (AriaNg's GET mode, JSONP), OPTIONS (the CORS preflight), and the
//! WebSocket upgrade (handed to [`crate::ws`]). GET of any other path: ddm's page
//! ([`crate::page`]), else 404; other methods 405.
//!
//! Limits: a body over `max_body` is refused with 413 before it is read (by its
//! Content-Length) or as soon as it passes the limit; a body that does not arrive within
//! `body_timeout` gets 408. A call runs on a blocking thread; an answer with a wrong or
//! missing token is held back `auth_delay` on this request's task alone, so other clients
//! are not delayed. CORS headers only for the allowed origin ([`crate::origin`]).

use crate::envelope::{self, Fault, Reply};
use crate::methods::{Ctx, Via};
use crate::origin::Policy;
use crate::query;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Semaphore};

/// Everything the handlers share.
pub(crate) struct App {
    pub ctx: Arc<Ctx>,
    pub policy: Policy,
    pub max_body: usize,
    pub body_timeout: Duration,
    pub auth_delay: Duration,
    /// Interval between the pings a WebSocket session sends (its pongs keep it alive).
    pub ping_every: Duration,
    /// Notifications, as their JSON text, for every WebSocket session.
    pub notices: broadcast::Sender<Arc<str>>,
    /// `ddm.onUpdate` batches, for the sessions that asked (`ddm.subscribe`).
    pub batches: broadcast::Sender<Arc<crate::updates::Batch>>,
    /// Open WebSocket sessions at most.
    pub ws_slots: Arc<Semaphore>,
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/jsonrpc", get(on_get).post(on_post).options(on_options))
        .fallback(get(on_page))
        .with_state(app)
}

impl App {
    /// Answer a message on a blocking thread; hold a refused token's answer back.
    pub(crate) async fn answer(&self, work: impl FnOnce(&Ctx) -> Reply + Send + 'static) -> Reply {
        let ctx = self.ctx.clone();
        let reply = match tokio::task::spawn_blocking(move || work(&ctx)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("rpc: a call failed: {e}");
                Reply::fault(Fault {
                    code: -32603,
                    message: "Internal error.".into(),
                })
            }
        };
        if reply.unauthorized {
            tracing::warn!("rpc: a call with a wrong or missing token was refused");
            tokio::time::sleep(self.auth_delay).await;
        }
        reply
    }
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

async fn on_post(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let cors = app.policy.cors(origin(&headers));
    let reply = match read_body(&app, &headers, body).await {
        Ok(bytes) => {
            app.answer(move |ctx| envelope::reply(ctx, &bytes, Via::Http))
                .await
        }
        Err(r) => r,
    };
    respond(reply, None, cors)
}

/// ddm's own page and its files ([`crate::page`]).
async fn on_page(req: Request) -> Response {
    crate::page::serve(req.uri().path())
}

async fn on_get(State(app): State<Arc<App>>, req: Request) -> Response {
    if req.headers().contains_key(header::UPGRADE) {
        return crate::ws::upgrade(app, req).await;
    }
    let cors = app.policy.cors(origin(req.headers()));
    let call = match query::decode(req.uri().query().unwrap_or("")) {
        Ok(c) => c,
        Err(f) => return respond(Reply::fault(f), None, cors),
    };
    let message = call.message;
    let reply = app
        .answer(move |ctx| envelope::reply_value(ctx, message, Via::Http))
        .await;
    respond(reply, call.callback, cors)
}

/// The CORS preflight: the allowed origin gets the methods, the headers it asks for, and
/// a max age (aria2's); any other origin an empty 200, which the browser takes as a no.
async fn on_options(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let mut r = StatusCode::OK.into_response();
    let asks = headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (Some(allow), true) = (app.policy.cors(origin(&headers)), asks) {
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("1728000"),
        );
        if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

/// The body, within the size and time limits.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, Reply> {
    let too_large = || Reply {
        body: json!({"id": null, "jsonrpc": "2.0", "error": {"code": -32600, "message":
            format!("Request too large: ddm accepts at most {} bytes in one request \
                     (send fewer calls at once)", app.max_body)}})
        .to_string(),
        status: 413,
        unauthorized: false,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, app.max_body);
    match tokio::time::timeout(app.body_timeout, limited.collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(Reply::fault(Fault::parse_error())),
        Err(_) => Err(Reply {
            body: json!({"id": null, "jsonrpc": "2.0", "error": {"code": -32600, "message":
                "Request timeout: the body did not arrive in time"}})
            .to_string(),
            status: 408,
            unauthorized: false,
        }),
    }
}

/// An answer as aria2 writes it: `application/json-rpc`, or JSONP as `text/javascript`.
fn respond(reply: Reply, callback: Option<String>, cors: Option<HeaderValue>) -> Response {
    let text = reply.body;
    let (body, kind) = match callback {
        Some(cb) => (format!("{cb}({text})"), "text/javascript"),
        None => (text, "application/json-rpc"),
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(allow) = cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

//! ddm's own page, served at `/` by the same listener as the RPC: plain HTML, CSS and
//! JavaScript written for it (`ddm-rpc/page/`), embedded in the binary, nothing fetched from
//! elsewhere (it works offline). The page is public like AriaNg's files: it holds no secret;
//! every call it makes carries the token the user gave it. Served with a content security
//! policy that lets it load only its own files and talk only to its own origin, and with
//! framing refused (no clickjacking of its buttons).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// (path, content type, body).
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../page/index.html"),
    ),
    (
        "/ui/style.css",
        "text/css; charset=utf-8",
        include_str!("../page/style.css"),
    ),
    ("/ui/rpc.js", JS, include_str!("../page/rpc.js")),
    ("/ui/format.js", JS, include_str!("../page/format.js")),
    ("/ui/queue.js", JS, include_str!("../page/queue.js")),
    ("/ui/graph.js", JS, include_str!("../page/graph.js")),
    ("/ui/job.js", JS, include_str!("../page/job.js")),
    ("/ui/add.js", JS, include_str!("../page/add.js")),
    ("/ui/runner.js", JS, include_str!("../page/runner.js")),
    ("/ui/app.js", JS, include_str!("../page/app.js")),
    (
        "/favicon.ico",
        "image/svg+xml",
        include_str!("../page/icon.svg"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The page's file at `path`, or 404.
pub(crate) fn serve(path: &str) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut r = (StatusCode::OK, *body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

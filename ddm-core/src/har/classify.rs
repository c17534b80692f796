//! Decides whether a final (non-redirect) response looks like a file download, and
//! scores it.
//!
//! Hard exclusions (reported as skipped, with the reason): no response / status 0 /
//! network error without a 2xx; any method but GET; 304 and other non-2xx; 204/205;
//! a known empty body; fonts (by MIME type, Chrome resource type, or a `.woff`/`.ttf`/...
//! name, even when sent as an attachment); favicons; streaming manifests and media
//! segments. Unless the response is an attachment: HTML, scripts, stylesheets, JSON/XML
//! and other API payloads, beacons, images under 1 MiB (or of unknown size), and bodies
//! under 1 KiB.
//!
//! Score of what remains (higher is better):
//! * `Content-Disposition: attachment` +150 (`inline` with a filename +30);
//! * type: archives, installers, documents, `application/octet-stream` and other
//!   binary `application/*` +60; audio/video +50; other text +20; none/unknown +20;
//!   large images +10;
//! * a download-like extension (`.zip`, `.iso`, `.pdf`, `.mp4`, ...) in the
//!   attachment filename or URL path +30;
//! * size: `10 × log2(bytes / 1 KiB)`, clamped to −50..=250 (1 MiB = 100,
//!   1 GiB = 200); unknown size 0.
//!
//! So +10 points is a doubling of size and an attachment is worth a 2^15 size ratio.

use url::Url;

use crate::har::model::Entry;

/// Facts about a final response that classification looks at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub method: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// Lower-cased MIME essence (no parameters); `None` for none / "x-unknown".
    pub mime: Option<String>,
    pub disposition: Option<String>,
    pub size: Option<u64>,
    pub resource_type: Option<String>,
}

/// Outcome: a score and the parts of the human `why`, or a skip reason.
pub(crate) type Verdict = Result<(i32, Vec<String>), String>;

const DOWNLOAD_EXTS: &[&str] = &[
    "zip", "7z", "rar", "tar", "gz", "tgz", "bz2", "xz", "zst", "iso", "img", "dmg", "pkg", "exe",
    "msi", "deb", "rpm", "apk", "appimage", "jar", "whl", "bin", "pdf", "epub", "csv", "docx",
    "xlsx", "pptx", "odt", "mp4", "mkv", "webm", "mov", "avi", "mp3", "flac", "wav", "m4a", "ogg",
];
const FONT_EXTS: &[&str] = &["woff", "woff2", "ttf", "otf", "eot"];
const API_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/csp-report",
    "application/x-ndjson",
    "text/event-stream",
];

/// Lower-cased MIME essence; "x-unknown" (Chrome's "no type") and "" become `None`.
pub(crate) fn mime_essence(raw: Option<&str>) -> Option<String> {
    let m = raw?.split(';').next()?.trim().to_ascii_lowercase();
    (!m.is_empty() && m != "x-unknown").then_some(m)
}

/// JSON or XML data (`application/json`, `text/xml`, `application/ld+json`, ...), but not
/// images (`image/svg+xml`) nor office documents (`...openxmlformats...`).
fn is_structured(mime: &str) -> bool {
    let Some((top, sub)) = mime.split_once('/') else {
        return false;
    };
    let data =
        ["json", "xml", "x-json"].contains(&sub) || sub.ends_with("+json") || sub.ends_with("+xml");
    top != "image" && data
}

/// True if the disposition type is `attachment`.
pub(crate) fn is_attachment(disposition: Option<&str>) -> bool {
    disposition
        .and_then(|d| d.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("attachment"))
}

/// The (lower-cased) extension of the `filename=`/`filename*=` parameter, if any.
fn disposition_ext(disposition: &str) -> Option<String> {
    let lower = disposition.to_ascii_lowercase();
    let at = lower
        .find("filename*=")
        .or_else(|| lower.find("filename="))?;
    let value = disposition[at..].split_once('=')?.1.split(';').next()?;
    let name = value.trim().trim_matches('"');
    ext_of(name.rsplit("''").next().unwrap_or(name))
}

fn ext_of(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.trim().to_ascii_lowercase();
    (!ext.is_empty() && ext.len() <= 10).then_some(ext)
}

/// Best-known body size of a response, see [`crate::har::Candidate::size`].
///
/// Order: the total of `Content-Range` (206), a positive `content.size`, a positive
/// `Content-Length`, a positive `bodySize` (only without `Content-Encoding`, since it
/// counts compressed bytes); `Some(0)` if one of them says 0; otherwise `None`.
pub(crate) fn body_size(e: &Entry) -> Option<u64> {
    let status = e.status();
    if let Some(range) = e.response_header("Content-Range") {
        let total = range
            .rsplit_once('/')
            .and_then(|(_, t)| t.trim().parse::<u64>().ok());
        if total.is_some() || status == Some(206) {
            return total;
        }
    }
    let resp = e.response.as_ref()?;
    let content = resp.content.as_ref().and_then(|c| c.size);
    let length = e
        .response_header("Content-Length")
        .and_then(|v| v.split(',').next()?.trim().parse::<f64>().ok());
    let body = resp
        .body_size
        .filter(|_| e.response_header("Content-Encoding").is_none());
    let known: Vec<f64> = [content, length, body]
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    match known.iter().find(|v| **v > 0.0) {
        Some(v) => Some(*v as u64),
        None => known.first().map(|_| 0),
    }
}

/// Human size: "512 B", "12.3 KiB", "4.0 GiB".
pub(crate) fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn size_points(size: Option<u64>) -> i32 {
    match size {
        Some(n) => ((n.max(1) as f64 / 1024.0).log2() * 10.0)
            .round()
            .clamp(-50.0, 250.0) as i32,
        None => 0,
    }
}

/// Classifies the final response of a chain; `url` is its request URL.
pub(crate) fn classify(f: &Facts, url: &Url) -> Verdict {
    let status = match f.status {
        None | Some(0) => {
            let err = f.error.as_deref().unwrap_or("no response");
            return Err(format!("request failed ({err})"));
        }
        Some(s) => s,
    };
    if !f.method.eq_ignore_ascii_case("GET") {
        return Err(if f.method.eq_ignore_ascii_case("HEAD") {
            "HEAD request: no body was transferred (a GET of this URL may be the download)".into()
        } else {
            format!("{} request: only GET downloads can be replayed", f.method)
        });
    }
    match status {
        304 => return Err("304 Not Modified: body came from the browser cache".into()),
        204 | 205 => return Err(format!("HTTP {status}: no content")),
        200..=299 => {}
        s => return Err(format!("HTTP {s}")),
    }
    let attachment = is_attachment(f.disposition.as_deref());
    let mime = f.mime.as_deref().unwrap_or("");
    let path_ext = ext_of(url.path().rsplit('/').next().unwrap_or(""));
    let name_ext = f.disposition.as_deref().and_then(disposition_ext);
    let exts = [name_ext.as_deref(), path_ext.as_deref()];
    let has_ext = |set: &[&str]| exts.iter().flatten().any(|e| set.contains(e));
    let rtype = f
        .resource_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let sized = f
        .size
        .map_or(String::new(), |n| format!(" ({})", human_size(n)));

    if f.size == Some(0) {
        return Err("empty body".into());
    }
    if mime.starts_with("font/") || mime.contains("font") || rtype == "font" || has_ext(FONT_EXTS) {
        return Err(format!("font{sized}"));
    }
    if url.path().eq_ignore_ascii_case("/favicon.ico")
        || mime == "image/x-icon"
        || mime == "image/vnd.microsoft.icon"
    {
        return Err(format!("favicon{sized}"));
    }
    if mime.contains("mpegurl") || mime == "application/dash+xml" || has_ext(&["m3u8", "mpd"]) {
        return Err("streaming manifest (a stream, not a single file)".into());
    }
    if mime == "video/mp2t" || mime.ends_with("/iso.segment") || has_ext(&["m4s"]) {
        return Err(format!("media segment of a stream{sized}"));
    }
    if !attachment {
        let web = if mime == "text/html" || mime == "application/xhtml+xml" {
            Some("HTML page")
        } else if mime.contains("javascript")
            || mime.contains("ecmascript")
            || mime == "application/wasm"
            || rtype == "script"
        {
            Some("script")
        } else if mime == "text/css" || rtype == "stylesheet" {
            Some("stylesheet")
        } else if is_structured(mime)
            || mime.contains("protobuf")
            || mime.starts_with("application/grpc")
            || API_TYPES.contains(&mime)
        {
            Some("API response")
        } else if matches!(
            rtype.as_str(),
            "ping" | "beacon" | "websocket" | "eventsource" | "preflight" | "csp_violation_report"
        ) {
            Some("beacon/ping")
        } else {
            None
        };
        if let Some(what) = web {
            let shown = if mime.is_empty() {
                String::new()
            } else {
                format!(", {mime}")
            };
            return Err(format!("{what}{shown}{sized}"));
        }
        if mime.starts_with("image/") && f.size.is_none_or(|n| n < 1 << 20) {
            return Err(format!(
                "image ({mime}{})",
                f.size
                    .map_or(", size unknown".into(), |n| format!(", {}", human_size(n)))
            ));
        }
        if f.size.is_some_and(|n| n < 1024) {
            return Err(format!("tiny response{sized}"));
        }
    }

    let mut score = 0;
    let mut why = Vec::new();
    if attachment {
        score += 150;
        why.push("attachment".to_owned());
    } else if name_ext.is_some() {
        score += 30;
        why.push("inline with filename".to_owned());
    }
    score +=
        if mime.starts_with("video/") || mime.starts_with("audio/") || mime == "application/ogg" {
            50
        } else if mime.starts_with("image/") {
            10
        } else if mime.starts_with("application/") && !is_structured(mime) {
            60
        } else {
            20
        };
    if has_ext(DOWNLOAD_EXTS) {
        score += 30;
    }
    score += size_points(f.size);
    why.push(f.size.map_or("size unknown".to_owned(), human_size));
    why.push(if mime.is_empty() {
        "no content type".to_owned()
    } else {
        mime.to_owned()
    });
    if status != 200 {
        why.push(format!("HTTP {status}"));
    }
    if let Some(err) = &f.error {
        why.push(format!("browser reported {err}"));
    }
    Ok((score, why))
}

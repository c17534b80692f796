//! The file name a download gets.
//!
//! Sources, in order of preference (see `docs/filenames.md`):
//! 1. the `Content-Disposition` response header (RFC 6266; `filename*` per RFC 5987 wins
//!    over `filename`), parsed by [`from_content_disposition`];
//! 2. the last non-empty path segment of the (final) URL, [`from_url`];
//! 3. `"download"`, plus an extension guessed from `Content-Type` when it is a common one.
//!
//! Every candidate goes through [`sanitize()`], which guarantees the result is a single,
//! non-hidden path component of at most 255 bytes, so it can never leave the target
//! directory. [`unique_name`] then picks `name (1).ext`, `name (2).ext`, ... when the
//! name is already taken.

mod content_disposition;
mod ext_value;
mod sanitize;
mod unique;
mod url_name;

#[cfg(test)]
mod conformance;

pub use content_disposition::{from_content_disposition, header_value_from_bytes};
pub use sanitize::{is_bidi_control, is_invisible, sanitize, MAX_NAME_BYTES};
pub use unique::unique_name;
pub use url_name::from_url;

/// Name used when neither the header nor the URL yields a usable name.
pub const DEFAULT_NAME: &str = "download";

/// The name a download gets: the sanitized `Content-Disposition` name, else the sanitized
/// URL name, else [`DEFAULT_NAME`] (with an extension derived from `content_type` when it
/// is a well-known media type, e.g. `download.pdf`).
///
/// `content_disposition` is the header value as text; see [`header_value_from_bytes`] for
/// turning raw header bytes into it. The result is always a valid single path component.
pub fn choose(
    content_disposition: Option<&str>,
    url: &url::Url,
    content_type: Option<&str>,
) -> String {
    content_disposition
        .and_then(from_content_disposition)
        .and_then(|name| sanitize(&name))
        .or_else(|| from_url(url).and_then(|name| sanitize(&name)))
        .unwrap_or_else(|| {
            let ext = content_type
                .and_then(extension_for_content_type)
                .unwrap_or("");
            format!("{DEFAULT_NAME}{ext}")
        })
}

/// Extension (with the dot) for a handful of common media types; `None` for unknown or
/// generic ones such as `application/octet-stream`. Parameters (`; charset=...`) are ignored.
fn extension_for_content_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let ext = match essence.as_str() {
        "text/html" => ".html",
        "text/plain" => ".txt",
        "text/css" => ".css",
        "text/csv" => ".csv",
        "text/javascript" | "application/javascript" => ".js",
        "application/json" => ".json",
        "application/xml" | "text/xml" => ".xml",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        "application/gzip" | "application/x-gzip" => ".gz",
        "application/x-tar" => ".tar",
        "application/x-xz" => ".xz",
        "application/x-bzip2" => ".bz2",
        "application/zstd" => ".zst",
        "application/x-7z-compressed" => ".7z",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/svg+xml" => ".svg",
        "audio/mpeg" => ".mp3",
        "audio/ogg" => ".ogg",
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        _ => return None,
    };
    Some(ext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn header_wins_over_url() {
        let u = url("https://example.com/files/from-url.bin");
        assert_eq!(
            choose(Some("attachment; filename=\"cd.txt\""), &u, None),
            "cd.txt"
        );
        assert_eq!(
            choose(Some("attachment; filename*=UTF-8''%E2%82%AC.txt"), &u, None),
            "€.txt"
        );
    }

    #[test]
    fn falls_back_to_url_when_header_unusable() {
        let u = url("https://example.com/files/from-url.bin?x=1");
        assert_eq!(choose(None, &u, None), "from-url.bin");
        assert_eq!(choose(Some("attachment"), &u, None), "from-url.bin");
        assert_eq!(
            choose(Some("attachment; filename=\"..\""), &u, None),
            "from-url.bin"
        );
        assert_eq!(choose(Some("garbage; ;"), &u, None), "from-url.bin");
    }

    #[test]
    fn header_path_is_discarded() {
        let u = url("https://example.com/x");
        assert_eq!(
            choose(Some("attachment; filename=\"../../etc/passwd\""), &u, None),
            "passwd"
        );
    }

    #[test]
    fn default_name_with_optional_extension() {
        let u = url("https://example.com/");
        assert_eq!(choose(None, &u, None), "download");
        assert_eq!(choose(None, &u, Some("application/pdf")), "download.pdf");
        assert_eq!(
            choose(None, &u, Some("Text/HTML; charset=utf-8")),
            "download.html"
        );
        assert_eq!(
            choose(None, &u, Some("application/octet-stream")),
            "download"
        );
        // The extension is only added to the default name, never to a URL-derived one.
        assert_eq!(
            choose(None, &url("https://e.com/get"), Some("application/pdf")),
            "get"
        );
    }

    #[test]
    fn url_segment_that_sanitizes_to_nothing_falls_back() {
        let u = url("https://example.com/%2E%2E%2E");
        assert_eq!(choose(None, &u, None), "download");
    }
}

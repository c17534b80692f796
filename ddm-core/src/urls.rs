//! URL checks at the edge: ddm downloads absolute http and https URLs only.

use url::Url;

/// Parse and check a URL the user gave; the error says what is wrong and what to do.
pub fn parse_http_url(s: &str) -> Result<Url, String> {
    let s = s.trim();
    // Errors repeat the URL with any password in it redacted (it may not parse).
    let shown = crate::model::redact_url(s);
    let url = Url::parse(s).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            format!("{shown:?} is not a URL; give a full address such as https://host/file")
        }
        e => format!("{shown:?} is not a valid URL ({e})"),
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "{shown:?}: the {other}: scheme is not supported; ddm downloads http and https URLs"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown:?} has no host name"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https() {
        assert!(parse_http_url("http://127.0.0.1:8080/a").is_ok());
        assert!(parse_http_url(" https://example.org/x?y=1 ").is_ok());
    }

    #[test]
    fn rejects_with_reason() {
        assert!(parse_http_url("ftp://h/f")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_http_url("file:///etc/passwd")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_http_url("example.org/file")
            .unwrap_err()
            .contains("not a URL"));
        assert!(parse_http_url("http://")
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(parse_http_url("http://exa mple.org/")
            .unwrap_err()
            .contains("not a valid URL"));
    }

    #[test]
    fn errors_never_repeat_a_password() {
        for bad in [
            "http://u:p4ss@[zz/",
            "ftp://u:p4ss@h/f",
            "ftp://h/x?next=http://u:p4ss@o/",
            "http://u:p4ss@/",
        ] {
            let e = parse_http_url(bad).unwrap_err();
            assert!(!e.contains("p4ss") && e.contains("u:***@"), "{e}");
        }
    }
}

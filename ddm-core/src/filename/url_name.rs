//! Names taken from URLs, plus the percent-decoding shared with RFC 5987 ext-values.

use url::Url;

/// Last non-empty path segment of the URL, percent-decoded (lossy UTF-8); `None` if there
/// is none (root path, or a URL without a hierarchical path such as `data:`).
///
/// The query and fragment are never used. A decoded `%2F` stays inside the returned name;
/// [`sanitize`](crate::filename::sanitize()) later makes sure it cannot act as a separator.
pub fn from_url(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.rev().find(|s| !s.is_empty())?;
    let name = String::from_utf8_lossy(&percent_decode(segment, false)?).into_owned();
    (!name.is_empty()).then_some(name)
}

/// Strict decoding: every `%` must start a `%XX` escape, else `None` (RFC 5987).
pub(crate) fn percent_decode_strict(text: &str) -> Option<Vec<u8>> {
    percent_decode(text, true)
}

/// Decodes `%XX` escapes. Malformed escapes are an error when `strict`, otherwise they
/// are kept literally (as browsers do for URL paths).
fn percent_decode(text: &str, strict: bool) -> Option<Vec<u8>> {
    let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ if strict => return None,
                _ => {}
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(url: &str) -> Option<String> {
        from_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn last_segment_query_and_fragment_ignored() {
        assert_eq!(
            name("https://h/a/b/file.tar.gz?x=1&y=/z#frag").as_deref(),
            Some("file.tar.gz")
        );
        assert_eq!(
            name("https://h/file?name=other.txt").as_deref(),
            Some("file")
        );
    }

    #[test]
    fn trailing_slash_uses_last_non_empty_segment() {
        assert_eq!(name("https://h/dir/sub/").as_deref(), Some("sub"));
        assert_eq!(name("https://h/dir//").as_deref(), Some("dir"));
    }

    #[test]
    fn no_path() {
        assert_eq!(name("https://h"), None);
        assert_eq!(name("https://h/"), None);
        assert_eq!(name("https://h/?q=file.txt"), None);
        assert_eq!(name("data:text/plain,hello"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            name("https://h/my%20file%C3%A9.txt").as_deref(),
            Some("my fileé.txt")
        );
        assert_eq!(name("https://h/100%.txt").as_deref(), Some("100%.txt"));
        assert_eq!(
            name("https://h/bad%FFutf8").as_deref(),
            Some("bad\u{FFFD}utf8")
        );
        assert_eq!(
            name("https://h/%D7%A9%D7%9C%D7%95%D7%9D.txt").as_deref(),
            Some("שלום.txt")
        );
    }

    #[test]
    fn encoded_slash_never_becomes_a_separator() {
        let raw = name("https://h/dir/a%2Fb%5Cc.txt").unwrap();
        assert_eq!(raw, "a/b\\c.txt");
        let safe = crate::filename::sanitize(&raw).unwrap();
        assert!(!safe.contains(['/', '\\']), "{safe}");
        let traversal = name("https://h/x/..%2F..%2Fetc%2Fpasswd").unwrap();
        assert_eq!(
            crate::filename::sanitize(&traversal).as_deref(),
            Some("passwd")
        );
    }

    #[test]
    fn strict_and_lenient_decoding() {
        assert_eq!(percent_decode_strict("a%41%2541"), Some(b"aA%41".to_vec()));
        assert_eq!(percent_decode_strict("a%4"), None);
        assert_eq!(percent_decode_strict("a%+1"), None);
        assert_eq!(percent_decode_strict("%"), None);
        assert_eq!(percent_decode("a%4g%", false), Some(b"a%4g%".to_vec()));
    }
}

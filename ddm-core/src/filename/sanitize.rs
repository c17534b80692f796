//! Sanitization: turning an untrusted name (from a header or a URL) into one safe path
//! component, plus the extension splitting and byte-length truncation shared with
//! [`unique_name`](crate::filename::unique_name).
//!
//! Rules, in order (documented in `docs/filenames.md`):
//! 1. `/` and `\` are path separators: the path is discarded and the last component that
//!    still yields a usable name is kept (`/etc/shadow` -> `shadow`, `a/..` -> `a`).
//! 2. Invisible characters that only steer how text is shown ([`is_invisible`]: zero-width
//!    space, LRM, RLM, ALM, BOM) are dropped: two names that look the same are the same.
//! 3. Whitespace, dots and control characters are trimmed from both ends. Dropping every
//!    leading dot rules out `.`, `..` and hidden files (`.bashrc` -> `bashrc`); trailing
//!    dots and spaces are also invalid on Windows and confusing everywhere.
//! 4. Remaining control characters (NUL included) and bidi embedding/override/isolate
//!    characters (used to fake extensions) become `_`. Other Unicode, RTL scripts, ZWJ in
//!    emoji and ZWNJ in Persian or Indic words included, is kept.
//! 5. At most [`MAX_NAME_BYTES`] bytes, cut on a char boundary, keeping the extension.

/// Longest name, in bytes, a download gets: common filesystems (ext4, btrfs, xfs, APFS)
/// accept 255, and the `.part` file that is written first needs 5 more.
pub const MAX_NAME_BYTES: usize = 255 - ".part".len();

/// Makes `raw` safe as one path component in a directory (see the module docs for the
/// exact rules). `None` if nothing usable remains.
pub fn sanitize(raw: &str) -> Option<String> {
    raw.rsplit(['/', '\\']).find_map(sanitize_component)
}

fn sanitize_component(component: &str) -> Option<String> {
    let visible: String = component.chars().filter(|&c| !is_invisible(c)).collect();
    let trimmed = visible.trim_matches(|c: char| c.is_whitespace() || c == '.' || c.is_control());
    if trimmed.is_empty() {
        return None;
    }
    let replaced: String = trimmed
        .chars()
        .map(|c| if is_unsafe(c) { '_' } else { c })
        .collect();
    Some(truncate_name(&replaced, MAX_NAME_BYTES))
}

/// Control characters, and the bidi controls that can reorder a name on screen
/// (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI).
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The bidi embedding, override and isolate controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
/// PDI): they reorder the text after them (`invoice<RLO>fdp.exe` shows as `invoiceexe.pdf`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that are not seen but change what is: zero-width space (U+200B), the bidi
/// marks LRM, RLM and ALM (U+200E, U+200F, U+061C) and the byte order mark / zero-width
/// no-break space (U+FEFF). ZWNJ and ZWJ (U+200C, U+200D) are not among them: Persian and
/// Indic words and emoji sequences need them, and they reorder nothing.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{FEFF}'
    )
}

/// Splits `name` into stem and extension (with its dot): `"a.txt"` -> `("a", ".txt")`.
///
/// The extension is the part after the last dot when that dot is not the first character
/// (so `.bashrc` has none) and the part is 1..=16 alphanumeric characters (so
/// `"Version 2. final"` has none). A `.tar` in front is included: `a.tar.gz` ->
/// `("a", ".tar.gz")`. The stem is never empty unless `name` is.
pub(crate) fn split_ext(name: &str) -> (&str, &str) {
    let Some(dot) = name.rfind('.') else {
        return (name, "");
    };
    let ext = &name[dot + 1..];
    if dot == 0 || ext.is_empty() || ext.len() > 16 || !ext.chars().all(char::is_alphanumeric) {
        return (name, "");
    }
    let stem = &name[..dot];
    match stem.len().checked_sub(4) {
        Some(tar)
            if tar > 0
                && stem.is_char_boundary(tar)
                && stem[tar..].eq_ignore_ascii_case(".tar") =>
        {
            name.split_at(tar)
        }
        _ => name.split_at(dot),
    }
}

/// The longest prefix of `text` that has at most `max` bytes and ends on a char boundary.
pub(crate) fn prefix_within(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Cuts `name` to at most `max` bytes: the stem is shortened and the extension kept when
/// the result keeps a non-empty stem; otherwise the whole name is cut. Whitespace and
/// dots exposed at the end by the cut are trimmed.
pub(crate) fn truncate_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let trim_end = |s: &str| {
        s.trim_end_matches(|c: char| c.is_whitespace() || c == '.')
            .to_owned()
    };
    let (stem, ext) = split_ext(name);
    if !ext.is_empty() && ext.len() < max {
        let stem = trim_end(prefix_within(stem, max - ext.len()));
        if !stem.is_empty() {
            return stem + ext;
        }
    }
    trim_end(prefix_within(name, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &str) -> Option<String> {
        sanitize(raw)
    }

    #[test]
    fn traversal_attempts() {
        assert_eq!(s("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(s("/abs").as_deref(), Some("abs"));
        assert_eq!(s("/etc/shadow").as_deref(), Some("shadow"));
        assert_eq!(s("a/../b").as_deref(), Some("b"));
        assert_eq!(s("a/..").as_deref(), Some("a"));
        assert_eq!(s("dir/").as_deref(), Some("dir"));
        for bad in [
            "..", ".", "", "/", "//", "../..", "./.", " ", "...", " .. ", "\\..\\",
        ] {
            assert_eq!(s(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backslashes_are_separators() {
        assert_eq!(s("\\foo.html").as_deref(), Some("foo.html"));
        assert_eq!(
            s("..\\..\\windows\\system32\\x.dll").as_deref(),
            Some("x.dll")
        );
        assert_eq!(s("C:\\Users\\me\\a.txt").as_deref(), Some("a.txt"));
    }

    #[test]
    fn leading_dots_and_trailing_dots_spaces() {
        assert_eq!(s(".bashrc").as_deref(), Some("bashrc"));
        assert_eq!(s("..hidden").as_deref(), Some("hidden"));
        assert_eq!(s("  name.txt. . ").as_deref(), Some("name.txt"));
        assert_eq!(s("a..b").as_deref(), Some("a..b"));
    }

    #[test]
    fn control_characters() {
        assert_eq!(s("a\0b").as_deref(), Some("a_b"));
        assert_eq!(s("a\nb\tc\u{7f}d\u{85}e").as_deref(), Some("a_b_c_d_e"));
        assert_eq!(s("\0name\r\n").as_deref(), Some("name"));
        assert_eq!(s("\0\0"), None);
        assert_eq!(
            s("invoice\u{202E}fdp.exe").as_deref(),
            Some("invoice_fdp.exe")
        );
    }

    #[test]
    fn invisible_characters_are_dropped() {
        assert_eq!(
            s("a\u{200F}b\u{061C}c\u{200B}d\u{FEFF}e\u{200E}.txt").as_deref(),
            Some("abcde.txt")
        );
        // Dropping them first: what they hid is trimmed as usual.
        assert_eq!(s("\u{FEFF}.bashrc").as_deref(), Some("bashrc"));
        assert_eq!(s("\u{200B}\u{200B}"), None);
        // ZWNJ in a Persian word and ZWJ in an emoji sequence are part of the text.
        for kept in ["می\u{200C}خواهم.txt", "👨\u{200D}👩\u{200D}👧.png"] {
            assert_eq!(s(kept).as_deref(), Some(kept));
        }
    }

    #[test]
    fn unicode_names_kept() {
        for name in [
            "שלום עולם.txt",
            "تقرير.pdf",
            "日本語のファイル.zip",
            "foo-a\u{308}.html",
            "😀.png",
        ] {
            assert_eq!(s(name).as_deref(), Some(name));
        }
    }

    #[test]
    fn long_names_truncated_on_char_boundary_keeping_extension() {
        let long = format!("{}.pdf", "é".repeat(150)); // 304 bytes
        let out = s(&long).unwrap();
        assert!(out.len() <= MAX_NAME_BYTES);
        // 250 bytes at most (room for ".part"): 246 for the stem, 4 for ".pdf".
        assert_eq!(out, format!("{}.pdf", "é".repeat(123)));
        // 3-byte chars: 243 bytes are left for the stem, exactly 81 of them.
        let out = s(&format!("{}.tar.gz", "€".repeat(100))).unwrap();
        assert_eq!(out, format!("{}.tar.gz", "€".repeat(81)));
        // No extension: a plain cut (250 is not a boundary, so 249 bytes).
        let out = s(&"€".repeat(100)).unwrap();
        assert_eq!(out, "€".repeat(83));
        // A cut exposing spaces/dots trims them.
        let out = s(&format!("{}{}.txt", "a".repeat(240), " ".repeat(20))).unwrap();
        assert_eq!(out, format!("{}.txt", "a".repeat(240)));
        let exact = "a".repeat(MAX_NAME_BYTES);
        assert_eq!(s(&exact).as_deref(), Some(exact.as_str()));
    }

    #[test]
    fn extension_splitting() {
        assert_eq!(split_ext("a.txt"), ("a", ".txt"));
        assert_eq!(split_ext("a.tar.gz"), ("a", ".tar.gz"));
        assert_eq!(split_ext("a.TAR.XZ"), ("a", ".TAR.XZ"));
        assert_eq!(split_ext("v1.2.3.zip"), ("v1.2.3", ".zip"));
        assert_eq!(split_ext(".bashrc"), (".bashrc", ""));
        assert_eq!(split_ext(".config.json"), (".config", ".json"));
        assert_eq!(split_ext(".tar.gz"), (".tar", ".gz"));
        assert_eq!(split_ext("noext"), ("noext", ""));
        assert_eq!(split_ext("trailing."), ("trailing.", ""));
        assert_eq!(split_ext("Version 2. final"), ("Version 2. final", ""));
        assert_eq!(
            split_ext("x.thisisnotanextension"),
            ("x.thisisnotanextension", "")
        );
    }

    /// Deterministic pseudo-random names built from the awkward characters, checked
    /// against the invariants every sanitized name must satisfy.
    #[test]
    fn invariants_on_generated_names() {
        const ALPHABET: &[&str] = &[
            "a", ".", "..", "/", "\\", " ", "\0", "\n", "é", "€", "😀", "\u{202E}", "x.tar.gz",
            "~", "\u{200B}", "\u{200F}", "\u{FEFF}",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let len = (next() % 120) as usize;
            let raw: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let Some(name) = sanitize(&raw) else { continue };
            assert!(
                !name.is_empty() && name.len() <= MAX_NAME_BYTES,
                "{raw:?} -> {name:?}"
            );
            assert!(
                !name.contains(['/', '\\'])
                    && !name.chars().any(|c| is_unsafe(c) || is_invisible(c)),
                "{raw:?} -> {name:?}"
            );
            assert!(
                !name.starts_with('.') && !name.ends_with('.'),
                "{raw:?} -> {name:?}"
            );
            assert_eq!(name.trim(), name, "{raw:?}");
            assert_eq!(
                sanitize(&name).as_deref(),
                Some(name.as_str()),
                "not idempotent for {raw:?}"
            );
        }
    }
}

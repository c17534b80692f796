//! aria2's input-file format, for `ddm add -i FILE` (or `-` for stdin): one download per URL
//! line, its mirrors after TABs on the same line, its options on the indented lines that
//! follow (`  key=value`); `#` starts a comment, blank lines are skipped:
//!
//! ```text
//! https://a.example/f.iso<TAB>https://b.example/f.iso
//!   out=f.iso
//!   dir=/srv/isos
//!   header=Referer: https://a.example/
//!   checksum=sha-256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```
//!
//! Only the options ddm has a meaning for are read ([`OPTIONS`]); any other is refused with
//! its line number, never silently ignored (an `out=` misspelt must not save under another
//! name). This module only reads the format; what an option means for a job is the CLI's.

/// The options read, each as aria2 spells it.
pub const OPTIONS: [&str; 5] = ["out", "dir", "header", "checksum", "split"];

/// One download of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line of its URL (1-based).
    pub line: usize,
    pub url: String,
    pub mirrors: Vec<String>,
    /// `(key, value, line)` in the order given; `header` may repeat, the others may not.
    pub options: Vec<(String, String, usize)>,
}

/// A line of the list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct ListError {
    pub line: usize,
    pub msg: String,
}

/// The downloads of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Entry>, ListError> {
    let mut out: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |msg: String| ListError { line, msg };
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            let opt = raw.trim();
            let Some(entry) = out.last_mut() else {
                return Err(err(format!(
                    "the option {opt:?} comes before any URL (options are the indented lines \
                     after their URL)"
                )));
            };
            let Some((key, value)) = opt.split_once('=') else {
                return Err(err(format!(
                    "{opt:?} is not an option: write key=value (one of {})",
                    OPTIONS.join(", ")
                )));
            };
            let key = key.trim();
            if !OPTIONS.contains(&key) {
                return Err(err(format!(
                    "unknown option {key:?}; ddm reads {} (other aria2 options are not \
                     supported)",
                    OPTIONS.join(", ")
                )));
            }
            if key != "header" && entry.options.iter().any(|(k, _, _)| k == key) {
                return Err(err(format!(
                    "{key} is given twice for the URL of line {}",
                    entry.line
                )));
            }
            entry
                .options
                .push((key.to_string(), value.to_string(), line));
            continue;
        }
        let mut urls = raw.split('\t').map(str::trim).filter(|u| !u.is_empty());
        let url = urls.next().unwrap_or_default().to_string();
        out.push(Entry {
            line,
            url,
            mirrors: urls.map(str::to_string).collect(),
            options: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_mirrors_options_and_comments() {
        let text = "# a list\n\
                    https://a/x\thttps://b/x\t https://c/x\n\
                    \x20 out=x.bin\n\
                    \theader=Referer: https://a/\n\
                    \theader=X-Token: t=1\n\
                    \n\
                    https://a/y\r\n";
        let v = parse(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].line, 2);
        assert_eq!(v[0].url, "https://a/x");
        assert_eq!(v[0].mirrors, ["https://b/x", "https://c/x"]);
        assert_eq!(
            v[0].options,
            [
                ("out".into(), "x.bin".into(), 3),
                ("header".into(), "Referer: https://a/".into(), 4),
                ("header".into(), "X-Token: t=1".into(), 5),
            ]
        );
        assert_eq!(v[1].url, "https://a/y");
        assert!(v[1].options.is_empty());
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_its_line() {
        let e = parse("https://a/x\n  max-speed=1M\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string().contains("unknown option \"max-speed\""),
            "{e}"
        );
        assert_eq!(parse("  out=x\nhttps://a/x\n").unwrap_err().line, 1);
        assert_eq!(parse("https://a/x\n  out\n").unwrap_err().line, 2);
        let twice = parse("https://a/x\n out=a\n out=b\n").unwrap_err();
        assert_eq!(twice.line, 3);
        assert!(twice.msg.contains("twice"), "{twice}");
    }
}

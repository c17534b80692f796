//! netrc files (`--netrc`: `~/.netrc`, `--netrc-file FILE`), read by ddm itself rather than
//! by libcurl, so that their credentials have the same scope as `--user`: they go only to
//! the scheme, host and port of the URL the job was given (`http::HttpOptions::scope`),
//! never to a host or scheme a redirect leads to. The `default` entry applies to the job's
//! own host only (when no `machine` entry names it), never to a redirect target.
//!
//! A file that cannot be read, is too large or does not parse is an error that names the
//! file and the line, never ignored silently; a password is never shown.

use std::path::{Path, PathBuf};

/// A netrc larger than this is not a netrc.
pub const MAX_BYTES: u64 = 1 << 20;

/// One `machine` (or `default`) entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// None for `default`.
    pub machine: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} login {:?} password {}",
            self.machine.as_deref().unwrap_or("default"),
            self.login,
            if self.password.is_some() { "***" } else { "-" }
        )
    }
}

/// Where `--netrc` looks: `$NETRC`, else `$HOME/.netrc` (as curl does).
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".netrc"))
}

/// The file a job's netrc setting names.
pub fn path_of(n: &crate::model::Netrc) -> Result<PathBuf, String> {
    match n {
        crate::model::Netrc::File(p) => Ok(p.clone()),
        crate::model::Netrc::Default => default_path().ok_or_else(|| {
            "--netrc: no home directory to find .netrc in (HOME is not set); use \
             --netrc-file FILE"
                .to_string()
        }),
    }
}

/// Read and parse a netrc file.
pub fn load(path: &Path) -> Result<Vec<Entry>, String> {
    use std::io::Read;
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| {
        format!("netrc {shown}: {e}; create it or leave out --netrc / --netrc-file")
    })?;
    let mut bytes = Vec::new();
    f.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("netrc {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "netrc {shown}: larger than {} KiB; that is not a netrc file",
            MAX_BYTES >> 10
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("netrc {shown}: not a text file (invalid UTF-8)"))?;
    parse(&text).map_err(|e| format!("netrc {shown}: {e}"))
}

/// Parse netrc text: `machine NAME`, `default`, `login X`, `password Y`, `account Z`,
/// `macdef NAME` (its body runs to the next blank line), `#` comments; values may be quoted.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out: Vec<Entry> = Vec::new();
    let mut toks = Tokens::new(text);
    while let Some((line, tok)) = toks.next()? {
        match tok.as_str() {
            "machine" => {
                let (_, name) = toks
                    .next()?
                    .ok_or(format!("line {line}: 'machine' without a host name"))?;
                out.push(Entry {
                    machine: Some(name.to_ascii_lowercase()),
                    login: None,
                    password: None,
                });
            }
            "default" => out.push(Entry {
                machine: None,
                login: None,
                password: None,
            }),
            "login" | "password" | "account" => {
                let key = tok.clone();
                let (_, v) = toks
                    .next()?
                    .ok_or(format!("line {line}: '{key}' without a value"))?;
                let e = out.last_mut().ok_or(format!(
                    "line {line}: '{key}' before any 'machine' or 'default' entry"
                ))?;
                match key.as_str() {
                    "login" => e.login = Some(v),
                    "password" => e.password = Some(v),
                    _ => {}
                }
            }
            "macdef" => {
                toks.next()?
                    .ok_or(format!("line {line}: 'macdef' without a name"))?;
                toks.skip_macro();
            }
            other => {
                // Never repeat the token: it may be a misplaced password.
                let what = if other.len() > 12 || out.iter().any(|e| e.password.is_some()) {
                    "an unexpected word".to_string()
                } else {
                    format!("unexpected word {other:?}")
                };
                return Err(format!(
                    "line {line}: {what}; a netrc has entries like 'machine HOST login USER \
                     password PASSWORD'"
                ));
            }
        }
    }
    Ok(out)
}

/// The credentials for `host`: the first `machine` entry naming it (with `user`'s login,
/// when a user is given), else the `default` entry. Call only for the job's own host.
pub fn lookup(entries: &[Entry], host: &str, user: Option<&str>) -> Option<(String, String)> {
    let fits = |e: &&Entry| user.is_none_or(|u| e.login.as_deref().is_none_or(|l| l == u));
    let host = host.to_ascii_lowercase();
    let e = entries
        .iter()
        .filter(|e| e.machine.as_deref() == Some(host.as_str()))
        .find(fits)
        .or_else(|| entries.iter().filter(|e| e.machine.is_none()).find(fits))?;
    let login = e.login.clone().or(user.map(str::to_string))?;
    Some((login, e.password.clone().unwrap_or_default()))
}

struct Tokens<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens {
            rest: text.chars().peekable(),
            line: 1,
        }
    }

    /// The next word (with the line it is on), unquoting `"..."` with `\` escapes.
    fn next(&mut self) -> Result<Option<(usize, String)>, String> {
        loop {
            match self.rest.peek() {
                None => return Ok(None),
                Some('\n') => {
                    self.line += 1;
                    self.rest.next();
                }
                Some(c) if c.is_whitespace() => {
                    self.rest.next();
                }
                Some('#') => {
                    while self.rest.peek().is_some_and(|&c| c != '\n') {
                        self.rest.next();
                    }
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        let mut word = String::new();
        if self.rest.peek() == Some(&'"') {
            self.rest.next();
            loop {
                match self.rest.next() {
                    None => return Err(format!("line {line}: a quoted value is not closed")),
                    Some('"') => break,
                    Some('\\') => match self.rest.next() {
                        Some('n') => word.push('\n'),
                        Some('r') => word.push('\r'),
                        Some('t') => word.push('\t'),
                        Some(c) => word.push(c),
                        None => return Err(format!("line {line}: a quoted value is not closed")),
                    },
                    Some('\n') => {
                        return Err(format!("line {line}: a quoted value runs past its line"))
                    }
                    Some(c) => word.push(c),
                }
            }
        } else {
            while let Some(&c) = self.rest.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c.is_control() {
                    return Err(format!("line {line}: a control character"));
                }
                word.push(c);
                self.rest.next();
            }
        }
        Ok(Some((line, word)))
    }

    /// A macro's body: everything up to the next empty line.
    fn skip_macro(&mut self) {
        let mut prev_newline = false;
        for c in self.rest.by_ref() {
            if c == '\n' {
                self.line += 1;
                if prev_newline {
                    return;
                }
                prev_newline = true;
            } else {
                prev_newline = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_default_quotes_and_macros() {
        let e = parse(
            "# c\nmachine A.example login u password \"p w\\\"\"\nmacdef init\nls\ncd x\n\n\
             machine b login v password q\ndefault login d password dp\n",
        )
        .unwrap();
        assert_eq!(
            lookup(&e, "a.example", None),
            Some(("u".into(), "p w\"".into()))
        );
        assert_eq!(lookup(&e, "B", None), Some(("v".into(), "q".into())));
        assert_eq!(lookup(&e, "c", None), Some(("d".into(), "dp".into())));
        assert_eq!(lookup(&e, "b", Some("d")), Some(("d".into(), "dp".into())));
        assert_eq!(lookup(&e[..2], "c", None), None);
    }

    #[test]
    fn garbage_is_an_error_that_names_the_line_and_hides_values() {
        let err = parse("machine a login u password hunter2 hunter3\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert!(!err.contains("hunter"), "{err}");
        assert!(parse("login u\n").unwrap_err().contains("before any"));
        assert!(parse("machine\n").unwrap_err().contains("without a host"));
        assert!(parse("machine a password \"x\n").is_err());
    }
}

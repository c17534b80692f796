//! A pasted command line split into its words, the way the shell it was written for would:
//! bash (`'…'`, `"…"`, `$'…'`, backslash escapes, `\`-newline continuations), as browsers
//! write "Copy as cURL (bash)" and "Copy as cURL" on Linux and macOS; or Windows' cmd.exe
//! then the argument rules (`^` escapes and `^`-newline continuations, then `"…"`
//! with `\"` and `\\`), as they write "Copy as cURL (cmd)". Nothing is expanded or run:
//! `$VAR` and `$(…)` stay as written.

/// Which shell the command was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Bash,
    Cmd,
}

/// The flavour of `text`: cmd when it uses cmd's caret escapes (`^"` or a line ending in `^`).
pub fn flavour(text: &str) -> Flavour {
    let caret_line = text.lines().any(|l| l.trim_end().ends_with('^'));
    if text.contains("^\"") || caret_line {
        Flavour::Cmd
    } else {
        Flavour::Bash
    }
}

/// Split `text` into words.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    match flavour(text) {
        Flavour::Bash => bash(text),
        Flavour::Cmd => Ok(crt(&cmd_layer(text))),
    }
}

fn bash(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => match it.next() {
                Some('\n') => {}
                Some('\r') if it.peek() == Some(&'\n') => {
                    it.next();
                }
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("the command ends with a lone backslash".into()),
            },
            '\'' => {
                in_word = true;
                loop {
                    match it.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("a quote (') is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("a quote (\") is not closed".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("a quote (\") is not closed".into()),
                    }
                }
            }
            '$' if it.peek() == Some(&'\'') => {
                it.next();
                in_word = true;
                ansi_c(&mut it, &mut cur)?;
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// The inside of `$'…'` (bash's ANSI-C quoting, which Chrome uses for values with quotes or
/// control characters in them).
fn ansi_c(
    it: &mut std::iter::Peekable<std::str::Chars<'_>>,
    cur: &mut String,
) -> Result<(), String> {
    let hex = |it: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize| {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match it.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    it.next();
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(v)
    };
    loop {
        match it.next() {
            Some('\'') => return Ok(()),
            Some('\\') => {
                let c = match it.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('a') => '\x07',
                    Some('b') => '\x08',
                    Some('e' | 'E') => '\x1b',
                    Some('f') => '\x0c',
                    Some('v') => '\x0b',
                    Some('x') => hex(it, 2).and_then(char::from_u32).unwrap_or('x'),
                    Some('u') => hex(it, 4).and_then(char::from_u32).unwrap_or('u'),
                    Some('U') => hex(it, 8).and_then(char::from_u32).unwrap_or('U'),
                    Some(d @ '0'..='7') => {
                        let mut v = d.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match it.peek().and_then(|c| c.to_digit(8)) {
                                Some(x) => {
                                    v = v * 8 + x;
                                    it.next();
                                }
                                None => break,
                            }
                        }
                        char::from_u32(v).unwrap_or('?')
                    }
                    Some(o) => o,
                    None => return Err("a quote ($') is not closed".into()),
                };
                cur.push(c);
            }
            Some(c) => cur.push(c),
            None => return Err("a quote ($') is not closed".into()),
        }
    }
}

/// cmd.exe's pass: outside its quotes `^X` is X, and `^` before a line break continues the
/// line (the character after the break is taken as it is); `%^` was written to keep `%VAR%`
/// from expanding and is `%` here.
fn cmd_layer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '^' if !quoted => match it.next() {
                Some('\r') if it.peek() == Some(&'\n') => {
                    it.next();
                    if let Some(n) = it.next() {
                        out.push(n);
                    }
                }
                Some('\n') => {
                    if let Some(n) = it.next() {
                        out.push(n);
                    }
                }
                Some(n) => out.push(n),
                None => {}
            },
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The argument pass after cmd's, as the browsers encode for it (each `\` doubled, each `"`
/// written `\"`, values in `"…"`): words split at blanks outside quotes; `"` quotes; `\\`
/// is `\` and `\"` is `"`; `""` inside quotes is a literal quote; another backslash is
/// itself (a hand-written `"C:\dir"` stays as written).
fn crt(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                in_word = true;
                match it.peek() {
                    Some(&n @ ('\\' | '"')) => {
                        cur.push(n);
                        it.next();
                    }
                    _ => cur.push('\\'),
                }
            }
            '"' => {
                in_word = true;
                if quoted && it.peek() == Some(&'"') {
                    cur.push('"');
                    it.next();
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' | '\n' | '\r' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_words() {
        let w = split(
            "curl 'https://h/a b' \\\n  -H $'x: it\\'s' -H \"y: \\\"q\\\" \\$HOME\" --compressed",
        )
        .unwrap();
        assert_eq!(
            w,
            vec![
                "curl",
                "https://h/a b",
                "-H",
                "x: it's",
                "-H",
                "y: \"q\" $HOME",
                "--compressed"
            ]
        );
        assert!(split("curl 'https://h").is_err());
    }

    #[test]
    fn cmd_words_as_chrome_writes_them() {
        // Chrome's escapeStringWin: `\` → `\\`, `"` → `\"`, then `^` before anything unusual,
        // `%` before a name → `%^`, all inside `^"…^"`.
        let text = "curl ^\"https://h/a?x=1^&y=^%^20^\" ^\n  -H ^\"cookie: a=^\\^\"b^\\^\"; c=d^\" ^\n  -H ^\"x: C:^\\^\\dir^\" ^\n  --compressed";
        assert_eq!(flavour(text), Flavour::Cmd);
        let w = split(text).unwrap();
        assert_eq!(
            w,
            vec![
                "curl",
                "https://h/a?x=1&y=%20",
                "-H",
                "cookie: a=\"b\"; c=d",
                "-H",
                "x: C:\\dir",
                "--compressed"
            ]
        );
    }

    #[test]
    fn cmd_words_with_plain_quotes() {
        let w = split("curl \"https://h/f.iso\" -H \"Authorization: Bearer t\" ^\n -k").unwrap();
        assert_eq!(
            w,
            vec![
                "curl",
                "https://h/f.iso",
                "-H",
                "Authorization: Bearer t",
                "-k"
            ]
        );
    }
}

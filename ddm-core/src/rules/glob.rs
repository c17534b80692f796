//! Shell-style patterns for routing rules: `*` (any run of characters, `/` included), `?`
//! (one character), `[abc]`, `[a-z]`, `[!x]` (one character of a set, or not of it).
//! Everything else stands for itself; `\` makes the next character literal. File names,
//! hosts and Content-Types are compared without regard to case (`*.mp4` matches `A.MP4`);
//! URLs with it.

/// A compiled pattern, with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    toks: Vec<Tok>,
    /// Compare without regard to case.
    fold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    Any,
    Star,
    Set {
        not: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compile `text`; `fold`: match without regard to case. An empty pattern or an unclosed
    /// `[` is an error that says so.
    pub fn new(text: &str, fold: bool) -> Result<Glob, String> {
        if text.is_empty() {
            return Err("an empty pattern matches nothing; leave the key out instead".into());
        }
        let low = |c: char| {
            if fold {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                c
            }
        };
        let mut toks = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => {
                    while chars.peek() == Some(&'*') {
                        chars.next();
                    }
                    Tok::Star
                }
                '?' => Tok::Any,
                '\\' => Tok::Char(low(chars
                    .next()
                    .ok_or_else(|| format!("{text:?}: a `\\` at the end escapes nothing"))?)),
                '[' => {
                    let not = matches!(chars.peek(), Some('!' | '^'));
                    if not {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    let mut first = true;
                    while let Some(c) = chars.next() {
                        if c == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        let hi = if chars.peek() == Some(&'-') {
                            let mut ahead = chars.clone();
                            ahead.next();
                            match ahead.peek() {
                                Some(&h) if h != ']' => {
                                    chars.next();
                                    chars.next();
                                    h
                                }
                                _ => c,
                            }
                        } else {
                            c
                        };
                        ranges.push((low(c), low(hi)));
                    }
                    if !closed {
                        return Err(format!(
                            "{text:?}: a `[` opens a set of characters that no `]` closes \
                             (write `\\[` for the character itself)"
                        ));
                    }
                    Tok::Set { not, ranges }
                }
                c => Tok::Char(low(c)),
            });
        }
        Ok(Glob {
            text: text.to_string(),
            toks,
            fold,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Does the whole of `s` match?
    pub fn matches(&self, s: &str) -> bool {
        let s: Vec<char> = if self.fold {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        };
        let (p, mut i, mut j) = (&self.toks, 0usize, 0usize);
        // Where the last `*` was and where its run of characters would end next.
        let mut back: Option<(usize, usize)> = None;
        while j < s.len() {
            let step = match p.get(i) {
                Some(Tok::Star) => {
                    back = Some((i, j));
                    i += 1;
                    continue;
                }
                Some(Tok::Any) => true,
                Some(Tok::Char(c)) => *c == s[j],
                Some(Tok::Set { not, ranges }) => {
                    ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&s[j])) != *not
                }
                None => false,
            };
            if step {
                i += 1;
                j += 1;
            } else if let Some((si, sj)) = back {
                // Let the last `*` take one more character and try again from there.
                i = si + 1;
                j = sj + 1;
                back = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|t| *t == Tok::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_as_a_table() {
        let cases: &[(&str, bool, &str, bool)] = &[
            ("*.mp4", true, "movie.mp4", true),
            ("*.mp4", true, "MOVIE.MP4", true),
            ("*.mp4", false, "MOVIE.MP4", false),
            ("*.mp4", true, "movie.mp4.part", false),
            ("*.tar.*", true, "a.tar.gz", true),
            ("*", true, "", true),
            ("a?c", true, "abc", true),
            ("a?c", true, "ac", false),
            ("[ab]*", true, "beta", true),
            ("[!ab]*", true, "beta", false),
            ("[a-c]x", true, "bx", true),
            ("[a-c]x", true, "dx", false),
            ("[]]", true, "]", true),
            ("x[-]y", true, "x-y", true),
            ("\\*", true, "*", true),
            ("\\*", true, "a", false),
            ("video/*", true, "video/mp4", true),
            ("*.example.org", true, "cdn.example.org", true),
            ("*.example.org", true, "example.org", false),
            ("https://h/*/x", false, "https://h/a/b/x", true),
            ("*a*a*a", true, "aaaa", true),
            ("*a*a*b", true, "aaaa", false),
        ];
        for &(pat, fold, s, want) in cases {
            assert_eq!(
                Glob::new(pat, fold).unwrap().matches(s),
                want,
                "{pat:?} against {s:?}"
            );
        }
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(Glob::new("", true).unwrap_err().contains("empty"));
        assert!(Glob::new("[abc", true)
            .unwrap_err()
            .contains("no `]` closes"));
        assert!(Glob::new("ab\\", true)
            .unwrap_err()
            .contains("escapes nothing"));
    }
}

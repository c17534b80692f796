//! `Content-Disposition` parsing (RFC 6266), reduced to the one thing ddm needs: the
//! suggested file name. Ext-values and continuations are decoded in `ext_value`.
//!
//! The grammar is applied strictly: a syntax error anywhere makes the whole header
//! ignored (as RFC 6266 section 4.1 asks for duplicate parameters), while a parameter
//! whose value is well-formed but unusable (bad charset, bad percent-escape, control
//! characters) is dropped on its own, so `filename` still backs up a broken `filename*`.

use crate::filename::ext_value::{continuation, decode_ext_value, Continuation};

/// Turns raw header bytes into the text [`from_content_disposition`] expects: UTF-8 when
/// the bytes are valid UTF-8 (what most servers send in practice), ISO-8859-1 otherwise
/// (the historical HTTP header charset; every byte maps to one char, nothing is lost).
pub fn header_value_from_bytes(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) => text.to_owned(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Filename from a Content-Disposition header value (RFC 6266): `filename*` (RFC 5987
/// ext-value, charset UTF-8, ISO-8859-1 or US-ASCII, percent-decoded) wins over
/// `filename`; quoted-strings are unescaped; RFC 2231 continuations (`filename*0`,
/// `filename*1*`, ...) are assembled. `None` when the header must be ignored (invalid
/// syntax, duplicate parameters) or has no usable filename. The disposition type is not
/// checked (`inline` names count too). The returned name is NOT yet sanitized.
pub fn from_content_disposition(value: &str) -> Option<String> {
    let params = parse(value)?;
    let continued = continuation(&params, "filename*")?;
    let plain = find(&params, "filename");
    let extended = find(&params, "filename*");
    // A continuation defines `filename` (or `filename*` when its first section is
    // encoded); defining the same parameter twice is a duplicate, which voids the header.
    let (plain, extended) = match continued {
        Continuation::Absent => (plain.map(Value::text), extended.map(Value::ext_value)),
        Continuation::Plain(_) if plain.is_some() => return None,
        Continuation::Extended(_) if extended.is_some() => return None,
        Continuation::Plain(text) => (Some(text), extended.map(Value::ext_value)),
        Continuation::Extended(text) => (plain.map(Value::text), Some(text)),
    };
    let usable = |name: Option<Option<String>>| name.flatten().filter(|n| !n.is_empty());
    usable(extended).or_else(|| usable(plain))
}

/// A parameter value as written on the wire.
pub(crate) enum Value {
    Token(String),
    /// Unescaped quoted-string; `None` if it contained characters a quoted-string
    /// may not (control characters other than HTAB).
    Quoted(Option<String>),
}

impl Value {
    /// The value as plain text (`filename=` semantics).
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Value::Token(text) => Some(text.clone()),
            Value::Quoted(text) => text.clone(),
        }
    }

    /// The value as an RFC 5987 ext-value; ext-values are tokens, never quoted.
    fn ext_value(&self) -> Option<String> {
        match self {
            Value::Token(text) => decode_ext_value(text),
            Value::Quoted(_) => None,
        }
    }
}

fn find<'a>(params: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// `disposition-type *( OWS ";" OWS name OWS "=" OWS value )`, names lowercased.
/// `None` on any syntax error or a repeated parameter name.
fn parse(header: &str) -> Option<Vec<(String, Value)>> {
    let mut rest = header.trim_start_matches([' ', '\t']);
    take_token(&mut rest)?; // disposition type; unknown types count as "attachment"
    let mut params: Vec<(String, Value)> = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Some(params);
        }
        rest = rest.strip_prefix(';')?.trim_start_matches([' ', '\t']);
        let name = take_token(&mut rest)?.to_ascii_lowercase();
        rest = rest.trim_start_matches([' ', '\t']);
        rest = rest.strip_prefix('=')?.trim_start_matches([' ', '\t']);
        let value = match rest.strip_prefix('"') {
            Some(quoted) => {
                rest = quoted;
                Value::Quoted(take_quoted(&mut rest)?)
            }
            None => Value::Token(take_token(&mut rest)?.to_owned()),
        };
        if params.iter().any(|(n, _)| *n == name) {
            return None;
        }
        params.push((name, value));
    }
}

/// Splits a non-empty token off the front of `rest`.
fn take_token<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let end = rest.find(|c| !is_tchar(c)).unwrap_or(rest.len());
    let (token, tail) = rest.split_at(end);
    *rest = tail;
    (!token.is_empty()).then_some(token)
}

/// Reads a quoted-string body (after the opening quote) through the closing quote.
/// Outer `None`: unterminated. Inner `None`: forbidden control character inside.
fn take_quoted(rest: &mut &str) -> Option<Option<String>> {
    let forbidden = |c: char| c.is_ascii_control() && c != '\t';
    let mut out = String::new();
    let mut valid = true;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                *rest = &rest[i + 1..];
                return Some(valid.then_some(out));
            }
            '\\' => {
                let (_, escaped) = chars.next()?;
                valid &= !forbidden(escaped);
                out.push(escaped);
            }
            _ => {
                valid &= !forbidden(c);
                out.push(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(header: &str) -> Option<String> {
        from_content_disposition(header)
    }

    #[test]
    fn header_bytes_utf8_or_latin1() {
        assert_eq!(
            header_value_from_bytes("a; filename=\"ä\"".as_bytes()),
            "a; filename=\"ä\""
        );
        assert_eq!(
            header_value_from_bytes(b"a; filename=\"\xe4\""),
            "a; filename=\"ä\""
        );
        let raw_utf8 = header_value_from_bytes("attachment; filename=\"€ uro.txt\"".as_bytes());
        assert_eq!(name(&raw_utf8).as_deref(), Some("€ uro.txt"));
    }

    #[test]
    fn broken_ext_value_falls_back_to_plain() {
        let h = "attachment; filename=\"plain.txt\"; filename*=UTF-8''bad%zz.txt";
        assert_eq!(name(h).as_deref(), Some("plain.txt"));
        let h = "attachment; filename*=UTF-8''; filename=plain.txt";
        assert_eq!(name(h).as_deref(), Some("plain.txt"));
        let h = "attachment; filename*=nope''x.txt; filename=plain.txt";
        assert_eq!(name(h).as_deref(), Some("plain.txt"));
    }

    #[test]
    fn quoted_string_details() {
        assert_eq!(
            name("attachment; filename=\"a\tb\"").as_deref(),
            Some("a\tb")
        );
        assert_eq!(name("attachment; filename=\"a\u{7f}b\""), None);
        assert_eq!(name("attachment; filename=\"a\\"), None);
        assert_eq!(name("  attachment ;filename=x ").as_deref(), Some("x"));
    }
}

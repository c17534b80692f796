//! RFC 5987 ext-values (`filename*=UTF-8''...`) and RFC 2231 parameter continuations
//! (`filename*0=...; filename*1*=...`), as used by `Content-Disposition`.
//!
//! Accepted charsets: UTF-8, ISO-8859-1 and US-ASCII (case-insensitive, with common
//! aliases). Anything undecodable, or decoding to control characters, makes the value
//! unusable (`None`); the caller then falls back to the plain `filename`.

use crate::filename::content_disposition::Value;
use crate::filename::url_name::percent_decode_strict;

/// Charsets accepted in ext-values (RFC 8187 requires UTF-8 and allows ISO-8859-1).
#[derive(Clone, Copy)]
enum Charset {
    Utf8,
    Latin1,
    Ascii,
}

impl Charset {
    fn from_name(name: &str) -> Option<Charset> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "iso-8859-1" | "iso_8859-1" | "latin1" | "latin-1" => Some(Charset::Latin1),
            "us-ascii" | "ascii" => Some(Charset::Ascii),
            _ => None,
        }
    }

    /// Bytes of a literal (unencoded) section, in this charset.
    fn encode(self, text: &str, out: &mut Vec<u8>) -> Option<()> {
        match self {
            Charset::Utf8 => out.extend_from_slice(text.as_bytes()),
            Charset::Latin1 | Charset::Ascii => {
                for c in text.chars() {
                    out.push(u8::try_from(u32::from(c)).ok()?);
                }
            }
        }
        Some(())
    }

    /// Decodes `bytes`; `None` if they are invalid in this charset or decode to control
    /// characters (which also rejects the C1 range 0x80..=0x9F that ISO-8859-1 leaves to controls).
    fn decode(self, bytes: Vec<u8>) -> Option<String> {
        let text = match self {
            Charset::Utf8 => String::from_utf8(bytes).ok()?,
            Charset::Latin1 => bytes.into_iter().map(char::from).collect(),
            Charset::Ascii if bytes.is_ascii() => String::from_utf8(bytes).ok()?,
            Charset::Ascii => return None,
        };
        (!text.chars().any(|c| c.is_control() && c != '\t')).then_some(text)
    }
}

/// Splits `charset'language'rest` and returns the charset and `rest`.
fn split_ext_value(value: &str) -> Option<(Charset, &str)> {
    let mut parts = value.splitn(3, '\'');
    let charset = Charset::from_name(parts.next()?)?;
    let _language = parts.next()?;
    Some((charset, parts.next()?))
}

/// RFC 5987 `ext-value`: `charset'[language]'percent-encoded-value`.
pub(crate) fn decode_ext_value(value: &str) -> Option<String> {
    let (charset, encoded) = split_ext_value(value)?;
    charset.decode(percent_decode_strict(encoded)?)
}

/// The RFC 2231 continuation of one parameter, keyed by its base name plus `*`.
pub(crate) enum Continuation {
    /// No section 0, so no continuation at all.
    Absent,
    /// Section 0 is not encoded: the sections form a `filename` value.
    Plain(Option<String>),
    /// Section 0 is encoded (`name*0*=charset''...`): the sections form a `filename*` value.
    Extended(Option<String>),
}

/// Collects `prefix<n>` / `prefix<n>*` sections (n without leading zeros), assembles
/// sections 0, 1, 2, ... up to the first gap. `None` if one index appears twice.
pub(crate) fn continuation(params: &[(String, Value)], prefix: &str) -> Option<Continuation> {
    let mut sections: Vec<(u32, bool, &Value)> = Vec::new();
    for (name, value) in params {
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let (digits, encoded) = match rest.strip_suffix('*') {
            Some(digits) => (digits, true),
            None => (rest, false),
        };
        let canonical = digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        let Some(index) = digits.parse().ok().filter(|_| canonical) else {
            continue;
        };
        if sections.iter().any(|&(i, _, _)| i == index) {
            return None;
        }
        sections.push((index, encoded, value));
    }
    sections.sort_by_key(|&(i, _, _)| i);
    let mut parts: Vec<(bool, &Value)> = Vec::new();
    for (expected, &(index, encoded, value)) in (0..).zip(&sections) {
        if index != expected {
            break;
        }
        parts.push((encoded, value));
    }
    Some(match parts.first() {
        None => Continuation::Absent,
        Some((true, _)) => Continuation::Extended(assemble_extended(&parts)),
        Some((false, _)) => Continuation::Plain(assemble_plain(&parts)),
    })
}

fn assemble_plain(parts: &[(bool, &Value)]) -> Option<String> {
    // An encoded section needs the charset that only an encoded section 0 could give.
    parts
        .iter()
        .map(|&(encoded, value)| if encoded { None } else { value.text() })
        .collect()
}

fn assemble_extended(parts: &[(bool, &Value)]) -> Option<String> {
    let mut bytes = Vec::new();
    let mut charset = None;
    for &(encoded, value) in parts {
        match (encoded, value, charset) {
            (true, Value::Token(text), None) => {
                let (cs, encoded_text) = split_ext_value(text)?;
                bytes.extend(percent_decode_strict(encoded_text)?);
                charset = Some(cs);
            }
            (true, Value::Token(text), Some(_)) => bytes.extend(percent_decode_strict(text)?),
            (false, _, Some(cs)) => cs.encode(&value.text()?, &mut bytes)?,
            _ => return None,
        }
    }
    charset?.decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::decode_ext_value;
    use crate::filename::from_content_disposition as name;

    #[test]
    fn charsets() {
        assert_eq!(
            decode_ext_value("ISO-8859-1''%E4%20%FF").as_deref(),
            Some("ä ÿ")
        );
        assert_eq!(decode_ext_value("latin1''caf%E9").as_deref(), Some("café"));
        assert_eq!(decode_ext_value("iso-8859-1''%82"), None);
        assert_eq!(decode_ext_value("US-ASCII''a%41").as_deref(), Some("aA"));
        assert_eq!(decode_ext_value("UTF-8''%C3%A4").as_deref(), Some("ä"));
        assert_eq!(decode_ext_value("utf-8''%C3"), None);
        assert_eq!(decode_ext_value("windows-1252''a"), None);
        assert_eq!(decode_ext_value("''a"), None);
        assert_eq!(decode_ext_value("UTF-8'a"), None);
    }

    #[test]
    fn ext_value_details() {
        assert_eq!(
            name("attachment; filename*=UTF-8'en'a%20b.txt").as_deref(),
            Some("a b.txt")
        );
        assert_eq!(
            name("attachment; filename*=utf-8''%E2%82%AC").as_deref(),
            Some("€")
        );
        assert_eq!(name("attachment; filename*=UTF-8''a%0Ab"), None);
        assert_eq!(name("attachment; filename*=us-ascii''a%E4"), None);
        assert_eq!(name("attachment; filename*=UTF-8''"), None);
        assert_eq!(name("attachment; filename=\"\""), None);
    }

    #[test]
    fn continuation_details() {
        // Encoded later section splitting a UTF-8 sequence across sections.
        let h = "attachment; filename*0*=UTF-8''a%E2%82; filename*1*=%AC; filename*2=\".txt\"";
        assert_eq!(name(h).as_deref(), Some("a€.txt"));
        // Encoded section without an encoded section 0: no charset, unusable.
        assert_eq!(name("attachment; filename*0=a; filename*1*=%41"), None);
        // The same index twice voids the header.
        assert_eq!(name("attachment; filename*0=a; filename*0*=UTF-8''b"), None);
        // Plain continuation used alongside a filename* (which wins).
        let h = "attachment; filename*0=a; filename*1=b; filename*=UTF-8''c";
        assert_eq!(name(h).as_deref(), Some("c"));
    }
}

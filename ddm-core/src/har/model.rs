//! Lenient serde model of a HAR capture (HAR 1.1 / 1.2 plus the vendor fields seen in
//! Chrome, Firefox, mitmproxy, Playwright and chrome-har exports).
//!
//! Leniency rules: every field is optional; numbers may be null, negative, floats or
//! strings; strings may be numbers; lists may be null or contain junk elements (dropped).
//! Each entry is decoded on its own ([`Slot`]), so one malformed entry becomes an `Err`
//! with a reason instead of failing the whole file. Only the fields the importer needs
//! are modelled; bodies (`content.text`, `postData`) are never kept.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A parsed HAR file. Produced by [`crate::har::parse`].
#[derive(Debug, Clone, Default)]
pub struct Har {
    /// `log.version` ("1.1", "1.2", ...), if present.
    pub version: Option<String>,
    /// `log.creator.name`, e.g. "WebInspector", "Firefox", "Playwright".
    pub creator: Option<String>,
    /// `log.entries` in file order; an entry that could not be decoded keeps the reason.
    pub entries: Vec<Result<Entry, String>>,
}

/// One request/response pair.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Entry {
    #[serde(deserialize_with = "text")]
    pub started_date_time: Option<String>,
    /// Total time in ms; `null` in some Firefox exports.
    #[serde(deserialize_with = "number")]
    pub time: Option<f64>,
    pub request: Option<Request>,
    pub response: Option<Response>,
    /// Chrome's resource type ("document", "script", "font", "media", "ping", ...).
    #[serde(rename = "_resourceType", deserialize_with = "text")]
    pub resource_type: Option<String>,
    /// Entry-level error some exporters write instead of `response._error`.
    #[serde(rename = "_error", deserialize_with = "text")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Request {
    #[serde(deserialize_with = "text")]
    pub method: Option<String>,
    #[serde(deserialize_with = "text")]
    pub url: Option<String>,
    #[serde(deserialize_with = "text")]
    pub http_version: Option<String>,
    #[serde(deserialize_with = "list")]
    pub headers: Vec<Header>,
    #[serde(deserialize_with = "list")]
    pub cookies: Vec<Cookie>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Response {
    /// 0 for failed requests (Chrome), may be a float or absent.
    #[serde(deserialize_with = "number")]
    pub status: Option<f64>,
    #[serde(deserialize_with = "text")]
    pub status_text: Option<String>,
    #[serde(deserialize_with = "list")]
    pub headers: Vec<Header>,
    pub content: Option<Content>,
    /// May be empty (then look at `Location`), relative, or equal to the request URL.
    #[serde(rename = "redirectURL", deserialize_with = "text")]
    pub redirect_url: Option<String>,
    /// -1 when unknown; Chrome writes negative values for synthetic redirects.
    #[serde(deserialize_with = "number")]
    pub body_size: Option<f64>,
    /// Chrome's network error, e.g. "net::ERR_INTERNET_DISCONNECTED"; `null` when fine.
    #[serde(rename = "_error", deserialize_with = "text")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Content {
    /// Decoded body size; absent for cached Firefox entries, -1 in Playwright.
    #[serde(deserialize_with = "number")]
    pub size: Option<f64>,
    /// "x-unknown" or "" when the server sent no type.
    #[serde(deserialize_with = "text")]
    pub mime_type: Option<String>,
    /// "base64" when `text` (not kept) is base64.
    #[serde(deserialize_with = "text")]
    pub encoding: Option<String>,
}

/// A header as captured. `Debug` redacts credential values.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Header {
    #[serde(deserialize_with = "text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "text")]
    pub value: Option<String>,
}

/// A cookie from a `cookies` array. `Debug` redacts the value.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cookie {
    #[serde(deserialize_with = "text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "text")]
    pub value: Option<String>,
}

/// True for header names whose values must never be printed: the credential names of
/// [`crate::model::is_secret_name`] (`Set-Cookie` among them).
pub fn is_secret_header(name: &str) -> bool {
    crate::model::is_secret_name(name)
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("");
        let value = match &self.value {
            Some(v) if is_secret_header(name) => format!("<redacted {} bytes>", v.len()),
            v => format!("{v:?}"),
        };
        write!(f, "Header({name:?}: {value})")
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cookie({:?}=<redacted>)",
            self.name.as_deref().unwrap_or("")
        )
    }
}

impl Entry {
    /// The response status as an integer, if it is one in 0..=999.
    pub fn status(&self) -> Option<u16> {
        let s = self.response.as_ref()?.status?;
        (s.fract() == 0.0 && (0.0..1000.0).contains(&s)).then_some(s as u16)
    }

    /// First response header with this name (case-insensitive), trimmed.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        first(self.response.as_ref().map_or(&[][..], |r| &r.headers), name)
    }

    /// The request URL as captured.
    pub fn url(&self) -> Option<&str> {
        self.request.as_ref()?.url.as_deref()
    }

    /// Network error recorded by the browser, ignoring empty strings.
    pub fn error(&self) -> Option<&str> {
        let resp = self.response.as_ref().and_then(|r| r.error.as_deref());
        resp.or(self.error.as_deref())
            .filter(|e| !e.trim().is_empty())
    }
}

/// First header with this name (case-insensitive) and a value, trimmed.
pub(crate) fn first<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|h| {
            h.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .find_map(|h| h.value.as_deref())
        .map(str::trim)
}

/// Top level of the file; `expecting` texts end up in [`crate::har::HarError::NotHar`].
#[derive(Deserialize)]
#[serde(expecting = "a HAR file (a JSON object with a \"log\" member)")]
pub(crate) struct RawRoot {
    #[serde(default)]
    pub log: Option<RawLog>,
}

#[derive(Deserialize)]
#[serde(expecting = "a HAR \"log\" object")]
pub(crate) struct RawLog {
    #[serde(default, deserialize_with = "text")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "creator_name")]
    pub creator: Option<String>,
    #[serde(default)]
    pub entries: Option<Vec<Slot>>,
}

/// One element of `log.entries`, decoded independently of its siblings.
pub(crate) struct Slot(pub Result<Entry, String>);

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Ok(Slot(Err(format!("entry is not an object ({})", kind(&v)))));
        }
        Ok(Slot(
            Entry::deserialize(&v).map_err(|e| format!("malformed entry: {e}")),
        ))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string; numbers and booleans are stringified, anything else is `None`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// A number; numeric strings are parsed, anything else is `None`.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A list whose undecodable elements are dropped; a non-list is empty.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| T::deserialize(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

fn creator_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(mut m) => match m.remove("name") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        Value::String(s) => Some(s),
        _ => None,
    })
}

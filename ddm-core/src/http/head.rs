//! Response heads: the status line and headers of the answer (1xx and a proxy's CONNECT
//! answer skipped), and `Content-Range` parsing.

use crate::retry::Failure;

/// The status line and headers of the last response received (redirect hops are dropped).
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// The protocol of the status line (`HTTP/1.1`, `HTTP/2`).
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub complete: bool,
}

impl Head {
    /// Feed one raw header line from curl's header callback.
    pub fn feed(&mut self, line: &[u8]) {
        // Header bytes are UTF-8 or, per HTTP's history, ISO-8859-1 (a Latin-1 file name in
        // Content-Disposition must not turn into U+FFFD before RFC 6266 parsing).
        let line = crate::filename::header_value_from_bytes(line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with("HTTP/") {
            *self = Head::default();
            let mut parts = line.split_whitespace();
            self.version = parts.next().unwrap_or_default().to_string();
            self.status = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        } else if line.is_empty() {
            // An informational answer (100 Continue, 103 Early Hints) is followed by the real
            // one: its end is not the end of the head.
            self.complete = !(100..200).contains(&self.status);
        } else if let Some((k, v)) = line.split_once(':') {
            self.headers
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<u64> {
        self.get("content-length")?.trim().parse().ok()
    }

    /// `Content-Range: bytes a-b/total` → (a, b, total); total None for `*`.
    pub fn content_range(&self) -> Option<ContentRange> {
        parse_content_range(self.get("content-range")?)
    }

    /// Content-Encoding other than identity (the body is transformed).
    pub fn encoded(&self) -> Option<&str> {
        self.get("content-encoding")
            .filter(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"))
    }

    pub fn failure(&self) -> Failure {
        Failure::Http {
            status: self.status,
            retry_after: self.get("retry-after").map(str::to_string),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

pub fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.trim().split_once('-')?;
    let first: u64 = a.trim().parse().ok()?;
    let last: u64 = b.trim().parse().ok()?;
    if last < first {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    if let Some(t) = total {
        if last >= t {
            return None;
        }
    }
    Some(ContentRange { first, last, total })
}

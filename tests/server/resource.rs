//! What the server serves: the [`Resource`] builder tests use to describe a file
//! (body, validators, throttling, faults), and [`Entry`], the runtime state created
//! each time a resource is added (fault counters, in-flight count, cached gzip body).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How HEAD requests for a resource are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadMode {
    /// HEAD mirrors the GET headers without a body.
    Normal,
    /// HEAD is answered with this status (e.g. 405 or 403) and no representation headers.
    Refuse(u16),
    /// HEAD reports this value as the full length (`Content-Length`, and the total in `Content-Range`).
    WrongLength(u64),
}

/// A scripted misbehaviour. Counted faults (`times`) are consumed only when they
/// actually apply to a response; `times: usize::MAX` means always.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// GET answers send headers + `after` body bytes, then close: FIN, or RST when `rst`
    /// (SO_LINGER 0). Applies (and is consumed) only when the response body is longer than `after`.
    CutAfter { after: u64, rst: bool, times: usize },
    /// Every `every`-th GET (1 = all) is cut after a deterministic pseudo-random fraction
    /// (10%..90%) of its body, like a flaky network; `times` bounds the number of cuts.
    CutEvery {
        every: usize,
        rst: bool,
        times: usize,
    },
    /// GET (not HEAD) answered with this status (+ optional Retry-After header value) and a
    /// small text body.
    Status {
        code: u16,
        retry_after: Option<String>,
        times: usize,
    },
    /// More than `max` GET responses in flight at once for this resource: the extra ones get
    /// `code` (503/429) with `Retry-After: 1`. Exactly `max` are admitted at a time (a refused
    /// request never takes a slot, not even briefly). Same as [`Fault::ConnCapAfter`] with
    /// `retry_after: Some("1")`.
    ConnCap { max: usize, code: u16 },
    /// Like [`Fault::ConnCap`] with a chosen `Retry-After` header value (seconds or an
    /// HTTP-date, sent as given), or no `Retry-After` header at all when `None`.
    ConnCapAfter {
        max: usize,
        code: u16,
        retry_after: Option<String>,
    },
    /// Slow paths: on TCP connections whose id (1-based accept order over the whole server,
    /// the `conn` of [`crate::LogEntry`]) is a multiple of `every`, every response body of
    /// this resource is sent at its rate divided by `divisor` (e.g. `every: 4, divisor: 40`:
    /// each 4th connection runs at 1/40 of the rate). Only throttled bodies are affected:
    /// it needs [`Resource::rate`] (or [`Resource::slow_from_zero`]) to be set, and does
    /// nothing otherwise. `every: 0` or `divisor` 0/1 do nothing.
    SlowConnections { every: usize, divisor: u64 },
    /// After `after` body bytes, stop sending for `secs` seconds (connection stays open), then
    /// continue. Applies only when the response body is longer than `after`.
    Stall { after: u64, secs: f64, times: usize },
    /// 206 that covers only the first half of the asked range (Content-Range correct for what
    /// is sent). Applies only to 206 answers of at least 2 bytes.
    ShortRange { times: usize },
    /// 206 whose Content-Range starts at a different offset than asked (and body from that
    /// offset): half the asked start, or 1 when the asked start is 0.
    WrongRangeStart { times: usize },
    /// 206 with a garbage Content-Range header value (body is the asked range).
    MalformedContentRange { times: usize },
}

/// A file served by [`crate::Server`]. Builder: every method takes and returns `Self`.
#[derive(Clone)]
pub struct Resource {
    pub(crate) body: Arc<Vec<u8>>,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) content_type: String,
    pub(crate) content_disposition: Option<String>,
    pub(crate) served_encoding: Option<String>,
    /// `Authorization` header value every request must carry (else 401).
    pub(crate) basic_auth: Option<String>,
    pub(crate) whole_range_as_200: bool,
    pub(crate) early_hints: bool,
    pub(crate) ranges: bool,
    /// Says `Accept-Ranges: bytes` even when `ranges` is off.
    pub(crate) claims_ranges: bool,
    /// Serves ranges without saying `Accept-Ranges`.
    pub(crate) hides_ranges: bool,
    pub(crate) length: bool,
    pub(crate) head: HeadMode,
    pub(crate) rate: Option<u64>,
    pub(crate) rate_from_zero: Option<u64>,
    pub(crate) gzip: bool,
    pub(crate) gzip_always: bool,
    pub(crate) first_byte_delay: Option<Duration>,
    pub(crate) range_delay: Option<Duration>,
    pub(crate) close_each: bool,
    pub(crate) faults: Vec<Fault>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("len", &self.body.len())
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .field("content_type", &self.content_type)
            .field("content_disposition", &self.content_disposition)
            .field("ranges", &self.ranges)
            .field("claims_ranges", &self.claims_ranges)
            .field("hides_ranges", &self.hides_ranges)
            .field("length", &self.length)
            .field("head", &self.head)
            .field("rate", &self.rate)
            .field("rate_from_zero", &self.rate_from_zero)
            .field("gzip", &self.gzip)
            .field("gzip_always", &self.gzip_always)
            .field("first_byte_delay", &self.first_byte_delay)
            .field("range_delay", &self.range_delay)
            .field("close_each", &self.close_each)
            .field("faults", &self.faults)
            .finish()
    }
}

impl From<Vec<u8>> for Resource {
    fn from(body: Vec<u8>) -> Self {
        Resource::new(body)
    }
}

impl From<Arc<Vec<u8>>> for Resource {
    fn from(body: Arc<Vec<u8>>) -> Self {
        Resource::shared(body)
    }
}

impl Resource {
    /// A resource with this body, ranges supported, no validators,
    /// `Content-Type: application/octet-stream`.
    pub fn new(body: Vec<u8>) -> Self {
        Self::shared(Arc::new(body))
    }

    /// Like [`Resource::new`] but shares the body (no copy of big bodies).
    pub fn shared(body: Arc<Vec<u8>>) -> Self {
        Resource {
            body,
            etag: None,
            last_modified: None,
            content_type: "application/octet-stream".to_string(),
            content_disposition: None,
            served_encoding: None,
            basic_auth: None,
            whole_range_as_200: false,
            early_hints: false,
            ranges: true,
            claims_ranges: false,
            hides_ranges: false,
            length: true,
            head: HeadMode::Normal,
            rate: None,
            rate_from_zero: None,
            gzip: false,
            gzip_always: false,
            first_byte_delay: None,
            range_delay: None,
            close_each: false,
            faults: Vec::new(),
        }
    }

    /// The body served (uncompressed).
    pub fn body(&self) -> &Arc<Vec<u8>> {
        &self.body
    }

    /// Raw `ETag` header value, e.g. `"\"v1\""` or `"W/\"v1\""`.
    pub fn etag(mut self, v: &str) -> Self {
        self.etag = Some(v.to_string());
        self
    }

    /// Raw `Last-Modified` header value (an HTTP-date).
    pub fn last_modified(mut self, v: &str) -> Self {
        self.last_modified = Some(v.to_string());
        self
    }

    /// `Content-Type` (default `application/octet-stream`).
    pub fn content_type(mut self, v: &str) -> Self {
        self.content_type = v.to_string();
        self
    }

    /// Raw `Content-Disposition` header value.
    pub fn content_disposition(mut self, v: &str) -> Self {
        self.content_disposition = Some(v.to_string());
        self
    }

    /// Ignore `Range` entirely: 200 + full body, no `Accept-Ranges`.
    pub fn no_ranges(mut self) -> Self {
        self.ranges = false;
        self
    }

    /// A server that says `Accept-Ranges: bytes` but ignores `Range`: 200 + full body to
    /// every request (a misconfigured proxy or app in front of a file server).
    pub fn claims_ranges_but_ignores_them(mut self) -> Self {
        self.ranges = false;
        self.claims_ranges = true;
        self
    }

    /// A server that serves ranges but never says `Accept-Ranges` (allowed: the header is a
    /// MAY).
    pub fn hides_ranges(mut self) -> Self {
        self.hides_ranges = true;
        self
    }

    /// Never send `Content-Length`: GET uses chunked encoding (close-delimited for
    /// HTTP/1.0 clients), HEAD has none.
    pub fn no_length(mut self) -> Self {
        self.length = false;
        self
    }

    /// How HEAD is answered.
    pub fn head(mut self, mode: HeadMode) -> Self {
        self.head = mode;
        self
    }

    /// Throttle every response body to this many bytes per second (per response).
    pub fn rate(mut self, bytes_per_sec: u64) -> Self {
        self.rate = Some(bytes_per_sec.max(1));
        self
    }

    /// Responses whose body starts at offset 0 use this rate instead of [`Resource::rate`].
    pub fn slow_from_zero(mut self, bytes_per_sec: u64) -> Self {
        self.rate_from_zero = Some(bytes_per_sec.max(1));
        self
    }

    /// When the request's `Accept-Encoding` allows gzip: 200, `Content-Encoding: gzip`, whole
    /// body gzipped (Range ignored). Identity requests are served normally.
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// The body is already encoded (a `.tar.gz` that Apache serves with `AddEncoding x-gzip
    /// .gz`): every answer says `Content-Encoding: VALUE` about the bytes as they are, and
    /// ranges work on those bytes.
    pub fn served_encoding(mut self, v: &str) -> Self {
        self.served_encoding = Some(v.to_string());
        self
    }

    /// Require HTTP Basic authentication with `user:password` (401 with `WWW-Authenticate`
    /// otherwise).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic_auth = Some(format!(
            "Basic {}",
            crate::base64(format!("{user}:{password}").as_bytes())
        ));
        self
    }

    /// A range that covers the whole file is answered `200` with the whole body (httpbin's
    /// `/range/N`, some CDNs); other ranges get their `206`.
    pub fn whole_range_as_200(mut self) -> Self {
        self.whole_range_as_200 = true;
        self
    }

    /// Every GET/HEAD answer is preceded by `103 Early Hints` (RFC 8297), an informational
    /// head the client must skip.
    pub fn early_hints(mut self) -> Self {
        self.early_hints = true;
        self
    }

    /// A misbehaving server: every GET gets the whole body gzipped (200, `Content-Encoding:
    /// gzip`, Range ignored), whatever the request's `Accept-Encoding` says.
    pub fn gzip_always(mut self) -> Self {
        self.gzip = true;
        self.gzip_always = true;
        self
    }

    /// Wait this long before sending the status line of every GET/HEAD response for this
    /// resource (error answers from its faults included), on every request, also on a
    /// kept-alive connection: WAN latency or server think time. Default: none. The wait
    /// comes before the response counts as in flight for [`Fault::ConnCap`].
    pub fn first_byte_delay(mut self, d: Duration) -> Self {
        self.first_byte_delay = (!d.is_zero()).then_some(d);
        self
    }

    /// Wait this long before answering a request that carries a `Range` header (a whole-file
    /// GET is answered at once): an object store where each range answer costs the server
    /// think time while one stream of the whole object runs at full speed. Default: none.
    pub fn range_delay(mut self, d: Duration) -> Self {
        self.range_delay = (!d.is_zero()).then_some(d);
        self
    }

    /// Close the connection after every response (`Connection: close`), like a proxy that
    /// keeps no client connection alive: every request needs a new TCP connection.
    pub fn close_each(mut self) -> Self {
        self.close_each = true;
        self
    }

    /// Add a fault; several are allowed, each with its own remaining count.
    pub fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }
}

/// Runtime state of one added resource. Replacing a resource creates a new `Entry`,
/// so counters start afresh.
pub(crate) struct Entry {
    pub(crate) res: Resource,
    remaining: Vec<AtomicUsize>,
    /// GET responses currently being served (for `ConnCap`).
    pub(crate) inflight: AtomicUsize,
    /// GETs that reached the body stage (for `CutEvery`).
    pub(crate) gets: AtomicU64,
    gz: OnceLock<Arc<Vec<u8>>>,
}

impl Entry {
    pub(crate) fn new(res: Resource) -> Self {
        let remaining = res
            .faults
            .iter()
            .map(|f| {
                AtomicUsize::new(match f {
                    Fault::CutAfter { times, .. }
                    | Fault::CutEvery { times, .. }
                    | Fault::Status { times, .. }
                    | Fault::Stall { times, .. }
                    | Fault::ShortRange { times }
                    | Fault::WrongRangeStart { times }
                    | Fault::MalformedContentRange { times } => *times,
                    Fault::ConnCap { .. }
                    | Fault::ConnCapAfter { .. }
                    | Fault::SlowConnections { .. } => usize::MAX,
                })
            })
            .collect();
        Entry {
            res,
            remaining,
            inflight: AtomicUsize::new(0),
            gets: AtomicU64::new(0),
            gz: OnceLock::new(),
        }
    }

    /// Consume one use of fault `i`; false when it is exhausted.
    pub(crate) fn take(&self, i: usize) -> bool {
        let Some(c) = self.remaining.get(i) else {
            return false;
        };
        c.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| match v {
            0 => None,
            usize::MAX => Some(usize::MAX),
            n => Some(n - 1),
        })
        .is_ok()
    }

    /// The gzip-compressed body, computed once.
    pub(crate) fn gzipped(&self) -> Arc<Vec<u8>> {
        self.gz
            .get_or_init(|| Arc::new(crate::gzip_bytes(&self.res.body)))
            .clone()
    }
}

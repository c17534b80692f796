//! Retry classification for transfer attempts: decides whether a failed
//! attempt is worth retrying and how long to wait first.
//!
//! This module is pure: it does no I/O, reads no clock and draws no random
//! numbers. The transfer layer reports what went wrong as a [`Failure`]; the
//! coordinator calls [`decide`] with the number of attempts that already
//! failed for that piece of work (a range), a [`Policy`], a jitter value it
//! drew itself and the current time, and gets back a [`Decision`]: either
//! sleep for a while and try again, or give up. Keeping the randomness and
//! the clock outside makes every decision reproducible in tests.
//!
//! Failures fall into two classes ([`is_retryable`]):
//!
//! - *Transient*: connection refused or timed out, DNS failure, connection
//!   reset, a stalled transfer, a body that ended early, a response the
//!   server got wrong (bad `Content-Range` and the like), and HTTP 408, 429,
//!   500, 502, 503 and 504. These are likely to go away by themselves.
//! - *Final*: TLS failures (a bad certificate does not fix itself), local
//!   storage errors, every other 4xx (401, 403, 404, 410, ...), every other
//!   5xx (501, 505, ...), any status outside 4xx/5xx, and [`Failure::Other`].
//!   A 403 after a redirect (an expired signed URL) is the coordinator's
//!   business: it re-resolves the URL. Here a 403 is simply final.
//!
//! Some transient failures get a smaller per-range allowance than
//! [`Policy::max_attempts`]: a DNS failure that persists is most likely a
//! typo or an offline machine ([`RESOLVE_MAX_ATTEMPTS`]), and a server that
//! keeps answering with unusable responses is unlikely to start behaving
//! ([`INVALID_RESPONSE_MAX_ATTEMPTS`]).
//!
//! The delay before a retry is capped exponential backoff with "equal
//! jitter":
//!
//! ```text
//! backoff = min(base * 2^(attempt - 1), max_delay)
//! delay   = backoff * (0.5 + jitter / 2)          jitter in [0, 1)
//! ```
//!
//! so the delay lies in `[backoff / 2, backoff)`: never more than
//! `max_delay`, and spread out so that the connections of a job that failed
//! together do not all come back at the same instant. When a retryable HTTP
//! response carries a usable `Retry-After` header, the server's wish wins
//! over the backoff (without jitter), capped at [`Policy::max_retry_after`]
//! so a hostile or confused server cannot park a download for days.
//!
//! [`is_throttle`] tells the coordinator that the server is shedding load
//! (429 or 503), a hint to lower the number of parallel connections.
//!
//! On top of the per-range limit, a [`Budget`] bounds the total number of
//! retries across all ranges of a job, so that a job split into many ranges
//! cannot hammer a failing server `ranges * max_attempts` times. The caller
//! takes from the budget after [`decide`] returned [`Decision::Retry`].
//!
//! Some interesting resources about retries:
//! - <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>
//! - <https://www.rfc-editor.org/rfc/rfc9110#name-retry-after>
//! - <https://www.rfc-editor.org/rfc/rfc9110#name-date-time-formats>

use std::time::{Duration, Instant, SystemTime};

/// Most attempts allowed for a piece of work that keeps failing with
/// [`Failure::Resolve`], whatever [`Policy::max_attempts`] says.
pub const RESOLVE_MAX_ATTEMPTS: u32 = 3;

/// Most attempts allowed for a piece of work that keeps failing with
/// [`Failure::InvalidResponse`], whatever [`Policy::max_attempts`] says.
pub const INVALID_RESPONSE_MAX_ATTEMPTS: u32 = 3;

/// What went wrong with one transfer attempt, as the transfer layer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server refused the connection.
    ConnectRefused,
    /// The connection could not be set up in time.
    ConnectTimeout,
    /// The host name could not be resolved (DNS failure).
    Resolve,
    /// The connection (or its HTTP/2 stream) was reset or broken mid-transfer.
    Reset,
    /// No data arrived for the low-speed window.
    Timeout,
    /// The body ended before all the expected bytes arrived.
    Partial,
    /// Certificate or handshake failure, with curl's reason (self-signed, expired, wrong
    /// host, unknown issuer). Final.
    Tls(String),
    /// The proxy refused, failed or wants credentials: the message names the proxy. Final.
    Proxy(String),
    /// The server answered with an HTTP status that is not a success.
    Http {
        /// The status code.
        status: u16,
        /// The raw `Retry-After` header value, if the response had one.
        retry_after: Option<String>,
    },
    /// The server answered something unusable, e.g. a bad `Content-Range`.
    /// Retried a few times ([`INVALID_RESPONSE_MAX_ATTEMPTS`]).
    InvalidResponse(String),
    /// Local disk error. Final, never retried.
    Storage(crate::storage::StorageError),
    /// The remote file is no longer the one being downloaded (validators changed). Final:
    /// two versions are never spliced.
    Changed(String),
    /// Anything else. Final.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::ConnectRefused => f.write_str("connection refused"),
            Failure::ConnectTimeout => {
                f.write_str("connection timed out (TCP connect or TLS handshake)")
            }
            Failure::Resolve => f.write_str("could not resolve the host name"),
            Failure::Reset => f.write_str("connection reset"),
            Failure::Timeout => f.write_str("no data received (stalled)"),
            Failure::Partial => f.write_str("the server closed the connection early"),
            Failure::Tls(why) if why.is_empty() => f.write_str(
                "TLS certificate or handshake failure (use --insecure only if you trust the server)",
            ),
            Failure::Tls(why) => write!(
                f,
                "TLS failure: {why} (--cacert FILE names the CA to trust; --insecure only if \
                 you trust the server)"
            ),
            Failure::Proxy(m) => f.write_str(m),
            Failure::Http { status, .. } => write!(f, "HTTP {status}{}", status_hint(*status)),
            Failure::InvalidResponse(m) => write!(f, "invalid response: {m}"),
            Failure::Storage(e) => write!(f, "{e}"),
            Failure::Changed(m) => f.write_str(m),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

/// What a status means, in words; what to do about it is the CLI's (`hints.rs`), said once.
fn status_hint(status: u16) -> &'static str {
    match status {
        401 => " (unauthorized: the server wants credentials)",
        403 => " (forbidden: the link may have expired; get a fresh one)",
        404 => " (not found)",
        410 => " (gone: the file was removed from the server)",
        429 => " (too many requests)",
        503 => " (service unavailable)",
        _ => "",
    }
}

/// The kind of job error a final failure is, so that what to do next fits it: credentials
/// for 401/403, another URL for 404/410, a CA for a certificate; `otherwise` for the rest.
pub fn error_kind(f: &Failure, otherwise: crate::model::ErrorKind) -> crate::model::ErrorKind {
    use crate::model::ErrorKind;
    match f {
        Failure::Http {
            status: 401 | 403, ..
        } => ErrorKind::Auth,
        Failure::Http {
            status: 404 | 410, ..
        } => ErrorKind::NotFound,
        Failure::Tls(_) => ErrorKind::Tls,
        _ => otherwise,
    }
}

/// Limits and timings of the retry schedule.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Delay before the first retry, before jitter (default 0.5 s).
    pub base: Duration,
    /// Upper bound of the backoff delay (default 30 s).
    pub max_delay: Duration,
    /// Upper bound of a delay asked by a `Retry-After` header (default 5 min).
    pub max_retry_after: Duration,
    /// How many failed attempts of one piece of work (a range) may still be
    /// retried: [`decide`] gives up once `attempt > max_attempts`
    /// (default 8).
    pub max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(5 * 60),
            max_attempts: 8,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop: the failure is final or the attempts are used up.
    GiveUp,
}

/// Decides what to do after a failed attempt.
///
/// `attempt` is how many attempts already failed for this piece of work
/// (1 after the first failure; 0 is treated as 1). `jitter` must be in
/// `[0, 1)`; the caller supplies the randomness so that tests are
/// deterministic. Values outside that range (and NaN) are clamped. `now` is
/// used to turn an HTTP-date `Retry-After` into a delay.
///
/// See the [module documentation](self) for the classes and the delay
/// formula.
pub fn decide(
    f: &Failure,
    attempt: u32,
    policy: &Policy,
    jitter: f64,
    now: SystemTime,
) -> Decision {
    if !is_retryable(f) {
        return Decision::GiveUp;
    }
    let attempt = attempt.max(1);
    if attempt > max_attempts_for(f, policy) {
        return Decision::GiveUp;
    }
    if let Failure::Http {
        retry_after: Some(value),
        ..
    } = f
    {
        if let Some(wait) = parse_retry_after(value, now) {
            return Decision::Retry(wait.min(policy.max_retry_after));
        }
    }
    Decision::Retry(backoff(attempt, policy, jitter))
}

/// Whether a failure is of a kind worth retrying, regardless of how many
/// attempts were made.
pub fn is_retryable(f: &Failure) -> bool {
    match f {
        Failure::ConnectRefused
        | Failure::ConnectTimeout
        | Failure::Resolve
        | Failure::Reset
        | Failure::Timeout
        | Failure::Partial
        | Failure::InvalidResponse(_) => true,
        Failure::Http { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
        Failure::Tls(_)
        | Failure::Proxy(_)
        | Failure::Storage(_)
        | Failure::Changed(_)
        | Failure::Other(_) => false,
    }
}

/// Whether the server signals that it is overloaded or rate-limiting us
/// (HTTP 429 or 503): a hint to lower the number of parallel connections.
pub fn is_throttle(f: &Failure) -> bool {
    matches!(
        f,
        Failure::Http {
            status: 429 | 503,
            ..
        }
    )
}

/// Parses a `Retry-After` header value into a delay from `now`.
///
/// Accepts delta-seconds (`120`) and an HTTP-date in any of the three forms
/// of RFC 9110 (IMF-fixdate, obsolete RFC 850, asctime). A date in the past
/// gives a zero delay. A delta-seconds value too large for a `u64` saturates
/// (the caller caps it). Anything else (negative or fractional numbers,
/// garbage) gives `None`. Surrounding whitespace is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // `u64::from_str` would also take a leading '+', which is not
        // delta-seconds; hence the check above. Only overflow can fail here.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Connections broken before any byte less than this after the last one a retry was counted
/// for belong to the same event: a server restart or a network drop breaks every open
/// connection at once, and a job with 64 of them must not spend 64 retries on one outage.
/// ([`Budget::take_for`] tells those from answers.)
pub const BURST: Duration = Duration::from_secs(1);

/// A per-job retry budget: the total number of retries allowed across all
/// ranges of a job.
#[derive(Debug, Clone)]
pub struct Budget {
    remaining: u32,
    /// When a range's failure last took a retry ([`Budget::take_at`]).
    counted_at: Option<Instant>,
}

impl Budget {
    /// A budget allowing `total` retries.
    pub fn new(total: u32) -> Self {
        Budget {
            remaining: total,
            counted_at: None,
        }
    }

    /// A retry for a range that failed with `f` at `now`: a connection reset, refused or cut
    /// before any byte is one outage with the others of the same second ([`Budget::take_at`]);
    /// an answer (a 500, a 429) takes a retry each time ([`Budget::take`]).
    pub fn take_for(&mut self, f: &Failure, now: Instant) -> bool {
        match f {
            Failure::Reset | Failure::ConnectRefused | Failure::Partial => self.take_at(now),
            _ => self.take(),
        }
    }

    /// A retry for a range that failed at `now`: failures within [`BURST`] of the last one
    /// counted are the same event and take nothing more. Each range still has its own limit
    /// of attempts ([`Policy::max_attempts`]) with growing delays, so a server that keeps
    /// failing is given up on; a budget of N lasts at least N bursts.
    pub fn take_at(&mut self, now: Instant) -> bool {
        if self
            .counted_at
            .is_some_and(|t| now.saturating_duration_since(t) < BURST)
        {
            return true;
        }
        if !self.take() {
            return false;
        }
        self.counted_at = Some(now);
        true
    }

    /// Takes one retry from the budget. Returns `false`, and takes nothing,
    /// once the budget is spent.
    pub fn take(&mut self) -> bool {
        match self.remaining.checked_sub(1) {
            Some(left) => {
                self.remaining = left;
                true
            }
            None => false,
        }
    }

    /// Retries left.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }
}

/// The per-range attempt limit for a (retryable) failure.
fn max_attempts_for(f: &Failure, policy: &Policy) -> u32 {
    match f {
        Failure::Resolve => policy.max_attempts.min(RESOLVE_MAX_ATTEMPTS),
        Failure::InvalidResponse(_) => policy.max_attempts.min(INVALID_RESPONSE_MAX_ATTEMPTS),
        _ => policy.max_attempts,
    }
}

/// `min(base * 2^(attempt - 1), max_delay) * (0.5 + jitter / 2)`.
fn backoff(attempt: u32, policy: &Policy, jitter: f64) -> Duration {
    // 2^31 already overflows any sensible base; saturate beyond it.
    let factor = 1u32 << (attempt - 1).min(31);
    let capped = policy.base.saturating_mul(factor).min(policy.max_delay);
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let scale = 0.5 + jitter / 2.0;
    // The result is at most `capped`; fall back to it if the float
    // conversion fails for an extreme `max_delay`.
    Duration::try_from_secs_f64(capped.as_secs_f64() * scale).map_or(capped, |d| d.min(capped))
}

#[cfg(test)]
mod tests;

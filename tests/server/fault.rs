//! Fault decisions for one response (which scripted faults apply, consuming their
//! counts) and the socket-level aborts they need (FIN or RST close).

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::body::BodyPlan;
use crate::resource::{Entry, Fault};

/// Keeps a GET counted as in flight for `ConnCap` until dropped.
pub(crate) struct InFlight {
    entry: Arc<Entry>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.entry.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A refusal by a connection cap: status and optional `Retry-After` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) code: u16,
    pub(crate) retry_after: Option<String>,
}

/// Count a GET as in flight, unless a `ConnCap`/`ConnCapAfter` is full: then the tightest
/// cap's refusal. A refused request never takes a slot (compare-and-swap), so exactly `max`
/// are admitted at once however many arrive together.
pub(crate) fn enter(entry: &Arc<Entry>) -> Result<InFlight, Refused> {
    let cap = entry
        .res
        .faults
        .iter()
        .filter_map(|f| match f {
            Fault::ConnCap { max, code } => Some((*max, *code, Some("1".to_string()))),
            Fault::ConnCapAfter {
                max,
                code,
                retry_after,
            } => Some((*max, *code, retry_after.clone())),
            _ => None,
        })
        .min_by_key(|c| c.0);
    let limit = cap.as_ref().map_or(usize::MAX, |c| c.0);
    let admitted = entry
        .inflight
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        });
    match admitted {
        Ok(_) => Ok(InFlight {
            entry: entry.clone(),
        }),
        // Only a cap can refuse (without one the limit is never reached).
        Err(_) => Err(cap.map_or(
            Refused {
                code: 503,
                retry_after: None,
            },
            |(_, code, retry_after)| Refused { code, retry_after },
        )),
    }
}

/// The body rate for a response on connection `conn`: `rate` divided by every
/// `SlowConnections` fault whose `every` divides `conn`. `None` (unthrottled) stays `None`.
pub(crate) fn conn_rate(entry: &Entry, conn: u64, rate: Option<u64>) -> Option<u64> {
    let mut rate = rate?;
    for f in &entry.res.faults {
        if let Fault::SlowConnections { every, divisor } = f {
            if *every > 0 && *divisor > 1 && conn % *every as u64 == 0 {
                rate = (rate / divisor).max(1);
            }
        }
    }
    Some(rate)
}

/// A `Status` fault to answer with, if one applies (consumes it).
pub(crate) fn status(entry: &Entry) -> Option<(u16, Option<String>)> {
    for (i, f) in entry.res.faults.iter().enumerate() {
        if let Fault::Status {
            code, retry_after, ..
        } = f
        {
            if entry.take(i) {
                return Some((*code, retry_after.clone()));
            }
        }
    }
    None
}

/// How a 206 is to be distorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeTweak {
    /// Serve `start..=end` with an honest Content-Range.
    Serve(u64, u64),
    /// Serve the asked range with this (garbage) Content-Range value.
    Garbage(&'static str),
}

/// The first applicable range fault for a 206 of `start..=end` out of `total` (consumes it).
pub(crate) fn range(entry: &Entry, start: u64, end: u64, total: u64) -> Option<RangeTweak> {
    let n = end - start + 1;
    for (i, f) in entry.res.faults.iter().enumerate() {
        let tweak = match f {
            Fault::ShortRange { .. } if n >= 2 => RangeTweak::Serve(start, start + n / 2 - 1),
            Fault::WrongRangeStart { .. } if start > 0 => {
                RangeTweak::Serve(start / 2, (start / 2 + n - 1).min(total - 1))
            }
            Fault::WrongRangeStart { .. } if total > 1 => RangeTweak::Serve(1, (n).min(total - 1)),
            Fault::MalformedContentRange { .. } => RangeTweak::Garbage("bytes ??-??/garbage"),
            _ => continue,
        };
        if entry.take(i) {
            return Some(tweak);
        }
    }
    None
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Add the cut/stall faults that apply to a GET body of `len` bytes (consumes them).
pub(crate) fn body(entry: &Entry, len: u64, plan: &mut BodyPlan) {
    let hit = entry.gets.fetch_add(1, Ordering::AcqRel) + 1;
    let cut = |at: u64, rst: bool, plan: &mut BodyPlan| match plan.cut {
        Some((c, _)) if c <= at => {}
        _ => plan.cut = Some((at, rst)),
    };
    for (i, f) in entry.res.faults.iter().enumerate() {
        match f {
            Fault::CutAfter { after, rst, .. } if *after < len && entry.take(i) => {
                cut(*after, *rst, plan);
            }
            Fault::CutEvery { every, rst, .. }
                if len > 0 && hit % (*every).max(1) as u64 == 0 && entry.take(i) =>
            {
                // 10%..90% of the body, deterministic per hit number.
                let frac = 0.1 + 0.8 * ((mix(hit) >> 11) as f64 / (1u64 << 53) as f64);
                let at = ((len as f64 * frac) as u64).min(len - 1);
                cut(at, *rst, plan);
            }
            Fault::Stall { after, secs, .. } if *after < len && entry.take(i) => {
                let d = Duration::try_from_secs_f64(*secs).unwrap_or(Duration::ZERO);
                plan.stalls.push((*after, d));
            }
            _ => {}
        }
    }
    plan.stalls.sort_by_key(|s| s.0);
}

/// Close the connection abruptly after a cut: FIN (after discarding unread input, so the
/// kernel does not turn the close into a RST), or RST via SO_LINGER 0.
pub(crate) fn abort(stream: &TcpStream, rst: bool) {
    if rst && set_linger_zero(stream) {
        // Give already-written bytes a moment to reach the peer before the RST drops them.
        std::thread::sleep(Duration::from_millis(20));
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 4096];
        let mut s = stream;
        while let Ok(n) = s.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
}

#[cfg(unix)]
fn set_linger_zero(stream: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_void};

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const LEVEL_NAME: (c_int, c_int) = (1, 13); // SOL_SOCKET, SO_LINGER
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const LEVEL_NAME: (c_int, c_int) = (0xffff, 0x0080); // BSD/macOS SOL_SOCKET, SO_LINGER

    #[repr(C)]
    struct Linger {
        l_onoff: c_int,
        l_linger: c_int,
    }
    extern "C" {
        fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid open fd owned by `stream`; `l` is a properly laid out `struct linger`
    // that outlives the call, and its size is passed as the option length.
    let rc = unsafe {
        setsockopt(
            stream.as_raw_fd(),
            LEVEL_NAME.0,
            LEVEL_NAME.1,
            &l as *const Linger as *const c_void,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    rc == 0
}

#[cfg(not(unix))]
fn set_linger_zero(_stream: &TcpStream) -> bool {
    false
}

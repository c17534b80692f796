//! Writing response bodies: plain or chunked, paced to a rate, with scripted stalls and
//! cuts, counting the bytes sent.

use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Write size when not throttled.
const FAST_CHUNK: usize = 256 * 1024;
/// Largest write when throttled.
const PACED_CHUNK: u64 = 16 * 1024;

/// How a body is to be sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyPlan {
    /// Chunked transfer coding.
    pub(crate) chunked: bool,
    /// Bytes per second.
    pub(crate) rate: Option<u64>,
    /// Stop after this many bytes and abort the connection (`true` = RST).
    pub(crate) cut: Option<(u64, bool)>,
    /// Pause at these body offsets for these durations (sorted by offset).
    pub(crate) stalls: Vec<(u64, Duration)>,
}

/// How a body send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Complete,
    /// The plan's cut was reached; the caller must abort the connection.
    Cut {
        rst: bool,
    },
}

/// Sleep up to `d`, waking early when `stop` is set. Returns false if stopped.
pub(crate) fn sleep_unless(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(25)));
    }
}

/// Write `data` according to `plan`, adding payload bytes to each of `counters` as they go.
pub(crate) fn send_body(
    mut stream: &TcpStream,
    data: &[u8],
    plan: &BodyPlan,
    counters: &[&AtomicU64],
    stop: &AtomicBool,
) -> io::Result<Sent> {
    let total = data.len() as u64;
    let limit = plan.cut.map_or(total, |(c, _)| c.min(total));
    let chunk_max = match plan.rate {
        Some(r) => (r / 50).clamp(1, PACED_CHUNK) as usize,
        None => FAST_CHUNK,
    };
    let start = Instant::now();
    let mut paused = Duration::ZERO;
    let mut stall_i = 0;
    let mut sent: u64 = 0;
    let mut framed = Vec::new();
    let stopped = || io::Error::new(ErrorKind::ConnectionAborted, "server shutting down");
    loop {
        while let Some(&(at, d)) = plan.stalls.get(stall_i) {
            if at > sent {
                break;
            }
            stall_i += 1;
            if at == sent && sent < limit {
                stream.flush()?;
                let t = Instant::now();
                if !sleep_unless(stop, d) {
                    return Err(stopped());
                }
                paused += t.elapsed();
            }
        }
        if sent >= limit {
            break;
        }
        let mut n = (chunk_max as u64).min(limit - sent);
        if let Some(&(at, _)) = plan.stalls.get(stall_i) {
            n = n.min(at - sent);
        }
        let piece = &data[sent as usize..(sent + n) as usize];
        if plan.chunked {
            framed.clear();
            framed.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            framed.extend_from_slice(piece);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed)?;
        } else {
            stream.write_all(piece)?;
        }
        sent += n;
        for c in counters {
            c.fetch_add(n, Ordering::Relaxed);
        }
        if stop.load(Ordering::Acquire) {
            return Err(stopped());
        }
        if let Some(r) = plan.rate {
            let due = start + paused + Duration::from_secs_f64(sent as f64 / r as f64);
            let now = Instant::now();
            if due > now && !sleep_unless(stop, due - now) {
                return Err(stopped());
            }
        }
    }
    if let Some((c, rst)) = plan.cut {
        if c < total {
            return Ok(Sent::Cut { rst });
        }
    }
    if plan.chunked {
        stream.write_all(b"0\r\n\r\n")?;
    }
    Ok(Sent::Complete)
}

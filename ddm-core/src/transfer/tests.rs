//! Worker tests against a tiny loopback responder: segments, panics, keep-alive.

use super::*;
use crate::http::HttpOptions;
use std::io::{Read, Write};
use std::sync::atomic::AtomicUsize;

#[test]
fn cut_only_moves_end_into_unwritten_part() {
    let s = Segment::new(100, 1000);
    assert_eq!(s.cut(500), Some(1000));
    assert_eq!(
        s.span(),
        Span {
            pos: 100,
            claimed: 100,
            end: 500
        }
    );
    assert_eq!(s.cut(100), None, "cannot cut at or before pos");
    assert_eq!(s.cut(600), None, "cannot extend");
    {
        let mut sp = s.span.lock().unwrap();
        sp.pos = 200;
        sp.claimed = 300; // received, not yet written
    }
    assert_eq!(s.cut(250), None, "cannot cut into buffered bytes");
    assert_eq!(s.cut(400), Some(500));
}

/// A keep-alive HTTP/1.1 responder: every request is answered with a 206 of the asked
/// `bytes=a-b` range of a 100-byte body of 7s. Counts TCP connections.
fn range_server() -> (String, Arc<AtomicUsize>) {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || loop {
                let mut buf = [0u8; 4096];
                let n = match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let (a, b) = req
                    .lines()
                    .find_map(|l| l.strip_prefix("Range: bytes="))
                    .and_then(|r| r.split_once('-'))
                    .map(|(a, b)| {
                        let a: u64 = a.trim().parse().unwrap_or(0);
                        let b: u64 = b.trim().parse().unwrap_or(99).min(99);
                        (a, b)
                    })
                    .unwrap_or((0, 99));
                let len = b + 1 - a;
                let mut resp = format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {a}-{b}/100\r\n\
                     Content-Length: {len}\r\n\r\n"
                )
                .into_bytes();
                resp.extend(std::iter::repeat_n(7u8, len as usize));
                if s.write_all(&resp).is_err() {
                    return;
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}/f"), conns)
}

fn job_io(dir: &std::path::Path) -> Arc<JobIo> {
    let io = JobIo::new(
        HttpOptions::from_config(&crate::config::Config::default(), vec![], false),
        None,
    );
    let file = crate::storage::PartFile::create_new(&dir.join("p.bin")).unwrap();
    file.reserve(100, None).unwrap();
    io.set_file(file);
    Arc::new(io)
}

fn task(io: &Arc<JobIo>, tx: &Sender<Report>, url: &str, seg: Arc<Segment>) -> Task {
    let expect = Expect {
        size: Some(100),
        ..Expect::default()
    };
    Task::range(
        io.clone(),
        tx.clone(),
        WorkerId::FIRST,
        seg,
        url.to_string(),
        u64::MAX,
        expect,
    )
}

fn done(rx: &Receiver<Report>) -> Done {
    match rx.recv_timeout(Duration::from_secs(10)).expect("a report") {
        Report::Done(d) => d,
        Report::Head(_) => panic!("a head for a range task"),
    }
}

/// A task for a URL ending in `/panic` makes its worker panic (a stand-in for a bug in a
/// transfer: nothing in the worker panics on purpose).
pub(super) fn panic_if_asked(t: &Task) {
    if t.url.ends_with("/panic") {
        panic!("a worker panics (expected in this test)");
    }
}

/// A segment whose lock a panicking thread held (and so poisoned).
fn poisoned(origin: u64, end: u64) -> Arc<Segment> {
    let seg = Segment::new(origin, end);
    let s2 = seg.clone();
    let _ = std::thread::spawn(move || {
        let _g = s2.span.lock().unwrap();
        panic!("poison the segment (expected in this test)");
    })
    .join();
    assert!(seg.span.is_poisoned());
    seg
}

#[test]
fn a_segment_whose_holder_panicked_is_worked_to_its_end_by_the_next_attempts() {
    // One rule for the segment's lock: the poison a panicking holder left is ignored by the
    // coordinator and by the workers alike, so that panic is not repeated by every attempt.
    let t = tempfile::tempdir().unwrap();
    let io = job_io(t.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let w = WorkerHandle::spawn(0);
    let (url, _) = range_server();
    let seg = poisoned(0, 100);
    assert_eq!(seg.cut(50), Some(100), "the coordinator still cuts it");
    assert!(w.give(task(&io, &tx, &url, seg.clone())));
    assert_eq!(done(&rx).outcome, Outcome::Finished);
    assert_eq!(seg.span().pos, 50);
    let rest = poisoned(50, 100);
    for _ in 0..2 {
        assert!(w.give(task(&io, &tx, &url, rest.clone())));
        assert_eq!(done(&rx).outcome, Outcome::Finished);
    }
    assert_eq!(rest.span().pos, 100);
    w.finish();
}

#[test]
fn a_worker_that_panics_reports_the_range_as_failed_and_keeps_working() {
    let t = tempfile::tempdir().unwrap();
    let io = job_io(t.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let w = WorkerHandle::spawn(0);
    let (url, _) = range_server();
    let bad = Segment::new(0, 100);
    let panic_url = format!("{}/panic", url.trim_end_matches("/f"));
    assert!(w.give(task(&io, &tx, &panic_url, bad)));
    let d = done(&rx);
    assert!(
        matches!(&d.outcome, Outcome::Failed(Failure::Other(m)) if m.contains("panicked")),
        "{:?}",
        d.outcome
    );
    // The same worker goes on with the next range.
    let good = Segment::new(0, 100);
    assert!(w.give(task(&io, &tx, &url, good.clone())));
    assert_eq!(done(&rx).outcome, Outcome::Finished);
    assert_eq!(good.span().pos, 100);
    w.finish();
}

#[test]
fn ranges_that_end_where_they_asked_keep_the_connection() {
    let t = tempfile::tempdir().unwrap();
    let io = job_io(t.path());
    let (tx, rx) = std::sync::mpsc::channel();
    let w = WorkerHandle::spawn(0);
    let (url, conns) = range_server();
    for (a, b) in [(0, 25), (25, 50), (50, 75), (75, 100)] {
        assert!(w.give(task(&io, &tx, &url, Segment::new(a, b))));
        let d = done(&rx);
        assert_eq!(d.outcome, Outcome::Finished);
        assert!(!d.cut);
    }
    assert_eq!(
        conns.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "four ranges, one connection"
    );
    w.finish();
}

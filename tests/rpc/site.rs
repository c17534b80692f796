//! The HTTP side of an RPC test: a loopback [`Server`] with the three files every client
//! script downloads, and the checks made on it while a script runs (bytes stop while paused or
//! removed; a resume does not fetch the whole file again).
//!
//! | path | size | served |
//! |---|---|---|
//! | `/file.bin` | 1 MiB | at full speed |
//! | `/slow.bin` | 768 KiB | one response at a time (others 503): from byte 0 at 96 KiB/s (so a pause lands mid-file whatever the connection count), any other at 1 MiB/s (so a resume is quick) |
//! | `/gone.bin` | 1 MiB | 64 KiB/s per response: still running when it is removed |

use std::time::Duration;

use ddm_testserver::{pattern, Fault, Resource, Server};

pub struct Site {
    pub server: Server,
    pub file: Vec<u8>,
    pub slow: Vec<u8>,
    /// Body bytes sent for `/slow.bin` when its pause was checked.
    slow_at_pause: Option<u64>,
}

impl Site {
    /// A server whose bodies differ per `seed`, so a test never passes on another's file.
    pub fn start(seed: u64) -> Site {
        let server = Server::start().unwrap();
        let file = pattern(1 << 20, seed);
        let slow = pattern(768 << 10, seed + 1);
        server.add("/file.bin", Resource::new(file.clone()).etag("\"f\""));
        server.add(
            "/slow.bin",
            Resource::new(slow.clone())
                .etag("\"s\"")
                .rate(1 << 20)
                .slow_from_zero(96 << 10)
                // One response at a time: a client with several connections (ddm) cannot
                // fetch the rest at full speed beside the slow first one and finish before
                // a script gets to pause it.
                .fault(Fault::ConnCap { max: 1, code: 503 }),
        );
        server.add(
            "/gone.bin",
            Resource::new(pattern(1 << 20, seed + 2)).rate(64 << 10),
        );
        Site {
            server,
            file,
            slow,
            slow_at_pause: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// No body byte for `path` leaves the server for half a second, starting 200 ms from now
    /// (time for the client's close to reach it). Returns the bytes sent so far.
    pub fn assert_still(&self, path: &str, why: &str) -> u64 {
        std::thread::sleep(Duration::from_millis(200));
        let before = self.server.bytes_sent(path);
        std::thread::sleep(Duration::from_millis(500));
        let after = self.server.bytes_sent(path);
        assert_eq!(
            before, after,
            "{why}, yet the server kept sending {path}: {before} -> {after} bytes in 0.5 s"
        );
        after
    }

    /// Call when the client says `/slow.bin` is paused (its script holds it paused for 1.5 s; this looks for 0.7 s).
    pub fn on_slow_paused(&mut self) {
        let sent = self.assert_still("/slow.bin", "the client says the download is paused");
        assert!(
            sent < self.slow.len() as u64,
            "/slow.bin was sent whole ({sent} bytes) before the pause: nothing was paused"
        );
        self.slow_at_pause = Some(sent);
    }

    /// After the slow download completed: it was resumed, not started over (what was sent
    /// after the pause is less than the whole file).
    pub fn assert_slow_resumed(&self) {
        let at = self
            .slow_at_pause
            .expect("the client never reported /slow.bin paused");
        let after = self.server.bytes_sent("/slow.bin") - at;
        let requests: Vec<_> = (self.server.log().into_iter())
            .filter(|l| l.target == "/slow.bin")
            .map(|l| (l.range, l.status, l.body_bytes))
            .collect();
        assert!(
            after < self.slow.len() as u64,
            "after the pause the server sent {after} bytes of /slow.bin, the whole file ({}) or \
             more: the resume started over. Requests (range, status, bytes): {requests:?}",
            self.slow.len()
        );
        assert!(after > 0, "nothing of /slow.bin was sent after the resume");
    }

    /// Every GET for `path` carried `name: value` (an option the client gave reached the wire).
    pub fn assert_header(&self, path: &str, name: &str, value: &str) {
        let gets: Vec<_> = self
            .server
            .log()
            .into_iter()
            .filter(|l| l.method == "GET" && l.target == path)
            .collect();
        assert!(!gets.is_empty(), "no GET for {path}");
        for l in gets {
            assert_eq!(
                l.header(name),
                Some(value),
                "a GET for {path} without {name}: {value}: {:?}",
                l.headers
            );
        }
    }
}

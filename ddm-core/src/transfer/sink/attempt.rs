//! One attempt of a task on a worker's handle: request setup, the perform loop (further
//! windows on the same connection; for a job's first request, redirects followed hop by hop)
//! and how the attempt ended.

use super::{Phase, Sink, Stop};
use crate::http::{self, Head};
use crate::model::redact_url;
use crate::retry::Failure;
use crate::transfer::{Mode, Outcome, Sample, Span, Task};
use curl::easy::Easy2;
use std::time::Instant;

/// The Range header value for `span` (open-ended when the end is unknown).
fn range_of(span: &Span) -> String {
    if span.end == u64::MAX {
        format!("{}-", span.pos)
    } else {
        format!("{}-{}", span.pos, span.end - 1)
    }
}

/// Run one task on `easy`: returns how it ended, the bytes written, and whether our side cut
/// the response.
pub(in crate::transfer) fn run_task(easy: &mut Easy2<Sink>, task: Task) -> (Outcome, u64, bool) {
    let span = task.seg.span();
    if span.pos >= span.end {
        return (Outcome::Finished, 0, false);
    }
    let opts = task.io.opts.clone();
    let mode = task.mode;
    let extra: Vec<String> = match (&task.expect.etag, mode) {
        // If-Range only with a strong validator: weak ETags are not allowed there.
        (Some(e), Mode::Range) if !e.starts_with("W/") => vec![format!("If-Range: {e}")],
        _ => vec![],
    };
    let mut url = task.url.clone();
    if easy.get_mut().auth.changes(opts.login_origin()) {
        // libcurl keeps the auth scheme it picked (and Digest's nonce) on the handle: a job
        // logging in elsewhere starts from nothing (the open connections stay).
        easy.reset();
    }
    {
        let sink = easy.get_mut();
        sink.start(task, span);
        sink.redirects.clear();
        sink.started = Instant::now();
    }
    let setup = |easy: &mut Easy2<Sink>, url: &str| -> Result<(), curl::Error> {
        let range = match mode {
            Mode::Whole | Mode::FirstWhole => None,
            _ => {
                let s = easy.get_ref();
                Some(range_of(&Span {
                    pos: s.start_pos,
                    claimed: s.start_pos,
                    end: s.req_end,
                }))
            }
        };
        let negotiating = easy.get_ref().auth.negotiating;
        let login = http::setup::request(
            easy,
            &opts,
            &http::Request {
                url,
                extra: &extra,
                range: range.as_deref(),
                // The debug callback times each request (see `Sink::debug`).
                timed: true,
                negotiating,
                ..http::Request::default()
            },
        )?;
        easy.get_mut().auth.request(login);
        Ok(())
    };
    loop {
        easy.get_mut().url = url.clone();
        if let Err(e) = setup(easy, &url) {
            return (
                Outcome::Failed(Failure::Other(format!("request setup: {e}"))),
                0,
                false,
            );
        }
        let res = easy.perform();
        if easy.get_mut().ask_again_for_digest() {
            // libcurl took the Digest challenge to the Basic it sent for a refusal (it keeps
            // that nonce): its auth state starts afresh, the connection stays.
            easy.reset();
            continue;
        }
        let hop = easy.get_mut().take_hop();
        match hop {
            Some(loc) if mode.is_first() => {
                let sink = easy.get_mut();
                match http::redirect::follow(&url, &loc, sink.redirects.len()) {
                    Ok(next) => {
                        sink.redirects.push(redact_url(&url));
                        sink.head = Head::default();
                        sink.dropped = 0;
                        url = next.to_string();
                        continue;
                    }
                    Err(f) => return (Outcome::Failed(f), 0, false),
                }
            }
            _ if easy.get_mut().next_window(&res) => continue,
            _ => return finish(easy, res),
        }
    }
}

/// How the attempt ended, from curl's result and what the callbacks saw.
fn finish(easy: &mut Easy2<Sink>, res: Result<(), curl::Error>) -> (Outcome, u64, bool) {
    let curl_failure = res.as_ref().err().map(|e| http::classify_with(e, easy));
    let sink = easy.get_mut();
    // Our side cut the response (before a failure to write what came can outrank the stop).
    let cut = sink.phase == Phase::Stopped(Stop::End) && curl_failure.is_some();
    // Bytes are buffered only once a head was checked: before that there is nothing to write.
    if sink.task.is_some() && !matches!(sink.phase, Phase::Head | Phase::Redirect(_)) {
        if let Err(f) = sink.flush() {
            sink.fail(f);
        }
    }
    // Bytes held in memory that arrived whole: a race is won (the rest written) or dropped;
    // a sample goes back to the coordinator with its answer's validators.
    let going = matches!(sink.phase, Phase::Head | Phase::Body);
    if sink.holding() && curl_failure.is_none() && going {
        let head = if sink.phase == Phase::Body {
            Ok(())
        } else {
            sink.check_head()
        };
        let whole = sink.task().seg.span();
        let outcome = match head {
            Err(f) => Outcome::Failed(f),
            Ok(()) if whole.claimed < whole.end => Outcome::Failed(Failure::Partial),
            Ok(()) if sink.racing() => match sink.win_race() {
                Ok(true) => Outcome::Finished,
                Ok(false) => Outcome::Stopped,
                Err(f) => Outcome::Failed(f),
            },
            Ok(()) => {
                sink.sample = Some(Sample {
                    bytes: sink.buf.clone(),
                    etag: sink.head.get("etag").map(str::to_string),
                    last_modified: sink.head.get("last-modified").map(str::to_string),
                });
                Outcome::Finished
            }
        };
        let written = sink.written;
        sink.buf.clear();
        sink.task = None;
        return (outcome, written, false);
    }
    if sink.holding() {
        sink.buf.clear(); // a lost or broken race or sample keeps nothing
    }
    let written = sink.written;
    let outcome = match sink.phase {
        Phase::Failed(ref f) => Outcome::Failed(f.clone()),
        Phase::Stopped(Stop::End) => Outcome::Finished,
        Phase::Stopped(Stop::Cancel) => Outcome::Stopped,
        _ => match curl_failure {
            None => sink.after_body(),
            Some(_) if sink.phase != Phase::Body && sink.head.status >= 300 => {
                Outcome::Failed(sink.head.failure())
            }
            Some(f) => Outcome::Failed(f),
        },
    };
    // A range answered with the whole file, or with a 206 that is not the range asked:
    // nothing of it was written (`check_head`); the coordinator decides what it means
    // (ranges refused, or the file changed, or an invalid answer).
    sink.range_unusable = sink.task.as_ref().is_some_and(|t| t.mode == Mode::Range)
        && sink.written == 0
        && match &outcome {
            Outcome::Failed(f) => {
                sink.head.status == 200
                    || (sink.head.status == 206 && matches!(f, Failure::InvalidResponse(_)))
            }
            _ => false,
        };
    // A failure the proxy caused names the proxy, not the file.
    let outcome = match (outcome, &sink.task) {
        (Outcome::Failed(f), Some(t)) => Outcome::Failed(t.io.opts.explain(f, &sink.url)),
        (o, _) => o,
    };
    sink.task = None;
    (outcome, written, cut)
}

//! The check of a response head before its first body byte is written: status, the
//! Content-Range against the range asked, the total against the known size, validators
//! against the job's (or those a mirror's first answer pinned). A 200 to a range is never
//! written; another version is never spliced.

use super::Sink;
use crate::http::{self, Head};
use crate::identity::Identity;
use crate::retry::Failure;

fn changed(what: String) -> Failure {
    Failure::Changed(format!(
        "the remote file changed during the download ({what}); nothing was spliced"
    ))
}

impl Sink {
    /// Check the response head before the first body byte is written.
    pub(super) fn check_head(&self) -> Result<(), Failure> {
        let task = self.task();
        let h = &self.head;
        let ranged = task.ranged();
        if h.status == 416 && ranged {
            // Our range lies inside the file we know: the file must have shrunk.
            if let Some(total) = h
                .get("content-range")
                .and_then(|v| v.trim().strip_prefix("bytes */"))
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                if Some(total) != task.expect.size {
                    return Err(changed(format!(
                        "its size went from {} to {total} bytes",
                        task.expect.size.unwrap_or(0)
                    )));
                }
            }
        }
        if !(200..300).contains(&h.status) {
            return Err(h.failure());
        }
        // A stream without ranges starts over from 0 and keeps nothing of before: another
        // version is no splice there (see the whole-file branch below).
        if let Some(what) = self.new_version().filter(|_| ranged) {
            return Err(changed(what));
        }
        // A different total length means a different file, whatever else the answer says.
        let total = h.content_range().and_then(|c| c.total).or_else(|| {
            // 416 carries `Content-Range: bytes */LEN`.
            let v = h.get("content-range")?.trim().strip_prefix("bytes */")?;
            v.trim().parse().ok()
        });
        if let (Some(size), Some(total)) = (task.expect.size, total) {
            if size != total {
                return Err(changed(format!(
                    "its size went from {size} to {total} bytes"
                )));
            }
        }
        // A 200 with the whole body answering a range that covers the whole file is that
        // file (httpbin's /range/N, some CDNs).
        let whole_range = h.status == 200
            && self.start_pos == 0
            && task
                .expect
                .size
                .is_some_and(|s| s == self.req_end && h.content_length() == Some(s));
        if ranged && !whole_range {
            if h.status != 206 {
                return Err(if task.expect.etag.is_some() && h.status == 200 {
                    Failure::Changed(
                        "the server answered a range request with the whole file (200): the remote \
                         file changed or ranges were turned off"
                            .into(),
                    )
                } else {
                    Failure::InvalidResponse(format!(
                        "expected 206 Partial Content for a range request, got {}",
                        h.status
                    ))
                });
            }
            let cr = h.content_range().ok_or_else(|| {
                Failure::InvalidResponse(format!(
                    "unusable Content-Range {:?}",
                    h.get("content-range").unwrap_or("(missing)")
                ))
            })?;
            if let Some(why) = length_disagrees(h, &cr) {
                return Err(Failure::InvalidResponse(why));
            }
            let end = self.req_end;
            if cr.first != self.start_pos || cr.last >= end || cr.total != task.expect.size {
                return Err(Failure::InvalidResponse(format!(
                    "asked for bytes {}-{} of {:?}, the server sent {}-{}/{:?}",
                    self.start_pos,
                    end.saturating_sub(1),
                    task.expect.size,
                    cr.first,
                    cr.last,
                    cr.total
                )));
            }
        } else {
            if self.start_pos != 0 {
                return Err(Failure::InvalidResponse(
                    "a whole-file request must start at offset 0".into(),
                ));
            }
            // A part of the file is never the whole file: a 206 here is written from offset
            // 0 only when it carries every byte, of the size known.
            if h.status == 206 {
                let whole = h.content_range().is_some_and(|cr| {
                    cr.first == 0
                        && cr.total.is_some_and(|t| {
                            cr.last + 1 == t && task.expect.size.is_none_or(|s| s == t)
                        })
                });
                if !whole {
                    return Err(Failure::InvalidResponse(format!(
                        "a request for the whole file was answered with part of it ({} {:?})",
                        h.status,
                        h.get("content-range").unwrap_or("no Content-Range")
                    )));
                }
            }
            // Another length is another version (validators changed: the stream starts over
            // and is that version whole) or an answer contradicting the size stated before.
            if let (Some(size), Some(len)) = (task.expect.size, h.content_length()) {
                if size != len && self.new_version().is_none() {
                    return Err(Failure::Changed(format!(
                        "the remote file changed: it was {size} bytes, now {len}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// How this answer's validators differ from the task's, if they do.
    pub(super) fn new_version(&self) -> Option<String> {
        let task = self.task();
        let h = &self.head;
        let (etag, last_modified) = match &task.pin {
            // The first answer of the source pins them; this may be it.
            Some(pin) => {
                let v = pin.get_or_init(|| {
                    let get = |n: &str| h.get(n).map(str::to_string);
                    (get("etag"), get("last-modified"))
                });
                (v.0.as_ref(), v.1.as_ref())
            }
            None => (
                task.expect.etag.as_ref(),
                task.expect.last_modified.as_ref(),
            ),
        };
        let known = Identity {
            size: None,
            etag: etag.map(String::as_str),
            last_modified: last_modified.map(String::as_str),
        };
        // One rule for every answer (`identity`): a validator only one side gives is no
        // difference.
        crate::identity::validators(&known, &Identity::of_head(h))
            .err()
            .map(|d| d.join(", "))
    }
}

/// A 206 whose Content-Length is not the span its Content-Range names cannot be trusted for
/// either: what is wrong, if it is.
pub(crate) fn length_disagrees(h: &Head, cr: &http::ContentRange) -> Option<String> {
    let span = cr.last - cr.first + 1;
    let len = h.content_length()?;
    (len != span).then(|| {
        format!(
            "Content-Length {len} disagrees with Content-Range bytes {}-{} ({span} bytes)",
            cr.first, cr.last
        )
    })
}

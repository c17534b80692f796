//! One notion of "the same remote file", for every place where an answer meets what a job
//! already knows: resume (the first answer of a later run), the original URL resolved again
//! after a link expired, `set-url` and a fresh link that `get`/`add` attach to a job, mirrors,
//! and every range answer.
//!
//! **The rule.** An answer describes the same file as what is known when
//! 1. the sizes are equal (a size unknown on both sides is equal; known on one side only is not);
//! 2. every validator that *both* sides give is equal: the ETag by the weak comparison of RFC
//!    9110 (`W/"x"` matches `"x"`: a proxy or a compressing server weakens the tag of the same
//!    bytes), Last-Modified as the same instant (the same text when it is not an HTTP date);
//! 3. a validator that only *one* side gives is no evidence either way: neither a difference
//!    (servers drop an ETag behind a proxy, a re-signed link's CDN may send no Last-Modified)
//!    nor a match.
//!
//! A verdict of "same" says whether the headers *proved* it (`proven`: at least one validator
//! was on both sides and matched) or only did not contradict it (nothing to compare beyond the
//! size). The one use of that difference: an answer of the **same source** (the job's URL on
//! resume, its original URL resolved again, every range answer on one source) is trusted on
//! its size, since the server that served the bytes says nothing changed; a **different
//! source** (a mirror, a fresh link for `set-url`, `get` or `add`) whose headers prove nothing
//! must prove it with its bytes (`relink::same_file`; a mirror is always checked by its bytes,
//! `engine/coordinator/verify.rs`).

use crate::http::Head;
use crate::resolver::RemoteInfo;
use crate::store::Job;

/// What identifies a remote file: its size and validators, as one side knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    pub size: Option<u64>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

impl<'a> Identity<'a> {
    /// What a job recorded from its first answer.
    pub fn of_job(job: &'a Job) -> Self {
        Identity {
            size: job.size,
            etag: job.etag.as_deref(),
            last_modified: job.last_modified.as_deref(),
        }
    }
    /// What a probe (or a first answer) says.
    pub fn of_info(info: &'a RemoteInfo) -> Self {
        Identity {
            size: info.size,
            etag: info.etag.as_deref(),
            last_modified: info.last_modified.as_deref(),
        }
    }
    /// The validators of one response head (its size is checked apart: a range answer's
    /// total is in its Content-Range).
    pub fn of_head(head: &'a Head) -> Self {
        Identity {
            size: None,
            etag: head.get("etag"),
            last_modified: head.get("last-modified"),
        }
    }
}

/// Whether an answer is the same file as what is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing differs; `proven` when at least one validator was compared and matched.
    Same { proven: bool },
    /// What differs, each as `what old → new`.
    Differs(Vec<String>),
}

impl Verdict {
    pub fn is_same(&self) -> bool {
        matches!(self, Verdict::Same { .. })
    }
    /// The differences (empty when the same).
    pub fn differences(&self) -> &[String] {
        match self {
            Verdict::Same { .. } => &[],
            Verdict::Differs(d) => d,
        }
    }
}

/// Compare what is `known` with a `fresh` answer, by the rule above (sizes included).
pub fn compare(known: &Identity, fresh: &Identity) -> Verdict {
    let mut out = Vec::new();
    if known.size != fresh.size {
        let show = |s: Option<u64>| s.map_or("unknown".to_string(), |v| format!("{v} bytes"));
        out.push(format!("size {} → {}", show(known.size), show(fresh.size)));
    }
    match validators(known, fresh) {
        Ok(proven) if out.is_empty() => Verdict::Same { proven },
        Ok(_) => Verdict::Differs(out),
        Err(d) => {
            out.extend(d);
            Verdict::Differs(out)
        }
    }
}

/// The validators only (sizes are checked elsewhere, e.g. a Content-Range total): `Ok(true)`
/// when at least one was on both sides and all such match, `Ok(false)` when none could be
/// compared, `Err` naming each that differs.
pub fn validators(known: &Identity, fresh: &Identity) -> Result<bool, Vec<String>> {
    let mut compared = false;
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (known.etag, fresh.etag) {
        compared = true;
        if !etags_match(a, b) {
            out.push(format!("ETag {} → {}", a.trim(), b.trim()));
        }
    }
    if let (Some(a), Some(b)) = (known.last_modified, fresh.last_modified) {
        compared = true;
        if !dates_match(a, b) {
            out.push(format!("Last-Modified {} → {}", a.trim(), b.trim()));
        }
    }
    if out.is_empty() {
        Ok(compared)
    } else {
        Err(out)
    }
}

/// RFC 9110's weak comparison: the opaque tags are equal, whether or not either is weak.
pub fn etags_match(a: &str, b: &str) -> bool {
    let opaque = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_string()
    };
    opaque(a) == opaque(b)
}

/// Two Last-Modified values name the same instant (the same text if either is no HTTP date).
fn dates_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    match (httpdate::parse_http_date(a), httpdate::parse_http_date(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LM: &str = "Tue, 15 Nov 1994 08:12:31 GMT";
    /// The same instant in the obsolete RFC 850 form.
    const LM_850: &str = "Tuesday, 15-Nov-94 08:12:31 GMT";
    const LM2: &str = "Wed, 16 Nov 1994 08:12:31 GMT";

    fn id(
        size: Option<u64>,
        etag: Option<&'static str>,
        lm: Option<&'static str>,
    ) -> Identity<'static> {
        Identity {
            size,
            etag,
            last_modified: lm,
        }
    }

    #[test]
    fn the_same_file_rule_as_a_table() {
        use Verdict::*;
        let s = Some(100);
        let same = |proven| Same { proven };
        #[rustfmt::skip]
        let rows: Vec<(&str, Identity, Identity, Verdict)> = vec![
            ("all equal", id(s, Some("\"a\""), Some(LM)), id(s, Some("\"a\""), Some(LM)), same(true)),
            ("etag only, equal", id(s, Some("\"a\""), None), id(s, Some("\"a\""), None), same(true)),
            ("date only, equal", id(s, None, Some(LM)), id(s, None, Some(LM)), same(true)),
            ("date in another form", id(s, None, Some(LM)), id(s, None, Some(LM_850)), same(true)),
            ("weak tag of the same", id(s, Some("\"a\""), None), id(s, Some("W/\"a\""), None), same(true)),
            ("no validators anywhere", id(s, None, None), id(s, None, None), same(false)),
            // A validator on one side only is no evidence either way.
            ("etag went missing", id(s, Some("\"a\""), Some(LM)), id(s, None, Some(LM)), same(true)),
            ("etag went missing, nothing else", id(s, Some("\"a\""), None), id(s, None, None), same(false)),
            ("etag appeared", id(s, None, None), id(s, Some("\"a\""), None), same(false)),
            ("date went missing", id(s, None, Some(LM)), id(s, None, None), same(false)),
            ("one each, nothing shared", id(s, Some("\"a\""), None), id(s, None, Some(LM)), same(false)),
            ("unknown sizes", id(None, Some("\"a\""), None), id(None, Some("\"a\""), None), same(true)),
            // Differences.
            ("size", id(s, Some("\"a\""), None), id(Some(99), Some("\"a\""), None),
                Differs(vec!["size 100 bytes → 99 bytes".into()])),
            ("size now unknown", id(s, None, None), id(None, None, None),
                Differs(vec!["size 100 bytes → unknown".into()])),
            ("etag", id(s, Some("\"a\""), Some(LM)), id(s, Some("\"b\""), Some(LM)),
                Differs(vec!["ETag \"a\" → \"b\"".into()])),
            ("weak tags differ", id(s, Some("W/\"a\""), None), id(s, Some("W/\"b\""), None),
                Differs(vec!["ETag W/\"a\" → W/\"b\"".into()])),
            ("date", id(s, None, Some(LM)), id(s, None, Some(LM2)),
                Differs(vec![format!("Last-Modified {LM} → {LM2}")])),
            ("a missing etag does not hide a changed date", id(s, Some("\"a\""), Some(LM)), id(s, None, Some(LM2)),
                Differs(vec![format!("Last-Modified {LM} → {LM2}")])),
            ("everything", id(s, Some("\"a\""), Some(LM)), id(Some(1), Some("\"b\""), Some(LM2)),
                Differs(vec![
                    "size 100 bytes → 1 bytes".into(),
                    "ETag \"a\" → \"b\"".into(),
                    format!("Last-Modified {LM} → {LM2}"),
                ])),
        ];
        for (what, known, fresh, want) in rows {
            assert_eq!(compare(&known, &fresh), want, "{what}");
            // The rule is symmetric in what it calls the same.
            assert_eq!(
                compare(&fresh, &known).is_same(),
                want.is_same(),
                "{what}, the other way round"
            );
        }
    }

    #[test]
    fn validators_alone_leave_the_size_out() {
        let known = id(Some(5), Some("\"a\""), None);
        assert_eq!(validators(&known, &id(None, Some("\"a\""), None)), Ok(true));
        assert_eq!(validators(&known, &id(None, None, None)), Ok(false));
        assert!(validators(&known, &id(None, Some("\"b\""), None)).is_err());
    }

    #[test]
    fn weak_comparison() {
        assert!(etags_match("\"x\"", " \"x\" "));
        assert!(etags_match("W/\"x\"", "\"x\""));
        assert!(!etags_match("\"x\"", "\"X\""));
        assert!(!etags_match("\"x\"", "x"));
    }
}

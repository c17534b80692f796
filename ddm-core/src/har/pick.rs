//! Choosing one candidate: automatically, by 1-based number, or by URL substring.
//!
//! `Auto` takes the best candidate only when it clearly stands out: it is the only one,
//! or it leads the runner-up by at least [`AUTO_MARGIN`] points (an attachment against
//! non-attachments of similar size, or a file 16× larger of the same kind). Otherwise
//! the whole list comes back as [`PickError::Ambiguous`] for the user to choose from.

use std::fmt;

use crate::har::{Analysis, Candidate};

/// Score lead the best candidate needs over the second for `Pick::Auto`.
pub const AUTO_MARGIN: i32 = 40;

/// How to choose among the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The single best candidate, if it clearly stands out.
    Auto,
    /// The N-th candidate (1-based), in the order of [`Analysis::candidates`].
    Index(usize),
    /// The candidate whose final or first URL contains this text (case-insensitive).
    Match(String),
}

/// Why no single candidate could be chosen.
#[derive(Clone)]
pub enum PickError {
    /// Nothing in the capture looks like a download.
    NoCandidate { skipped: usize },
    /// Several candidates and none stands out (or several match).
    Ambiguous(Vec<Candidate>),
    /// `Index(n)` outside `1..=count`.
    NoSuchIndex { n: usize, count: usize },
    /// `Match(text)` matched no candidate.
    NoMatch(String),
}

impl fmt::Display for PickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickError::NoCandidate { skipped } => write!(
                f,
                "no entry looks like a file download ({skipped} {} skipped); \
                 record the HAR while the download starts, with \"Preserve log\" enabled",
                if *skipped == 1 { "entry" } else { "entries" }
            ),
            PickError::Ambiguous(list) => write!(
                f,
                "{} entries look like downloads; choose one with --pick N or --match TEXT",
                list.len()
            ),
            PickError::NoSuchIndex { n, count } => write!(
                f,
                "--pick {n} is out of range: there {} {count} candidate{}; use 1 to {count}",
                if *count == 1 { "is" } else { "are" },
                if *count == 1 { "" } else { "s" },
            ),
            PickError::NoMatch(text) => write!(
                f,
                "no candidate URL contains \"{text}\"; run without --match to list the candidates"
            ),
        }
    }
}

impl std::error::Error for PickError {}

// Debug delegates to Candidate's redacting Debug.
impl fmt::Debug for PickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickError::NoCandidate { skipped } => f
                .debug_struct("NoCandidate")
                .field("skipped", skipped)
                .finish(),
            PickError::Ambiguous(list) => f.debug_tuple("Ambiguous").field(list).finish(),
            PickError::NoSuchIndex { n, count } => f
                .debug_struct("NoSuchIndex")
                .field("n", n)
                .field("count", count)
                .finish(),
            PickError::NoMatch(text) => f.debug_tuple("NoMatch").field(text).finish(),
        }
    }
}

/// The file name a candidate would be saved under (Content-Disposition, else the URL's last
/// path segment), for telling whether two URLs serve the same file.
fn file_name(c: &Candidate) -> Option<String> {
    c.content_disposition
        .as_deref()
        .and_then(crate::filename::from_content_disposition)
        .or_else(|| crate::filename::from_url(&url::Url::parse(&c.final_url).ok()?))
}

/// Are `a` and `b` the same file from two URLs: the same known, non-zero size and the same
/// file name?
pub fn same_file(a: &Candidate, b: &Candidate) -> bool {
    a.final_url != b.final_url
        && a.size.is_some_and(|s| s > 0)
        && a.size == b.size
        && file_name(a).is_some()
        && file_name(a) == file_name(b)
}

/// Candidates with the copies of an earlier one left out (best first stays first).
fn distinct(list: &[Candidate]) -> Vec<&Candidate> {
    let mut out: Vec<&Candidate> = Vec::new();
    for c in list {
        if !out.iter().any(|o| same_file(o, c)) {
            out.push(c);
        }
    }
    out
}

/// The other URLs of the chosen file in the capture (the same file from other hosts), in
/// capture ranking order: mirrors for the job.
pub fn mirrors_of(analysis: &Analysis, chosen: &Candidate) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &analysis.candidates {
        if same_file(chosen, c) && !out.contains(&c.final_url) {
            out.push(c.final_url.clone());
        }
    }
    out
}

/// Chooses one candidate as `how` says.
pub fn pick(analysis: &Analysis, how: &Pick) -> Result<Candidate, PickError> {
    let list = &analysis.candidates;
    if list.is_empty() {
        return Err(PickError::NoCandidate {
            skipped: analysis.skipped.len(),
        });
    }
    match how {
        // The same file fetched from several hosts (a mirror retry) is one choice, not many.
        Pick::Auto => match distinct(list).as_slice() {
            [only] => Ok((*only).clone()),
            [best, second, ..] if best.score - second.score >= AUTO_MARGIN => Ok((*best).clone()),
            _ => Err(PickError::Ambiguous(list.clone())),
        },
        Pick::Index(n) => {
            n.checked_sub(1)
                .and_then(|i| list.get(i))
                .cloned()
                .ok_or(PickError::NoSuchIndex {
                    n: *n,
                    count: list.len(),
                })
        }
        Pick::Match(text) => {
            let needle = text.to_lowercase();
            let hits: Vec<&Candidate> = list
                .iter()
                .filter(|c| {
                    c.final_url.to_lowercase().contains(&needle)
                        || c.first_url.to_lowercase().contains(&needle)
                })
                .collect();
            match hits.as_slice() {
                [] => Err(PickError::NoMatch(text.clone())),
                [one] => Ok((*one).clone()),
                many => Err(PickError::Ambiguous(
                    many.iter().map(|c| (*c).clone()).collect(),
                )),
            }
        }
    }
}

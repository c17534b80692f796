//! Redirect chains: links each 3xx entry to the entry that requested its target.
//!
//! The target is `response.redirectURL`, or the `Location` header when that is empty;
//! either may be relative and is resolved against the entry's request URL (fragments
//! are ignored when comparing). The target entry is the first *later* entry whose
//! request URL matches and that is not already the target of another redirect; only if
//! there is none are earlier entries considered (some tools do not sort entries). A
//! redirect to the same URL (a cookie-setting bounce) therefore links to the next
//! request of that URL, never to itself, and loops cannot form.
//!
//! Chrome's synthetic `307 Internal Redirect` entries (HSTS upgrades, extension or
//! service-worker rewrites; marked by the status text or a `Non-Authoritative-Reason`
//! header) are followed like any redirect but are transparent: they never start a
//! chain's `first_url`, are not counted as hops, and their request headers (which are
//! reduced copies) are not used.

use std::collections::HashMap;

use url::Url;

use crate::har::model::{Entry, Har};

/// Redirect links between entries, all vectors indexed like `har.entries`.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// The entry's request URL, parsed, without fragment.
    pub url: Vec<Option<Url>>,
    /// For a followable 3xx entry: the resolved target URL.
    pub target: Vec<Option<Url>>,
    /// For a 3xx entry: the entry that requested the target, if captured.
    pub next: Vec<Option<usize>>,
    /// The 3xx entry that led here, if any.
    pub prev: Vec<Option<usize>>,
}

/// Statuses whose target the browser follows automatically.
pub(crate) fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// True for Chrome's synthetic "307 Internal Redirect" entries.
pub(crate) fn is_synthetic(e: &Entry) -> bool {
    let text = e.response.as_ref().and_then(|r| r.status_text.as_deref());
    e.status() == Some(307)
        && (text.is_some_and(|t| t.trim().eq_ignore_ascii_case("Internal Redirect"))
            || e.response_header("Non-Authoritative-Reason").is_some())
}

/// Parses an absolute http(s)-or-other URL and drops the fragment.
pub(crate) fn parse_url(s: &str) -> Option<Url> {
    let mut u = Url::parse(s.trim()).ok()?;
    u.set_fragment(None);
    Some(u)
}

/// The redirect target of entry `e` (whose own URL is `base`), resolved.
fn target_of(e: &Entry, base: &Url) -> Option<Url> {
    if !is_redirect_status(e.status()?) {
        return None;
    }
    let explicit = e.response.as_ref().and_then(|r| r.redirect_url.as_deref());
    let raw = explicit
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(|| e.response_header("Location").filter(|s| !s.is_empty()))?;
    let mut u = base.join(raw).ok()?;
    u.set_fragment(None);
    Some(u)
}

/// Computes the redirect links of a capture.
pub(crate) fn link(har: &Har) -> Links {
    let n = har.entries.len();
    let mut links = Links {
        url: Vec::with_capacity(n),
        target: vec![None; n],
        next: vec![None; n],
        prev: vec![None; n],
    };
    let mut by_url: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, slot) in har.entries.iter().enumerate() {
        let url = slot.as_ref().ok().and_then(Entry::url).and_then(parse_url);
        if let Some(u) = &url {
            by_url.entry(u.as_str().to_owned()).or_default().push(i);
        }
        links.url.push(url);
    }
    for i in 0..n {
        let (Ok(e), Some(base)) = (&har.entries[i], &links.url[i]) else {
            continue;
        };
        let Some(t) = target_of(e, base) else {
            continue;
        };
        let free = |j: &&usize| **j != i && links.prev[**j].is_none();
        let found = by_url.get(t.as_str()).and_then(|js| {
            // `js` is in capture order: start right after `i` (a chain of hops to the same
            // URL then takes the next one at once, never rescanning the ones before).
            let after = js.partition_point(|j| *j <= i);
            let later = js[after..].iter().find(free);
            later.or_else(|| js[..after].iter().find(free)).copied()
        });
        if let Some(j) = found {
            links.next[i] = Some(j);
            links.prev[j] = Some(i);
        }
        links.target[i] = Some(t);
    }
    links
}

impl Links {
    /// The chain ending at `last`, from its first captured request to `last`.
    pub fn chain_to(&self, last: usize) -> Vec<usize> {
        let mut chain = vec![last];
        let mut at = last;
        while let Some(p) = self.prev[at] {
            if chain.len() > self.prev.len() {
                break; // defensive: links are one-to-one, but never loop
            }
            chain.push(p);
            at = p;
        }
        chain.reverse();
        chain
    }

    /// For every entry, where the redirect chain through it ends (following `next`), in one
    /// pass over the capture: each entry is walked once.
    pub fn chain_ends(&self) -> Vec<usize> {
        const UNKNOWN: usize = usize::MAX;
        let n = self.next.len();
        let mut end = vec![UNKNOWN; n];
        let mut on_path = vec![false; n];
        let mut path = Vec::new();
        for i in 0..n {
            let mut at = i;
            // Walk until an entry whose end is known, the end of the chain, or a loop.
            while end[at] == UNKNOWN && !on_path[at] {
                on_path[at] = true;
                path.push(at);
                match self.next[at] {
                    Some(j) => at = j,
                    None => break,
                }
            }
            let e = if end[at] == UNKNOWN { at } else { end[at] };
            for p in path.drain(..) {
                on_path[p] = false;
                end[p] = e;
            }
        }
        end
    }
}

//! Builds the [`Analysis`] of a capture: walks redirect chains to their final entries,
//! classifies and scores those, picks the headers to replay, and accounts for every
//! other entry in `skipped`.
//!
//! Every entry index ends up exactly once either as a candidate's `entry` or in
//! `skipped` (redirect hops included, with where they lead). When several chains end at
//! the same URL (e.g. a media element's repeated 206 range requests), the best-scoring
//! one is kept and the others are skipped as duplicates. Candidates are sorted by
//! score, best first (ties: capture order); `skipped` is in capture order.

use std::collections::HashMap;

use crate::har::chain::{self, is_redirect_status, is_synthetic, Links};
use crate::har::classify::{self, Facts};
use crate::har::headers;
use crate::har::model::{Entry, Har};
use crate::har::{Analysis, Candidate, Options, Skipped};

/// All entries that look like file downloads, best first, plus skipped entries with
/// reasons. Never panics on odd input.
pub fn candidates(har: &Har, opts: &Options) -> Analysis {
    let links = chain::link(har);
    let ends = links.chain_ends();
    let mut found: Vec<Candidate> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let raw_url = |i: usize| {
        har.entries[i]
            .as_ref()
            .ok()
            .and_then(Entry::url)
            .map(str::to_owned)
    };
    let skip = |i: usize, reason: String| Skipped {
        entry: i,
        url: raw_url(i),
        reason,
    };

    for (i, slot) in har.entries.iter().enumerate() {
        let e = match slot {
            Ok(e) => e,
            Err(why) => {
                skipped.push(skip(i, why.clone()));
                continue;
            }
        };
        let Some(url) = &links.url[i] else {
            let why = match e.url() {
                None => "entry has no request URL".to_owned(),
                Some(_) => "request URL is not a valid absolute URL".to_owned(),
            };
            skipped.push(skip(i, why));
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            skipped.push(skip(i, format!("not an http(s) URL ({}:)", url.scheme())));
            continue;
        }
        if let Some(reason) = hop_reason(e, i, &links, &ends) {
            skipped.push(skip(i, reason));
            continue;
        }
        match evaluate(har, i, e, &links, opts) {
            Ok(c) => found.push(c),
            Err(reason) => skipped.push(skip(i, reason)),
        }
    }

    // Same final URL more than once: keep the best, skip the rest as duplicates.
    found.sort_by(|a, b| b.score.cmp(&a.score).then(a.entry.cmp(&b.entry)));
    let mut kept: HashMap<String, usize> = HashMap::new();
    let mut candidates = Vec::with_capacity(found.len());
    for c in found {
        match kept.get(&c.final_url) {
            Some(best) => skipped.push(Skipped {
                entry: c.entry,
                url: raw_url(c.entry),
                reason: format!("same URL as entry {best} (kept that one)"),
            }),
            None => {
                kept.insert(c.final_url.clone(), c.entry);
                candidates.push(c);
            }
        }
    }
    skipped.sort_by_key(|s| s.entry);
    Analysis {
        candidates,
        skipped,
    }
}

/// For an entry that is a followable redirect: why it is not itself a candidate.
fn hop_reason(e: &Entry, i: usize, links: &Links, ends: &[usize]) -> Option<String> {
    let status = e.status().filter(|s| is_redirect_status(*s))?;
    let kind = if is_synthetic(e) {
        "internal redirect (browser-synthesised)".to_owned()
    } else {
        format!("redirect ({status})")
    };
    Some(match (&links.target[i], links.next[i]) {
        (Some(t), Some(j)) => {
            format!(
                "{kind} to {t}; followed to entry {j} (chain ends at entry {})",
                ends[i]
            )
        }
        (Some(t), None) => format!("{kind} to {t}, which is not in the capture"),
        (None, _) => format!("{kind} without a usable Location/redirectURL"),
    })
}

/// Classifies the final entry `i` and, if it qualifies, builds its candidate.
fn evaluate(
    har: &Har,
    i: usize,
    e: &Entry,
    links: &Links,
    opts: &Options,
) -> Result<Candidate, String> {
    let resp = e.response.as_ref();
    let facts = Facts {
        method: e
            .request
            .as_ref()
            .and_then(|r| r.method.clone())
            .unwrap_or_else(|| "GET".into()),
        status: e.status(),
        error: e.error().map(str::to_owned),
        mime: classify::mime_essence(
            e.response_header("Content-Type")
                .or_else(|| resp.and_then(|r| r.content.as_ref()?.mime_type.as_deref())),
        ),
        disposition: e.response_header("Content-Disposition").map(str::to_owned),
        size: classify::body_size(e),
        resource_type: e.resource_type.clone(),
    };
    let url = links.url[i]
        .as_ref()
        .ok_or("request URL is not a valid absolute URL")?;
    let chain = links.chain_to(i);
    let real: Vec<bool> = chain
        .iter()
        .map(|j| har.entries[*j].as_ref().is_ok_and(|e| !is_synthetic(e)))
        .collect();
    let hops = real[..real.len() - 1].iter().filter(|r| **r).count();
    let (score, mut why) = classify::classify(&facts, url).map_err(|reason| match hops {
        0 => reason,
        n => format!(
            "{reason} (after {n} redirect{})",
            if n == 1 { "" } else { "s" }
        ),
    })?;
    // The chain starts at its first real request (an HSTS upgrade is not a hop) after
    // the last non-GET one: a 303 after a form POST cannot be resolved again by a GET.
    let is_get = |j: usize| {
        let method = har.entries[j]
            .as_ref()
            .ok()
            .and_then(|e| e.request.as_ref()?.method.as_deref());
        method.is_none_or(|m| m.eq_ignore_ascii_case("GET"))
    };
    let mut start = i;
    for (pos, j) in chain.iter().enumerate().rev().skip(1) {
        if !is_get(*j) {
            break;
        }
        if real[pos] {
            start = *j;
        }
    }
    let first_url = links.url[start].as_ref().unwrap_or(url).to_string();
    if hops > 0 {
        why.push(format!(
            "via {hops} redirect{}",
            if hops == 1 { "" } else { "s" }
        ));
    }
    let headers = headers::replay(har, &chain, &real, opts.allow_cookies);
    Ok(Candidate {
        entry: i,
        first_url,
        final_url: url.to_string(),
        status: facts.status.unwrap_or(0),
        mime_type: facts.mime,
        size: facts.size,
        content_disposition: facts.disposition,
        secrets: headers::has_secrets(&headers),
        headers,
        why: why.join("; "),
        score,
    })
}

//! Picking a free name: `name.ext`, then `name (1).ext`, `name (2).ext`, ...
//!
//! The counter goes between stem and extension as split by `split_ext`: compound
//! `.tar.*` extensions stay together (`a.tar.gz` -> `a (1).tar.gz`), dotfiles have no
//! extension (`.bashrc` -> `.bashrc (1)`), other multi-dot names split at the last dot
//! (`v1.2.zip` -> `v1.2 (1).zip`). Every candidate is at most [`MAX_NAME_BYTES`] bytes:
//! the stem is shortened (on a char boundary) to make room for the counter.

use crate::filename::sanitize::{prefix_within, split_ext, truncate_name, MAX_NAME_BYTES};
use crate::filename::DEFAULT_NAME;

/// First free variant of `name`: `"name.ext"`, then `"name (1).ext"`, `"name (2).ext"`, ...
/// where `taken(candidate)` says whether a candidate is unavailable. An empty `name`
/// stands for [`DEFAULT_NAME`]; a name over 255 bytes is first truncated like
/// [`sanitize`](crate::filename::sanitize()) does. `taken` must eventually return `false`
/// (the counter does not stop on its own).
pub fn unique_name(name: &str, mut taken: impl FnMut(&str) -> bool) -> String {
    let name = truncate_name(
        if name.is_empty() { DEFAULT_NAME } else { name },
        MAX_NAME_BYTES,
    );
    if !taken(&name) {
        return name;
    }
    let (stem, ext) = split_ext(&name);
    let mut counter: u64 = 0;
    loop {
        counter += 1;
        let suffix = format!(" ({counter})");
        let stem = prefix_within(stem, MAX_NAME_BYTES - suffix.len() - ext.len());
        let candidate = format!("{stem}{suffix}{ext}");
        if !taken(&candidate) {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Runs `unique_name` against a set of taken names, `rounds` times, recording each
    /// result as taken: the sequence of names successive downloads of `name` would get.
    fn sequence(name: &str, taken: &[&str], rounds: usize) -> Vec<String> {
        let mut set: HashSet<String> = taken.iter().map(|s| s.to_string()).collect();
        (0..rounds)
            .map(|_| {
                let got = unique_name(name, |c| set.contains(c));
                set.insert(got.clone());
                got
            })
            .collect()
    }

    #[test]
    fn simple_sequence() {
        assert_eq!(
            sequence("a.txt", &[], 4),
            ["a.txt", "a (1).txt", "a (2).txt", "a (3).txt"]
        );
    }

    #[test]
    fn skips_taken_candidates() {
        assert_eq!(
            sequence("a.txt", &["a.txt", "a (1).txt", "a (3).txt"], 2),
            ["a (2).txt", "a (4).txt"]
        );
    }

    #[test]
    fn no_extension_dotfile_and_multi_dot() {
        assert_eq!(
            sequence("README", &[], 3),
            ["README", "README (1)", "README (2)"]
        );
        assert_eq!(sequence(".bashrc", &[], 2), [".bashrc", ".bashrc (1)"]);
        assert_eq!(sequence("a.tar.gz", &[], 2), ["a.tar.gz", "a (1).tar.gz"]);
        assert_eq!(
            sequence("v1.2.3.zip", &[], 2),
            ["v1.2.3.zip", "v1.2.3 (1).zip"]
        );
        assert_eq!(
            sequence(".config.json", &[], 2),
            [".config.json", ".config (1).json"]
        );
        assert_eq!(
            sequence("notes. final", &[], 2),
            ["notes. final", "notes. final (1)"]
        );
    }

    #[test]
    fn empty_name_uses_default() {
        assert_eq!(sequence("", &[], 2), ["download", "download (1)"]);
    }

    #[test]
    fn candidates_stay_within_the_limit() {
        let name = format!("{}.mp4", "ü".repeat(123)); // 250 bytes
        let got = sequence(&name, &[], 12);
        assert_eq!(got[0], name);
        for candidate in &got {
            assert!(
                candidate.len() <= MAX_NAME_BYTES,
                "{} bytes",
                candidate.len()
            );
            assert!(candidate.ends_with(".mp4"));
        }
        assert_eq!(got[1], format!("{} (1).mp4", "ü".repeat(121)));
        assert_eq!(got[11], format!("{} (11).mp4", "ü".repeat(120)));
        let long = "x".repeat(400);
        assert_eq!(unique_name(&long, |_| false).len(), MAX_NAME_BYTES);
        let first = "x".repeat(MAX_NAME_BYTES);
        let second = unique_name(&long, |c| c == first);
        assert_eq!(second, format!("{} (1)", "x".repeat(MAX_NAME_BYTES - 4)));
    }
}

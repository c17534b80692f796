//! Routing rules (`[[rule]]` in the config): which rule a download falls under, and why.
//!
//! Rules are tried in the order written; the first that applies wins, and none applies when
//! there are none (built-in defaults are off). A rule applies when every condition it gives
//! holds: its `host` (the host of the URL the job was given), its `url` (that URL), and its
//! kind: the file's `file` name or its `content_type`, either one when both are given (a
//! server may send a video as `application/octet-stream`, or a name without an extension).
//! The name is the one the server gives (Content-Disposition, else the URL's last part) or
//! the user's `-o`, so a rule on names or types is decided with the first answer; one on
//! hosts and URLs is decided offline, when the job is added.
//!
//! [`route`] is a pure function of (rules, what is known of the download): it says which
//! rule applies, or that one cannot be decided before the server answers (a rule that may
//! apply stands before any that does), or that none applies. Applying a rule to a job (its
//! directory, connections, rate, priority, mirrors, checksum file) is `jobs::route`'s.

mod glob;
mod parse;

pub use glob::Glob;
pub(crate) use parse::rules as deserialize;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One `[[rule]]`: its conditions and what it sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    /// What `status` calls it (`video`); None: "rule N".
    pub name: Option<String>,
    /// Patterns for the file name (case-insensitive).
    pub file: Vec<Glob>,
    /// Patterns for the Content-Type without its parameters (`video/*`, case-insensitive).
    pub content_type: Vec<Glob>,
    /// Patterns for the URL's host (case-insensitive, no port).
    pub host: Vec<Glob>,
    /// Patterns for the whole URL as given.
    pub url: Vec<Glob>,
    /// Where the file goes: absolute, or relative to the directory the job would go to
    /// without the rule (created as needed). `-d`/`-o` (RPC `dir`/`out`) win over it.
    pub dir: Option<PathBuf>,
    pub connections: Option<u32>,
    /// Bytes per second for the job.
    pub rate: Option<u64>,
    pub priority: Option<i64>,
    /// `false`: the job's mirrors are not used.
    pub mirrors: Option<bool>,
    /// A checksum file (SHA256SUMS) whose line for the job's file is checked at the end.
    pub checksum_file: Option<PathBuf>,
}

impl Rule {
    /// The directory this rule sends a job to whose directory would be `base`.
    pub fn dir_for(&self, base: &Path) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| base.join(d))
    }
}

/// What is known of a download when rules are tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The URL the job was given.
    pub url: String,
    pub host: String,
    /// The file name: the user's `-o`, or the server's once it answered.
    pub name: Option<String>,
    /// The Content-Type without parameters, lowercase, once the server answered.
    pub content_type: Option<String>,
    /// The server answered: a name or type still missing is not coming.
    pub answered: bool,
}

impl Facts {
    /// Before any request: the URL, and the name when the user gave one.
    pub fn offline(url: &str, name: Option<&str>) -> Facts {
        Facts {
            url: url.to_string(),
            host: host_of(url),
            name: name.map(str::to_string),
            content_type: None,
            answered: false,
        }
    }

    /// After the first answer: the name the file will get and the answer's Content-Type.
    pub fn answered(url: &str, name: &str, content_type: Option<&str>) -> Facts {
        let ct = content_type
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty());
        Facts {
            url: url.to_string(),
            host: host_of(url),
            name: Some(name.to_string()),
            content_type: ct,
            answered: true,
        }
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        })
        .unwrap_or_default()
}

/// How one rule stands against what is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// It applies, and why.
    Yes(String),
    No,
    /// It may apply: that needs the server's answer (the file's name or Content-Type).
    Unknown,
}

/// Which rule a download falls under.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'r> {
    /// Rule number `index` (1 first) applies.
    Applies {
        index: usize,
        rule: &'r Rule,
        why: String,
    },
    /// Rule number `index` may apply, and no earlier one does: the server's answer decides.
    Undecided { index: usize, rule: &'r Rule },
    /// No rule applies.
    Nothing,
}

/// The first patterns of `globs` matching `value`, as a reason.
fn first_match(globs: &[Glob], value: &str, what: &str) -> Option<String> {
    globs
        .iter()
        .find(|g| g.matches(value))
        .map(|g| format!("{what} matches {:?}", g.as_str()))
}

/// How `rule` stands against `f`.
pub fn test(rule: &Rule, f: &Facts) -> Test {
    let mut why = Vec::new();
    if !rule.host.is_empty() {
        match first_match(&rule.host, &f.host, &format!("the host {:?}", f.host)) {
            Some(w) => why.push(w),
            None => return Test::No,
        }
    }
    if !rule.url.is_empty() {
        match first_match(&rule.url, &f.url, "the URL") {
            Some(w) => why.push(w),
            None => return Test::No,
        }
    }
    if !rule.file.is_empty() || !rule.content_type.is_empty() {
        let by_name = f
            .name
            .as_deref()
            .and_then(|n| first_match(&rule.file, n, &format!("the name {n:?}")));
        let by_type = f
            .content_type
            .as_deref()
            .and_then(|t| first_match(&rule.content_type, t, &format!("the Content-Type {t:?}")));
        match by_name.or(by_type) {
            Some(w) => why.push(w),
            None => {
                // Offline, the server's name (unless -o gave one) and type are still to come.
                let name_to_come = f.name.is_none() && !rule.file.is_empty();
                let type_to_come = !rule.content_type.is_empty();
                if !f.answered && (name_to_come || type_to_come) {
                    return Test::Unknown;
                }
                return Test::No;
            }
        }
    }
    Test::Yes(why.join(", "))
}

/// The rule `f` falls under: the first that applies, unless one before it may apply (then
/// the server's answer decides).
pub fn route<'r>(rules: &'r [Rule], f: &Facts) -> Verdict<'r> {
    for (i, rule) in rules.iter().enumerate() {
        match test(rule, f) {
            Test::Yes(why) => {
                return Verdict::Applies {
                    index: i + 1,
                    rule,
                    why,
                }
            }
            Test::Unknown => return Verdict::Undecided { index: i + 1, rule },
            Test::No => {}
        }
    }
    Verdict::Nothing
}

/// The rule that routed a job, as the job records it (`rule` column, JSON) and `status`,
/// `top` and the service's `JobView` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Its number in the config (1 first) when it was applied.
    pub index: usize,
    pub name: Option<String>,
    /// Why it applied: which condition matched what.
    pub why: String,
}

impl Applied {
    pub fn new(index: usize, rule: &Rule, why: String) -> Applied {
        Applied {
            index,
            name: rule.name.clone(),
            why,
        }
    }

    /// `video (rule 1)` or `rule 3`.
    pub fn label(&self) -> String {
        label(self.index, self.name.as_deref())
    }

    /// From the `rule` column: JSON, or (a hand-written value) taken as the reason.
    pub fn from_column(text: &str) -> Applied {
        serde_json::from_str(text).unwrap_or_else(|_| Applied {
            index: 0,
            name: None,
            why: text.to_string(),
        })
    }

    pub fn to_column(&self) -> String {
        serde_json::to_string(self).expect("a rule record serializes")
    }
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.label(), self.why)
    }
}

/// `video (rule 1)` or `rule 3`: how a rule is named in messages.
pub fn label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} (rule {index})"),
        None => format!("rule {index}"),
    }
}

#[cfg(test)]
mod tests;

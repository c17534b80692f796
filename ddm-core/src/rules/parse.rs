//! `[[rule]]` tables of the config into [`Rule`]s. Every error names the rule by its number
//! (and name, when it has one) and the key, and says what to write instead: an unknown key,
//! a bad pattern, a relative `dir` that would leave the download directory with `..`, a
//! rule without a condition or without anything to set.

use super::{Glob, Rule};
use serde::Deserialize;
use std::path::{Component, PathBuf};
use toml::Value;

/// The keys a rule may have, as the error for an unknown one lists them.
const KEYS: &str = "name, file, content_type, host, url (conditions); dir, connections, rate, \
                    priority, mirrors, checksum_file (what it sets)";

/// serde's `deserialize_with` for the config's `rule` array.
pub(crate) fn rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Rule>, D::Error> {
    let tables = Vec::<toml::Table>::deserialize(d).map_err(|e| {
        serde::de::Error::custom(format!(
            "`rule`: {e}; write each rule as a [[rule]] table (docs/config.md)"
        ))
    })?;
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| parse(i + 1, t).map_err(serde::de::Error::custom))
        .collect()
}

/// Rule number `n` from its table.
pub(super) fn parse(n: usize, t: &toml::Table) -> Result<Rule, String> {
    let name = match t.get("name") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() && !s.contains(char::is_control) => {
            Some(s.trim().to_string())
        }
        Some(_) => {
            return Err(format!(
                "[[rule]] number {n}, key `name`: give a short text, e.g. name = \"video\""
            ))
        }
    };
    let at = |key: &str| match &name {
        Some(nm) => format!("[[rule]] number {n} ({nm:?}), key `{key}`"),
        None => format!("[[rule]] number {n}, key `{key}`"),
    };
    let mut r = Rule {
        name: name.clone(),
        ..Rule::default()
    };
    for (key, v) in t {
        let bad = |msg: &str| format!("{}: {msg}", at(key));
        match key.as_str() {
            "name" => {}
            "file" => r.file = globs(v, true).map_err(|e| bad(&e))?,
            "content_type" => r.content_type = globs(v, true).map_err(|e| bad(&e))?,
            "host" => r.host = globs(v, true).map_err(|e| bad(&e))?,
            "url" => r.url = globs(v, false).map_err(|e| bad(&e))?,
            "dir" => r.dir = Some(dir(v).map_err(|e| bad(&e))?),
            "connections" => {
                let max = crate::config::MAX_CONNECTIONS as i64;
                r.connections = match v {
                    Value::Integer(c) if (1..=max).contains(c) => Some(*c as u32),
                    _ => return Err(bad(&format!("give a number of connections, 1 to {max}"))),
                }
            }
            "rate" => {
                r.rate =
                    Some(match v {
                        Value::Integer(b) if *b > 0 => *b as u64,
                        Value::String(s) => crate::config::parse_rate(s).map_err(|e| bad(&e))?,
                        _ => return Err(bad(
                            "give bytes per second, e.g. rate = \"2M\" (leave it out for no cap)",
                        )),
                    })
            }
            "priority" => {
                r.priority = Some(match v {
                    Value::String(s) => crate::store::parse_priority(s).map_err(|e| bad(&e))?,
                    Value::Integer(p) => {
                        crate::store::parse_priority(&p.to_string()).map_err(|e| bad(&e))?
                    }
                    _ => return Err(bad("give high, normal, low or a number from -100 to 100")),
                })
            }
            "mirrors" => {
                r.mirrors = match v {
                    Value::Boolean(b) => Some(*b),
                    _ => return Err(bad("give false (the job's mirrors are not used) or true")),
                }
            }
            "checksum_file" => {
                let p = path(v).map_err(|e| bad(&e))?;
                if !p.is_absolute() {
                    return Err(bad(&format!(
                        "{} is relative; give the checksum file's absolute path",
                        p.display()
                    )));
                }
                r.checksum_file = Some(p);
            }
            other => {
                let name = match &r.name {
                    Some(nm) => format!("[[rule]] number {n} ({nm:?})"),
                    None => format!("[[rule]] number {n}"),
                };
                return Err(format!(
                    "{name}: unknown key `{other}`; a rule's keys are {KEYS}"
                ));
            }
        }
    }
    let whole = match &name {
        Some(nm) => format!("[[rule]] number {n} ({nm:?})"),
        None => format!("[[rule]] number {n}"),
    };
    if r.file.is_empty() && r.content_type.is_empty() && r.host.is_empty() && r.url.is_empty() {
        return Err(format!(
            "{whole}: no condition; give file, content_type, host or url (url = \"*\" matches \
             every download)"
        ));
    }
    let sets = r.dir.is_some()
        || r.connections.is_some()
        || r.rate.is_some()
        || r.priority.is_some()
        || r.mirrors.is_some()
        || r.checksum_file.is_some();
    if !sets {
        return Err(format!(
            "{whole}: sets nothing; give dir, connections, rate, priority, mirrors or \
             checksum_file"
        ));
    }
    Ok(r)
}

/// A pattern or a list of them.
fn globs(v: &Value, fold: bool) -> Result<Vec<Glob>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Glob::new(s, fold),
        _ => Err("give a pattern or a list of patterns, e.g. [\"*.mp4\", \"*.mkv\"]".into()),
    };
    match v {
        Value::Array(a) if a.is_empty() => {
            Err("an empty list matches nothing; leave the key out instead".into())
        }
        Value::Array(a) => a.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

/// A path, `~` standing for the home directory.
fn path(v: &Value) -> Result<PathBuf, String> {
    let Value::String(s) = v else {
        return Err("give a path as a string".into());
    };
    if s.trim().is_empty() {
        return Err("the path is empty".into());
    }
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    Ok(match (s.as_str(), s.strip_prefix("~/")) {
        ("~", _) => home().ok_or("~: HOME is not set; give an absolute path")?,
        (_, Some(rest)) => home()
            .ok_or("~: HOME is not set; give an absolute path")?
            .join(rest),
        _ => PathBuf::from(s),
    })
}

/// A rule's `dir`: absolute, or relative and inside the download directory.
fn dir(v: &Value) -> Result<PathBuf, String> {
    let p = path(v)?;
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "{}: `..` is not allowed in a rule's dir (a relative one stays inside the download \
             directory); give a directory inside it (\"Video\") or an absolute path \
             (\"/data/Video\")",
            p.display()
        ));
    }
    Ok(p)
}

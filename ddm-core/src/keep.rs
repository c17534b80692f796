//! How long finished jobs stay in the list: config `keep_finished` (a count: the newest N
//! finished jobs; or an age: those that finished within it), applied by the runners that
//! work the whole queue (`ddm run`, `ddm serve`) when they start and every few seconds while
//! they run, through the store's one-statement [`Store::forget_finished`]. Files stay.
//!
//! A job that finished in the last [`GRACE_SECS`] seconds is always kept, whatever the
//! setting: a `ddm get` following its job through the store and the hooks describing it
//! must still find it.

use crate::store::{self, Forget, Forgot, Result, Store};
use std::time::{Duration, Instant};

/// A finished job younger than this is never forgotten by `keep_finished`.
pub const GRACE_SECS: u64 = 5;
/// How often a runner applies `keep_finished`.
const EVERY: Duration = Duration::from_secs(2);

/// `keep_finished`: how many finished jobs, or for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepFinished {
    /// The newest N finished jobs (done and failed together).
    Count(u64),
    /// Those that finished less than this many seconds ago.
    Age(u64),
}

impl KeepFinished {
    /// What the runner forgets now under this setting.
    pub fn forget(self) -> Forget {
        let grace = store::ago(GRACE_SECS);
        let (before, keep_newest) = match self {
            KeepFinished::Count(n) => (grace, Some(n)),
            KeepFinished::Age(secs) => (store::ago(secs).min(grace), None),
        };
        Forget {
            done: true,
            failed: true,
            before: Some(before),
            keep_newest,
        }
    }

    /// As written in the config: `100` or `"7d"`.
    pub fn describe(self) -> String {
        match self {
            KeepFinished::Count(n) => n.to_string(),
            KeepFinished::Age(s) => {
                let (n, unit) = [(604_800, "w"), (86_400, "d"), (3600, "h"), (60, "m")]
                    .into_iter()
                    .find(|(u, _)| s % u == 0)
                    .map_or((s, "s"), |(u, name)| (s / u, name));
                format!("\"{n}{unit}\"")
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for KeepFinished {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(i64),
            Age(String),
        }
        let bad = || {
            serde::de::Error::custom(
                "keep_finished must be a count of finished jobs to keep (e.g. 100) or an age \
                 in quotes (e.g. \"7d\", \"12h\"; units s, m, h, d, w)",
            )
        };
        match Raw::deserialize(d).map_err(|_: D::Error| bad())? {
            Raw::Count(n) => u64::try_from(n).map(KeepFinished::Count).map_err(|_| bad()),
            Raw::Age(s) => parse_age(&s)
                .map(KeepFinished::Age)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// An age: a whole number with a unit, `90s`, `30m`, `12h`, `7d`, `2w`; at least a second.
pub fn parse_age(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let bad = || format!("{t:?} is not an age; write a number and a unit: 90s, 30m, 12h, 7d or 2w");
    let unit = t.chars().last().ok_or_else(bad)?;
    let mult: u64 = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = t[..t.len() - 1].trim().parse().map_err(|_| bad())?;
    match n.checked_mul(mult) {
        Some(0) => Err(format!("{t:?}: an age must be at least one second")),
        Some(secs) if secs < 100 * 365 * 86_400 => Ok(secs),
        _ => Err(format!("{t:?}: an age must be under 100 years")),
    }
}

/// What a runner says when `keep_finished` forgot jobs.
pub fn said(f: &Forgot, cfg: &crate::config::Config) -> String {
    let setting = cfg
        .keep_finished
        .map(KeepFinished::describe)
        .unwrap_or_default();
    format!(
        "forgot {} finished job{} (keep_finished = {setting}); their files stay",
        f.total(),
        if f.total() == 1 { "" } else { "s" }
    )
}

/// A runner's side of `keep_finished`: applied at once, then every [`EVERY`].
#[derive(Debug)]
pub struct Keeper {
    keep: Option<KeepFinished>,
    last: Option<Instant>,
}

impl Keeper {
    pub fn new(keep: Option<KeepFinished>) -> Keeper {
        Keeper { keep, last: None }
    }

    /// Forget what the setting says may go, when it is time to look; what went.
    pub fn tick(&mut self, store: &mut Store) -> Result<Forgot> {
        let Some(keep) = self.keep else {
            return Ok(Forgot::default());
        };
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return Ok(Forgot::default());
        }
        self.last = Some(Instant::now());
        let f = keep.forget();
        if !store.any_to_forget(&f)? {
            return Ok(Forgot::default());
        }
        store.forget_finished(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_counts_as_written() {
        assert_eq!(parse_age("7d"), Ok(7 * 86_400));
        assert_eq!(parse_age(" 90s "), Ok(90));
        assert_eq!(parse_age("2W"), Ok(14 * 86_400));
        assert_eq!(parse_age("12h"), Ok(43_200));
        for bad in ["", "7", "d", "7x", "-1d", "1.5d", "0s", "999999999999w"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
        #[derive(serde::Deserialize, Debug)]
        struct C {
            k: KeepFinished,
        }
        let k = |t: &str| toml::from_str::<C>(t).map(|c| c.k);
        assert_eq!(k("k = 100").unwrap(), KeepFinished::Count(100));
        assert_eq!(k("k = \"7d\"").unwrap(), KeepFinished::Age(7 * 86_400));
        assert_eq!(KeepFinished::Age(7 * 86_400).describe(), "\"1w\"");
        assert_eq!(KeepFinished::Age(90).describe(), "\"90s\"");
        assert_eq!(KeepFinished::Count(3).describe(), "3");
        let e = k("k = -3").unwrap_err().to_string();
        assert!(e.contains("count of finished jobs"), "{e}");
        let e = k("k = \"7 days\"").unwrap_err().to_string();
        assert!(e.contains("not an age"), "{e}");
    }

    #[test]
    fn the_grace_holds_whatever_the_setting() {
        let now = crate::clock::now();
        let f = KeepFinished::Count(0).forget();
        assert!(f.before.unwrap() <= now - GRACE_SECS as i64);
        let f = KeepFinished::Age(1).forget();
        assert!(f.before.unwrap() <= now - GRACE_SECS as i64);
        let f = KeepFinished::Age(3600).forget();
        assert!(f.before.unwrap() <= now - 3600);
    }
}

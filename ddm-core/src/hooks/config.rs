//! The `[hooks]` table of `config.toml`: which command runs on which event, and the time
//! limit. Commands are argv arrays (`["notify-send", "ddm", "done"]`), never a shell line:
//! a shell runs only when the user writes one (`["sh", "-c", "…"]`). The config file is the
//! only way in: no flag, job setting or RPC option names a hook.

use serde::Deserialize;

/// The events a hook runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// A job's first answer came and it starts transferring (once per run of the job).
    Start,
    /// A job finished: its file is in place (checksum verified when one was given).
    Complete,
    /// A job failed, or rests waiting for a fresh link (its own expired).
    Error,
    /// A runner's queue became empty: `run` and `get` once at their end, `serve` each time
    /// it goes idle after work.
    QueueEmpty,
}

impl Hook {
    pub const ALL: [Hook; 4] = [Hook::Start, Hook::Complete, Hook::Error, Hook::QueueEmpty];

    /// The config key (`on_complete`).
    pub fn key(self) -> &'static str {
        match self {
            Hook::Start => "on_start",
            Hook::Complete => "on_complete",
            Hook::Error => "on_error",
            Hook::QueueEmpty => "on_queue_empty",
        }
    }

    /// The `event` of the description and `DDM_EVENT` (`complete`).
    pub fn event(self) -> &'static str {
        &self.key()[3..]
    }
}

/// A command as the file gives it; checked by [`HooksConfig::validate`], which names the key
/// (a string or a number is refused with an example, not by serde's generic words).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Command {
    Argv(Vec<String>),
    Other(toml::Value),
}

/// `[hooks]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    pub on_start: Option<Command>,
    pub on_complete: Option<Command>,
    pub on_error: Option<Command>,
    pub on_queue_empty: Option<Command>,
    /// A hook still running after this many seconds is killed (its whole process group).
    pub timeout_secs: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            on_start: None,
            on_complete: None,
            on_error: None,
            on_queue_empty: None,
            timeout_secs: 30,
        }
    }
}

/// Longest time limit a hook may be given (an hour).
pub const MAX_TIMEOUT_SECS: u64 = 3600;

impl HooksConfig {
    fn raw(&self, hook: Hook) -> Option<&Command> {
        match hook {
            Hook::Start => self.on_start.as_ref(),
            Hook::Complete => self.on_complete.as_ref(),
            Hook::Error => self.on_error.as_ref(),
            Hook::QueueEmpty => self.on_queue_empty.as_ref(),
        }
    }

    /// The command for `hook`, if one is set (after [`HooksConfig::validate`]).
    pub fn command(&self, hook: Hook) -> Option<&[String]> {
        match self.raw(hook) {
            Some(Command::Argv(argv)) => Some(argv),
            _ => None,
        }
    }

    /// Whether any hook is set.
    pub fn any(&self) -> bool {
        Hook::ALL.iter().any(|&h| self.command(h).is_some())
    }

    /// Every command an argv array with a program, nothing that cannot be passed to a
    /// program (NUL), a time limit from 1 s to an hour. The error names the key.
    pub fn validate(&self) -> Result<(), String> {
        let example = "write an array of words, e.g. [\"notify-send\", \"ddm\", \"done\"]; \
                       for a shell line [\"sh\", \"-c\", \"…\"]";
        for hook in Hook::ALL {
            let key = hook.key();
            match self.raw(hook) {
                None => {}
                Some(Command::Other(toml::Value::String(s))) => {
                    return Err(format!(
                        "key `hooks.{key}`: {s:?} is a string; {example} (no shell runs unless \
                         you name one)"
                    ))
                }
                Some(Command::Other(v)) => {
                    return Err(format!(
                        "key `hooks.{key}`: {v} is not a command; {example}"
                    ))
                }
                Some(Command::Argv(argv)) => match argv.first() {
                    None => {
                        return Err(format!(
                            "key `hooks.{key}`: the command is empty; {example}"
                        ))
                    }
                    Some(p) if p.trim().is_empty() => {
                        return Err(format!(
                            "key `hooks.{key}`: the first word must name the program; {example}"
                        ))
                    }
                    _ if argv.iter().any(|a| a.contains('\0')) => {
                        return Err(format!(
                            "key `hooks.{key}`: a word holds a NUL character, which no program \
                             can be given"
                        ))
                    }
                    _ => {}
                },
            }
        }
        if !(1..=MAX_TIMEOUT_SECS).contains(&self.timeout_secs) {
            return Err(format!(
                "key `hooks.timeout_secs`: {} is out of range (1 to {MAX_TIMEOUT_SECS})",
                self.timeout_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/h/config.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn commands_are_argv_arrays_and_the_timeout_defaults_to_30_s() {
        let c = parse(
            "[hooks]\non_complete = [\"notify-send\", \"ddm\", \"done\"]\n\
             on_queue_empty = [\"sh\", \"-c\", \"echo empty\"]\n",
        )
        .unwrap();
        let h = &c.hooks;
        assert_eq!(
            h.command(super::Hook::Complete).unwrap(),
            ["notify-send", "ddm", "done"]
        );
        assert_eq!(h.command(super::Hook::Start), None);
        assert_eq!(h.timeout_secs, 30);
        assert!(h.any());
        assert!(!Config::default().hooks.any());
    }

    #[test]
    fn a_bad_command_is_refused_naming_its_key_and_what_to_write() {
        for (text, words) in [
            ("on_complete = \"mv a b\"", "is a string"),
            ("on_error = 3", "3 is not a command"),
            ("on_error = [1, 2]", "is not a command"),
            ("on_start = []", "the command is empty"),
            ("on_start = [\"\", \"x\"]", "must name the program"),
            ("on_start = [\"a\\u0000b\"]", "NUL"),
            ("timeout_secs = 0", "out of range"),
            ("timeout_secs = 3601", "out of range"),
            ("on_complet = [\"x\"]", "on_complet"),
        ] {
            let e = parse(&format!("[hooks]\n{text}\n")).unwrap_err();
            assert!(
                e.contains(words) && e.contains("/h/config.toml"),
                "{text}: {e}"
            );
            if !text.starts_with("on_complet ") {
                let key = text.split(' ').next().unwrap();
                assert!(e.contains(&format!("hooks.{key}")), "{text}: {e}");
            }
        }
    }
}

//! Honest words (issue 15.5): what ddm prints says what is true and what can help, once.
//! Failure hints by kind, connection counts that tell what is open from the ceiling, notes
//! that name their job, a summary at the end of `ddm run`, and verbs that show and do what
//! their help says. Checked on the words printed, the exit codes and the server's log.

mod counts;
mod crash_bound;
mod hints;
mod input_file;
mod notes;
mod summary;
mod verbs;

use crate::util::*;

pub(crate) fn config(env: &Env, toml: &str) {
    std::fs::create_dir_all(env.home()).unwrap();
    std::fs::write(env.home().join("config.toml"), toml).unwrap();
}

/// The clauses of a message (split at `;`, `(` and `)`), trimmed: none may be said twice.
pub(crate) fn assert_said_once(text: &str) {
    let clauses: Vec<&str> = text
        .split([';', '(', ')'])
        .map(str::trim)
        .filter(|c| c.len() > 3)
        .collect();
    for (i, c) in clauses.iter().enumerate() {
        assert!(
            !clauses[i + 1..].contains(c),
            "{c:?} is said twice in: {text}"
        );
    }
}

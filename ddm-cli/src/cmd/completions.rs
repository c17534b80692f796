//! `ddm completions`: a shell completion script, generated from the clap definitions (so it
//! always matches the verbs and flags of this binary), printed to stdout.

use crate::cli::Cli;
use crate::ctx::Global;
use crate::exit::{CliError, CliResult, Code};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

/// Print the completion script for SHELL (bash, zsh, fish, elvish or powershell).
///
/// Example: source <(ddm completions bash)   |   ddm completions zsh > ~/.zfunc/_ddm
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

pub fn run(_g: &Global, a: Args) -> CliResult {
    let script = script(a.shell);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(Code::Env, e))?;
    Ok(Code::Ok)
}

/// The script for `shell`, for the binary named `ddm`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ddm", &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_ddm_and_its_verbs() {
        let bash = String::from_utf8(script(Shell::Bash)).unwrap();
        assert!(bash.contains("_ddm()"), "{bash}");
        assert!(bash.contains("complete -F _ddm"), "{bash}");
        for verb in ["get", "add", "top", "completions", "man"] {
            assert!(bash.contains(verb), "{verb} missing");
        }
        assert!(bash.contains("--home"));
        for shell in [Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let s = String::from_utf8(script(shell)).unwrap();
            assert!(s.contains("ddm") && s.contains("get"), "{shell:?}");
        }
    }
}

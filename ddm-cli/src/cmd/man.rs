//! `ddm man`: the manual page, generated from the clap definitions (so it always matches the
//! verbs and flags of this binary), printed to stdout as roff.

use crate::cli::Cli;
use crate::ctx::Global;
use crate::exit::{usage, CliError, CliResult, Code};
use clap::CommandFactory;
use std::io::Write;

/// Print the man page of ddm (roff), or of one verb (`ddm man get` is ddm-get(1)).
///
/// Example: ddm man > ~/.local/share/man/man1/ddm.1   |   ddm man get | man -l -
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A verb: its own page instead of the overview.
    #[arg(value_name = "VERB")]
    pub verb: Option<String>,
}

pub fn run(_g: &Global, a: Args) -> CliResult {
    let page = page(a.verb.as_deref())?;
    let mut out = std::io::stdout().lock();
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(Code::Env, e))?;
    Ok(Code::Ok)
}

/// The roff page of ddm, or of `verb`.
pub fn page(verb: Option<&str>) -> CliResult<Vec<u8>> {
    // Built, so verbs carry their full names (`ddm-get`) and the global flags.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let cmd = match verb {
        None => cmd,
        Some(v) => cmd.find_subcommand(v).cloned().ok_or_else(|| {
            let verbs: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
            usage(format!("{v:?} is not a verb; one of: {}", verbs.join(", ")))
        })?,
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("ddm {}", env!("CARGO_PKG_VERSION")))
        .render(&mut buf)
        .map_err(|e| CliError::new(Code::Env, e))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_roff_and_lists_the_verbs() {
        let page = String::from_utf8(page(None).unwrap()).unwrap();
        // roff's apostrophe set-up (`.ie`/`.el`) comes first, then the title.
        assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
        assert!(first_macro(&page).starts_with(".TH ddm 1"), "{page}");
        for verb in ["get", "add", "status", "top", "completions"] {
            assert!(page.contains(verb), "{verb} missing");
        }
        let get = String::from_utf8(page_of("get")).unwrap();
        assert!(
            first_macro(&get).starts_with(".TH ddm-get 1  \"ddm 0."),
            "{get}"
        );
        assert!(get.contains("connections"), "{get}");
        assert!(page_of_err("nosuchverb").contains("not a verb"));
    }

    /// The first line after roff's set-up of the apostrophe string.
    fn first_macro(page: &str) -> &str {
        page.lines()
            .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"))
            .unwrap_or("")
    }

    fn page_of(v: &str) -> Vec<u8> {
        page(Some(v)).unwrap()
    }

    fn page_of_err(v: &str) -> String {
        page(Some(v)).unwrap_err().message()
    }
}

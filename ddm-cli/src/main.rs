//! `ddm`: the command-line job manager over ddm-core.
//!
//! `main` parses flags (clap derive, one file per verb under `cmd/`), sets up logging, runs
//! the verb and maps its error to a documented exit code (docs/exit-codes.md). Errors print
//! as one line: what went wrong and what to do next.

mod argv;
mod board;
mod caps;
mod cli;
mod cmd;
mod ctx;
mod exit;
mod fdlimit;
mod hints;
mod line;
mod logfile;
mod logging;
mod observe;
mod signals;
mod ui;

use clap::Parser;
use ddm_core::model::redact_text;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => parse_error(e),
    };
    // Passwords and tokens given as arguments are parsed: hide them from `ps`.
    argv::scrub();
    // The demo keeps everything (its jobs, its log) in a home of its own that goes with it:
    // nothing touches the user's data directory.
    let _demo_home = match (&cli.command, &cli.global.home) {
        (cli::Command::Demo(_), None) => tempfile::Builder::new()
            .prefix("ddm-demo-home-")
            .tempdir()
            .ok()
            .inspect(|t| cli.global.home = Some(t.path().to_path_buf())),
        _ => None,
    };
    let _guard = logging::init(&cli.global);
    // Hundreds of connections need more descriptors than many systems' default soft limit.
    fdlimit::raise();
    match cmd::dispatch(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            if e.is_broken_pipe() {
                return exit::Code::Ok.into();
            }
            // Whatever the error repeats of a URL, a password in it is not shown or logged.
            let msg = redact_text(&e.message());
            eprintln!("ddm: {}", ui::clean(&msg));
            tracing::info!(code = ?e.code, "exit: {msg}");
            e.code.into()
        }
    }
}

/// Clap's own errors (a bad value, an unknown flag) may repeat an argument: print them with
/// URL passwords redacted. Help and version go out as clap writes them.
fn parse_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = if colour {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    eprint!("{}", redact_text(&text));
    std::process::exit(e.exit_code());
}

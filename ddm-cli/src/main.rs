//! `ddm`: the command-line job manager over ddm-core.
//!
//! `main` parses flags (clap derive, one file per verb under `cmd/`), sets up logging, runs
//! the verb and maps its error to a documented exit code (docs/exit-codes.md). Errors print
//! as one line: what went wrong and what to do next.

mod argv;
mod board;
mod cli;
mod cmd;
mod ctx;
mod exit;
mod hints;
mod line;
mod logging;
mod observe;
mod signals;
mod ui;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut cli = cli::Cli::parse();
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
    match cmd::dispatch(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            if e.is_broken_pipe() {
                return exit::Code::Ok.into();
            }
            eprintln!("ddm: {}", ui::clean(&e.message()));
            tracing::info!(code = ?e.code, "exit: {}", e.message());
            e.code.into()
        }
    }
}

//! `ddm demo` (arrives in a later change).

use crate::cli::Global;
use crate::exit::CliResult;

/// Not available yet.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub fn run(_g: &Global, _a: Args) -> CliResult {
    super::not_yet("demo")
}

//! Top-level flags and the verb list. Each verb's own flags live in its file under `cmd/`.

use crate::cmd;
use clap::{Parser, Subcommand};

/// The flags every verb takes live next to the context they build (`ctx`); named here too
/// so that a verb may take them from either.
pub use crate::ctx::Global;

/// A segmented download manager. Queue downloads with `add`, work the queue with `run`,
/// or fetch one file now with `get`.
#[derive(Debug, Parser)]
#[command(name = "ddm", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(cmd::add::Args),
    Run(cmd::run::Args),
    Serve(cmd::serve::Args),
    Status(cmd::status::Args),
    Top(cmd::top::Args),
    Pause(cmd::pause::Args),
    Resume(cmd::resume::Args),
    Remove(cmd::remove::Args),
    Clean(cmd::clean::Args),
    Schedule(cmd::schedule::Args),
    Limit(cmd::limit::Args),
    Move(cmd::move_job::Args),
    Rules(cmd::rules::Args),
    SetUrl(cmd::set_url::Args),
    Get(cmd::get::Args),
    Probe(cmd::probe::Args),
    ImportHar(cmd::import_har::Args),
    Bench(cmd::bench::Args),
    Demo(cmd::demo::Args),
    Completions(cmd::completions::Args),
    Man(cmd::man::Args),
}

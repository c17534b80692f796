//! One module per verb: each has its `Args` (doc comments are the help text) and `run`;
//! `jobopts` (flags shared by `add` and `get`), `queueopts` (when an added job may start)
//! and `input_list` (`add -i`) are their helpers.

pub mod add;
pub mod bench;
pub mod clean;
pub mod completions;
pub mod demo;
pub mod get;
pub mod import_har;
pub mod input_list;
pub mod jobopts;
pub mod limit;
pub mod man;
pub mod move_job;
pub mod pause;
pub mod probe;
pub mod queueopts;
pub mod remove;
pub mod resume;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod serve;
pub mod set_url;
pub mod status;
pub mod top;

use crate::cli::{Cli, Command};
use crate::exit::{CliResult, Code};

pub fn dispatch(cli: Cli) -> CliResult<Code> {
    let g = &cli.global;
    match cli.command {
        Command::Add(a) => add::run(g, a),
        Command::Run(a) => run::run(g, a),
        Command::Serve(a) => serve::run(g, a),
        Command::Status(a) => status::run(g, a),
        Command::Top(a) => top::run(g, a),
        Command::Pause(a) => pause::run(g, a),
        Command::Resume(a) => resume::run(g, a),
        Command::Remove(a) => remove::run(g, a),
        Command::Clean(a) => clean::run(g, a),
        Command::Schedule(a) => schedule::run(g, a),
        Command::Limit(a) => limit::run(g, a),
        Command::Move(a) => move_job::run(g, a),
        Command::Rules(a) => rules::run(g, a),
        Command::SetUrl(a) => set_url::run(g, a),
        Command::Get(a) => get::run(g, a),
        Command::Probe(a) => probe::run(g, a),
        Command::ImportHar(a) => import_har::run(g, a),
        Command::Bench(a) => bench::run(g, a),
        Command::Demo(a) => demo::run(g, a),
        Command::Completions(a) => completions::run(g, a),
        Command::Man(a) => man::run(g, a),
    }
}

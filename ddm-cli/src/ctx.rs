//! The per-invocation context: the flags every verb takes ([`Global`]) and what they resolve
//! to: paths, config and the open job store ([`Ctx`]).

use crate::exit::{CliError, CliResult, Code};
use ddm_core::config::Config;
use ddm_core::paths::Paths;
use ddm_core::store::Store;
use std::path::PathBuf;

// The flags every verb takes (before or after the verb). No doc comment: clap would take
// it for the help text of every verb.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Keep config, job database and log under DIR instead of the platform defaults.
    #[arg(long, global = true, env = "DDM_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// More detail on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// What the flags resolve to, for verbs that work on the data directory.
pub struct Ctx {
    pub paths: Paths,
    pub config: Config,
    pub store: Store,
}

pub fn paths(g: &Global) -> std::io::Result<Paths> {
    Paths::resolve(g.home.as_deref())
}

impl Ctx {
    pub fn open(g: &Global) -> CliResult<Ctx> {
        let paths = paths(g).map_err(|e| CliError::new(Code::Env, e))?;
        let config = Config::load(&paths.config_file).map_err(|e| CliError::new(Code::Usage, e))?;
        paths.ensure_state_dir().map_err(|e| {
            CliError::new(
                Code::Env,
                anyhow::anyhow!(
                    "cannot create the data directory {}: {e}",
                    paths.state_dir.display()
                ),
            )
        })?;
        let store = Store::open(&paths.db_file()).map_err(crate::exit::store)?;
        Ok(Ctx {
            paths,
            config,
            store,
        })
    }

    /// For verbs that only read (`status`, `top`): they work on a data directory that cannot
    /// be written (read-only mount, no permission), where the database is read read-only.
    pub fn open_read(g: &Global) -> CliResult<Ctx> {
        let paths = paths(g).map_err(|e| CliError::new(Code::Env, e))?;
        let config = Config::load(&paths.config_file).map_err(|e| CliError::new(Code::Usage, e))?;
        // A data directory that cannot be created holds no jobs: the store says so.
        let _ = paths.ensure_state_dir();
        let store = Store::open_for_reading(&paths.db_file()).map_err(crate::exit::store)?;
        Ok(Ctx {
            paths,
            config,
            store,
        })
    }
}

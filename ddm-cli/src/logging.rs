//! Logging: everything at debug level to `ddm.log` in the state directory, rotated by size
//! (`logfile`: `log_max_size`, `log_keep`); `-v`/`-q` choose what also reaches stderr
//! (default: warnings). Lines that come every second of a download (checkpoints) are at
//! trace level: stderr with `-vvv`, never the file.

use crate::ctx::Global;
use crate::logfile::LogFile;
use std::sync::Mutex;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub struct Guard;

pub fn init(g: &Global) -> Guard {
    let stderr_level = match (g.quiet, g.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    // Colours only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour)
        .without_time()
        .with_filter(stderr_level);
    // The log file lives in the state directory; if it cannot be opened we log to stderr only.
    let file_layer = crate::ctx::paths(g).ok().and_then(|p| {
        p.ensure_state_dir().ok()?;
        // A config with errors is reported by the verb; the log keeps to the defaults.
        let cfg = ddm_core::config::Config::load(&p.config_file).unwrap_or_default();
        let f = LogFile::open(&p.log_file(), cfg.log_max_size, cfg.log_keep).ok()?;
        Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(f))
                .with_ansi(false)
                .with_filter(LevelFilter::DEBUG),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
    Guard
}

//! `config.toml`: optional user settings, each with a documented default (docs/config.md).
//!
//! The file is optional. An unknown key or a bad value is an error naming the key and the
//! file, never silently ignored: a typo in `conections = 4` must not quietly mean 8.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Upper bound for connections per job (`--connections`).
pub const MAX_CONNECTIONS: u32 = 64;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Most connections per job when neither the job (`-c`) nor the host policy says
    /// otherwise; ddm starts with fewer and adds them while each step adds throughput.
    pub connections: u32,
    /// Jobs `ddm run` works at the same time; 0: as many as the connection budget allows.
    pub max_active_jobs: u32,
    /// Connections all running jobs together may have open.
    pub max_total_connections: u32,
    /// Connections all running jobs together may have open to one host (scheme, host, port).
    pub max_connections_per_host: u32,
    /// Seconds to wait for a TCP/TLS connection.
    pub connect_timeout_secs: u64,
    /// A transfer with no progress for this many seconds is abandoned and its range re-queued.
    pub stall_timeout_secs: u64,
    /// Total retries a job may spend before it fails (progress is kept).
    pub retry_budget: u32,
    /// Maximum attempts for one range before the job fails.
    pub max_attempts: u32,
    /// Seconds between durable checkpoints of the completion bitmap.
    pub checkpoint_secs: f64,
    /// User-Agent sent with every request.
    pub user_agent: String,
    /// Verify TLS certificates (can also be turned off per command with `--insecure`).
    pub verify_tls: bool,
    /// Bytes per second all jobs together may receive (`ddm limit --global` overrides it
    /// while a runner works); None: unlimited. Written as a number of bytes or "10M".
    #[serde(deserialize_with = "rate")]
    pub max_rate: Option<u64>,
    /// Proxy for every request (`http://`, `https://`, `socks5://`, `socks5h://`); unset: the
    /// environment variables, as curl reads them.
    pub proxy: Option<String>,
    /// Hosts reached without the proxy (comma-separated, `*` for all).
    pub noproxy: Option<String>,
    /// CA bundle to trust instead of the system's.
    pub cacert: Option<std::path::PathBuf>,
    /// Directory of CA certificates to trust.
    pub capath: Option<std::path::PathBuf>,
    /// HTTP/1.1 only: no HTTP/2 even where an https server offers it (`--http1.1` for one
    /// job).
    pub http1: bool,
    /// A run of a job that lasts longer than this many seconds fails (curl's `--max-time`;
    /// `--max-time` for one job); 0: no limit.
    pub max_time_secs: u64,
    /// A run whose speed averages under this many bytes per second for
    /// `lowest_speed_time_secs` fails (aria2's `lowest-speed-limit`, curl's
    /// `--speed-limit`); None: no limit. Written as a number of bytes or "10K".
    #[serde(deserialize_with = "rate")]
    pub lowest_speed_limit: Option<u64>,
    /// The seconds over which `lowest_speed_limit` is averaged (curl's `--speed-time`).
    pub lowest_speed_time_secs: u64,
    /// Space a download must leave free on the destination's file system; None: 64 MiB or
    /// 5% of the file system, whichever is less. Written as bytes, "64M" or "5%".
    #[serde(deserialize_with = "margin")]
    pub min_free_space: Option<FreeSpace>,
    /// `ddm.log` is rotated when it reaches this many bytes.
    #[serde(deserialize_with = "log_size")]
    pub log_max_size: u64,
    /// Rotated logs kept (`ddm.log.1` newest … `ddm.log.N`); 0: none.
    pub log_keep: u32,
    /// Finished jobs `ddm run` and `ddm serve` keep in the list: a count (the newest N) or
    /// an age ("7d"); older ones are forgotten, their files stay. None: all are kept.
    pub keep_finished: Option<crate::keep::KeepFinished>,
    /// `[[schedule]]`: windows of the week with a rate cap and/or a held queue
    /// (`crate::schedule`); outside all of them the defaults apply.
    pub schedule: Vec<crate::schedule::Window>,
    /// `ddm serve`: where it listens, its secret, which web page may call it, where files go.
    pub serve: Serve,
    /// How long a job whose download link expired (refused after progress, with no way to
    /// resolve it again) waits for a fresh one (`ddm set-url`, `ddm get NEWURL`) before it
    /// rests as `waiting`; 0: it rests at once.
    pub link_wait_secs: u64,
    /// `[hooks]`: commands run when a job starts, completes or fails and when the queue
    /// empties (config only: never a flag or an RPC option).
    pub hooks: crate::hooks::HooksConfig,
    /// `[[rule]]`: routing rules, tried in order on each new download (`rules`); none by
    /// default.
    #[serde(deserialize_with = "crate::rules::deserialize")]
    pub rule: Vec<crate::rules::Rule>,
}

/// The `[serve]` table: `ddm serve`'s settings (its flags win).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Serve {
    /// The port of aria2's JSON-RPC (`/jsonrpc`); aria2's own default.
    pub port: u16,
    /// The address listened on; 127.0.0.1 unless said otherwise.
    pub listen: String,
    /// The secret token every call must carry; None: generated once and kept in
    /// `serve.secret` beside the config file.
    pub secret: Option<String>,
    /// The one web page origin (or `*`) whose requests get CORS headers.
    pub allow_origin: Option<String>,
    /// Where jobs added without a directory go; None: the user's download directory.
    pub dir: Option<std::path::PathBuf>,
    /// Other directories an RPC call may name (`dir`); the default one always may.
    pub allowed_dirs: Vec<std::path::PathBuf>,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            port: 6800,
            listen: "127.0.0.1".into(),
            secret: None,
            allow_origin: None,
            dir: None,
            allowed_dirs: Vec::new(),
        }
    }
}

/// Space to leave free on a file system (`min_free_space`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeSpace {
    Bytes(u64),
    /// A share of the file system's size, in percent.
    Percent(f64),
}

impl FreeSpace {
    /// The default: 64 MiB, but never more than 5% of a (small) file system.
    pub const DEFAULT_BYTES: u64 = 64 << 20;
    pub const DEFAULT_PERCENT: f64 = 5.0;

    /// The bytes to leave free on a file system of `total` bytes (`None`: the default rule).
    pub fn bytes(this: Option<FreeSpace>, total: u64) -> u64 {
        let share = |p: f64| (total as f64 * p / 100.0) as u64;
        match this {
            Some(FreeSpace::Bytes(b)) => b,
            Some(FreeSpace::Percent(p)) => share(p),
            None => Self::DEFAULT_BYTES.min(share(Self::DEFAULT_PERCENT)),
        }
    }

    /// `64M`, `512K`, `1G`, a plain number of bytes, `0`, or a percentage like `5%`.
    pub fn parse(s: &str) -> Result<FreeSpace, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=50.0).contains(&v) => Ok(FreeSpace::Percent(v)),
                _ => Err(format!("{t:?}: a share must be between 0% and 50%")),
            };
        }
        if t == "0" {
            return Ok(FreeSpace::Bytes(0));
        }
        parse_bytes(t).map(FreeSpace::Bytes).map_err(|_| {
            format!("{t:?} is not a size; write e.g. 64M, 1G, 0 or a share such as 5%")
        })
    }
}

/// Why a byte count did not parse (see [`parse_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadBytes {
    /// Not a number with an optional K, M or G.
    Syntax,
    /// Zero, or more than 16 EiB.
    Range,
}

/// `64M`, `512K`, `1G` or a plain number of bytes (binary units), at least 1.
pub fn parse_bytes(s: &str) -> Result<u64, BadBytes> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| BadBytes::Syntax)?;
    match n.checked_mul(mult) {
        Some(0) | None => Err(BadBytes::Range),
        Some(v) => Ok(v),
    }
}

/// `10M`, `512K`, `1G` or a plain number of bytes (binary units).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    parse_bytes(s).map_err(|e| match e {
        BadBytes::Syntax => format!(
            "{:?} is not a rate; write e.g. 10M, 512K or 1G (per second)",
            s.trim()
        ),
        BadBytes::Range => format!(
            "{:?}: a rate must be between 1 byte/s and 16 EiB/s",
            s.trim()
        ),
    })
}

/// A TOML value that is a number or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    N(u64),
    S(String),
}

fn rate<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Raw::deserialize(d)? {
        Raw::N(0) => Ok(None),
        Raw::N(n) => Ok(Some(n)),
        Raw::S(s) => parse_rate(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

fn margin<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<FreeSpace>, D::Error> {
    match Raw::deserialize(d)? {
        Raw::N(n) => Ok(Some(FreeSpace::Bytes(n))),
        Raw::S(s) => FreeSpace::parse(&s)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("key `min_free_space`: {e}"))),
    }
}

fn log_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Raw::deserialize(d)? {
        Raw::N(n) => Ok(n),
        Raw::S(s) => parse_bytes(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "key `log_max_size`: {:?} is not a size; write e.g. 10M, 512K or 1G",
                s.trim()
            ))
        }),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connections: 16,
            max_active_jobs: 0,
            max_total_connections: 64,
            max_connections_per_host: 16,
            connect_timeout_secs: 15,
            stall_timeout_secs: 30,
            retry_budget: 64,
            max_attempts: 10,
            checkpoint_secs: 1.0,
            user_agent: format!("ddm/{}", env!("CARGO_PKG_VERSION")),
            verify_tls: true,
            max_rate: None,
            proxy: None,
            noproxy: None,
            cacert: None,
            capath: None,
            http1: false,
            max_time_secs: 0,
            lowest_speed_limit: None,
            lowest_speed_time_secs: 30,
            min_free_space: None,
            log_max_size: 10 << 20,
            log_keep: 3,
            keep_finished: None,
            schedule: Vec::new(),
            serve: Serve::default(),
            link_wait_secs: 600,
            hooks: Default::default(),
            rule: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {msg}")]
    Invalid { path: PathBuf, msg: String },
}

impl Config {
    /// Load `path` if it exists; defaults otherwise.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The most connections one job may have open to its host: the budget's share for a
    /// host (`max_connections_per_host`, within `max_total_connections`). A job's count
    /// (`-c`, a saved `bench` recommendation) and `bench`'s counts never go above it.
    pub fn host_connections(&self) -> usize {
        self.max_connections_per_host
            .min(self.max_total_connections)
            .max(1) as usize
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            msg,
        };
        let cfg: Config = toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        cfg.validate().map_err(invalid)?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return Err(format!(
                "key `connections`: {} is out of range (1 to {MAX_CONNECTIONS})",
                self.connections
            ));
        }
        if self.max_active_jobs > 1024 {
            return Err(format!(
                "key `max_active_jobs`: {} is out of range (0 = from the connection budget, or \
                 1 to 1024)",
                self.max_active_jobs
            ));
        }
        if !(1..=1024).contains(&self.max_connections_per_host) {
            return Err(format!(
                "key `max_connections_per_host`: {} is out of range (1 to 1024)",
                self.max_connections_per_host
            ));
        }
        if !(1..=1024).contains(&self.max_total_connections) {
            return Err(format!(
                "key `max_total_connections`: {} is out of range (1 to 1024)",
                self.max_total_connections
            ));
        }
        if self.connect_timeout_secs == 0 {
            return Err("key `connect_timeout_secs`: must be at least 1".into());
        }
        if self.stall_timeout_secs == 0 {
            return Err("key `stall_timeout_secs`: must be at least 1".into());
        }
        if self.lowest_speed_time_secs == 0 {
            return Err("key `lowest_speed_time_secs`: must be at least 1".into());
        }
        if self.max_attempts == 0 {
            return Err("key `max_attempts`: must be at least 1".into());
        }
        if !(self.checkpoint_secs > 0.0 && self.checkpoint_secs <= 60.0) {
            return Err("key `checkpoint_secs`: must be between 0 and 60".into());
        }
        if self.user_agent.trim().is_empty() || self.user_agent.contains(['\r', '\n']) {
            return Err("key `user_agent`: must be a non-empty single line".into());
        }
        if self.log_max_size < 4096 {
            return Err("key `log_max_size`: must be at least 4096 bytes (4K)".into());
        }
        if self.link_wait_secs > 7 * 24 * 3600 {
            return Err(format!(
                "key `link_wait_secs`: {} is out of range (0 to 604800, a week)",
                self.link_wait_secs
            ));
        }
        if self.log_keep > 100 {
            return Err(format!(
                "key `log_keep`: {} is out of range (0 to 100)",
                self.log_keep
            ));
        }
        self.hooks.validate()?;
        if let Some(p) = &self.proxy {
            crate::model::check_proxy(p).map_err(|e| format!("key `proxy`: {e}"))?;
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
    pub fn stall_timeout(&self) -> Duration {
        Duration::from_secs(self.stall_timeout_secs)
    }
}

#[cfg(test)]
mod tests;

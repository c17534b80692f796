//! Flags shared by `add` and `get` (destination, connections, headers), validated into a
//! `NewJob` before anything touches the network or the database.

use crate::exit::{usage, CliError};
use ddm_core::config::MAX_CONNECTIONS;
use ddm_core::model::{Credentials, Netrc};
use ddm_core::store::{Header, JobSettings, NewJob};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Request headers, for every verb that makes requests.
#[derive(Debug, Clone, clap::Args)]
pub struct HeaderArgs {
    /// Extra request header, 'Name: value' (repeatable). Cookie, Authorization, every header
    /// whose name holds token, key, secret, session, auth, password, signature or credential
    /// (Private-Token, X-Amz-Security-Token, ...) and headers named by --secret-header are
    /// credentials: stored in the job database (private to you), never printed, and sent only
    /// to the scheme, host and port of the URL given.
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Treat the -H header NAME as a credential too (repeatable), for one whose name does not
    /// say so (e.g. X-Tenant).
    #[arg(long = "secret-header", value_name = "NAME")]
    pub secret_headers: Vec<String>,
    /// HTTP authentication as USER:PASSWORD (asked for when only USER is given and this is a
    /// terminal). Sent only to the URL's scheme, host and port; stored privately, never shown.
    /// ddm blanks a password given here in its command line, but other users may see it in
    /// `ps` before that and it stays in the shell's history: `-u USER` (the password is asked
    /// for) and --netrc / --netrc-file keep it off the command line.
    #[arg(short = 'u', long, value_name = "USER[:PASSWORD]")]
    pub user: Option<String>,
    /// Take credentials from ~/.netrc (for the host each request goes to), like curl.
    #[arg(long, conflicts_with = "netrc_file")]
    pub netrc: bool,
    /// Take credentials from this netrc file.
    #[arg(long, value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,
    /// Send the cookies of a Netscape cookies.txt file (a browser export, curl -c), each only
    /// where its domain, path and secure flag allow. Stored privately, never shown. At most
    /// 16 MiB is read; a Cookie header over 8 KiB (what servers accept) is refused.
    #[arg(long, value_name = "FILE")]
    pub load_cookies: Option<PathBuf>,
    /// Go through this proxy: http://, https://, socks4://, socks4a://, socks5:// or
    /// socks5h:// (names resolved by the proxy), optionally with user:password@. "" = no
    /// proxy. Default: config `proxy`, else http_proxy / https_proxy / all_proxy.
    // Checked in `network`, not by clap: clap's error would repeat the value, password and all.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Hosts to reach without the proxy, comma-separated ('*' = all); default: NO_PROXY.
    #[arg(long, value_name = "HOSTS")]
    pub noproxy: Option<String>,
    /// Trust the CA certificates in this PEM file (instead of the system's).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Trust the CA certificates in this directory (OpenSSL hashed names).
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// Use HTTP/1.1 only: do not offer HTTP/2 to https servers (for a server or proxy whose
    /// HTTP/2 misbehaves). Default: config `http1`, else HTTP/2 where the server offers it.
    #[arg(long = "http1.1")]
    pub http1: bool,
}

impl HeaderArgs {
    /// The headers, checked, with `--secret-header` ones marked.
    pub fn parse(&self) -> Result<Vec<Header>, CliError> {
        mark_secret(parse_headers(&self.headers)?, &self.secret_headers)
    }

    /// `--user`, with the password asked for on the terminal when it was left out.
    pub fn user(&self) -> Result<Option<Credentials>, CliError> {
        let Some(u) = &self.user else { return Ok(None) };
        let (user, password) = match u.split_once(':') {
            Some((u, p)) => (u.to_string(), p.to_string()),
            None if std::io::stdin().is_terminal() => (
                u.clone(),
                crate::ui::ask_secret(&format!("password for {u}: "))?,
            ),
            None => {
                return Err(usage(format!(
                    "--user {u}: no password, and no terminal to ask for one; write \
                     --user {u}:PASSWORD"
                )))
            }
        };
        if user.is_empty() {
            return Err(usage("--user: the user name is empty"));
        }
        Ok(Some(Credentials { user, password }))
    }

    /// `--netrc` / `--netrc-file`.
    pub fn netrc(&self) -> Result<Option<Netrc>, CliError> {
        let n = match (&self.netrc_file, self.netrc) {
            (Some(f), _) => {
                let abs =
                    std::path::absolute(f).map_err(|e| usage(format!("{}: {e}", f.display())))?;
                if !abs.is_file() {
                    return Err(usage(format!("--netrc-file {}: no such file", f.display())));
                }
                Some(Netrc::File(abs))
            }
            (None, true) => Some(Netrc::Default),
            (None, false) => None,
        };
        // Read now: a missing or broken netrc is told at once, not when the job runs.
        if let Some(n) = &n {
            ddm_core::netrc::path_of(n)
                .and_then(|p| ddm_core::netrc::load(&p))
                .map_err(usage)?;
        }
        Ok(n)
    }

    /// `--load-cookies`: the file's cookies, with a note on stderr about lines left out.
    pub fn cookies(&self) -> Result<Vec<ddm_core::cookies::Cookie>, CliError> {
        let Some(f) = &self.load_cookies else {
            return Ok(Vec::new());
        };
        let text = read_input(
            "--load-cookies",
            f,
            ddm_core::input::COOKIES_CAP,
            "export only the cookies of the site you download from",
        )?;
        let l = ddm_core::cookies::parse(&String::from_utf8_lossy(&text), ddm_core::cookies::now());
        let mut left = Vec::new();
        if l.expired > 0 {
            left.push(format!("{} expired", l.expired));
        }
        if !l.malformed.is_empty() {
            let lines: Vec<String> = l.malformed.iter().take(5).map(|n| n.to_string()).collect();
            let more = if l.malformed.len() > 5 { ", ..." } else { "" };
            left.push(format!(
                "line{} {}{more} not in cookies.txt format",
                if l.malformed.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ));
        }
        if l.cookies.is_empty() {
            let why = if left.is_empty() {
                "no cookie lines".to_string()
            } else {
                left.join("; ")
            };
            return Err(usage(format!(
                "--load-cookies {}: no usable cookies ({why}); expected the Netscape format \
                 (domain, subdomains, path, secure, expiry, name, value, tab-separated), as \
                 browsers' cookies.txt exports and curl -c write",
                f.display()
            )));
        }
        // Said once, though `add` with many URLs reads the file for each.
        static NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !left.is_empty() && !NOTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!(
                "note: {}: {} cookies loaded; left out: {}",
                f.display(),
                l.cookies.len(),
                left.join("; ")
            );
        }
        Ok(l.cookies)
    }

    /// Refuse a Cookie header (from `-H` and `--load-cookies`) for a request to `url` that is
    /// larger than servers accept, naming where its cookies come from.
    pub fn check_cookies(
        &self,
        headers: &[Header],
        cookies: &[ddm_core::cookies::Cookie],
        url: &str,
    ) -> Result<(), CliError> {
        ddm_core::cookies::check_size(headers, cookies, url).map_err(|e| {
            let mut from = Vec::new();
            if headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("cookie"))
            {
                from.push("-H Cookie".to_string());
            }
            if let (Some(f), false) = (&self.load_cookies, cookies.is_empty()) {
                from.push(format!("--load-cookies {}", f.display()));
            }
            usage(format!("{e} (from {})", from.join(" and ")))
        })
    }

    /// `--proxy`, `--noproxy`, `--cacert`, `--capath`, with the paths checked and made
    /// absolute (the runner may work from another directory).
    pub fn network(&self) -> Result<ddm_core::model::Network, CliError> {
        let path =
            |p: &Option<PathBuf>, flag: &str, dir: bool| -> Result<Option<PathBuf>, CliError> {
                let Some(p) = p else { return Ok(None) };
                let abs = std::path::absolute(p)
                    .map_err(|e| usage(format!("{flag} {}: {e}", p.display())))?;
                let ok = if dir { abs.is_dir() } else { abs.is_file() };
                if !ok {
                    let what = if dir {
                        "no such directory"
                    } else {
                        "no such file"
                    };
                    return Err(usage(format!("{flag} {}: {what}", p.display())));
                }
                Ok(Some(abs))
            };
        Ok(ddm_core::model::Network {
            proxy: self
                .proxy
                .as_deref()
                .map(|p| ddm_core::model::check_proxy(p).map_err(|e| usage(format!("--{e}"))))
                .transpose()?,
            noproxy: self.noproxy.clone(),
            cacert: path(&self.cacert, "--cacert", false)?,
            capath: path(&self.capath, "--capath", true)?,
            http1: self.http1,
        })
    }

    /// The request options these flags make, for `url`.
    pub fn http(
        &self,
        cfg: &ddm_core::config::Config,
        url: &str,
        insecure: bool,
    ) -> Result<ddm_core::http::HttpOptions, CliError> {
        let headers = self.parse()?;
        let cookies = self.cookies()?;
        self.check_cookies(&headers, &cookies, url)?;
        let mut o = ddm_core::http::HttpOptions::from_config(cfg, headers, insecure)
            .scoped_to(url)
            .with_user(self.user()?.as_ref())
            .with_network(&self.network()?)
            .with_netrc(self.netrc()?.as_ref())
            .map_err(usage)?;
        o.cookies = cookies;
        Ok(o)
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct JobOpts {
    /// File name (or path) to save as; default: from the server (Content-Disposition) or URL.
    /// An existing file is not replaced unless --overwrite; `-` (stdout) is refused.
    #[arg(short = 'o', long = "output", value_name = "NAME")]
    pub output: Option<PathBuf>,
    /// Directory to save into (default: the current directory).
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Parallel connections for this job (1-64; default from config or host policy).
    #[arg(short = 'c', long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_CONNECTIONS as i64))]
    pub connections: Option<u32>,
    #[command(flatten)]
    pub headers: HeaderArgs,
    /// Replace an existing file. Without it -o NAME naming an existing file is refused, a
    /// name from the server that exists becomes 'name (1).ext', and `get` of a download that
    /// finished (its file in place) does nothing; with it, a fresh copy replaces the file.
    #[arg(long)]
    pub overwrite: bool,
    /// Do not verify TLS certificates (dangerous).
    #[arg(long)]
    pub insecure: bool,
    /// Cap this job's download speed, bytes per second (K, M, G suffixes), e.g. 2M.
    #[arg(long, value_name = "RATE", value_parser = crate::ui::parse_size)]
    pub limit_rate: Option<u64>,
    /// Verify the finished file: sha256:HEX (also sha512, sha1, md5). A mismatch fails the
    /// job and keeps the data as NAME.part; nothing is renamed into place.
    #[arg(long, value_name = "ALGO:HEX", value_parser = ddm_core::engine::checksum::parse)]
    pub checksum: Option<String>,
    /// Verify each finished file against its line in a checksum file (SHA256SUMS, md5sum
    /// output, or BSD `SHA256 (name) = hex`; at most 16 MiB), picked when the job is added by
    /// the name asked for: -o NAME, else the file name in the URL (never the server's).
    #[arg(long, value_name = "FILE", conflicts_with = "checksum")]
    pub checksum_file: Option<PathBuf>,
    /// Fail a run of this job that lasts longer than DURATION (seconds, or 90s, 15m, 2h), as
    /// curl --max-time: progress is kept, `ddm resume ID` continues for another DURATION.
    /// 0 = no limit. Default: config max_time_secs (no limit).
    #[arg(long, value_name = "DURATION", value_parser = crate::ui::parse_secs)]
    pub max_time: Option<u64>,
    /// Fail a run whose speed averages under RATE bytes per second (K, M, G) over
    /// --speed-time, as curl --speed-limit and aria2 --lowest-speed-limit: progress is kept.
    /// 0 = no limit. Default: config lowest_speed_limit (no limit).
    #[arg(long, value_name = "RATE", value_parser = crate::ui::parse_rate_or_off)]
    pub speed_limit: Option<u64>,
    /// The time --speed-limit is averaged over (default: config lowest_speed_time_secs, 30 s);
    /// alone, as in curl, a run fails after DURATION without a byte.
    #[arg(long, value_name = "DURATION", value_parser = crate::ui::parse_secs_nonzero)]
    pub speed_time: Option<u64>,
    /// Another URL of the same file (repeatable): segments are spread across all sources by
    /// measured speed; a mirror serving another file (size, ETag, Last-Modified) or failing
    /// is dropped with a note. Credentials stay with the main URL's host.
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
}

/// Like aria2c: a missing destination (-d, or the directory part of -o) is made, and said.
pub fn make_dest_dir(dest_dir: &Path) -> Result<(), CliError> {
    if !dest_dir.is_dir() {
        std::fs::create_dir_all(dest_dir).map_err(|e| {
            usage(format!(
                "cannot create the destination directory {}: {e}",
                dest_dir.display()
            ))
        })?;
        eprintln!("created directory {}", dest_dir.display());
    }
    Ok(())
}

impl JobOpts {
    /// Build the job for `url` (already validated), its destination directory made.
    pub fn to_job(&self, url: &str, many: bool) -> Result<NewJob, CliError> {
        let job = self.plan_job(url, many)?;
        make_dest_dir(&job.dest_dir)?;
        Ok(job)
    }

    /// Build the job for `url` without touching the file system (a dry run makes nothing;
    /// [`make_dest_dir`] makes the directory once the job is really queued).
    pub fn plan_job(&self, url: &str, many: bool) -> Result<NewJob, CliError> {
        let base = match &self.dir {
            Some(d) => absolute(d)?,
            None => std::env::current_dir()
                .map_err(|e| usage(format!("cannot read the current directory: {e}")))?,
        };
        if many && !self.mirrors.is_empty() {
            return Err(usage(
                "--mirror names another source of one file but several URLs were given; add \
                 each file with its mirrors in its own command",
            ));
        }
        let mut mirrors: Vec<String> = Vec::new();
        for m in parse_urls(&self.mirrors)? {
            if m != url && !mirrors.contains(&m) {
                mirrors.push(m);
            }
        }
        if many && self.checksum.is_some() {
            return Err(usage(
                "--checksum names one file but several URLs were given; add them one by one",
            ));
        }
        let (dest_dir, file_name) =
            match &self.output {
                None => (base, None),
                Some(_) if many => return Err(usage(
                    "-o/--output names one file but several URLs were given; use -d DIR instead",
                )),
                Some(o) => {
                    check_output(o, self.dir.is_some())?;
                    let full = base.join(o);
                    let name = full
                        .file_name()
                        .and_then(|n| n.to_str())
                        .ok_or_else(|| usage(format!("-o {}: not a file name", o.display())))?
                        .to_string();
                    // The user's own choice: any single path component (dotfiles too), but no
                    // control characters and room for the `.part` suffix within 255 bytes.
                    if name.chars().any(char::is_control)
                        || name.len() > ddm_core::filename::MAX_NAME_BYTES
                    {
                        return Err(usage(format!(
                            "-o {}: {name:?} is not a usable file name (no control characters, at \
                         most {} bytes: 255 less room for \".part\")",
                            o.display(),
                            ddm_core::filename::MAX_NAME_BYTES
                        )));
                    }
                    (
                        full.parent().map(Path::to_path_buf).unwrap_or(base),
                        Some(name),
                    )
                }
            };
        let headers = self.headers.parse()?;
        let user = self.headers.user()?;
        let netrc = self.headers.netrc()?;
        let network = self.headers.network()?;
        let cookies = self.headers.cookies()?;
        self.headers.check_cookies(&headers, &cookies, url)?;
        // The line of a checksum file is picked now, by the name the user asked for.
        let checksum = match &self.checksum_file {
            None => self.checksum.clone(),
            Some(f) => {
                let text = read_input(
                    "--checksum-file",
                    f,
                    ddm_core::input::CHECKSUMS_CAP,
                    "give the checksum file itself (SHA256SUMS), or the digest with --checksum",
                )?;
                let entries =
                    ddm_core::engine::checksum::parse_file(&String::from_utf8_lossy(&text));
                if entries.is_empty() {
                    return Err(usage(format!(
                        "{}: no checksum lines (expected `HEX  NAME` or `ALGO (NAME) = HEX`)",
                        f.display()
                    )));
                }
                let picked =
                    ddm_core::engine::checksum::pick_for(&entries, url, file_name.as_deref())
                        .map_err(|e| usage(format!("--checksum-file {}: {e}", f.display())))?;
                Some(picked)
            }
        };
        Ok(NewJob {
            url: url.to_string(),
            dest_dir,
            file_name,
            settings: JobSettings {
                headers,
                connections: self.connections,
                overwrite: self.overwrite,
                insecure: self.insecure,
                rate_limit: self.limit_rate,
                checksum,
                user,
                netrc,
                network,
                cookies,
                mirrors,
                max_time_secs: self.max_time,
                speed_limit: self.speed_limit,
                speed_time_secs: self.speed_time,
                dir_chosen: self.dir.is_some() || self.output.is_some(),
                ..JobSettings::default()
            },
            queue: Default::default(),
        })
    }
}

/// The bytes of a file given with `flag` (or named by it), read up to `cap`: `/dev/zero` or
/// an endless FIFO is refused once `cap` is passed, with `hint` saying what to give instead.
pub fn read_input(flag: &str, f: &Path, cap: u64, hint: &str) -> Result<Vec<u8>, CliError> {
    use ddm_core::input::{read_capped, InputError};
    read_capped(f, cap).map_err(|e| match e {
        InputError::Io { source, .. } => {
            usage(format!("cannot read {flag} {}: {source}", f.display()))
        }
        e @ InputError::TooLarge { .. } => usage(format!("{flag} {e}; {hint}")),
    })
}

/// `-o` must end in a file name (not `.`, `..` or `/`; `-`, stdout, is refused), and with
/// `-d` it must stay inside that directory.
fn check_output(o: &Path, with_dir: bool) -> Result<(), CliError> {
    use std::os::unix::ffi::OsStrExt;
    let raw = o.as_os_str().as_bytes();
    let last = raw.rsplit(|&b| b == b'/').next().unwrap_or(raw);
    if raw == b"-" {
        return Err(usage(
            "-o -: ddm cannot write to stdout: it writes the parts of a download at their \
             places in a file, and resumes from that file. Give a file name (-o ./- names a \
             file called \"-\"), or save to a file and read it: ddm get URL -o FILE && cat FILE",
        ));
    }
    if raw.is_empty() || last.is_empty() || last == b"." || last == b".." {
        return Err(usage(format!(
            "-o {}: not a file name; give the name to save as (use -d for the directory)",
            o.display()
        )));
    }
    if with_dir {
        if o.is_absolute() {
            return Err(usage(format!(
                "-o {} is an absolute path and -d was given too: give -o a name inside -d, or \
                 drop -d",
                o.display()
            )));
        }
        if o.components().any(|c| c == std::path::Component::ParentDir) {
            return Err(usage(format!(
                "-o {}: with -d the file must stay inside that directory (no ..)",
                o.display()
            )));
        }
    }
    Ok(())
}

/// Mark the headers named by `--secret-header` as credentials.
fn mark_secret(mut headers: Vec<Header>, names: &[String]) -> Result<Vec<Header>, CliError> {
    for n in names {
        let mut found = false;
        for h in headers
            .iter_mut()
            .filter(|h| h.name.eq_ignore_ascii_case(n))
        {
            h.secret = true;
            found = true;
        }
        if !found {
            return Err(usage(format!(
                "--secret-header {n}: no -H header has that name"
            )));
        }
    }
    Ok(headers)
}

fn absolute(p: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(p).map_err(|e| usage(format!("{}: {e}", p.display())))
}

/// `-H 'Name: value'` flags into headers; the first bad one is a usage error (which says
/// which one, but never repeats its text: it may hold a secret).
pub fn parse_headers(lines: &[String]) -> Result<Vec<Header>, CliError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, h)| Header::parse(h).map_err(|e| usage(format!("-H number {}: {e}", i + 1))))
        .collect()
}

/// Validate every URL before queueing any (all or nothing).
pub fn parse_urls(urls: &[String]) -> Result<Vec<String>, CliError> {
    urls.iter()
        .map(|u| {
            ddm_core::urls::parse_http_url(u)
                .map(|u| u.to_string())
                .map_err(usage)
        })
        .collect()
}

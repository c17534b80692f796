//! `ddm import-har`: queue the download a browser captured in a HAR file (offline, like
//! `add`; `ddm run` does the work).
//!
//! The decisions (what is a download, the redirect chain, which headers to replay) belong to
//! `ddm_core::har`; this verb reads the file, lets the user choose among several candidates,
//! builds the job (URL = the chain's final URL, `origin_url` = its first one so an expired
//! signed link can be resolved again, captured headers + `-H` headers) and reports. Header
//! values of Cookie/Authorization are never printed: only names, or `<redacted>`.

use super::jobopts::JobOpts;
use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{added, usage, CliResult, Code};
use crate::ui;
use crate::ui::outln;
use ddm_core::har::{self, Analysis, Candidate, Options, Pick, PickError};
use ddm_core::store::{Header, NewJob};
use std::path::PathBuf;

/// Queue the download captured in a browser's HAR file (DevTools, Network tab, "Save all as
/// HAR"). Picks the entry that looks like a file download, follows the capture's redirect
/// chain to the final URL (keeping the first URL, so an expired signed link can be resolved
/// again) and carries the request headers that made the server answer the browser
/// (User-Agent, Referer, Accept, Accept-Language). Prints the job id. Does not touch the
/// network: `ddm run` downloads. With -v, lists why each other entry was skipped.
///
/// Example: ddm import-har ~/capture.har -d ~/Downloads --dry-run
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The HAR file (HAR 1.1 or 1.2, as exported by browsers, proxies or Playwright; at most
    /// 256 MiB).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Take candidate number N of the list shown when several entries look like downloads.
    #[arg(long, value_name = "N", conflicts_with = "matching")]
    pub pick: Option<usize>,
    /// Take the candidate whose URL contains TEXT (case-insensitive).
    #[arg(long = "match", value_name = "TEXT")]
    pub matching: Option<String>,
    /// Also carry the captured Cookie and Authorization headers. They are stored in the job
    /// database (private to you) and never printed.
    #[arg(long)]
    pub allow_cookies: bool,
    /// Show what would be queued (URL, first URL, name, size, headers) and queue nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub opts: JobOpts,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let path = a.file.display().to_string();
    let bytes = super::jobopts::read_input(
        "the HAR file",
        &a.file,
        ddm_core::input::HAR_CAP,
        "export the capture again with less in it (clear the network panel, then start the \
         download)",
    )?;
    let capture = har::parse(&bytes).map_err(|e| usage(format!("{path}: {e}")))?;
    let analysis = har::candidates(
        &capture,
        &Options {
            allow_cookies: a.allow_cookies,
        },
    );
    if g.verbose > 0 {
        list_skipped(&analysis);
    }
    let how = match (a.pick, &a.matching) {
        (Some(n), _) => Pick::Index(n),
        (None, Some(text)) => Pick::Match(text.clone()),
        (None, None) => Pick::Auto,
    };
    let chosen = match har::pick(&analysis, &how) {
        Ok(c) => c,
        Err(e) => {
            let hint = match &e {
                PickError::Ambiguous(list) => {
                    list_candidates(&path, &analysis, list);
                    ""
                }
                PickError::NoCandidate { .. } if g.verbose == 0 => {
                    "; -v lists every entry and why it was skipped"
                }
                _ => "",
            };
            return Err(usage(format!("{path}: {e}{hint}")));
        }
    };

    let (mut job, captured) = build_job(&a.opts, &chosen)?;
    // The same file fetched from other hosts in the capture: mirrors of the job.
    for m in har::mirrors_of(&analysis, &chosen) {
        if let Ok(u) = ddm_core::urls::parse_http_url(&m) {
            let u = u.to_string();
            if u != job.url && !job.settings.mirrors.contains(&u) {
                job.settings.mirrors.push(u);
            }
        }
    }
    let secrets: Vec<&str> = job.settings.headers[..captured]
        .iter()
        .filter(|h| h.is_secret())
        .map(|h| h.name.as_str())
        .collect();
    // Credentials the capture sent but that were left out: say so, so that a refusal by the
    // server is explained.
    let dropped_secrets = !a.allow_cookies && captured_secrets(&capture, chosen.entry);

    let id = if a.dry_run {
        print_dry_run(&job, captured, &chosen);
        None
    } else {
        super::jobopts::make_dest_dir(&job.dest_dir)?;
        let mut ctx = Ctx::open(g)?;
        let id = ddm_core::jobs::add(&mut ctx.store, std::slice::from_ref(&job)).map_err(added)?[0];
        tracing::info!(id, url = %ddm_core::model::redact_url(&job.url), har = %path, entry = chosen.entry, "queued from HAR");
        outln!("{id}");
        if !g.quiet {
            print_summary(id, &job, &chosen);
        }
        Some(id)
    };
    if !g.quiet && !secrets.is_empty() {
        let (what, verb, it) = match secrets.as_slice() {
            [one] => (format!("{one} header"), "is", "it"),
            many => (format!("{} headers", many.join(" and ")), "are", "them"),
        };
        match id {
            Some(id) => eprintln!(
                "warning: the captured {what} {verb} stored in the job database (private to \
                 you) and sent with this job's requests; `ddm remove {id}` deletes {it}"
            ),
            None => eprintln!(
                "warning: the captured {what} would be stored in the job database (private \
                 to you) and sent with this job's requests"
            ),
        }
    }
    if !g.quiet && dropped_secrets {
        eprintln!(
            "note: the captured request also sent cookies or authorization, which are not \
             carried; if the server refuses the download, import again with --allow-cookies"
        );
    }
    Ok(Code::Ok)
}

/// The job for `c`: its final URL, its first URL as `origin_url`, the captured headers
/// followed by the user's `-H` ones (a user header replaces a captured one of the same
/// name). Also returns how many of the job's headers (at the front) come from the capture.
fn build_job(opts: &JobOpts, c: &Candidate) -> CliResult<(NewJob, usize)> {
    let url = ddm_core::urls::parse_http_url(&c.final_url)
        .map_err(|e| usage(format!("the captured download URL cannot be used: {e}")))?
        .to_string();
    let mut job = opts.plan_job(&url, false)?;
    let origin = ddm_core::urls::parse_http_url(&c.first_url)
        .ok()
        .map(|u| u.to_string())
        .filter(|o| *o != url);
    let user = std::mem::take(&mut job.settings.headers);
    let mut headers: Vec<Header> = c
        .headers
        .iter()
        .filter(|(n, _)| !user.iter().any(|u| u.name.eq_ignore_ascii_case(n)))
        .map(|(n, v)| Header::new(n.as_str(), v.as_str()))
        .collect();
    let captured = headers.len();
    headers.extend(user);
    job.settings.headers = headers;
    job.settings.origin_url = origin;
    // The captured Cookie header with the user's: no larger than servers accept.
    ddm_core::cookies::check_size(&job.settings.headers, &job.settings.cookies, &job.url)
        .map_err(|e| usage(format!("{e} (from the capture and the flags)")))?;
    Ok((job, captured))
}

/// True if the final request of the chain ending at `entry` carried Cookie/Authorization.
fn captured_secrets(capture: &har::Har, entry: usize) -> bool {
    har::candidates(
        capture,
        &Options {
            allow_cookies: true,
        },
    )
    .candidates
    .iter()
    .any(|c| c.entry == entry && c.secrets)
}

/// Header names of the job, and whether credentials are among them.
fn carried(headers: &[Header]) -> String {
    if headers.is_empty() {
        return "carried: no request headers".into();
    }
    let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
    let mut out = format!("carried: {}", names.join(", "));
    if headers.iter().any(Header::is_secret) {
        out.push_str(" (credentials stored in the job, never shown)");
    }
    out
}

fn print_summary(id: i64, job: &NewJob, c: &Candidate) {
    let size = c
        .size
        .map(|s| format!(" ({})", ui::bytes(s)))
        .unwrap_or_default();
    eprintln!("queued job {id}: {}{size}", job.url);
    if let Some(o) = &job.settings.origin_url {
        eprintln!("  first URL: {o} (resolved again if the link expires)");
    }
    for m in &job.settings.mirrors {
        eprintln!("  mirror: {m} (the same file in the capture)");
    }
    eprintln!("  {}", carried(&job.settings.headers));
}

fn print_dry_run(job: &NewJob, captured: usize, c: &Candidate) {
    outln!("would queue (dry run, nothing saved):");
    outln!("  url:        {}", job.url);
    match &job.settings.origin_url {
        Some(o) => outln!("  first url:  {o} (resolved again if the link expires)"),
        None => outln!("  first url:  the same (no redirect)"),
    }
    for m in &job.settings.mirrors {
        outln!("  mirror:     {m} (the same file in the capture)");
    }
    let name = match &job.file_name {
        Some(n) => printable(n),
        None => {
            let hint = ddm_core::urls::parse_http_url(&job.url)
                .map(|u| {
                    ddm_core::filename::choose(
                        c.content_disposition.as_deref(),
                        &u,
                        c.mime_type.as_deref(),
                    )
                })
                .unwrap_or_else(|_| "download".into());
            format!(
                "{} (from the capture; the server's answer decides)",
                printable(&hint)
            )
        }
    };
    outln!("  name:       {name}");
    outln!("  directory:  {}", job.dest_dir.display());
    outln!(
        "  size:       {}",
        match c.size {
            Some(s) => format!("{} ({s} bytes)", ui::bytes(s)),
            None => "unknown (the server says when the job runs)".into(),
        }
    );
    outln!(
        "  type:       {}",
        c.mime_type.as_deref().map_or("unknown".into(), printable)
    );
    outln!("  entry:      {} ({})", c.entry, printable(&c.why));
    if job.settings.headers.is_empty() {
        outln!("  headers:    none");
    }
    for (i, h) in job.settings.headers.iter().enumerate() {
        let from = if i < captured { "" } else { "  (from -H)" };
        // Display redacts Cookie, Authorization and other credentials.
        outln!("  header:     {}{from}", printable(&h.to_string()));
    }
}

/// The numbered list shown when several entries qualify (numbers as `--pick` takes them).
fn list_candidates(path: &str, analysis: &Analysis, shown: &[Candidate]) {
    eprintln!("candidates in {path}:");
    for c in shown {
        let n = analysis
            .candidates
            .iter()
            .position(|x| x.entry == c.entry)
            .map_or(0, |i| i + 1);
        let size = c.size.map_or("?".into(), ui::bytes);
        let mime = c.mime_type.as_deref().map_or("-".into(), printable);
        eprintln!("  {n:>3}  {size:>10}  {mime:<26} {}", c.final_url);
        eprintln!("       {}", printable(&c.why));
    }
}

/// With -v: every entry that is not a candidate, and why.
fn list_skipped(analysis: &Analysis) {
    for s in &analysis.skipped {
        let url = s
            .url
            .as_deref()
            .map_or("(no URL)".into(), |u| shorten(u, 100));
        eprintln!(
            "skipped entry {}: {}: {}",
            s.entry,
            printable(&url),
            printable(&s.reason)
        );
    }
}

/// `s` made safe for a terminal (a capture is untrusted input).
fn printable(s: &str) -> String {
    crate::ui::clean(s)
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

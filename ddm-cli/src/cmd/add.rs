//! `ddm add`: queue downloads (offline, unless a stopped job in the destination directory may
//! be the file a URL serves: then the URL is asked, and a fresh link continues that job).

use super::input_list;
use super::jobopts::{parse_urls, JobOpts};
use super::queueopts::QueueOpts;
use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{added, store, CliResult, Code};
use crate::ui::{self, outln};
use ddm_core::model::redact_url;
use ddm_core::relink::{self, Proof};
use ddm_core::store::{Job, NewJob};

/// What `get` and `add` say when a fresh link continues a stopped job.
pub fn continuing(job: &Job, proof: &Proof) -> String {
    let of = job
        .size
        .map(|s| format!(" of {}", ui::bytes(s)))
        .unwrap_or_default();
    let how = match proof {
        Proof::Validators => "same size and validators".to_string(),
        Proof::Bytes(r) => format!("same size, bytes {}-{} compared", r.start, r.end - 1),
        Proof::NothingKept => "same name and size".to_string(),
    };
    format!(
        "continuing job {} with the new link ({}: {how}; {}{of} kept)",
        job.id,
        ui::clean(job.file_name.as_deref().unwrap_or("")),
        ui::bytes(job.bytes_done)
    )
}

/// Queue one or more downloads and print their ids. A URL is first contacted when its job
/// runs, except when a stopped job (paused, failed, or waiting because its link expired) in
/// the destination directory may be the same file: then it is asked now, and a fresh link
/// for that job's file (same name, size and validators) continues that job instead of
/// starting a second download; its id is printed. All or none: a bad URL or option anywhere
/// queues nothing.
///
/// `-i FILE` (or `-i -` for stdin) reads downloads from a list in aria2's input-file format:
/// a URL per line, other URLs of the same file (mirrors) after TABs on that line, and
/// indented `key=value` lines after it for that download alone: `out=NAME`, `dir=DIR`,
/// `header=K: V` (repeatable), `checksum=sha-256=HEX`, `split=N` (connections). `#` starts a
/// comment. Any other option is refused with its line number. The flags given here apply to
/// every download of the list.
///
/// `--curl 'CMD'` takes a browser's "Copy as cURL" command (Chrome, Firefox, Safari; bash or
/// cmd flavour): its URL, headers and cookies (Cookie and Authorization go only to that URL's
/// scheme, host and port, like -H), -u, -k, -o; a command that sends a body or another
/// method than GET is refused. -H given here replaces a header of the same name.
///
/// The config's routing rules (`[[rule]]`, see `ddm rules`) apply: one decided by the URL
/// now, one on the file's name or Content-Type when the job gets its first answer.
/// `--dry-run` says which rule each download would fall under and queues nothing.
///
/// Example: ddm add https://example.org/big.iso -d ~/Downloads --connections 16
///          ddm add -i urls.txt   |   grep iso links.txt | ddm add -i -
///          ddm add --curl "$(xclip -o)"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// http or https URLs.
    #[arg(required_unless_present_any = ["input", "curl"], value_name = "URL")]
    pub urls: Vec<String>,
    /// Read downloads from FILE (`-`: stdin), aria2's input-file format (see above).
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
    /// A browser's "Copy as cURL" command, whole (see above).
    #[arg(long, value_name = "CMD", conflicts_with_all = ["urls", "input"])]
    pub curl: Option<String>,
    #[command(flatten)]
    pub opts: JobOpts,
    #[command(flatten)]
    pub queue: QueueOpts,
    /// Queue nothing: say which routing rule each download would fall under, and why, and
    /// where its file would go (as `ddm rules test`, offline).
    #[arg(long)]
    pub dry_run: bool,
}

/// The job a pasted "Copy as cURL" command asks for, with the flags given beside it.
fn from_curl(cmd: &str, opts: &super::jobopts::JobOpts, quiet: bool) -> CliResult<NewJob> {
    let c =
        ddm_core::curlcmd::parse(cmd).map_err(|e| crate::exit::usage(format!("--curl: {e}")))?;
    let mut job = opts.plan_job(&c.url, false)?;
    let s = &mut job.settings;
    s.headers = ddm_core::curlcmd::merge_headers(c.headers, std::mem::take(&mut s.headers));
    if s.user.is_none() {
        s.user = c.user;
    }
    s.insecure |= c.insecure;
    s.network.http1 |= c.http1;
    if job.file_name.is_none() {
        job.file_name = c.output;
    }
    ddm_core::cookies::check_size(&s.headers, &s.cookies, &job.url)
        .map_err(|e| crate::exit::usage(format!("--curl: {e}")))?;
    if !quiet && !c.ignored.is_empty() {
        eprintln!("note: --curl: left out {}", c.ignored.join(", "));
    }
    Ok(job)
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let urls = parse_urls(&a.urls)?;
    if a.input.is_some() {
        // One file's flags cannot go to every download of a list.
        let one_file = [
            (a.opts.output.is_some(), "-o/--output"),
            (a.opts.checksum.is_some(), "--checksum"),
            (!a.opts.mirrors.is_empty(), "--mirror"),
        ];
        if let Some((_, flag)) = one_file.iter().find(|(given, _)| *given) {
            return Err(crate::exit::usage(format!(
                "{flag} names one file but -i gives a list of downloads; put it in the list \
                 (out=, checksum=, or the mirrors after a TAB on the URL's line)"
            )));
        }
    }
    let listed = match &a.input {
        Some(f) => input_list::jobs(f, &a.opts)?,
        None => Vec::new(),
    };
    let many = urls.len() + listed.len() > 1;
    let mut jobs = urls
        .iter()
        .map(|u| a.opts.plan_job(u, many))
        .collect::<Result<Vec<_>, _>>()?;
    jobs.extend(listed);
    if let Some(cmd) = &a.curl {
        jobs.push(from_curl(cmd, &a.opts, g.quiet)?);
    }
    let queueing = a.queue.queueing()?;
    for job in &mut jobs {
        job.queue = queueing.clone();
    }
    let mut ctx = Ctx::open(g)?;
    if a.dry_run {
        for job in &jobs {
            outln!("{}", ui::clean(&redact_url(&job.url)));
            let facts = ddm_core::rules::Facts::offline(&job.url, job.file_name.as_deref());
            let chosen = job.settings.dir_chosen;
            for line in super::rules::explain(&ctx.config.rule, &facts, &job.dest_dir, chosen) {
                outln!("  {line}");
            }
        }
        return Ok(Code::Ok);
    }
    // Queued for real: the destinations exist from now on (a dry run made nothing).
    for job in &jobs {
        super::jobopts::make_dest_dir(&job.dest_dir)?;
    }
    // A routing rule decided by the URL applies now; one on the name or type, later.
    for job in &mut jobs {
        ddm_core::jobs::route::at_add(&ctx.config.rule, job).map_err(crate::exit::usage)?;
    }
    if let Some(dep) = queueing.after {
        check_dependency(&ctx, dep)?;
    }
    // A fresh link for a stopped job's file continues that job (its id is printed in the
    // URL's place).
    let mut attached: Vec<Option<i64>> = Vec::new();
    let mut jobs_new = Vec::new();
    for job in jobs {
        match relink::continue_with(&mut ctx.store, &job, &ctx.config).map_err(store)? {
            Some((was, proof)) => {
                if !g.quiet {
                    eprintln!("{}", continuing(&was, &proof));
                }
                attached.push(Some(was.id));
            }
            None => {
                attached.push(None);
                jobs_new.push(job);
            }
        }
    }
    let jobs = jobs_new;
    // The same URL already waiting (or running) in the queue is probably a mistake: say so.
    let queued: std::collections::HashMap<String, i64> = ctx
        .store
        .list()
        .map_err(store)?
        .into_iter()
        .filter(|j| !j.state.is_done())
        .map(|j| (j.url, j.id))
        .collect();
    // All or none: one transaction, and the ids are printed only once it is committed.
    let ids = ddm_core::jobs::add(&mut ctx.store, &jobs).map_err(added)?;
    if !g.quiet {
        for job in &jobs {
            if let Some(other) = queued.get(&job.url) {
                eprintln!(
                    "note: {} is already queued as job {other}",
                    ui::clean(&redact_url(&job.url))
                );
            }
        }
    }
    for (id, job) in ids.iter().zip(&jobs) {
        tracing::info!(id, url = %redact_url(&job.url), "queued");
    }
    let mut new_ids = ids.into_iter();
    for id in attached
        .into_iter()
        .filter_map(|a| a.or_else(|| new_ids.next()))
    {
        outln!("{id}");
    }
    super::run::say_if_no_runner(&ctx, g);
    Ok(Code::Ok)
}

/// `--after ID`: a job that exists and can still be done (a failed one would fail the new
/// job at once).
fn check_dependency(ctx: &Ctx, dep: i64) -> CliResult<()> {
    use ddm_core::store::StateKind;
    let state = ctx.store.state(dep).map_err(store)?;
    match state.map(|s| s.kind()) {
        None => Err(crate::exit::usage(format!(
            "--after {dep}: there is no job {dep} (see `ddm status` for the ids)"
        ))),
        Some(StateKind::Failed) => Err(crate::exit::usage(format!(
            "--after {dep}: job {dep} failed, so a job waiting for it could never start; \
             `ddm resume {dep}` first (or leave out --after)"
        ))),
        Some(_) => Ok(()),
    }
}

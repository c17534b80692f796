//! `ddm set-url`: give a job a new URL (an expired signed link, a moved file), keeping its
//! progress when the new URL serves the same file; a runner working the job (transferring,
//! or waiting for a fresh link) goes on with it without stopping.

use crate::ctx::Ctx;
use crate::ctx::Global;
use crate::exit::{store, usage, CliError, CliResult, Code};
use crate::ui::{self, clean, outln};
use ddm_core::model::{redact_url, Origin};
use ddm_core::relink::{self, Proof, SetUrlError};
use ddm_core::store::{Job, StateKind};

/// Change a job's URL, also while it runs or waits for a fresh link (its runner goes on with
/// the new one). The new URL is asked first: the partial data is kept when it serves the
/// same file (same size, and the same ETag and Last-Modified where both servers give them;
/// when they give none in common, a piece the job has is fetched from it and compared), and
/// the change is refused, naming the difference, otherwise.
///
/// Example: ddm set-url 3 'https://cdn.example.org/big.iso?token=new'
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job (see `ddm status`).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// The new http or https URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Discard the partial data and download from the new URL from zero (when it serves a
    /// different version of the file).
    #[arg(long)]
    pub restart: bool,
    /// The new URL is on another host: send the job's credentials (-H secrets, --user) there.
    #[arg(long, conflicts_with = "drop_credentials")]
    pub move_credentials: bool,
    /// The new URL is on another host: forget the job's credentials.
    #[arg(long)]
    pub drop_credentials: bool,
}

/// Does the job carry credentials bound to its URL's origin?
fn has_credentials(job: &Job) -> bool {
    job.settings.headers.iter().any(|h| h.is_secret())
        || job.settings.user.is_some()
        || url::Url::parse(&job.url)
            .is_ok_and(|u| u.password().is_some() || !u.username().is_empty())
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let url = super::jobopts::parse_urls(std::slice::from_ref(&a.url))?.remove(0);
    let mut ctx = Ctx::open(g)?;
    let job = ctx.store.get(a.id).map_err(store)?;
    match job.state.kind() {
        StateKind::Running if a.restart => return Err(usage(SetUrlError::RunningRestart(a.id))),
        StateKind::Done => return Err(usage(SetUrlError::Done(a.id))),
        _ => {}
    }
    // Credentials stay with their origin unless the user says where they go.
    let mut settings = job.settings.clone();
    let moved = Origin::parse(&job.url) != Origin::parse(&url);
    if moved && has_credentials(&job) {
        if a.drop_credentials {
            settings.headers.retain(|h| !h.is_secret());
            settings.user = None;
        } else if !a.move_credentials {
            return Err(usage(format!(
                "job {} has credentials for {}; the new URL is on {}. Say where they go: \
                 --move-credentials sends them to the new host, --drop-credentials forgets them",
                a.id,
                Origin::parse(&job.url).map_or("its host".into(), |o| o.to_string()),
                Origin::parse(&url).map_or("another host".into(), |o| o.to_string()),
            )));
        }
    }
    let target = Job {
        url: url.clone(),
        settings: settings.clone(),
        ..job.clone()
    };
    let opts = ddm_core::engine::job_http(&target, &ctx.config)
        .map_err(|e| CliError::new(Code::Failed, anyhow::anyhow!("{}", e.message)))?;
    let info = ddm_core::resolver::probe(&url, &opts).map_err(|e| {
        CliError::new(
            Code::Failed,
            anyhow::anyhow!("{e}; job {} keeps its URL", a.id),
        )
    })?;
    let done = relink::set_url(
        &mut ctx.store,
        a.id,
        &url,
        &info,
        &opts,
        a.restart,
        &settings,
    )
    .map_err(|e| match e {
        SetUrlError::Store(e) => store(e),
        e @ (SetUrlError::RunningRestart(_) | SetUrlError::Done(_)) => usage(e),
        e => CliError::new(Code::Failed, e),
    })?;
    let how = match &done.proof {
        Some(Proof::Bytes(r)) => format!(", bytes {}-{} compared", r.start, r.end - 1),
        _ => String::new(),
    };
    let what = match (done.kept, done.restarted) {
        (_, true) => "progress discarded, starting from zero".to_string(),
        (0, false) => "nothing downloaded yet".to_string(),
        (kept, false) => format!(
            "same file{}{how}; {} kept",
            info.size
                .map(|s| format!(" ({})", ui::bytes(s)))
                .unwrap_or_default(),
            ui::bytes(kept)
        ),
    };
    outln!("{}: URL set to {} ({what})", a.id, clean(&redact_url(&url)));
    let runner = ddm_core::lock::holder_alive(&ctx.paths.lock_file());
    match done.state {
        StateKind::Paused => {
            eprintln!("job {} is paused: `ddm resume {}` continues it", a.id, a.id)
        }
        StateKind::Queued => super::run::say_if_no_runner(&ctx, g),
        StateKind::Running if runner && !g.quiet => eprintln!(
            "job {}: the runner working it {} with the new URL",
            a.id,
            if done.was_waiting {
                "stops waiting and goes on"
            } else {
                "goes on"
            }
        ),
        _ => {}
    }
    Ok(Code::Ok)
}

//! `ddm probe`: what the server says about a URL, without downloading it.

use super::jobopts::parse_urls;
use crate::ctx::paths;
use crate::ctx::Global;
use crate::exit::{CliError, CliResult, Code};
use crate::ui::outln;
use crate::ui::{self, clean};
use ddm_core::config::Config;
use ddm_core::model::redact_url;

/// Ask the server about a URL: final URL after redirects, size, whether ranges really work
/// (a 206 to a real range request), ETag, Last-Modified and the file name ddm would use.
///
/// Example: ddm probe https://example.org/big.iso --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An http or https URL.
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub headers: super::jobopts::HeaderArgs,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// One JSON object (final_url, protocol, size, ranges, etag, last_modified, filename, ...).
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let url = parse_urls(std::slice::from_ref(&a.url))?.remove(0);
    let cfg = match paths(g) {
        Ok(p) => Config::load(&p.config_file).map_err(|e| CliError::new(Code::Usage, e))?,
        Err(_) => Config::default(),
    };
    let opts = a.headers.http(&cfg, &url, a.insecure)?;
    let info =
        ddm_core::resolver::probe(&url, &opts).map_err(|e| CliError::new(Code::Failed, e))?;
    if a.json {
        outln!(
            "{}",
            crate::ui::json_text(&serde_json::to_string_pretty(&info).expect("serializable"))
        );
        return Ok(Code::Ok);
    }
    // Everything below comes from the server: shown escaped, never as terminal controls.
    let show = |v: &Option<String>| v.as_deref().map_or("-".into(), clean);
    outln!("url:           {}", clean(&redact_url(&info.url)));
    for hop in &info.redirects[info.redirects.len().min(1)..] {
        outln!("redirected by: {}", clean(hop));
    }
    if info.final_url != info.url {
        outln!("final url:     {}", clean(&info.final_url));
    }
    outln!(
        "protocol:      {}",
        if info.protocol.is_empty() {
            "-".into()
        } else {
            clean(&info.protocol)
        }
    );
    outln!(
        "size:          {}",
        info.size
            .map(|s| format!("{} ({s} bytes)", ui::bytes(s)))
            .unwrap_or_else(|| "unknown".into())
    );
    outln!(
        "ranges:        {}",
        if info.ranges {
            "yes (206 confirmed): segmented and resumable"
        } else {
            "no: one connection, no resume"
        }
    );
    outln!("etag:          {}", show(&info.etag));
    outln!("last-modified: {}", show(&info.last_modified));
    outln!("content-type:  {}", show(&info.content_type));
    outln!("file name:     {}", clean(&info.filename));
    for n in &info.notes {
        outln!("note:          {}", clean(n));
    }
    Ok(Code::Ok)
}

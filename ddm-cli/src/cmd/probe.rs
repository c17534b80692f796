//! `ddm probe`: what the server says about a URL, without downloading it.

use super::jobopts::parse_urls;
use crate::cli::Global;
use crate::ctx::paths;
use crate::exit::{CliError, CliResult, Code};
use crate::ui;
use ddm_core::config::Config;
use ddm_core::http::HttpOptions;

/// Ask the server about a URL: final URL after redirects, size, whether ranges really work
/// (a 206 to a real range request), ETag, Last-Modified and the file name ddm would use.
///
/// Example: ddm probe https://example.org/big.iso --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An http or https URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Extra request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// One JSON object (final_url, size, ranges, etag, last_modified, filename, ...).
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let url = parse_urls(std::slice::from_ref(&a.url))?.remove(0);
    let headers = super::jobopts::parse_headers(&a.headers)?;
    let cfg = match paths(g) {
        Ok(p) => Config::load(&p.config_file).map_err(|e| CliError::new(Code::Usage, e))?,
        Err(_) => Config::default(),
    };
    let opts = HttpOptions::from_config(&cfg, headers, a.insecure);
    let info =
        ddm_core::resolver::probe(&url, &opts).map_err(|e| CliError::new(Code::Failed, e))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).expect("serializable")
        );
        return Ok(Code::Ok);
    }
    println!("url:           {}", info.url);
    if info.final_url != info.url {
        println!("final url:     {}", info.final_url);
    }
    println!(
        "size:          {}",
        info.size
            .map(|s| format!("{} ({s} bytes)", ui::bytes(s)))
            .unwrap_or_else(|| "unknown".into())
    );
    println!(
        "ranges:        {}",
        if info.ranges {
            "yes (206 confirmed): segmented and resumable"
        } else {
            "no: one connection, no resume"
        }
    );
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("etag:          {}", show(&info.etag));
    println!("last-modified: {}", show(&info.last_modified));
    println!("content-type:  {}", show(&info.content_type));
    println!("file name:     {}", info.filename);
    for n in &info.notes {
        println!("note:          {n}");
    }
    Ok(Code::Ok)
}

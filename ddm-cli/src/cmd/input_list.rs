//! `ddm add -i FILE` (or `-` for stdin): the downloads of a list in aria2's input-file format
//! (`ddm_core::urllist`), each with the command line's flags and its own options on top:
//! `out=` (-o), `dir=` (-d), `header=` (-H, repeatable), `checksum=TYPE=HEX` (--checksum,
//! aria2's `sha-256=…` spelling), `split=` (-c); its TAB-separated mirrors are `--mirror`s.
//! Every error names the list and the line.

use super::jobopts::{parse_urls, read_input, JobOpts};
use crate::exit::{usage, CliError};
use ddm_core::store::NewJob;
use std::path::{Path, PathBuf};

/// The jobs of the list at `path` (`-`: stdin).
pub fn jobs(path: &Path, opts: &JobOpts) -> Result<Vec<NewJob>, CliError> {
    let (source, name) = if path == Path::new("-") {
        (PathBuf::from("/dev/stdin"), "stdin".to_string())
    } else {
        (path.to_path_buf(), path.display().to_string())
    };
    let text = read_input(
        "-i",
        &source,
        ddm_core::input::URL_LIST_CAP,
        "give a list of URLs, one per line",
    )?;
    let text = String::from_utf8(text)
        .map_err(|_| usage(format!("-i {name}: not UTF-8 text (a list of URLs)")))?;
    let entries = ddm_core::urllist::parse(&text).map_err(|e| usage(format!("-i {name} {e}")))?;
    if entries.is_empty() {
        return Err(usage(format!("-i {name}: no URL in it")));
    }
    let mut out = Vec::new();
    for e in entries {
        let at = |line: usize, msg: String| usage(format!("-i {name} line {line}: {msg}"));
        let url = parse_urls(std::slice::from_ref(&e.url))
            .map_err(|err| at(e.line, err.message()))?
            .remove(0);
        let mut o = opts.clone();
        o.mirrors.extend(e.mirrors.iter().cloned());
        for (key, value, line) in &e.options {
            let bad = |msg: String| at(*line, format!("{key}={value}: {msg}"));
            match key.as_str() {
                "out" => o.output = Some(PathBuf::from(value)),
                "dir" => o.dir = Some(PathBuf::from(value)),
                "header" => o.headers.headers.push(value.clone()),
                "checksum" => {
                    // aria2 writes TYPE=DIGEST (sha-256=…); ddm ALGO:HEX.
                    let (algo, hex) = value.split_once('=').ok_or_else(|| {
                        bad("write checksum=TYPE=DIGEST, e.g. sha-256=9f86…".into())
                    })?;
                    let c =
                        ddm_core::engine::checksum::parse(&format!("{algo}:{hex}")).map_err(bad)?;
                    o.checksum = Some(c);
                    o.checksum_file = None;
                }
                "split" => {
                    let max = ddm_core::config::MAX_CONNECTIONS;
                    let n: u32 = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| bad(format!("a number of connections, 1 to {max}")))?;
                    o.connections = Some(n);
                }
                _ => return Err(bad("not an option ddm reads".into())),
            }
        }
        let job = o
            .plan_job(&url, false)
            .map_err(|err| at(e.line, err.message()))?;
        out.push(job);
    }
    Ok(out)
}

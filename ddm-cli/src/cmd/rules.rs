//! `ddm rules`: the config's routing rules (`list`) and which one a download falls under
//! (`test`): offline where the URL decides, with `--probe` asking the server once for the
//! name and Content-Type a rule looks at. `ddm add --dry-run` prints the same per URL.

use super::jobopts::parse_urls;
use crate::cli::Global;
use crate::ctx::paths;
use crate::exit::{usage, CliError, CliResult, Code};
use crate::ui::{self, clean, outln};
use ddm_core::config::Config;
use ddm_core::rules::{label, route, Facts, Rule, Verdict};
use std::path::{Path, PathBuf};

/// Routing rules: the `[[rule]]` tables of the config (docs/config.md), tried in order on
/// every new download; the first that applies sets where the file goes (unless -d/-o was
/// given), its connections, rate cap, priority, mirrors and checksum file.
///
/// Example: ddm rules list   |   ddm rules test https://example.org/film.mkv
///          ddm rules test --probe 'https://example.org/download?id=7'
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The rules in the order they are tried: their conditions and what they set.
    List,
    /// Which rule a download of URL would fall under, and why, and where the file would go.
    /// Offline: a rule on the host or URL is decided; one on the file's name or Content-Type
    /// is said to need the server's answer (`--probe` asks the server once for them).
    Test(Box<TestArgs>),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// An http or https URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The name the file would be saved under, as `add -o` gives it.
    #[arg(short = 'o', long, value_name = "NAME")]
    pub output: Option<String>,
    /// The directory asked for, as `add -d` gives it (a rule's dir then does not apply).
    #[arg(short = 'd', long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Ask the server once (HEAD, else a GET of one byte) for the file's name and
    /// Content-Type.
    #[arg(long)]
    pub probe: bool,
    /// What `--probe` sends, as `add` would (credentials only to the URL's origin).
    #[command(flatten)]
    pub headers: super::jobopts::HeaderArgs,
    /// Do not verify TLS certificates (`--probe`).
    #[arg(long)]
    pub insecure: bool,
}

pub fn run(g: &Global, a: Args) -> CliResult {
    let cfg = match paths(g) {
        Ok(p) => Config::load(&p.config_file).map_err(|e| CliError::new(Code::Usage, e))?,
        Err(_) => Config::default(),
    };
    match a.what {
        What::List => {
            if cfg.rule.is_empty() {
                outln!("{}", no_rules());
            }
            for (i, r) in cfg.rule.iter().enumerate() {
                outln!("{}: {}", label(i + 1, r.name.as_deref()), conditions(r));
                outln!("  sets: {}", sets(r, None));
            }
        }
        What::Test(t) => {
            let url = parse_urls(std::slice::from_ref(&t.url))?.remove(0);
            let cwd = std::env::current_dir()
                .map_err(|e| usage(format!("cannot read the current directory: {e}")))?;
            let base = t.dir.as_ref().map_or(cwd.clone(), |d| cwd.join(d));
            let chosen = t.dir.is_some() || t.output.is_some();
            let facts = if t.probe {
                let opts = t.headers.http(&cfg, &url, t.insecure)?;
                let info = ddm_core::resolver::probe(&url, &opts)
                    .map_err(|e| CliError::new(Code::Failed, e))?;
                let name = t.output.clone().unwrap_or(info.filename);
                outln!(
                    "the server answered: name {:?}, Content-Type {}",
                    clean(&name),
                    info.content_type
                        .as_deref()
                        .map_or("none".into(), |c| format!("{:?}", clean(c)))
                );
                Facts::answered(&url, &name, info.content_type.as_deref())
            } else {
                Facts::offline(&url, t.output.as_deref())
            };
            for line in explain(&cfg.rule, &facts, &base, chosen) {
                outln!("{line}");
            }
        }
    }
    Ok(Code::Ok)
}

fn no_rules() -> String {
    "no [[rule]] in the config: every download goes where -d says (docs/config.md shows a \
     ready set)"
        .into()
}

/// Which rule `f` falls under, why, what it sets and where the file goes, as lines. `base`:
/// the directory the file goes to without a rule; `chosen`: the user gave -d or -o.
pub fn explain(rules: &[Rule], f: &Facts, base: &Path, chosen: bool) -> Vec<String> {
    if rules.is_empty() {
        return vec![no_rules()];
    }
    let mut out = Vec::new();
    let mut from = 0;
    let mut prefix = "";
    loop {
        match route(&rules[from..], f) {
            Verdict::Applies { index, rule, why } => {
                let index = index + from;
                out.push(format!(
                    "{prefix}{} applies: {}",
                    label(index, rule.name.as_deref()),
                    clean(&why)
                ));
                out.push(format!("  sets: {}", sets(rule, Some(base))));
                let goes = match rule.dir_for(base) {
                    Some(_) if chosen => format!(
                        "  the file goes to {} (-d/-o was given: the rule's dir does not apply)",
                        base.display()
                    ),
                    Some(d) => format!("  the file goes to {}", d.display()),
                    None => format!("  the file goes to {}", base.display()),
                };
                out.push(goes);
                return out;
            }
            Verdict::Undecided { index, rule } => {
                let index = index + from;
                out.push(format!(
                    "{prefix}{} may apply: it looks at the file's {}, which only the server's \
                     answer gives (--probe asks the server once; a download decides it with \
                     its first answer)",
                    label(index, rule.name.as_deref()),
                    looks_at(rule, f)
                ));
                from = index;
                prefix = "otherwise ";
            }
            Verdict::Nothing => {
                out.push(format!(
                    "{prefix}no rule applies ({} checked): the file goes to {}",
                    rules.len(),
                    base.display()
                ));
                return out;
            }
        }
    }
}

/// What an undecided rule waits for.
fn looks_at(r: &Rule, f: &Facts) -> &'static str {
    match (
        !r.file.is_empty() && f.name.is_none(),
        !r.content_type.is_empty(),
    ) {
        (true, true) => "name or Content-Type",
        (true, false) => "name",
        _ => "Content-Type",
    }
}

/// A rule's conditions, as written.
fn conditions(r: &Rule) -> String {
    let list = |g: &[ddm_core::rules::Glob]| {
        g.iter()
            .map(|g| format!("{:?}", g.as_str()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let mut all = Vec::new();
    let kind = [("name", &r.file), ("Content-Type", &r.content_type)]
        .iter()
        .filter(|(_, g)| !g.is_empty())
        .map(|(what, g)| format!("{what} {}", list(g)))
        .collect::<Vec<_>>();
    if !kind.is_empty() {
        all.push(kind.join(", or "));
    }
    if !r.host.is_empty() {
        all.push(format!("host {}", list(&r.host)));
    }
    if !r.url.is_empty() {
        all.push(format!("URL {}", list(&r.url)));
    }
    clean(&all.join("; and "))
}

/// What a rule sets (its dir under `base` when given).
fn sets(r: &Rule, base: Option<&Path>) -> String {
    let mut s = Vec::new();
    if let Some(d) = &r.dir {
        let shown = base.map_or(d.clone(), |b| b.join(d));
        s.push(format!("dir {}", clean(&shown.display().to_string())));
    }
    if let Some(c) = r.connections {
        s.push(format!("connections {c}"));
    }
    if let Some(b) = r.rate {
        s.push(format!("rate {}", ui::speed(b)));
    }
    if let Some(p) = r.priority {
        s.push(format!("priority {}", ddm_core::store::priority_name(p)));
    }
    match r.mirrors {
        Some(false) => s.push("mirrors off".into()),
        Some(true) => s.push("mirrors on".into()),
        None => {}
    }
    if let Some(f) = &r.checksum_file {
        s.push(format!("checksum_file {}", clean(&f.display().to_string())));
    }
    s.join(", ")
}

//! The caps in force, as `ddm limit` (rates) and `ddm status --long` (rates and connections)
//! show them: each with where it comes from (the config, `ddm limit`, what a server taught,
//! `bench --save`), so that a slow or narrow download can be explained from one command.

use crate::ui;
use ddm_core::config::Config;
use ddm_core::store::{Job, Store, StoreError};

/// The global rate cap and where it comes from.
pub fn global_rate(store: &Store, cfg: &Config) -> Result<(Option<u64>, &'static str), StoreError> {
    Ok(match (store.global_rate()?, cfg.max_rate) {
        (Some(r), _) => (r, "ddm limit --global"),
        (None, Some(r)) => (Some(r), "config max_rate"),
        (None, None) => (None, "none set"),
    })
}

pub fn rate(r: Option<u64>) -> String {
    r.map_or("none".into(), ui::speed)
}

/// The `[[schedule]]` window in force now, if one is.
fn window_now(cfg: &Config) -> Option<(usize, ddm_core::schedule::InForce)> {
    let t = ddm_core::clock::now();
    let f = ddm_core::schedule::in_force(&cfg.schedule, &ddm_core::clock::local(t));
    Some((f.window?, f))
}

/// `schedule: window N (…) caps all jobs at X and/or holds the queue now`, when one does.
pub fn schedule_line(cfg: &Config) -> Option<String> {
    let (i, f) = window_now(cfg)?;
    let mut what = Vec::new();
    if let Some(c) = f.max_rate {
        what.push(format!("caps all jobs at {}", rate(Some(c))));
    }
    if f.hold {
        what.push("holds the queue".to_string());
    }
    if what.is_empty() {
        return None;
    }
    Some(format!(
        "schedule: window {} ({}) {} now (`ddm schedule` says until when)",
        i + 1,
        cfg.schedule[i].describe(),
        what.join(" and ")
    ))
}

/// `schedule window N: 300.0 KiB/s cap, queue held`, when a window caps or holds now (the
/// short form, for `top`'s title).
pub fn schedule_short(cfg: &Config) -> Option<String> {
    let (i, f) = window_now(cfg)?;
    let mut what = Vec::new();
    if let Some(c) = f.max_rate {
        what.push(format!("{} cap", rate(Some(c))));
    }
    if f.hold {
        what.push("queue held".to_string());
    }
    (!what.is_empty()).then(|| format!("schedule window {}: {}", i + 1, what.join(", ")))
}

/// `global limit: …`, the schedule's cap or hold in force, and one line per unfinished job
/// with a limit of its own.
pub fn rate_lines(store: &Store, cfg: &Config, jobs: &[Job]) -> Result<Vec<String>, StoreError> {
    let (g, from) = global_rate(store, cfg)?;
    let mut out = vec![match g {
        Some(_) => format!("global limit: {} ({from})", rate(g)),
        None => "global limit: none".to_string(),
    }];
    out.extend(schedule_line(cfg));
    let limited: Vec<&Job> = jobs
        .iter()
        .filter(|j| !j.state.is_done() && j.settings.rate_limit.is_some())
        .collect();
    if limited.is_empty() {
        out.push("no job has a limit of its own".into());
    }
    for j in limited {
        out.push(format!("{}: limit {}", j.id, rate(j.settings.rate_limit)));
    }
    Ok(out)
}

/// The connection caps: the config's budget and what each host taught or was measured.
pub fn connection_lines(store: &Store, cfg: &Config) -> Result<Vec<String>, StoreError> {
    let mut out = vec![format!(
        "connections: at most {} in all, {} per host (config max_total_connections, \
         max_connections_per_host); {} per job unless -c or a host says otherwise",
        cfg.max_total_connections, cfg.max_connections_per_host, cfg.connections
    )];
    for (host, p) in store.host_policies()? {
        let mut what = Vec::new();
        if let Some(n) = p.max_connections {
            what.push(format!("refuses more than {n} connections (learned)"));
        }
        if let Some(n) = p.recommended {
            what.push(format!("starts with {n} (bench --save)"));
        }
        match p.ranges_cheap {
            Some(true) => what.push("range answers as fast as a plain one (measured)".into()),
            Some(false) => what.push("range answers cost it think time (measured)".into()),
            None => {}
        }
        out.push(format!("host {}: {}", ui::clean(&host), what.join("; ")));
    }
    Ok(out)
}

/// The same as JSON, for `status --long --json`.
pub fn json(store: &Store, cfg: &Config) -> Result<serde_json::Value, StoreError> {
    let (g, from) = global_rate(store, cfg)?;
    let hosts: Vec<_> = store
        .host_policies()?
        .into_iter()
        .map(|(host, p)| {
            serde_json::json!({"host": host, "max_connections": p.max_connections,
                "recommended": p.recommended, "ranges_cheap": p.ranges_cheap})
        })
        .collect();
    Ok(serde_json::json!({
        "max_total_connections": cfg.max_total_connections,
        "max_connections_per_host": cfg.max_connections_per_host,
        "connections": cfg.connections,
        "global_rate": g,
        "global_rate_from": from,
        // The `[[schedule]]` window in force (its number from 1), its cap and hold; null
        // outside all windows.
        "schedule": window_now(cfg).map(|(i, f)| serde_json::json!({
            "window": i + 1, "max_rate": f.max_rate, "hold": f.hold})),
        "hosts": hosts,
    }))
}

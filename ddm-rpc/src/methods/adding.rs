//! Adding from what a browser gives: `ddm.addCurl(command, options)` reads a "Copy as cURL"
//! command with the same parser as `ddm add --curl` (`ddm_core::curlcmd`), and
//! `ddm.addHar(har, options, {allowCookies, match})` picks the download of a HAR capture by
//! the same rules as `ddm import-har` (`ddm_core::har`: the final URL of the chain, its first
//! URL kept to resolve again, the captured headers that made the server answer; Cookie and
//! Authorization only with `allowCookies`). Options as in `aria2.addUri` (plus ddm's
//! `secret-header`); a header given there replaces a captured one of the same name.
//! Credentials go to the job's URL's origin only, like every job's.

use super::own::spec;
use super::{Ctx, Params};
use crate::envelope::Fault;
use ddm_core::curlcmd::merge_headers;
use ddm_core::har;
use ddm_core::model::Header;
use serde_json::{json, Value};

pub(super) fn curl(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let text = p.string(0, "the curl command")?;
    let c = ddm_core::curlcmd::parse(text).map_err(Fault::method)?;
    let mut s = spec(p, 1, c.url.clone())?;
    s.headers = merge_headers(c.headers, std::mem::take(&mut s.headers));
    if s.user.is_none() {
        s.user = c.user;
    }
    s.insecure |= c.insecure;
    s.network.http1 |= c.http1;
    if s.out.is_none() {
        s.out = c.output;
    }
    let id = ctx.jobs.add(s).map_err(|e| ctx.fault(e))?;
    Ok(json!({ "gid": ctx.gids.shown(id), "id": id, "ignored": c.ignored }))
}

pub(super) fn har(ctx: &Ctx, p: &Params) -> Result<Value, Fault> {
    let text = p.string(0, "the HAR file's text")?;
    if text.len() as u64 > ddm_core::input::HAR_CAP {
        return Err(Fault::method(
            "the HAR file is too large: export it with less in it",
        ));
    }
    let how = p.get(2);
    let allow_cookies = how
        .and_then(|h| h.get("allowCookies"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let pick = match how.and_then(|h| h.get("match")).and_then(Value::as_str) {
        Some(m) if !m.is_empty() => har::Pick::Match(m.to_string()),
        _ => har::Pick::Auto,
    };
    let capture = har::parse(text.as_bytes()).map_err(|e| Fault::method(format!("HAR: {e}")))?;
    let analysis = har::candidates(&capture, &har::Options { allow_cookies });
    let chosen = har::pick(&analysis, &pick).map_err(|e| {
        let more = match &e {
            har::PickError::Ambiguous(_) => {
                "; type part of the right URL in \"match\" and drop the file again"
            }
            _ => "",
        };
        Fault::method(format!("HAR: {e}{more}"))
    })?;
    let url = ddm_core::urls::parse_http_url(&chosen.final_url)
        .map_err(|e| {
            Fault::method(format!(
                "HAR: the captured download URL cannot be used: {e}"
            ))
        })?
        .to_string();
    let mut s = spec(p, 1, url.clone())?;
    let captured = chosen
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), v.as_str()))
        .collect();
    s.headers = merge_headers(captured, std::mem::take(&mut s.headers));
    s.origin_url = ddm_core::urls::parse_http_url(&chosen.first_url)
        .ok()
        .map(|u| u.to_string())
        .filter(|o| *o != url);
    for m in har::mirrors_of(&analysis, &chosen) {
        if let Ok(u) = ddm_core::urls::parse_http_url(&m) {
            let u = u.to_string();
            if u != url && !s.urls.contains(&u) {
                s.urls.push(u);
            }
        }
    }
    let id = ctx.jobs.add(s).map_err(|e| ctx.fault(e))?;
    Ok(json!({
        "gid": ctx.gids.shown(id),
        "id": id,
        "url": ddm_core::model::redact_url(&url),
        "why": chosen.why,
    }))
}

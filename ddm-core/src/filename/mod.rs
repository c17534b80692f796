//! (in progress)
/// Placeholder until the filename module lands (the helper overwrites this file).
pub fn sanitize(raw: &str) -> Option<String> {
    (!raw.is_empty() && !raw.contains(['/', '\0']) && raw != "." && raw != "..")
        .then(|| raw.to_string())
}
/// Placeholder until the filename module lands (the helper overwrites this file).
pub fn choose(_cd: Option<&str>, url: &url::Url, _ct: Option<&str>) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .and_then(sanitize)
        .unwrap_or_else(|| "download".into())
}
/// Placeholder until the filename module lands (the helper overwrites this file).
pub fn unique_name(name: &str, mut taken: impl FnMut(&str) -> bool) -> String {
    let mut n = 0;
    loop {
        let c = if n == 0 {
            name.to_string()
        } else {
            format!("{name} ({n})")
        };
        if !taken(&c) {
            return c;
        }
        n += 1;
    }
}

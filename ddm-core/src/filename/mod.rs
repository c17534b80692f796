//! (in progress)
/// Placeholder until the filename module lands (the helper overwrites this file).
pub fn sanitize(raw: &str) -> Option<String> {
    (!raw.is_empty() && !raw.contains(['/', '\0']) && raw != "." && raw != "..").then(|| raw.to_string())
}

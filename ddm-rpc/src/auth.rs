//! The secret token. Every call but `system.listMethods` and `system.listNotifications`
//! carries it as its first parameter, `"token:SECRET"` (inside `system.multicall`, each call
//! its own). A wrong or missing token gets the error message `Unauthorized`, exactly (AriaNg
//! and webui-aria2 compare that text), never a hint about the real one; the transport holds
//! such an answer back for [`crate::ServeConfig::auth_delay`] without holding up other
//! clients. The comparison takes the same time wherever the first difference is.

use serde_json::Value;

/// The one message a wrong or missing token gets.
pub(crate) const UNAUTHORIZED: &str = "Unauthorized";

/// Take a leading `"token:..."` parameter off (aria2 strips it from every call, whatever the
/// method): the token it carries.
pub(crate) fn take_token(params: &mut Vec<Value>) -> Option<String> {
    let token = params
        .first()
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("token:"))
        .map(str::to_string)?;
    params.remove(0);
    Some(token)
}

/// Whether `given` is the secret, in time that depends only on their lengths.
pub(crate) fn check(secret: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (secret.as_bytes(), given.as_bytes());
    let mut diff = u8::from(a.len() != b.len() || a.is_empty());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_token_is_taken_off_the_params() {
        let mut p = vec![json!("token:abc"), json!(["http://x/"])];
        assert_eq!(take_token(&mut p).as_deref(), Some("abc"));
        assert_eq!(p, vec![json!(["http://x/"])]);
        let mut p = vec![json!(["http://x/"])];
        assert_eq!(take_token(&mut p), None);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn only_the_exact_secret_passes() {
        assert!(check("s3cret", Some("s3cret")));
        for wrong in ["s3cre", "s3cretX", "S3cret", ""] {
            assert!(!check("s3cret", Some(wrong)), "{wrong}");
        }
        assert!(!check("s3cret", None));
        assert!(!check("", Some("")), "an empty secret never passes");
    }
}

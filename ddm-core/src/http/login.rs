//! How a login (`user:password` of the URL, `-u`, netrc) goes out, on requests to the
//! origin it was given for only ([`super::target`] decides that):
//!
//! - over https, Basic with the first request, as `curl -u` does (TLS carries the password
//!   to the origin it is for; servers that never challenge, answering 404 to an anonymous
//!   request, still get it). A server that answers with a challenge for Digest instead is
//!   asked again answering that ([`negotiate`], [`wants_digest`]).
//! - over plain http, nothing before the server asks: the first request goes without
//!   credentials and libcurl answers the 401's challenge with the safest scheme offered
//!   (Digest before Basic), so a server that asks for Digest never sees the password in
//!   clear.
//!
//! A challenge libcurl answers on the same request is not the answer: the first 401 of a
//! request carrying a login is skipped by whoever reads heads (workers, the resolver), its
//! body dropped; if libcurl cannot answer it, the transfer ends with it and it is the failure.

use super::Head;
use curl::easy::{Auth, Easy2, Handler};

/// Set `user`/`password` on the handle for a request to `url` (in the login's scope), with
/// the schemes libcurl may use for it.
pub(super) fn set<H: Handler>(
    easy: &mut Easy2<H>,
    url: &url::Url,
    user: &str,
    password: &str,
) -> Result<(), curl::Error> {
    easy.username(user)?;
    easy.password(password)?;
    let mut auth = Auth::new();
    auth.basic(true);
    if !basic_first(url) {
        auth.digest(true);
    }
    easy.http_auth(&auth)
}

/// Does a login to `url` go out as Basic with the first request (https), rather than only
/// in answer to a challenge?
pub fn basic_first(url: &url::Url) -> bool {
    url.scheme() == "https"
}

/// No login on this request (and no scheme left from an earlier one).
pub(super) fn clear<H: Handler>(easy: &mut Easy2<H>) -> Result<(), curl::Error> {
    // SAFETY: NULL clears a string option on a valid easy handle.
    unsafe {
        let h = easy.raw();
        curl_sys::curl_easy_setopt(h, curl_sys::CURLOPT_USERNAME, std::ptr::null::<u8>());
        curl_sys::curl_easy_setopt(h, curl_sys::CURLOPT_PASSWORD, std::ptr::null::<u8>());
    }
    easy.http_auth(Auth::new().basic(true))
}

/// Answer the server's challenge instead of sending Basic first (after [`wants_digest`]):
/// libcurl asks without credentials and picks the safest scheme the 401 offers.
pub fn negotiate<H: Handler>(easy: &mut Easy2<H>) -> Result<(), curl::Error> {
    easy.http_auth(Auth::new().basic(true).digest(true))
}

/// A 401 whose challenges include Digest: a server that Basic cannot satisfy.
pub fn wants_digest(h: &Head) -> bool {
    h.status == 401
        && h.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("www-authenticate")
                && v.split(',').any(|c| {
                    c.trim_start()
                        .get(..6)
                        .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_challenge_is_recognised_among_others() {
        let head = |status, v: &[&str]| Head {
            status,
            headers: v
                .iter()
                .map(|v| ("WWW-Authenticate".to_string(), v.to_string()))
                .collect(),
            ..Head::default()
        };
        assert!(wants_digest(&head(
            401,
            &["Digest realm=\"dav\", nonce=\"n\", qop=\"auth\""]
        )));
        assert!(wants_digest(&head(
            401,
            &["Basic realm=\"a\"", "digest realm=\"b\""]
        )));
        assert!(wants_digest(&head(
            401,
            &["Basic realm=\"a\", Digest realm=\"b\""]
        )));
        assert!(!wants_digest(&head(401, &["Basic realm=\"digest\""])));
        assert!(!wants_digest(&head(403, &["Digest realm=\"x\""])));
        assert!(!wants_digest(&head(401, &[])));
    }
}

//! One redirect step, for everyone who follows redirects (the resolver, a job's first
//! request on a worker): where a `Location` leads, refused past [`MAX_REDIRECTS`] hops, to
//! anything but http(s), or when it is no URL. libcurl never follows one itself, so that
//! every hop's headers are decided for its own origin (`setup::target`).

use crate::retry::Failure;

/// Redirects followed at most.
pub const MAX_REDIRECTS: u32 = 10;

/// Is `status` a redirect that is followed?
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The URL a redirect from `current` to `location` leads to, after `hops` redirects
/// already followed; the failure that ends the request otherwise.
pub fn follow(current: &str, location: &str, hops: usize) -> Result<url::Url, Failure> {
    if hops as u64 >= u64::from(MAX_REDIRECTS) {
        return Err(Failure::Other(format!(
            "more than {MAX_REDIRECTS} redirects"
        )));
    }
    let next = url::Url::parse(current)
        .and_then(|u| u.join(location.trim()))
        .map_err(|e| {
            Failure::InvalidResponse(format!("unusable redirect Location {location:?}: {e}"))
        })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(Failure::Other(
            "redirected to a non-http(s) URL, which ddm refuses to follow".into(),
        ));
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hop_is_joined_checked_and_counted() {
        let next = follow("http://a.example/d/f", "../g?x=1", 0).unwrap();
        assert_eq!(next.as_str(), "http://a.example/g?x=1");
        assert_eq!(
            follow("http://a.example/f", " https://b.example/f ", 3)
                .unwrap()
                .as_str(),
            "https://b.example/f"
        );
        assert!(matches!(
            follow("http://a.example/f", "ftp://a.example/f", 0),
            Err(Failure::Other(m)) if m.contains("non-http(s)")
        ));
        assert!(matches!(
            follow("http://a.example/f", "/g", MAX_REDIRECTS as usize),
            Err(Failure::Other(m)) if m.contains("more than 10")
        ));
        assert!(matches!(
            follow("http://a.example/f", "http://[::1", 0),
            Err(Failure::InvalidResponse(_))
        ));
    }
}

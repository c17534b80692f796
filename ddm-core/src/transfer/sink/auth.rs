//! A worker's login state on its handle: whether the current request carries a login and
//! sent Basic first, the 401 heads it got, the origin the handle last logged in to and
//! whether that origin asked for Digest. libcurl answers a challenge itself; the sink only
//! needs to know that the first 401 of a request carrying a login is not the answer.

use crate::http::{self, Head};

/// The login cluster of a [`super::Sink`].
#[derive(Debug, Default)]
pub(super) struct Auth {
    /// The current request carries a login: its first 401 is a challenge libcurl answers.
    sent: bool,
    /// 401 heads received for the current request.
    challenges: u32,
    /// The origin whose login this handle last carried.
    origin: Option<String>,
    /// That origin asked for Digest: its challenges are answered, Basic is not sent first.
    pub(super) negotiating: bool,
    /// The current request sent Basic first (https, not negotiating).
    basic_first: bool,
}

impl Auth {
    /// A request is about to go out (the first, a redirect hop, the next window, a login
    /// asked again), carrying a login or not, and with it Basic first (no Digest yet).
    pub(super) fn request(&mut self, login: http::Login) {
        self.sent = login.sent;
        self.basic_first = login.basic_first;
        self.challenges = 0;
    }

    /// The handle logs in to `origin` now (None: no login): true when it last logged in
    /// elsewhere, so libcurl's auth state (the picked scheme, Digest's nonce) must be reset.
    pub(super) fn changes(&mut self, origin: Option<String>) -> bool {
        let changed = self.origin.is_some() && self.origin != origin;
        if changed {
            self.negotiating = false;
        }
        if origin.is_some() || changed {
            self.origin = origin;
        }
        changed
    }

    /// A head of the current request is complete (counted once, when it completes).
    pub(super) fn head_complete(&mut self, head: &Head) {
        if head.status == 401 {
            self.challenges += 1;
        }
    }

    /// `head` is a login challenge libcurl answers itself on this request (the first 401
    /// while credentials are set): not the answer, and its body is dropped. If libcurl does
    /// not answer it (no scheme it may use), the transfer ends with it and it is the failure.
    pub(super) fn challenged(&self, head: &Head) -> bool {
        self.sent && head.status == 401 && self.challenges == 1
    }

    /// `head` (a challenge nobody was shown) asks for Digest to the Basic sent first
    /// (https): from now on this origin's challenges are answered. Once per handle and login.
    pub(super) fn turns_to_digest(&mut self, head: &Head) -> bool {
        if !self.basic_first || !self.challenged(head) || !http::login::wants_digest(head) {
            return false;
        }
        self.negotiating = true;
        true
    }
}

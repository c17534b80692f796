//! Reach (issue 10): what needs a login or several origins. Credentials (Basic, netrc,
//! Digest), proxies, TLS, cookies, mirrors, and moving a job to another URL. Checksums and
//! servers as they are are checked in `download/`.
//!
//! `SECRET` is the password the tests here share, so that each can check it is shown nowhere.

mod cookies;
mod digest;
mod logins;
mod mirrors;
mod proxies;
mod set_url;
mod tls;

const SECRET: &str = "pa55-word-9c2e";

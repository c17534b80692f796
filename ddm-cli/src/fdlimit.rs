//! The open-file limit, raised for the process at start. Every open connection holds several
//! descriptors (its socket, libcurl's wake-up pair, a resolver's pair while it resolves), so
//! a runner with a few hundred connections passes the soft limit many systems still default
//! to (1024), and each connection past it would fail to open. The soft limit goes up to the
//! hard one, as servers and Go programs do; the hard limit, which only the administrator can
//! raise, is left as it is.

/// The soft limit no higher than this: enough for every connection the config allows.
const ENOUGH: libc::rlim_t = 1 << 16;

/// Raise the soft open-file limit towards the hard one; says in the log what it did.
pub fn raise() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit, which `lim` is.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    let want = lim.rlim_max.min(ENOUGH);
    if lim.rlim_cur >= want {
        return;
    }
    let old = lim.rlim_cur;
    lim.rlim_cur = want;
    // SAFETY: setrlimit reads one rlimit, which `lim` is.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
        tracing::debug!(from = old, to = want, "open-file limit raised");
    }
}

//! Secrets on the command line are hidden from `ps` once parsed, as curl does: the password
//! of `-u USER:PASSWORD`, the value of a secret `-H` header (Authorization, Cookie, ...,
//! `--secret-header` names), and a password in any URL (`--proxy`, `--mirror`, the URLs,
//! URLs inside query strings) are overwritten with `x` in the process's own argv memory,
//! which is what `/proc/PID/cmdline` shows. Lengths stay as they were.
//!
//! There is a window between exec and this scrub (as with curl): `-u USER` (asked on the
//! terminal) and `--netrc` keep a password off the command line altogether.
//!
//! The original argv comes from glibc, which calls `.init_array` functions with
//! `(argc, argv, envp)`; elsewhere nothing is scrubbed.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static KEEP_ARGV: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) =
    keep_argv;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn keep_argv(
    argc: libc::c_int,
    argv: *mut *mut libc::c_char,
    _envp: *mut *mut libc::c_char,
) {
    ARGC.store(argc.max(0) as usize, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

/// Overwrite the secrets in this process's argv (call once the arguments are parsed).
pub fn scrub() {
    let argv = ARGV.load(Ordering::Relaxed);
    let argc = ARGC.load(Ordering::Relaxed);
    if argv.is_null() {
        return;
    }
    // SAFETY: glibc passes the process's argv: `argc` pointers to NUL-terminated strings
    // that live (writable) for the whole process. Nothing else holds references to them:
    // `std::env::args_os` copies them at each call (so a later call would see the blanks;
    // ddm calls it once, for clap, before this). Only bytes are replaced, never NULs.
    let mut args: Vec<&mut [u8]> = (0..argc)
        .filter_map(|i| unsafe {
            let p = *argv.add(i);
            if p.is_null() {
                return None;
            }
            let len = libc::strlen(p);
            Some(std::slice::from_raw_parts_mut(p.cast::<u8>(), len))
        })
        .collect();
    if let Some((_, rest)) = args.split_first_mut() {
        blank(rest);
    }
}

/// What the value of the option just seen is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    User,
    Header,
    Proxy,
    Other,
}

/// Short flags that take a value (the rest of the cluster or the next argument).
fn short_value(c: u8) -> Option<Value> {
    match c {
        b'u' => Some(Value::User),
        b'H' => Some(Value::Header),
        b'o' | b'd' | b'c' => Some(Value::Other),
        _ => None,
    }
}

fn long_value(name: &[u8]) -> Option<Value> {
    match name {
        b"user" => Some(Value::User),
        b"header" => Some(Value::Header),
        b"proxy" => Some(Value::Proxy),
        _ => None,
    }
}

/// Blank the secrets in `args` (argv without the program name) in place.
pub(crate) fn blank(args: &mut [&mut [u8]]) {
    // Names marked secret with --secret-header, wherever they stand.
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if *a == b"--" {
            break;
        }
        if *a == b"--secret-header" {
            if let Some(n) = it.peek() {
                names.push(n.to_vec());
            }
        } else if let Some(n) = a.strip_prefix(b"--secret-header=") {
            names.push(n.to_vec());
        }
    }
    let mut pending: Option<Value> = None;
    let mut options = true;
    for a in args.iter_mut() {
        let a: &mut [u8] = a;
        if let Some(v) = pending.take() {
            blank_value(v, a, &names);
        } else if options && a == b"--" {
            options = false;
        } else if options && a.starts_with(b"--") {
            let body = &a[2..];
            match body.iter().position(|&b| b == b'=') {
                Some(eq) => {
                    if let Some(v) = long_value(&body[..eq]) {
                        blank_value(v, &mut a[2 + eq + 1..], &names);
                    }
                }
                None => pending = long_value(body),
            }
        } else if options && a.len() > 1 && a[0] == b'-' {
            for i in 1..a.len() {
                if let Some(v) = short_value(a[i]) {
                    if i + 1 < a.len() {
                        blank_value(v, &mut a[i + 1..], &names);
                    } else {
                        pending = Some(v);
                    }
                    break;
                }
            }
        }
        blank_url_passwords(a);
    }
}

fn blank_value(v: Value, a: &mut [u8], secret_names: &[Vec<u8>]) {
    match v {
        Value::User => {
            if let Some(c) = a.iter().position(|&b| b == b':') {
                a[c + 1..].fill(b'x');
            }
        }
        Value::Header => {
            if let Some(c) = a.iter().position(|&b| b == b':') {
                let name = String::from_utf8_lossy(&a[..c]);
                let name = name.trim();
                if ddm_core::model::is_secret_name(name)
                    || secret_names
                        .iter()
                        .any(|n| n.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
                {
                    a[c + 1..].fill(b'x');
                }
            }
        }
        // A bare `user:password@host:port` proxy (a URL with a scheme is handled below).
        Value::Proxy if !a.windows(3).any(|w| w == b"://") => blank_userinfo(a),
        Value::Proxy | Value::Other => {}
    }
}

/// Every `scheme://user:password@` in `a` (also inside query strings): the password to `x`.
fn blank_url_passwords(a: &mut [u8]) {
    let mut i = 0;
    while let Some(p) = a[i..].windows(3).position(|w| w == b"://") {
        let start = i + p + 3;
        blank_userinfo(&mut a[start..]);
        i = start;
    }
}

/// `a` starts with an authority: the password of its userinfo (after the first `:` before the
/// last `@` ahead of the next `/`, `?` or `#`) to `x`.
fn blank_userinfo(a: &mut [u8]) {
    let end = a.iter().position(|b| b"/?#".contains(b)).unwrap_or(a.len());
    let Some(at) = a[..end].iter().rposition(|&b| b == b'@') else {
        return;
    };
    if let Some(c) = a[..at].iter().position(|&b| b == b':') {
        a[c + 1..at].fill(b'x');
    }
}

#[cfg(test)]
mod tests {
    use super::blank;

    fn run(args: &[&str]) -> Vec<String> {
        let mut owned: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut refs: Vec<&mut [u8]> = owned.iter_mut().map(|v| v.as_mut_slice()).collect();
        blank(&mut refs);
        owned
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn user_and_secret_headers_are_blanked() {
        let got = run(&[
            "get",
            "-u",
            "me:pw",
            "--user=me:pw2",
            "-qume:pw3",
            "-H",
            "Authorization: Bearer T",
            "--header=Cookie: c=1",
            "-HX-Key: k",
            "--secret-header",
            "x-key",
            "-H",
            "X-Trace: visible",
            "-o",
            "-u",
        ]);
        assert_eq!(
            got,
            [
                "get",
                "-u",
                "me:xx",
                "--user=me:xxx",
                "-qume:xxx",
                "-H",
                "Authorization:xxxxxxxxx",
                "--header=Cookie:xxxx",
                "-HX-Key:xx",
                "--secret-header",
                "x-key",
                "-H",
                "X-Trace: visible",
                "-o",
                "-u",
            ]
        );
    }

    #[test]
    fn url_passwords_are_blanked() {
        let got = run(&[
            "add",
            "http://u:pw@h/x?next=https://a:b@c/",
            "--mirror=http://m:mm@[zz/",
            "--proxy",
            "u:pp@proxy:3128",
            "http://h/a@b",
            "--",
            "-u",
        ]);
        assert_eq!(
            got,
            [
                "add",
                "http://u:xx@h/x?next=https://a:x@c/",
                "--mirror=http://m:xx@[zz/",
                "--proxy",
                "u:xx@proxy:3128",
                "http://h/a@b",
                "--",
                "-u",
            ]
        );
    }
}

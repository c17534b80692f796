//! Human formatting shared by the verbs: sizes, speeds, durations, text that is safe for a
//! terminal, and results on stdout that end quietly when the reader goes away.

use std::io::Write;

/// `println!` for a verb's results: when stdout is a closed pipe (`ddm status | head -1`)
/// the program ends quietly with exit 0 instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::ui::out(format_args!($($t)*)) };
}
pub(crate) use outln;

pub fn out(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Ask for a secret on the terminal without echoing it.
pub fn ask_secret(prompt: &str) -> Result<String, crate::exit::CliError> {
    use std::io::BufRead;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| crate::exit::usage(format!("cannot ask for the password: {e}")))?;
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&tty);
    // SAFETY: termios calls on a valid descriptor with a zeroed struct they fill.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if got {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    if got {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    let _ = writeln!(w);
    read.map_err(|e| crate::exit::usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Text from a server, a capture or a file name, made safe for a terminal: control
/// characters (C0, DEL, C1 such as ESC and CSI) are shown escaped (`\x1b`), never sent; so
/// are the characters that reorder or hide text without being seen (bidi controls such as
/// U+202E, LRM/RLM/ALM, zero-width space, BOM), as `\u{202e}`.
pub fn clean(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    use ddm_core::filename::{is_bidi_control, is_invisible};
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// JSON text for scripts with the same characters written as `\uXXXX` escapes: the value a
/// parser reads is unchanged, but a terminal showing the JSON is not reordered by them.
/// (Outside strings, serialized JSON is printable ASCII and the layout's whitespace; inside,
/// serde_json escapes C0 controls itself, so every other such character sits in a string.)
pub fn json_text(json: &str) -> String {
    let escape = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    // Printable ASCII and the layout's whitespace need nothing (checked bytewise: `status
    // --json` of 100,000 jobs).
    let plain = |b: &u8| matches!(b, 0x20..=0x7e | b'\n' | b'\r' | b'\t');
    if json.as_bytes().iter().all(plain) || !json.chars().any(escape) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if escape(c) {
            // serde_json escapes C0 controls already; what is left (DEL, C1, bidi and
            // invisible characters) is all in the Basic Multilingual Plane.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut u = 0;
    while u < UNITS.len() - 1 && n >> (10 * (u + 1)) > 0 {
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{} {}", tenths(n.into(), 1 << (10 * u)), UNITS[u])
    }
}

/// `num / den` with one decimal, rounded as `{:.1}` rounds an exact value (to nearest, a
/// tie to even), in integers: float formatting was a tenth of `status`'s time for 100,000
/// jobs.
pub fn tenths(num: u128, den: u128) -> String {
    let (q, r) = (num * 10 / den, num * 10 % den);
    let t = q + u128::from(2 * r > den || (2 * r == den && q % 2 == 1));
    match u64::try_from(t / 10) {
        Ok(whole) => format!("{whole}.{}", t % 10),
        Err(_) => format!("{}.{}", t / 10, t % 10),
    }
}

pub fn speed(bps: u64) -> String {
    format!("{}/s", bytes(bps))
}

pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "--".into();
    }
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `64M`, `512K`, `1G` or plain bytes (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    use ddm_core::config::{parse_bytes, BadBytes};
    parse_bytes(s).map_err(|e| match e {
        BadBytes::Syntax => format!("{:?} is not a size; write e.g. 64M, 512K or 1G", s.trim()),
        BadBytes::Range => format!("{:?}: size must be between 1 byte and 16 EiB", s.trim()),
    })
}

/// A duration in whole seconds: `90`, `90s`, `15m`, `2h`, `1d`, `1.5h` (rounded up to a
/// second); `0` = no limit.
pub fn parse_secs(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    let mult = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86400.0,
        _ => f64::NAN,
    };
    let n: f64 = num.trim().parse().unwrap_or(f64::NAN);
    let secs = n * mult;
    if !(0.0..1e12).contains(&secs) {
        return Err(format!(
            "{t:?} is not a duration; write seconds or e.g. 90s, 15m, 2h (0 = no limit)"
        ));
    }
    Ok(secs.ceil() as u64)
}

/// A duration of at least one second (see [`parse_secs`]).
pub fn parse_secs_nonzero(s: &str) -> Result<u64, String> {
    match parse_secs(s)? {
        0 => Err(format!("{:?}: must be at least 1 second", s.trim())),
        n => Ok(n),
    }
}

/// A rate like `--limit-rate`'s, or `0` for no limit (then 0).
pub fn parse_rate_or_off(s: &str) -> Result<u64, String> {
    if s.trim() == "0" {
        return Ok(0);
    }
    ddm_core::config::parse_rate(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_float_formatting_wrote_them() {
        let float = |n: u64| {
            const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
            let (mut v, mut u) = (n as f64, 0);
            while v >= 1024.0 && u < UNITS.len() - 1 {
                v /= 1024.0;
                u += 1;
            }
            if u == 0 {
                format!("{n} B")
            } else {
                format!("{v:.1} {}", UNITS[u])
            }
        };
        let mut n: u64 = 0;
        while n < 1 << 52 {
            for m in [n, n + 1, n + 51, n * 5 / 4, n * 21 / 20, n * 1023 / 1024] {
                assert_eq!(bytes(m), float(m), "{m}");
            }
            n = n * 3 / 2 + 7;
        }
        for m in [
            1023,
            1024,
            1280,
            1075,
            1126,
            1048524,
            1048575,
            1048576,
            1 << 60,
            u64::MAX,
        ] {
            assert_eq!(bytes(m), float(m), "{m}");
        }
        assert_eq!(tenths(1, 4), "0.2");
        assert_eq!(tenths(3, 4), "0.8");
        assert_eq!(tenths(1000, 1), "1000.0");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("plain ü"), "plain ü");
        let hostile = "a\x1b]0;pwned\x07b\u{9b}31mc\r\nd\x7f";
        let c = clean(hostile);
        assert!(!c.chars().any(char::is_control), "{c:?}");
        assert_eq!(c, "a\\x1b]0;pwned\\x07b\\x9b31mc\\x0d\\x0ad\\x7f");
    }

    #[test]
    fn durations_and_rates_for_the_limits() {
        assert_eq!(parse_secs("90"), Ok(90));
        assert_eq!(parse_secs("90s"), Ok(90));
        assert_eq!(parse_secs("15m"), Ok(900));
        assert_eq!(parse_secs("1.5H"), Ok(5400));
        assert_eq!(parse_secs("1d"), Ok(86400));
        assert_eq!(parse_secs("0"), Ok(0));
        assert_eq!(parse_secs("0.2"), Ok(1));
        for bad in ["", "m", "-1", "5x", "soon", "inf"] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
        assert!(parse_secs_nonzero("0").is_err());
        assert_eq!(parse_rate_or_off("0"), Ok(0));
        assert_eq!(parse_rate_or_off("4K"), Ok(4096));
        assert!(parse_rate_or_off("fast").is_err());
    }

    #[test]
    fn bidi_and_invisible_characters_are_shown_escaped() {
        let etag = "\"v1\u{202E}gpj.exe\u{200F}\u{FEFF}\"";
        assert_eq!(clean(etag), "\"v1\\u{202e}gpj.exe\\u{200f}\\u{feff}\"");
        // Words that need ZWNJ keep it.
        assert_eq!(clean("می\u{200C}خواهم"), "می\u{200C}خواهم");
        let json = serde_json::to_string_pretty(&serde_json::json!({ "etag": etag })).unwrap();
        let safe = json_text(&json);
        assert!(safe.contains('\n'), "the layout stays: {safe}");
        assert!(
            !safe.chars().any(|c| needs_escape(c) && c != '\n'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["etag"], etag, "the value is unchanged");
    }

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 << 20), "64.0 MiB");
        assert_eq!(speed(2 << 20), "2.0 MiB/s");
        assert_eq!(duration(5.2), "5s");
        assert_eq!(duration(125.0), "2m05s");
        assert_eq!(duration(3700.0), "1h01m");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("10"), Ok(10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }
}

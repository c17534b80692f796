//! Human formatting shared by the verbs: sizes, speeds, durations.

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
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
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size; write e.g. 64M, 512K or 1G"))?;
    match n.checked_mul(mult) {
        Some(0) | None => Err(format!("{s:?}: size must be between 1 byte and 16 EiB")),
        Some(v) => Ok(v),
    }
}

/// `sha256:<64 hex digits>`, normalised to lowercase.
pub fn parse_checksum(s: &str) -> Result<String, String> {
    let (algo, hex) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: write the checksum as sha256:<64 hex digits>"))?;
    if !algo.eq_ignore_ascii_case("sha256") {
        return Err(format!("{algo:?}: only sha256 checksums are supported"));
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{hex:?} is not 64 hex digits (a sha256)"));
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn sizes_and_checksums_parse() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("10"), Ok(10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        let h = "AB".repeat(32);
        assert_eq!(
            parse_checksum(&format!("sha256:{h}")),
            Ok(format!("sha256:{}", h.to_lowercase()))
        );
        assert!(parse_checksum("md5:abc")
            .unwrap_err()
            .contains("only sha256"));
        assert!(parse_checksum("sha256:xyz").unwrap_err().contains("64 hex"));
        assert!(parse_checksum("deadbeef").unwrap_err().contains("sha256:"));
    }
}

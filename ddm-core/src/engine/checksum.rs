//! Checksum verification of a finished download (`--checksum ALGO:HEX`, `--checksum-file`),
//! off the transfer path: the file is read once after every piece is done and before it is
//! renamed into place. sha256, sha512, sha1 and md5 (mirrors that publish only those).
//!
//! A checksum file (`SHA256SUMS`, `md5sum` output, BSD `SHA256 (name) = hex`) is parsed
//! when the job is added, and its line is picked then, by the name the user asked for: `-o
//! NAME`, else the file name in the URL's path ([`asked_name`]). Never by a name the server
//! chose (Content-Disposition, a redirect's target) or the one the file is saved under
//! (`good (1).iso`): a server could otherwise pick another line of the same file and pass.

use sha2::Digest;
use std::io::Read;
use std::path::Path;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Sha256,
    Sha512,
    Sha1,
    Md5,
}

impl Algo {
    pub const ALL: [Algo; 4] = [Algo::Sha256, Algo::Sha512, Algo::Sha1, Algo::Md5];
    pub fn name(self) -> &'static str {
        match self {
            Algo::Sha256 => "sha256",
            Algo::Sha512 => "sha512",
            Algo::Sha1 => "sha1",
            Algo::Md5 => "md5",
        }
    }
    /// Hex digits of a digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algo::Sha256 => 64,
            Algo::Sha512 => 128,
            Algo::Sha1 => 40,
            Algo::Md5 => 32,
        }
    }
    fn by_name(s: &str) -> Option<Algo> {
        let s = s.to_ascii_lowercase().replace('-', "");
        Algo::ALL.into_iter().find(|a| a.name() == s)
    }
    fn by_len(n: usize) -> Option<Algo> {
        Algo::ALL.into_iter().find(|a| a.hex_len() == n)
    }
}

/// `ALGO:HEX` checked and normalised (lowercase), e.g. `sha256:9f86…`.
pub fn parse(s: &str) -> Result<String, String> {
    let (algo, hex) = s.trim().split_once(':').ok_or_else(|| {
        format!("{s:?}: write the checksum as ALGO:HEX, ALGO one of sha256, sha512, sha1, md5")
    })?;
    let a = Algo::by_name(algo).ok_or_else(|| {
        format!("{algo:?} is not a supported checksum (sha256, sha512, sha1, md5)")
    })?;
    if hex.len() != a.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{hex:?} is not {} hex digits (a {})",
            a.hex_len(),
            a.name()
        ));
    }
    Ok(format!("{}:{}", a.name(), hex.to_ascii_lowercase()))
}

/// The entries of a checksum file: (file name, `ALGO:HEX`). Lines it cannot read are
/// skipped; an empty result is the caller's error.
pub fn parse_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // BSD style: `SHA256 (name) = hex`.
        if let Some((head, hex)) = line.rsplit_once(") = ") {
            if let Some((algo, name)) = head.split_once(" (") {
                if let Ok(c) = parse(&format!("{}:{}", algo.trim(), hex.trim())) {
                    out.push((name.to_string(), c));
                }
                continue;
            }
        }
        // GNU style: `hex  name` or `hex *name` (binary mode).
        let Some((hex, name)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let name = name.trim_start().trim_start_matches('*');
        if let Some(a) = Algo::by_len(hex.len()) {
            if let Ok(c) = parse(&format!("{}:{hex}", a.name())) {
                out.push((name.to_string(), c));
            }
        }
    }
    out
}

/// The checksum for `name` among `entries` (a path in the file matches by its last part).
pub fn pick<'a>(entries: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|(n, _)| n == name)
        .or_else(|| {
            entries
                .iter()
                .find(|(n, _)| n.rsplit('/').next() == Some(name))
        })
        .map(|(_, c)| c.as_str())
}

/// The name a checksum file's line is picked by: `output` (`-o NAME`), else the last
/// segment of `url`'s path, percent-decoded; None when the URL names no file.
pub fn asked_name(url: &str, output: Option<&str>) -> Option<String> {
    if let Some(o) = output {
        return Some(o.to_string());
    }
    crate::filename::from_url(&url::Url::parse(url).ok()?)
}

/// The checksum of the file the user asked for: the line of `entries` for
/// [`asked_name`]. The error says which name was looked for and what to do.
pub fn pick_for(
    entries: &[(String, String)],
    url: &str,
    output: Option<&str>,
) -> Result<String, String> {
    let Some(name) = asked_name(url, output) else {
        return Err(
            "the URL names no file to look up in the checksum file; give -o NAME \
                    with the name the checksum file lists"
                .into(),
        );
    };
    pick(entries, &name).map(str::to_string).ok_or_else(|| {
        let from = if output.is_some() {
            "the name given with -o"
        } else {
            "the file name in the URL; the server's name is never used to pick a line"
        };
        format!(
            "no line for {name:?} ({from}); give -o NAME with the name the checksum file \
             lists"
        )
    })
}

/// The digest a finished job is checked against: `--checksum`, or its checksum file's line,
/// picked when it was added. A job queued by an older ddm kept the whole file: its line is
/// picked now by the same rule, never by the name the file is saved under.
pub fn expected(job: &crate::store::Job) -> Result<Option<String>, String> {
    let s = &job.settings;
    if s.checksum.is_some() || s.checksums.is_empty() {
        return Ok(s.checksum.clone());
    }
    let output = job.file_name.as_deref().filter(|_| job.name_fixed);
    pick_for(&s.checksums, &job.url, output).map(Some)
}

/// Check the bytes `file` reads (the file at `path`) against `expected` (`ALGO:HEX`). The
/// error says both digests.
pub fn verify(file: std::fs::File, path: &Path, expected: &str) -> Result<(), String> {
    let norm = parse(expected)?;
    let (algo, want) = norm.split_once(':').expect("parsed");
    let a = Algo::by_name(algo).expect("parsed");
    let got = digest(file, a).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{algo} mismatch: expected {want}, the download has {got}"
        ))
    }
}

/// Lowercase hex sha256 of bytes in memory.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex sha256 of a file, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    file_digest(path, Algo::Sha256)
}

fn file_digest(path: &Path, a: Algo) -> std::io::Result<String> {
    digest(std::fs::File::open(path)?, a)
}

fn digest(f: std::fs::File, a: Algo) -> std::io::Result<String> {
    fn run<D: Digest>(mut f: std::fs::File) -> std::io::Result<String> {
        let mut h = D::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex(&h.finalize()))
    }
    match a {
        Algo::Sha256 => run::<sha2::Sha256>(f),
        Algo::Sha512 => run::<sha2::Sha512>(f),
        Algo::Sha1 => run::<sha1::Sha1>(f),
        Algo::Md5 => run::<md5::Md5>(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Digests of b"abc" from the algorithms' standards.
    const ABC: [(&str, &str); 4] = [
        (
            "sha256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "sha512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
    ];

    #[test]
    fn every_algorithm_matches_and_mismatches() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let f = || std::fs::File::open(&p).unwrap();
        for (algo, hex) in ABC {
            verify(f(), &p, &format!("{algo}:{hex}")).unwrap();
            verify(
                f(),
                &p,
                &format!("{}:{}", algo.to_uppercase(), hex.to_uppercase()),
            )
            .unwrap();
            let wrong = format!("{algo}:{}", "0".repeat(hex.len()));
            let e = verify(f(), &p, &wrong).unwrap_err();
            assert!(e.contains("mismatch") && e.contains(hex), "{e}");
        }
    }

    #[test]
    fn checksums_are_checked_when_given() {
        assert!(parse("md5:abc").unwrap_err().contains("32 hex"));
        assert!(parse("crc32:00").unwrap_err().contains("not a supported"));
        assert!(parse("deadbeef").unwrap_err().contains("ALGO:HEX"));
        assert_eq!(
            parse(&format!("SHA-1:{}", "A".repeat(40))).unwrap(),
            format!("sha1:{}", "a".repeat(40))
        );
    }

    #[test]
    fn checksum_files_in_gnu_and_bsd_style() {
        let sha = "a".repeat(64);
        let md5 = "b".repeat(32);
        let text = format!(
            "# comment\n{sha}  ubuntu.iso\n{md5} *dir/other.bin\nSHA512 (big.tar) = {}\n\ngarbage line\n",
            "c".repeat(128)
        );
        let e = parse_file(&text);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(
            pick(&e, "ubuntu.iso"),
            Some(format!("sha256:{sha}").as_str())
        );
        assert_eq!(pick(&e, "other.bin"), Some(format!("md5:{md5}").as_str()));
        assert!(pick(&e, "big.tar").unwrap().starts_with("sha512:"));
        assert_eq!(pick(&e, "missing.iso"), None);
    }

    #[test]
    fn the_line_is_picked_by_the_name_asked_for() {
        let e = vec![
            (
                "good iso.iso".to_string(),
                format!("sha256:{}", "a".repeat(64)),
            ),
            ("evil.bin".to_string(), format!("sha256:{}", "b".repeat(64))),
        ];
        let good = Ok(format!("sha256:{}", "a".repeat(64)));
        assert_eq!(
            pick_for(&e, "http://h/d/good%20iso.iso?x=evil.bin", None),
            good
        );
        assert_eq!(pick_for(&e, "http://h/dl/7", Some("good iso.iso")), good);
        let err = pick_for(&e, "http://h/dl/7", None).unwrap_err();
        assert!(err.contains("\"7\"") && err.contains("-o NAME"), "{err}");
        let err = pick_for(&e, "http://h/", None).unwrap_err();
        assert!(err.contains("names no file"), "{err}");
        assert!(pick_for(&e, "http://h/good.iso", Some("x"))
            .unwrap_err()
            .contains("given with -o"));
    }
}

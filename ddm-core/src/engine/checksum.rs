//! Checksum verification of a finished download (`--checksum sha256:HEX`), off the transfer
//! path: the file is read once after every piece is done and before it is renamed into place.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Check `path` against `expected` (`sha256:<hex>`). The error says both digests.
pub fn verify(path: &Path, expected: &str) -> Result<(), String> {
    let want = expected
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("unsupported checksum {expected:?} (only sha256)"))?;
    let got = sha256_file(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if got.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(format!(
            "sha256 mismatch: expected {want}, the download has {got}"
        ))
    }
}

/// Lowercase hex sha256 of bytes in memory.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex sha256 of a file, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_and_mismatches() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&p).unwrap(), abc);
        assert_eq!(sha256_hex(b"abc"), abc);
        verify(&p, &format!("sha256:{abc}")).unwrap();
        verify(&p, &format!("sha256:{}", abc.to_uppercase())).unwrap();
        let e = verify(&p, &format!("sha256:{}", "0".repeat(64))).unwrap_err();
        assert!(e.contains("mismatch") && e.contains(abc), "{e}");
        assert!(verify(&p, "md5:x").is_err());
    }
}

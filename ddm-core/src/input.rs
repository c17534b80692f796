//! Files the user points ddm at (a cookies.txt, a checksum file, a HAR capture), read with a
//! size cap. At most `cap + 1` bytes are ever read, so `/dev/zero`, a FIFO fed forever or a
//! disk image given by mistake fails at once with an error naming the file and the cap,
//! instead of growing memory until the system kills something.
//!
//! The caps are far above any real file of each kind: a browser's whole cookie jar is a few
//! hundred KiB, the largest checksum files (a distribution's `SHA256SUMS` for every package)
//! a few MiB, and a HAR capture with response bodies of a long session tens of MiB.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most bytes read from a cookies.txt file (`--load-cookies`).
pub const COOKIES_CAP: u64 = 16 << 20;
/// The most bytes read from a checksum file (`--checksum-file`).
pub const CHECKSUMS_CAP: u64 = 16 << 20;
/// The most bytes read from a list of URLs (`ddm add -i`).
pub const URL_LIST_CAP: u64 = 16 << 20;
/// The most bytes read from a HAR capture (`ddm import-har`).
pub const HAR_CAP: u64 = 256 << 20;

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is larger than {}, the most ddm reads from such a file (is it the right file?)",
        path.display(),
        mib(*cap)
    )]
    TooLarge { path: PathBuf, cap: u64 },
}

/// The bytes of `path`, or [`InputError::TooLarge`] as soon as more than `cap` arrive.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    // A regular file says its size: no need to read a huge one to refuse it.
    let len = f.metadata().map_err(io)?.len();
    if len > cap {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            cap,
        });
    }
    let mut out = Vec::with_capacity(len as usize);
    f.take(cap + 1).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 > cap {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            cap,
        });
    }
    Ok(out)
}

/// `16 MiB`, `256 MiB`; bytes below a MiB as they are.
pub fn mib(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_refuses_more() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        std::fs::write(&p, b"12345678").unwrap();
        assert_eq!(read_capped(&p, 8).unwrap(), b"12345678");
        let e = read_capped(&p, 7).unwrap_err().to_string();
        assert!(e.contains("larger than 7 bytes") && e.contains("/f"), "{e}");
        let e = read_capped(&t.path().join("none"), 8).unwrap_err();
        assert!(matches!(e, InputError::Io { .. }), "{e}");
    }

    #[test]
    fn an_endless_device_stops_at_the_cap() {
        let dev = Path::new("/dev/zero");
        if !dev.exists() {
            return;
        }
        let e = read_capped(dev, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("/dev/zero is larger than 1 MiB"), "{e}");
    }
}

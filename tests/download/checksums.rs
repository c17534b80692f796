//! Checksums: `--checksum` (sha256, sha512, sha1) and `--checksum-file` are verified before
//! the file is renamed into place, and a mismatch keeps the data. The expected sums are
//! computed here, sha1 without ddm's code.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};

#[test]
fn checksum_is_verified_before_the_file_is_renamed() {
    use sha2::{Digest, Sha256};
    let server = Server::start().unwrap();
    let body = pattern(2 << 20, 14);
    server.add("/c.bin", Resource::new(body.clone()));
    let good: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let env = Env::new();
    let url = server.url("/c.bin");
    env.ok(&[
        "get",
        &url,
        "-o",
        "good.bin",
        "--checksum",
        &format!("sha256:{good}"),
    ]);
    assert_same_file(&env.out().join("good.bin"), &body);

    let wrong = format!("sha256:{}", "0".repeat(64));
    let o = env.run(&["get", &url, "-o", "bad.bin", "--checksum", &wrong]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("sha256 mismatch") && err.contains(&good),
        "{err}"
    );
    assert!(
        !env.out().join("bad.bin").exists(),
        "a file that failed its checksum was renamed into place"
    );
    assert!(env.out().join("bad.bin.part").exists(), "the data is kept");
    let j = &env.jobs()[1];
    assert_eq!(j["state"], "failed");

    for (arg, want) in [
        ("md5:abc", "32 hex"),
        ("sha256:12", "64 hex"),
        ("crc32:00", "not a supported"),
    ] {
        let o = env.run(&["add", &url, "--checksum", arg]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    }
}

#[test]
fn sha1_sha512_and_a_checksum_file_are_verified() {
    use sha2::Digest;
    let server = Server::start().unwrap();
    let a = pattern(300 * 1024, 36);
    let b = pattern(200 * 1024, 37);
    server.add("/m/a.bin", Resource::new(a.clone()));
    server.add("/m/b.bin", Resource::new(b.clone()));
    let hex = |d: &[u8]| d.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let env = Env::new();
    let url = server.url("/m/a.bin");
    for (i, sum) in [
        format!("sha512:{}", hex(&sha2::Sha512::digest(&a))),
        format!("sha1:{}", sha1_here(&a)),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("a{i}.bin");
        env.ok(&["get", &url, "-o", &name, "--checksum", sum]);
        assert_same_file(&env.out().join(&name), &a);
    }
    // A SHA256SUMS-style file covers several downloads, each checked by its own line; a
    // wrong line fails only its job.
    let sums = env.dir.path().join("SUMS");
    std::fs::write(
        &sums,
        format!(
            "{}  a.bin\n{}  b.bin\n",
            hex(&sha2::Sha256::digest(&a)),
            "0".repeat(64)
        ),
    )
    .unwrap();
    env.ok(&[
        "add",
        &url,
        &server.url("/m/b.bin"),
        "--checksum-file",
        sums.to_str().unwrap(),
        "-d",
        env.dir.path().join("sums").to_str().unwrap(),
    ]);
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_same_file(&env.dir.path().join("sums/a.bin"), &a);
    assert!(!env.dir.path().join("sums/b.bin").exists());
    assert!(stderr(&o).contains("sha256 mismatch"), "{}", stderr(&o));
}

/// sha1 of `data`, computed here without ddm's code (the FIPS 180-4 algorithm, short).
fn sha1_here(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

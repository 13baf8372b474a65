//! The hash algorithms a manifest may use, and their digests.
//!
//! SHA-1 is what the Go library verified and what `sha1sum.txt` holds; it still catches
//! corruption, but no longer deliberate tampering (a collision was shown in 2017, a
//! chosen-prefix one in 2020). SHA-256 and SHA-512 do. All three come from RustCrypto,
//! which uses the CPU's SHA instructions where present.

use std::ffi::CStr;
use std::fmt;

use sha1::Digest as _;

/// The longest digest, in bytes (SHA-512).
pub const MAX_DIGEST_LEN: usize = 64;

/// A hash algorithm of the `*sum` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order tried when a name is looked up.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// The tag of BSD-style lines (`SHA256 (name) = hex`), as GNU `--tag` writes it.
    pub fn tag(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The lower-case name used by the APIs: `sha1`, `sha256`, `sha512`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("names are ASCII")
    }

    /// [`Algorithm::name`] as a C string: the one table of names, which the C ABI
    /// hands out too.
    pub fn c_name(self) -> &'static CStr {
        match self {
            Algorithm::Sha1 => c"sha1",
            Algorithm::Sha256 => c"sha256",
            Algorithm::Sha512 => c"sha512",
        }
    }

    /// The manifest looked for or written when the caller names none.
    pub fn default_manifest(self) -> &'static str {
        self.c_default_manifest().to_str().expect("names are ASCII")
    }

    /// [`Algorithm::default_manifest`] as a C string.
    pub fn c_default_manifest(self) -> &'static CStr {
        match self {
            Algorithm::Sha1 => c"sha1sum.txt",
            Algorithm::Sha256 => c"sha256sum.txt",
            Algorithm::Sha512 => c"sha512sum.txt",
        }
    }

    /// `sha1`, `SHA-256`, `sha512`... (case and one dash ignored).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let wanted = name.to_ascii_lowercase().replace('-', "");
        Algorithm::ALL.into_iter().find(|a| a.name() == wanted)
    }

    /// The algorithm a manifest's file name announces: `sha256sum.txt`, `SHA256SUMS`,
    /// `data.sha512`... `None` when the name says nothing (then the lines tell).
    pub fn from_manifest_name(file_name: &[u8]) -> Option<Algorithm> {
        let lower = file_name.to_ascii_lowercase();
        let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
        // Longest names first: "sha1" is not a prefix of the others, but keep it honest.
        [Algorithm::Sha512, Algorithm::Sha256, Algorithm::Sha1]
            .into_iter()
            .find(|a| contains(a.name().as_bytes()))
    }

    /// The algorithm whose hex digest has `hex_len` digits.
    pub fn from_hex_len(hex_len: usize) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.digest_len() * 2 == hex_len)
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

impl fmt::Display for Algorithm {
    /// `SHA-1`, `SHA-256`, `SHA-512`: for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        })
    }
}

/// A running hash of one of the algorithms.
#[derive(Clone)]
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finalize(self) -> Digest {
        match self {
            Hasher::Sha1(h) => Digest::new(&h.finalize()),
            Hasher::Sha256(h) => Digest::new(&h.finalize()),
            Hasher::Sha512(h) => Digest::new(&h.finalize()),
        }
    }
}

/// A digest of any of the algorithms, held inline (no allocation per file).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    bytes: [u8; MAX_DIGEST_LEN],
    len: u8,
}

impl Digest {
    /// # Panics
    /// If `bytes` is longer than [`MAX_DIGEST_LEN`].
    pub fn new(bytes: &[u8]) -> Digest {
        let mut digest = Digest {
            bytes: [0; MAX_DIGEST_LEN],
            len: bytes.len() as u8,
        };
        digest.bytes[..bytes.len()].copy_from_slice(bytes);
        digest
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Lower-case hex, as the `*sum` tools write it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_empty_input() {
        let cases = [
            (Algorithm::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                Algorithm::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                Algorithm::Sha512,
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            ),
        ];
        for (algorithm, hex) in cases {
            assert_eq!(algorithm.hasher().finalize().to_hex(), hex, "{algorithm}");
            assert_eq!(Algorithm::from_hex_len(hex.len()), Some(algorithm));
        }
    }

    #[test]
    fn names() {
        let cases: &[(&[u8], Option<Algorithm>)] = &[
            (b"sha1sum.txt", Some(Algorithm::Sha1)),
            (b"SHA1SUMS", Some(Algorithm::Sha1)),
            (b"sha256sum.txt", Some(Algorithm::Sha256)),
            (b"SHA256SUMS", Some(Algorithm::Sha256)),
            (b"release.sha512", Some(Algorithm::Sha512)),
            (b"checksums.txt", None),
            (b"MD5SUMS", None),
        ];
        for (name, algorithm) in cases {
            assert_eq!(Algorithm::from_manifest_name(name), *algorithm);
        }
        assert_eq!(Algorithm::from_name("SHA-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("sha512"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::from_name("md5"), None);
    }
}

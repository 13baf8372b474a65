//! The hash algorithms a manifest may use, and their digests.
//!
//! | algorithm | GNU (or other) tool | hex digits | catches tampering |
//! |---|---|---:|---|
//! | MD5 | `md5sum` | 32 | no (collisions since 2004) |
//! | SHA-1 | `sha1sum` | 40 | no (collisions since 2017) |
//! | SHA-224, SHA-256 | `sha224sum`, `sha256sum` | 56, 64 | yes |
//! | SHA-384, SHA-512 | `sha384sum`, `sha512sum` | 96, 128 | yes |
//! | BLAKE2b | `b2sum` (`-l` 8 to 512 bits) | 2 to 128 (128 by default) | yes |
//! | BLAKE3 | `b3sum` | 64 | yes |
//!
//! MD5 and SHA-1 still catch corruption (bit rot, truncated downloads) as well as any,
//! but no longer deliberate tampering. The SHA-2 family comes from RustCrypto, which
//! uses the CPU's SHA instructions where present; BLAKE3 from the official crate
//! (SIMD, and the tree that lets one file be hashed on several cores: `crate::tree`).

use std::ffi::CStr;
use std::fmt;

use sha1::Digest as _;

/// The longest digest, in bytes (SHA-512, BLAKE2b).
pub const MAX_DIGEST_LEN: usize = 64;

/// A hash algorithm of the `*sum` family.
///
/// BLAKE2b carries its digest length in bytes (1 to 64): `b2sum -l 256` writes
/// BLAKE2b with 32-byte digests, a different hash from the default 64 bytes, not a
/// truncation of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    /// BLAKE2b with digests of this many bytes (1 to 64; `b2sum`'s default is 64).
    Blake2b(u8),
    Blake3,
}

/// The digest length of BLAKE2b when none is given (`b2sum`'s default): 512 bits.
pub const BLAKE2B_DEFAULT_LEN: u8 = 64;

impl Algorithm {
    /// Every algorithm (BLAKE2b at its default length), in the order of their C
    /// numbers: the three the library began with first.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Md5,
        Algorithm::Sha224,
        Algorithm::Sha384,
        Algorithm::Blake2b(BLAKE2B_DEFAULT_LEN),
        Algorithm::Blake3,
    ];

    /// BLAKE2b with digests of `bits` bits, as `b2sum -l` takes them: a multiple of 8
    /// from 8 to 512.
    pub fn blake2b_bits(bits: u32) -> Option<Algorithm> {
        match bits {
            8..=512 if bits % 8 == 0 => Some(Algorithm::Blake2b((bits / 8) as u8)),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha224 => 28,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
            Algorithm::Blake2b(len) => usize::from(len),
            Algorithm::Blake3 => 32,
        }
    }

    /// Whether `self` and `other` are the same algorithm, BLAKE2b of any length being
    /// one: what a manifest's name or the caller's choice says of its untagged lines.
    pub fn same_family(self, other: Algorithm) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    /// The tag of BSD-style lines without a length (`SHA256 (name) = hex`), as GNU
    /// `--tag` and `cksum` write it; BLAKE2b of another length than 512 bits adds
    /// `-<bits>` ([`Algorithm::push_tag`]).
    pub fn tag(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha224 => "SHA224",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha384 => "SHA384",
            Algorithm::Sha512 => "SHA512",
            Algorithm::Blake2b(_) => "BLAKE2b",
            Algorithm::Blake3 => "BLAKE3",
        }
    }

    /// Appends the whole tag as GNU writes it: `SHA256`, `BLAKE2b`, `BLAKE2b-256`.
    pub fn push_tag(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.tag().as_bytes());
        if let Algorithm::Blake2b(len) = self {
            if len != BLAKE2B_DEFAULT_LEN {
                out.extend_from_slice(format!("-{}", u32::from(len) * 8).as_bytes());
            }
        }
    }

    /// The lower-case name used by the APIs: `md5`, `sha1`, ..., `blake2b`, `blake3`
    /// (BLAKE2b's length is not part of it).
    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("names are ASCII")
    }

    /// [`Algorithm::name`] as a C string: the one table of names, which the C ABI
    /// hands out too.
    pub fn c_name(self) -> &'static CStr {
        match self {
            Algorithm::Md5 => c"md5",
            Algorithm::Sha1 => c"sha1",
            Algorithm::Sha224 => c"sha224",
            Algorithm::Sha256 => c"sha256",
            Algorithm::Sha384 => c"sha384",
            Algorithm::Sha512 => c"sha512",
            Algorithm::Blake2b(_) => c"blake2b",
            Algorithm::Blake3 => c"blake3",
        }
    }

    /// The manifest looked for or written when the caller names none.
    pub fn default_manifest(self) -> &'static str {
        self.c_default_manifest().to_str().expect("names are ASCII")
    }

    /// [`Algorithm::default_manifest`] as a C string.
    pub fn c_default_manifest(self) -> &'static CStr {
        match self {
            Algorithm::Md5 => c"md5sum.txt",
            Algorithm::Sha1 => c"sha1sum.txt",
            Algorithm::Sha224 => c"sha224sum.txt",
            Algorithm::Sha256 => c"sha256sum.txt",
            Algorithm::Sha384 => c"sha384sum.txt",
            Algorithm::Sha512 => c"sha512sum.txt",
            Algorithm::Blake2b(_) => c"b2sums.txt",
            Algorithm::Blake3 => c"b3sums.txt",
        }
    }

    /// `sha1`, `SHA-256`, `md5`, `blake2b`, `BLAKE2b-256`, `blake3`... (case and
    /// dashes ignored; a BLAKE2b length in bits after the name).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let wanted = name.to_ascii_lowercase().replace('-', "");
        if let Some(bits) = wanted.strip_prefix("blake2b").filter(|b| !b.is_empty()) {
            return Algorithm::blake2b_bits(bits.parse().ok()?);
        }
        Algorithm::ALL.into_iter().find(|a| a.name() == wanted)
    }

    /// The algorithm a manifest's file name announces: `sha256sum.txt`, `SHA256SUMS`,
    /// `MD5SUMS`, `B2SUMS`, `b3sums.txt`, `data.sha512`... `None` when the name says
    /// nothing (then the lines tell). BLAKE2b comes at its default length: the length
    /// of each line's digest is then its own, as `b2sum -c` reads them.
    pub fn from_manifest_name(file_name: &[u8]) -> Option<Algorithm> {
        let lower = file_name.to_ascii_lowercase();
        let contains = |needle: &str| {
            lower
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        };
        const NAMES: [(&str, Algorithm); 10] = [
            ("sha512", Algorithm::Sha512),
            ("sha384", Algorithm::Sha384),
            ("sha256", Algorithm::Sha256),
            ("sha224", Algorithm::Sha224),
            ("sha1", Algorithm::Sha1),
            ("md5", Algorithm::Md5),
            ("b2sum", Algorithm::Blake2b(BLAKE2B_DEFAULT_LEN)),
            ("blake2", Algorithm::Blake2b(BLAKE2B_DEFAULT_LEN)),
            ("b3sum", Algorithm::Blake3),
            ("blake3", Algorithm::Blake3),
        ];
        NAMES
            .into_iter()
            .find(|(needle, _)| contains(needle))
            .map(|(_, algorithm)| algorithm)
    }

    /// The algorithms an untagged digest of `hex_len` hex digits may be, when nothing
    /// else says: every algorithm at the length its tool writes by default, and
    /// BLAKE2b-256 (`b2sum -l 256`, `cksum -a blake2b -l 256`), the one other length
    /// in common use. More than one is an ambiguity to refuse, never a guess.
    pub fn candidates_for_hex_len(hex_len: usize) -> &'static [Algorithm] {
        match hex_len {
            32 => &[Algorithm::Md5],
            40 => &[Algorithm::Sha1],
            56 => &[Algorithm::Sha224],
            64 => &[Algorithm::Sha256, Algorithm::Blake2b(32), Algorithm::Blake3],
            96 => &[Algorithm::Sha384],
            128 => &[Algorithm::Sha512, Algorithm::Blake2b(BLAKE2B_DEFAULT_LEN)],
            _ => &[],
        }
    }

    /// Fresh hashers for `algorithms`, fed the same bytes.
    pub(crate) fn hashers(algorithms: &[Algorithm]) -> Hashers {
        match algorithms {
            [one] => Hashers::One(one.hasher()),
            many => Hashers::Many(many.iter().map(|a| a.hasher()).collect()),
        }
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            Algorithm::Blake2b(len) => {
                use blake2::digest::VariableOutput;
                let hasher = blake2::Blake2bVar::new(usize::from(len))
                    .expect("BLAKE2b lengths are 1 to 64 bytes");
                Hasher::Blake2b(hasher)
            }
            Algorithm::Blake3 => Hasher::Blake3(Box::default()),
        }
    }
}

impl fmt::Display for Algorithm {
    /// `MD5`, `SHA-1`, `SHA-256`, `BLAKE2b`, `BLAKE2b-256`, `BLAKE3`: for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Algorithm::Md5 => f.write_str("MD5"),
            Algorithm::Sha1 => f.write_str("SHA-1"),
            Algorithm::Sha224 => f.write_str("SHA-224"),
            Algorithm::Sha256 => f.write_str("SHA-256"),
            Algorithm::Sha384 => f.write_str("SHA-384"),
            Algorithm::Sha512 => f.write_str("SHA-512"),
            Algorithm::Blake2b(BLAKE2B_DEFAULT_LEN) => f.write_str("BLAKE2b"),
            Algorithm::Blake2b(len) => write!(f, "BLAKE2b-{}", u32::from(*len) * 8),
            Algorithm::Blake3 => f.write_str("BLAKE3"),
        }
    }
}

/// A running hash of one of the algorithms.
#[derive(Clone)]
pub enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Blake2b(blake2::Blake2bVar),
    /// Boxed: BLAKE3's state (its stack of subtree hashes) is ten times the others'.
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha224(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
            Hasher::Blake2b(h) => blake2::digest::Update::update(h, bytes),
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    pub fn finalize(self) -> Digest {
        match self {
            Hasher::Md5(h) => Digest::new(&h.finalize()),
            Hasher::Sha1(h) => Digest::new(&h.finalize()),
            Hasher::Sha224(h) => Digest::new(&h.finalize()),
            Hasher::Sha256(h) => Digest::new(&h.finalize()),
            Hasher::Sha384(h) => Digest::new(&h.finalize()),
            Hasher::Sha512(h) => Digest::new(&h.finalize()),
            Hasher::Blake2b(h) => {
                use blake2::digest::VariableOutput;
                let mut out = [0u8; MAX_DIGEST_LEN];
                let len = h.output_size();
                h.finalize_variable(&mut out[..len])
                    .expect("the buffer has the output's size");
                Digest::new(&out[..len])
            }
            Hasher::Blake3(h) => Digest::new(h.finalize().as_bytes()),
        }
    }
}

/// The hashers of one file: one per algorithm its manifest lines use (almost always
/// one), fed the same bytes, so that a file listed under several algorithms is read
/// once.
// `One` is what nearly every file gets: kept inline, so that a million small files
// cost no allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Hashers {
    One(Hasher),
    Many(Vec<Hasher>),
}

impl Hashers {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hashers::One(hasher) => hasher.update(bytes),
            Hashers::Many(hashers) => hashers.iter_mut().for_each(|h| h.update(bytes)),
        }
    }

    pub(crate) fn finalize(self) -> Digests {
        match self {
            Hashers::One(hasher) => Digests::One(hasher.finalize()),
            Hashers::Many(hashers) => {
                Digests::Many(hashers.into_iter().map(Hasher::finalize).collect())
            }
        }
    }
}

/// The digests of one file, in the order of the algorithms it was hashed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Digests {
    One(Digest),
    Many(Vec<Digest>),
}

impl Digests {
    pub(crate) fn as_slice(&self) -> &[Digest] {
        match self {
            Digests::One(digest) => std::slice::from_ref(digest),
            Digests::Many(digests) => digests,
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

    /// The digest of the empty input in every algorithm, as the reference tools give it
    /// (`md5sum`, `sha1sum`, ..., `b2sum`, `b2sum -l 256`, `b3sum` of `/dev/null`).
    #[test]
    fn digests_of_empty_input() {
        let cases = [
            (Algorithm::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Algorithm::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                Algorithm::Sha224,
                "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f",
            ),
            (
                Algorithm::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                Algorithm::Sha384,
                "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da\
                 274edebfe76f65fbd51ad2f14898b95b",
            ),
            (
                Algorithm::Sha512,
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
            ),
            (
                Algorithm::Blake2b(64),
                "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419\
                 d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
            ),
            (
                Algorithm::Blake2b(32),
                "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
            ),
            (
                Algorithm::Blake3,
                "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
            ),
        ];
        for (algorithm, hex) in cases {
            assert_eq!(algorithm.hasher().finalize().to_hex(), hex, "{algorithm}");
            assert_eq!(algorithm.digest_len() * 2, hex.len(), "{algorithm}");
            assert!(
                Algorithm::candidates_for_hex_len(hex.len()).contains(&algorithm),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn hex_lengths_that_fit_several_algorithms_have_several_candidates() {
        let cases: &[(usize, &[Algorithm])] = &[
            (32, &[Algorithm::Md5]),
            (40, &[Algorithm::Sha1]),
            (56, &[Algorithm::Sha224]),
            (
                64,
                &[Algorithm::Sha256, Algorithm::Blake2b(32), Algorithm::Blake3],
            ),
            (96, &[Algorithm::Sha384]),
            (128, &[Algorithm::Sha512, Algorithm::Blake2b(64)]),
            (48, &[]),
            (0, &[]),
        ];
        for (len, candidates) in cases {
            assert_eq!(
                Algorithm::candidates_for_hex_len(*len),
                *candidates,
                "{len}"
            );
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
            (b"MD5SUMS", Some(Algorithm::Md5)),
            (b"md5sum.txt", Some(Algorithm::Md5)),
            (b"SHA224SUMS", Some(Algorithm::Sha224)),
            (b"sha224sum.txt", Some(Algorithm::Sha224)),
            (b"SHA384SUMS", Some(Algorithm::Sha384)),
            (b"sha384sum.txt", Some(Algorithm::Sha384)),
            (b"B2SUMS", Some(Algorithm::Blake2b(64))),
            (b"b2sums.txt", Some(Algorithm::Blake2b(64))),
            (b"data.blake2b", Some(Algorithm::Blake2b(64))),
            (b"b3sums.txt", Some(Algorithm::Blake3)),
            (b"B3SUMS", Some(Algorithm::Blake3)),
            (b"files.blake3", Some(Algorithm::Blake3)),
            (b"checksums.txt", None),
            (b"CHECKSUMS", None),
        ];
        for (name, algorithm) in cases {
            assert_eq!(
                Algorithm::from_manifest_name(name),
                *algorithm,
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        let names = [
            ("SHA-256", Some(Algorithm::Sha256)),
            ("sha512", Some(Algorithm::Sha512)),
            ("md5", Some(Algorithm::Md5)),
            ("MD5", Some(Algorithm::Md5)),
            ("sha224", Some(Algorithm::Sha224)),
            ("SHA-384", Some(Algorithm::Sha384)),
            ("blake2b", Some(Algorithm::Blake2b(64))),
            ("BLAKE2b-256", Some(Algorithm::Blake2b(32))),
            ("blake2b-8", Some(Algorithm::Blake2b(1))),
            ("blake2b-12", None),
            ("blake2b-520", None),
            ("blake3", Some(Algorithm::Blake3)),
            ("crc32", None),
        ];
        for (name, algorithm) in names {
            assert_eq!(Algorithm::from_name(name), algorithm, "{name}");
        }
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
        }
    }

    #[test]
    fn tags_as_gnu_writes_them() {
        let cases = [
            (Algorithm::Md5, "MD5"),
            (Algorithm::Sha384, "SHA384"),
            (Algorithm::Blake2b(64), "BLAKE2b"),
            (Algorithm::Blake2b(32), "BLAKE2b-256"),
            (Algorithm::Blake2b(1), "BLAKE2b-8"),
            (Algorithm::Blake3, "BLAKE3"),
        ];
        for (algorithm, tag) in cases {
            let mut out = Vec::new();
            algorithm.push_tag(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), tag);
        }
    }

    #[test]
    fn several_hashers_fed_once_give_each_digest() {
        let algorithms = [Algorithm::Md5, Algorithm::Blake2b(32), Algorithm::Blake3];
        let mut hashers = Algorithm::hashers(&algorithms);
        hashers.update(b"hello ");
        hashers.update(b"world");
        let digests = hashers.finalize();
        for (algorithm, digest) in algorithms.iter().zip(digests.as_slice()) {
            let mut alone = algorithm.hasher();
            alone.update(b"hello world");
            assert_eq!(*digest, alone.finalize(), "{algorithm}");
        }
    }
}

//! The manifest parser: bytes in, checksum entries out. Pure: no file system.
//!
//! It reads what GNU coreutils `md5sum`, `sha1sum`, `sha224sum`, `sha256sum`,
//! `sha384sum`, `sha512sum`, `b2sum` and `cksum`, and `b3sum`, write and read back
//! with `-c`:
//!
//! | form                 | example                              |
//! |----------------------|--------------------------------------|
//! | text (two spaces)    | `<hex>  name`                        |
//! | binary marker        | `<hex> *name`                        |
//! | single space         | `<hex> name`                         |
//! | BSD tag              | `SHA256 (name) = <hex>`, `BLAKE2b-256 (name) = <hex>` |
//! | BSD tag, base64      | `SHA256 (name) = <base64>` (`cksum --base64`)          |
//! | escaped name         | `\<hex>  a\\b\nc` (any form above) |
//!
//! **Algorithms.** A tagged line names its own algorithm, so one manifest may mix them,
//! as `cksum -a X` writes them: each line is checked with its own. Untagged lines are
//! all of one algorithm: the caller's, else the one the manifest's file name announces
//! (`MD5SUMS`, `sha256sum.txt`, `b2sums.txt`...), else the first checksum line's (its
//! tag, or the length of its hex when only one algorithm has that length). A length
//! that fits several (64 digits: SHA-256, BLAKE2b-256 or BLAKE3; 128: SHA-512 or
//! BLAKE2b) with nothing else to decide is an error naming the candidates, never a
//! guess that would turn every file into a "mismatch". An untagged line of another
//! length is a bad line. BLAKE2b untagged lines are read as `b2sum -c` reads them: each
//! line's hex length is its digest length.
//!
//! **Form.** The untagged form is decided once per manifest, by its first untagged
//! checksum line, as GNU decides it (coreutils `split_3`, its `bsd_reversed` flag): a
//! first `<hex> <name>` line (one blank, then neither a space nor `*`, as BSD `md5 -r`
//! and `openssl dgst -r` write) puts the whole manifest in the single-space form, where
//! the name is everything after that blank, so `<hex>  x` names ` x`; otherwise a
//! later single-space line is a bad line. Reading each line on its own would verify
//! another file than GNU does, and say OK for it. Tagged lines may stand among either
//! form.
//!
//! Where it is stricter than GNU, on purpose: a line that is none of these is an error
//! naming its line number (GNU only warns and goes on), and a manifest without a single
//! entry is an error. Both stop the check before anything is hashed, because a manifest
//! that is half garbage is more likely truncated or tampered with than half right.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use base64::Engine as _;

use crate::algorithm::{Algorithm, Digest, BLAKE2B_DEFAULT_LEN, MAX_DIGEST_LEN};
use crate::text::{os_reason, unescape_name, BadEscape};

/// The longest manifest line accepted, in bytes. A name is at most `PATH_MAX` (4096)
/// bytes, twice that escaped; anything far longer is garbage, and reading it line by
/// line must not allocate without bound.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// One checksum line of the manifest. Its digest lives in [`Manifest`]'s shared
/// table: on a million-line manifest, one allocation instead of a million.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name as written (unescaped), byte for byte: relative to the root.
    pub name: Box<[u8]>,
    /// 1-based line number in the manifest, for messages.
    pub line: u32,
    /// The algorithm of the line's digest.
    pub algorithm: Algorithm,
}

/// A parsed manifest: its entries, in order, and their digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
    digests: DigestTable,
}

impl Manifest {
    fn new(mut entries: Vec<Entry>, mut digests: DigestTable) -> Manifest {
        // A million entries leave up to a million slots of growth slack: give them back.
        entries.shrink_to_fit();
        digests.bytes.shrink_to_fit();
        Manifest { entries, digests }
    }

    /// The digest entry `index` expects.
    pub fn expected(&self, index: usize) -> Digest {
        let len = self.entries[index].algorithm.digest_len();
        self.digests.get(index, len)
    }

    /// Whether every entry is of one algorithm: the common case, which the check keeps
    /// compact.
    pub fn single_algorithm(&self) -> Option<Algorithm> {
        let first = self.entries.first()?.algorithm;
        self.entries
            .iter()
            .all(|entry| entry.algorithm == first)
            .then_some(first)
    }
}

/// The expected digests side by side, a fixed stride apart: the longest digest of the
/// manifest. A manifest of one algorithm (nearly all of them) costs its digest length
/// per entry and nothing more; the rare mixed one pays the longest length for each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DigestTable {
    bytes: Vec<u8>,
    stride: usize,
}

impl DigestTable {
    fn push(&mut self, digest: &Digest) {
        let digest = digest.as_bytes();
        if digest.len() > self.stride {
            // Spread the digests so far to the new stride (a few times at most: there
            // are few digest lengths).
            let stride = digest.len();
            let mut wider = Vec::with_capacity(self.len() * stride);
            if self.stride > 0 {
                for old in self.bytes.chunks_exact(self.stride) {
                    wider.extend_from_slice(old);
                    wider.resize(wider.len() + stride - old.len(), 0);
                }
            }
            self.bytes = wider;
            self.stride = stride;
        }
        let start = self.bytes.len();
        self.bytes.resize(start + self.stride, 0);
        self.bytes[start..start + digest.len()].copy_from_slice(digest);
    }

    fn len(&self) -> usize {
        self.bytes.len().checked_div(self.stride).unwrap_or(0)
    }

    fn get(&self, index: usize, len: usize) -> Digest {
        Digest::new(&self.bytes[index * self.stride..][..len])
    }
}

/// One parsed line: what `parse_line` returns for a checksum line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumLine {
    pub name: Vec<u8>,
    pub algorithm: Algorithm,
    pub digest: Digest,
}

/// How the untagged lines of one manifest separate the digest from the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UntaggedForm {
    /// `<hex>  <name>` or `<hex> *<name>`, as GNU writes: after the digest and one
    /// blank comes a type indicator (a space, or `*` for binary), then the name.
    Indicator,
    /// `<hex> <name>`: everything after the one blank is the name, a leading space or
    /// `*` included.
    SingleSpace,
}

/// Why a line is not a checksum line. Short, uniform phrases: they end up in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// Neither `<hex> <name>` nor `<TAG> (<name>) = <hex>`.
    NotAChecksumLine,
    /// An untagged digest is not hex of the length of the algorithm given (or of any
    /// known algorithm, for `None`).
    BadDigest(Option<Algorithm>),
    /// An untagged digest whose length fits several algorithms (`hex digits`), and
    /// nothing says which.
    AmbiguousLength(usize),
    /// A tagged digest is neither hex nor base64 of its algorithm's length.
    BadTaggedDigest(Algorithm),
    /// A tag line (`SM3 (name) = ...`) of an algorithm checksig does not know.
    UnknownTag,
    /// A `BLAKE2b-<bits>` tag whose bits are not a multiple of 8 from 8 to 512
    /// (`BLAKE2b-520`, `BLAKE2b-256x`).
    BadBlake2bBits,
    /// A known tag in the wrong case (`sha1 (name) = ...`): tags are read as written.
    TagCase,
    /// The name is empty.
    EmptyName,
    /// A backslash in an escaped name is not followed by `\`, `n` or `r`.
    BadEscape,
    /// A NUL byte: no file name can hold one, so this is binary garbage.
    NulByte,
    /// Blanks and nothing else. GNU skips only empty lines and counts this one as
    /// improperly formatted; so does checksig.
    OnlyBlanks,
    /// A single-space line (`<hex> <name>`) after the first untagged line was in the
    /// indicator form (`<hex>  <name>`). GNU refuses this mix, so that renaming a file
    /// to a leading space cannot make a line name another file.
    SingleSpaceAfterIndicator,
}

impl LineError {
    /// The phrase for a manifest whose untagged lines are of `algorithm` (when known).
    fn describe(&self, algorithm: Option<Algorithm>) -> String {
        match (self, algorithm) {
            (LineError::NotAChecksumLine, Some(a)) => format!("not a {a} checksum line"),
            (LineError::NotAChecksumLine, None) => "not a checksum line".into(),
            (LineError::BadDigest(Some(Algorithm::Blake2b(_))), _) => {
                "the checksum is not a BLAKE2b digest (an even number of hex digits, \
                 2 to 128)"
                    .into()
            }
            (LineError::BadDigest(Some(a)), _) => {
                format!("the checksum is not {} hex digits", a.digest_len() * 2)
            }
            (LineError::BadDigest(None), _) => "the checksum is not the hex digest of a \
                 known algorithm (32, 40, 56, 64, 96 or 128 digits)"
                .into(),
            (LineError::AmbiguousLength(hex_len), _) => {
                let candidates = Algorithm::candidates_for_hex_len(*hex_len);
                let names: Vec<String> = candidates.iter().map(|a| a.to_string()).collect();
                let manifests: Vec<&str> =
                    candidates.iter().map(|a| a.default_manifest()).collect();
                format!(
                    "a {hex_len}-digit checksum could be {}: say which algorithm \
                     (checksig -a, algorithm=), or name the manifest as its tool does ({})",
                    or_list(&names),
                    or_list(&manifests),
                )
            }
            (LineError::BadTaggedDigest(a), _) => {
                let len = a.digest_len();
                format!(
                    "the {a} checksum is neither {} hex digits nor {} base64 characters",
                    len * 2,
                    len.div_ceil(3) * 4
                )
            }
            (LineError::UnknownTag, _) => "a tagged line of an algorithm checksig does not \
                 know (it reads MD5, SHA1, SHA224, SHA256, SHA384, SHA512, BLAKE2b and BLAKE3)"
                .into(),
            (LineError::BadBlake2bBits, _) => "the BLAKE2b tag's length is not a number of \
                 bits, a multiple of 8 from 8 to 512 (BLAKE2b-256)"
                .into(),
            (LineError::TagCase, _) => "a tag in the wrong case (tags are read as the tools \
                 write them: MD5, SHA1, SHA224, SHA256, SHA384, SHA512, BLAKE2b, BLAKE3)"
                .into(),
            (LineError::EmptyName, _) => "the file name is empty".into(),
            (LineError::BadEscape, _) => "bad backslash escape in the file name".into(),
            (LineError::NulByte, _) => "contains a NUL byte".into(),
            (LineError::OnlyBlanks, _) => "only blanks: not a checksum line".into(),
            (LineError::SingleSpaceAfterIndicator, _) => {
                "single-space line in a two-space manifest \
                 (the first checksum line decides the form, as in GNU)"
                    .into()
            }
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list<T: AsRef<str>>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", init.join(", "), last.as_ref())
        }
    }
}

/// Why a whole manifest is refused.
#[derive(Debug)]
pub enum ManifestError {
    /// Reading the manifest failed.
    Io(io::Error),
    /// Line `line` is not a checksum line of the manifest's algorithm.
    BadLine {
        line: u32,
        error: LineError,
        algorithm: Option<Algorithm>,
    },
    /// Line `line` is longer than [`MAX_LINE_LEN`].
    LineTooLong { line: u32 },
    /// The manifest has no checksum line at all.
    Empty,
    /// More lines than a `u32` counts: no real manifest is this large.
    TooManyLines,
    /// Checking a part: the manifest is not the one that was split (its size or time
    /// of change differ), so the part's bytes may not be whole lines of it.
    ChangedSinceSplit,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Io(e) => {
                write!(f, "cannot read manifest: {}", os_reason(e))
            }
            ManifestError::BadLine {
                line,
                error,
                algorithm,
            } => write!(f, "line {line}: {}", error.describe(*algorithm)),
            ManifestError::LineTooLong { line } => {
                write!(f, "line {line}: longer than {MAX_LINE_LEN} bytes")
            }
            ManifestError::Empty => f.write_str("no checksum lines in manifest"),
            ManifestError::TooManyLines => f.write_str("more than 4294967295 lines"),
            ManifestError::ChangedSinceSplit => {
                f.write_str("changed since it was split into parts: split it again")
            }
        }
    }
}

/// Reads a whole manifest, line by line, with bounded memory per line.
///
/// `algorithm` is the one its untagged lines hold, or `None` to take it from the first
/// checksum line. Empty lines and lines starting with `#` are skipped. A trailing CR
/// (CRLF files) is dropped, but for the names of untagged BLAKE3 lines (see
/// `parse_line`). The first bad line stops the read with its number.
pub fn read_manifest<R: Read>(
    reader: R,
    algorithm: Option<Algorithm>,
) -> Result<Manifest, ManifestError> {
    let manifest = read_lines(reader, Parser::new(algorithm), 1, u64::MAX)?;
    if manifest.entries.is_empty() {
        return Err(ManifestError::Empty);
    }
    Ok(manifest)
}

/// The checksum lines among the lines that start in the reader's first `limit` bytes,
/// numbered from `first_line`, read with `parser`.
fn read_lines<R: Read>(
    reader: R,
    mut parser: Parser,
    first_line: u32,
    limit: u64,
) -> Result<Manifest, ManifestError> {
    let mut entries = Vec::new();
    let mut digests = DigestTable::default();
    for_each_line(reader, first_line, limit, |number, line| {
        if let Some(parsed) = parse_numbered(&mut parser, number, line)? {
            digests.push(&parsed.digest);
            entries.push(Entry {
                name: parsed.name.into_boxed_slice(),
                line: number,
                algorithm: parsed.algorithm,
            });
        }
        Ok(true)
    })?;
    Ok(Manifest::new(entries, digests))
}

/// A part of a manifest, as input splits cut files in Hadoop and Spark: the lines
/// that start in bytes `start..end`, the first of them line `first_line`. The parts
/// of [`split_manifest`] start at line starts, so a part is read from `start` on, no
/// line is cut, and each line is in exactly one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub start: u64,
    pub end: u64,
    pub first_line: u32,
}

/// A manifest cut into parts, with what its lines decided for all of them: the
/// algorithm of untagged lines and GNU's untagged form (the first checksum lines of
/// the whole manifest decide them, not each part's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub parser: Parser,
    pub parts: Vec<Part>,
    /// The manifest as it was when split: each part is checked only against it.
    pub stamp: ManifestStamp,
}

/// Which text of a manifest a split was made of: its size and the time of its last
/// modification, as `fstat` gives them, alike on every machine that sees the file on
/// a shared file system (to the second: see [`ManifestStamp::same_manifest`]). A manifest rewritten between the split
/// and a part's check (regenerated and renamed into place, say) differs in one of
/// them, and the part, whose bytes may no longer be whole lines of it or the lines it
/// was given, fails instead of checking another text: lines past the old end would
/// be left unchecked, a false OK.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManifestStamp {
    pub len: u64,
    /// Its last modification (`st_mtime`), in nanoseconds since the epoch.
    pub modified_ns: i64,
}

impl ManifestStamp {
    /// Whether `other` is a stamp of the same text: the same size, modified in the
    /// same second. To the second, not the nanosecond: machines that see the file
    /// through different file systems keep its time at different precisions (NFS to
    /// the nanosecond, an SFTP mount to the second, SMB to 100 ns), and a client and
    /// its workers may see it so (`path_map`).
    pub fn same_manifest(&self, other: &ManifestStamp) -> bool {
        let second = |stamp: &ManifestStamp| stamp.modified_ns.div_euclid(1_000_000_000);
        self.len == other.len && second(self) == second(other)
    }
}

/// Bytes read at once when counting a manifest's lines.
const COUNT_BLOCK_LEN: usize = 256 * 1024;

/// Cuts a manifest of `len` bytes into at most `parts` parts of about equal bytes at
/// line starts, without parsing it all, so that cutting a manifest of a hundred million
/// lines is a read at memory speed, not a parse on one core:
///
/// - its first lines are parsed, up to those that decide the algorithm of untagged
///   lines and their form (the first checksum line, the first untagged one: usually
///   line 1; to the end when every line is tagged). A bad line among them, or no
///   checksum line at all, is the error [`read_manifest`] gives;
/// - the cuts are found and the manifest's newlines counted in one pass, so that each
///   part knows its first line's number.
///
/// A bad line after the first ones is found by the part that holds it: the parts'
/// first error, in part order, is the error of the whole manifest, as each part reads
/// its lines in order and stops at its first bad one.
pub fn split_manifest<R: Read + Seek>(
    mut reader: R,
    len: u64,
    algorithm: Option<Algorithm>,
    parts: usize,
) -> Result<Split, ManifestError> {
    let mut parser = Parser::new(algorithm);
    let mut entries = 0u64;
    for_each_line(&mut reader, 1, u64::MAX, |number, line| {
        if parse_numbered(&mut parser, number, line)?.is_some() {
            entries += 1;
        }
        Ok(parser.algorithm.is_none() || parser.form.is_none())
    })?;
    if entries == 0 || parser.algorithm.is_none() {
        return Err(ManifestError::Empty);
    }
    reader.seek(SeekFrom::Start(0)).map_err(ManifestError::Io)?;
    let starts = line_starts(reader, len, parts.max(1) as u64)?;
    let ends = starts
        .iter()
        .skip(1)
        .map(|&(offset, _)| offset)
        .chain([len]);
    let parts = starts
        .iter()
        .zip(ends)
        .map(|(&(start, first_line), end)| Part {
            start,
            end,
            first_line,
        })
        .collect();
    Ok(Split {
        parser,
        parts,
        // The time of modification is the caller's to add: this reads any stream.
        stamp: ManifestStamp {
            len,
            modified_ns: 0,
        },
    })
}

/// The starts (offset, line number) of at most `parts` parts of about equal bytes of
/// a manifest of `len` bytes: part `k` starts at the first line start at or after
/// `k * len / parts`. Reads the manifest once, counting newlines.
fn line_starts<R: Read>(
    mut reader: R,
    len: u64,
    parts: u64,
) -> Result<Vec<(u64, u32)>, ManifestError> {
    let line_number =
        |newlines: u64| u32::try_from(newlines + 1).map_err(|_| ManifestError::TooManyLines);
    let mut starts = vec![(0u64, 1u32)];
    let mut block = vec![0u8; COUNT_BLOCK_LEN];
    // Bytes read before `block`, and the newlines in them.
    let mut offset = 0u64;
    let mut newlines = 0u64;
    let mut next_part = 1u64;
    loop {
        let filled = match reader.read(&mut block) {
            Ok(0) => break,
            Ok(filled) => filled,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(ManifestError::Io(error)),
        };
        let block = &block[..filled];
        // Newlines before `counted` in this block are in `newlines` already.
        let mut counted = 0usize;
        while next_part < parts {
            // A line starts at `s` when byte `s - 1` is a newline: look for the first
            // newline at or after the cut's byte minus one, and after the last start.
            let cut = (next_part * len / parts).max(starts[starts.len() - 1].0 + 1);
            let from = ((cut - 1).saturating_sub(offset) as usize).max(counted);
            let Some(found) = block.get(from..).and_then(first_newline) else {
                break;
            };
            let newline = from + found;
            newlines += count_newlines(&block[counted..=newline]);
            counted = newline + 1;
            let start = offset + counted as u64;
            if start < len {
                starts.push((start, line_number(newlines)?));
            }
            next_part += 1;
        }
        newlines += count_newlines(&block[counted..]);
        offset += filled as u64;
    }
    line_number(newlines)?;
    Ok(starts)
}

/// The index of the first newline in `bytes`.
fn first_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The newlines in `bytes` (a loop the compiler vectorises: gigabytes a second).
fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Reads one part of a manifest: `reader` is at `part.start`, and lines are read while
/// they start before `part.end`, numbered from `part.first_line`, in the form and with
/// the untagged algorithm the whole manifest decided (`parser`, from
/// [`split_manifest`]). A part without an entry is no error (the whole manifest has
/// entries).
pub fn read_manifest_part<R: Read>(
    reader: R,
    parser: Parser,
    part: Part,
) -> Result<Manifest, ManifestError> {
    if parser.algorithm.is_none() {
        return Err(ManifestError::Empty);
    }
    let len = part.end.saturating_sub(part.start);
    read_lines(reader, parser, part.first_line, len)
}

/// Parses line `number`, naming it in the error.
fn parse_numbered(
    parser: &mut Parser,
    number: u32,
    line: &[u8],
) -> Result<Option<ChecksumLine>, ManifestError> {
    parser
        .parse_line(line)
        .map_err(|error| ManifestError::BadLine {
            line: number,
            error,
            algorithm: parser.algorithm,
        })
}

/// Calls `each` with every line (without its `\n`) and its number (from
/// `first_line`), for the lines that start in the first `limit` bytes, until it
/// returns false; with bounded memory per line.
fn for_each_line<R: Read>(
    reader: R,
    first_line: u32,
    limit: u64,
    mut each: impl FnMut(u32, &[u8]) -> Result<bool, ManifestError>,
) -> Result<(), ManifestError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line = Vec::with_capacity(256);
    let mut number = first_line;
    let mut offset = 0u64;
    while offset < limit {
        line.clear();
        // `take` bounds what one line may allocate; one byte over the limit tells us the
        // line is too long.
        let read = (&mut reader)
            .take(MAX_LINE_LEN as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(ManifestError::Io)?;
        if read == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE_LEN {
            return Err(ManifestError::LineTooLong { line: number });
        }
        if !each(number, &line)? {
            break;
        }
        offset += read as u64;
        number = number.checked_add(1).ok_or(ManifestError::TooManyLines)?;
    }
    Ok(())
}

/// The parser of one manifest's lines: what the lines read so far have decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parser {
    /// The algorithm of untagged lines: the caller's, the manifest name's, or the
    /// first checksum line's. For BLAKE2b, of any length: each untagged line's hex
    /// length is its digest length, as `b2sum -c` reads them.
    pub algorithm: Option<Algorithm>,
    /// The untagged form, set by the first untagged checksum line.
    pub form: Option<UntaggedForm>,
}

impl Parser {
    /// A parser for a manifest whose untagged lines are of `algorithm` (`None`: the
    /// first checksum line tells).
    pub fn new(algorithm: Option<Algorithm>) -> Parser {
        Parser {
            algorithm,
            form: None,
        }
    }

    /// Parses one line (without its `\n`). `Ok(None)` for a line to skip: empty (after
    /// dropping a trailing CR) or a `#` comment. The first checksum line fixes the
    /// algorithm of untagged lines (when not given) and the first untagged one the
    /// form.
    pub fn parse_line(&mut self, line: &[u8]) -> Result<Option<ChecksumLine>, LineError> {
        let parsed = parse_line(line, self.algorithm, self.form)?;
        if let Some((checksum, form)) = &parsed {
            self.algorithm = self.algorithm.or(Some(checksum.algorithm));
            self.form = self.form.or(*form);
        }
        Ok(parsed.map(|(checksum, _)| checksum))
    }
}

/// One line in a manifest whose untagged lines are of `algorithm` (if known) and in
/// `form` (if known yet): the checksum line, and the form an untagged line showed
/// (`None` for a tagged line).
fn parse_line(
    line: &[u8],
    algorithm: Option<Algorithm>,
    form: Option<UntaggedForm>,
) -> Result<Option<(ChecksumLine, Option<UntaggedForm>)>, LineError> {
    // As GNU: a `#` in the first column is a comment; the trailing CR goes next, and
    // only a line that is then empty is skipped.
    if line.first() == Some(&b'#') {
        return Ok(None);
    }
    let whole = line;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Ok(None);
    }
    if line.contains(&0) {
        return Err(LineError::NulByte);
    }
    if line.iter().all(|&b| is_blank(b)) {
        return Err(LineError::OnlyBlanks);
    }
    // GNU skips leading blanks before anything else.
    let mut rest = trim_blanks_start(line);
    // A leading backslash says the name is escaped (it holds `\\`, `\n` or `\r`).
    let escaped = match rest.strip_prefix(b"\\") {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    let (raw_name, digest, line_form) = match bsd_tag(rest) {
        Some((tag_algorithm, body)) => {
            // A tagged line names its own algorithm, whatever the untagged lines hold.
            let (name, digest_text) = split_bsd_tag(body)?;
            (
                name,
                decode_tagged_digest(digest_text, tag_algorithm)?,
                None,
            )
        }
        None => {
            // GNU escapes a CR in a name (`\r`), so a raw one at the end of its line is
            // a CRLF file's. `b3sum` escapes only `\` and LF, and ends its lines at LF
            // alone: in its lines a trailing CR is the name's, and `b3sum -c` opens
            // `x\r`, not `x` (dropping it would check another file: a false OK where
            // `x\r` changed).
            if algorithm == Some(Algorithm::Blake3) && whole.len() > line.len() {
                rest = &whole[whole.len() - rest.len() - 1..];
            }
            let (name, digest, line_form) =
                split_untagged(rest, algorithm, form).map_err(|error| {
                    // A tag line that checksig does not read says why, not "not hex".
                    tag_error(rest).unwrap_or(error)
                })?;
            (name, digest, Some(line_form))
        }
    };
    let name = if escaped {
        unescape_name(raw_name).map_err(|BadEscape| LineError::BadEscape)?
    } else {
        raw_name.to_vec()
    };
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    let (algorithm, digest) = digest;
    let checksum = ChecksumLine {
        name,
        algorithm,
        digest,
    };
    Ok(Some((checksum, line_form)))
}

/// A line's algorithm and the digest it lists.
type LineDigest = (Algorithm, Digest);

/// GNU's blank: space or tab.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// If `rest` starts a BSD tag line of a known algorithm (`SHA256 (`, `SHA256(`,
/// `BLAKE2b-256 (`), that algorithm and what follows the `(`.
fn bsd_tag(rest: &[u8]) -> Option<(Algorithm, &[u8])> {
    Algorithm::ALL.into_iter().find_map(|algorithm| {
        let mut after_tag = rest.strip_prefix(algorithm.tag().as_bytes())?;
        let mut algorithm = algorithm;
        if let Algorithm::Blake2b(_) = algorithm {
            // `BLAKE2b-<bits>`: a multiple of 8 up to 512, as GNU accepts it.
            if let Some(after_dash) = after_tag.strip_prefix(b"-") {
                let (bits, taken) = c_unsigned(after_dash)?;
                algorithm = Algorithm::blake2b_bits(u32::try_from(bits).ok()?)?;
                after_tag = &after_dash[taken..];
            }
        }
        let after_space = after_tag.strip_prefix(b" ").unwrap_or(after_tag);
        Some((algorithm, after_space.strip_prefix(b"(")?))
    })
}

/// The number `text` starts with, read as C's `strtoumax(text, &end, 0)` reads it, and
/// how many bytes it took. GNU reads the bits of `BLAKE2b-<bits>` so (`xstrtoumax`), and
/// the line must mean to checksig what it means to `b2sum -c`: white space and a `+`
/// before it are skipped, `0x` starts hex and `0` octal (`BLAKE2b-0400` is 256 bits,
/// `BLAKE2b-0256` is 174, which no algorithm has). `None` where GNU fails: no digit, a
/// `-`, a value past `u64`.
fn c_unsigned(text: &[u8]) -> Option<(u64, usize)> {
    let mut at = text
        .iter()
        .take_while(|b| b.is_ascii_whitespace() || **b == 0x0b)
        .count();
    match text.get(at) {
        Some(b'+') => at += 1,
        Some(b'-') => return None,
        _ => {}
    }
    let (radix, start) = match &text[at..] {
        [b'0', b'x' | b'X', digit, ..] if digit.is_ascii_hexdigit() => (16, at + 2),
        [b'0', ..] => (8, at),
        _ => (10, at),
    };
    let digits = text[start..]
        .iter()
        .take_while(|&&b| char::from(b).is_digit(radix))
        .count();
    let number = std::str::from_utf8(&text[start..start + digits]).ok()?;
    let value = u64::from_str_radix(number, radix).ok()?;
    Some((value, start + digits))
}

/// If `rest` looks like a tag line, `WORD (` or `WORD(` with a `) =` later, that
/// [`bsd_tag`] did not take: why, for a clearer error than "not hex". A `BLAKE2b-`
/// tag of bits GNU refuses, a known tag in another case (`sha1`), or an algorithm
/// checksig does not know (`SM3`, `SHA3-256`).
fn tag_error(rest: &[u8]) -> Option<LineError> {
    let len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    let (word, after) = rest.split_at(len);
    let after = after.strip_prefix(b" ").unwrap_or(after);
    let tagged = word.iter().any(u8::is_ascii_alphabetic)
        && after.starts_with(b"(")
        && split_bsd_tag(&after[1..]).is_ok();
    if !tagged {
        return None;
    }
    let blake2b = Algorithm::Blake2b(64).tag().as_bytes();
    let known = |word: &[u8]| {
        Algorithm::ALL
            .iter()
            .any(|algorithm| word.eq_ignore_ascii_case(algorithm.tag().as_bytes()))
    };
    let family = word.split(|&b| b == b'-').next().unwrap_or(word);
    let with_bits = word.len() > family.len();
    Some(if family == blake2b && with_bits {
        LineError::BadBlake2bBits
    } else if known(word) || (with_bits && family.eq_ignore_ascii_case(blake2b)) {
        LineError::TagCase
    } else {
        LineError::UnknownTag
    })
}

/// `name) = digest` → (name, digest). The name runs to the last `)`, as in GNU, so
/// names holding `)` work; blanks around `=` are allowed.
fn split_bsd_tag(body: &[u8]) -> Result<(&[u8], &[u8]), LineError> {
    let close = body
        .iter()
        .rposition(|&b| b == b')')
        .ok_or(LineError::NotAChecksumLine)?;
    let name = &body[..close];
    let after = trim_blanks_start(&body[close + 1..]);
    let after = after
        .strip_prefix(b"=")
        .ok_or(LineError::NotAChecksumLine)?;
    Ok((name, trim_blanks_start(after)))
}

/// `hex<blank>[ |*]name` or `hex<blank>name` → (name, the line's algorithm and digest,
/// the form the line shows).
///
/// As GNU's `split_3`: the digest runs to the first blank, and one blank follows it.
/// What comes next is a type indicator (a space, or `*` for binary) unless the line
/// is in the single-space form: one byte is left, or it is neither a space nor `*`.
/// The manifest's `form`, once known, overrides: in a single-space manifest the name
/// is all that follows the blank (`<hex>  x` names ` x`); in an indicator manifest a
/// single-space line is refused.
fn split_untagged(
    rest: &[u8],
    algorithm: Option<Algorithm>,
    form: Option<UntaggedForm>,
) -> Result<(&[u8], LineDigest, UntaggedForm), LineError> {
    let digest_end = rest
        .iter()
        .position(|&b| is_blank(b))
        .ok_or(LineError::NotAChecksumLine)?;
    let digest_text = &rest[..digest_end];
    if digest_end == 0 || !digest_text.iter().all(u8::is_ascii_hexdigit) {
        return Err(LineError::NotAChecksumLine);
    }
    let line_algorithm = untagged_algorithm(digest_end, algorithm)?;
    let after = &rest[digest_end + 1..];
    let line_form = match after {
        [] => return Err(LineError::EmptyName),
        [_] => UntaggedForm::SingleSpace,
        [b' ' | b'*', ..] => UntaggedForm::Indicator,
        _ => UntaggedForm::SingleSpace,
    };
    let name = match (form.unwrap_or(line_form), line_form) {
        (UntaggedForm::Indicator, UntaggedForm::Indicator) => &after[1..],
        (UntaggedForm::Indicator, UntaggedForm::SingleSpace) => {
            return Err(LineError::SingleSpaceAfterIndicator)
        }
        (UntaggedForm::SingleSpace, _) => after,
    };
    let digest = decode_hex(digest_text, line_algorithm)
        .ok_or(LineError::BadDigest(Some(line_algorithm)))?;
    Ok((name, (line_algorithm, digest), line_form))
}

/// The algorithm of an untagged digest of `hex_len` digits in a manifest whose
/// untagged lines are of `algorithm` (if known).
fn untagged_algorithm(
    hex_len: usize,
    algorithm: Option<Algorithm>,
) -> Result<Algorithm, LineError> {
    match algorithm {
        // As `b2sum -c`: the digest's length is the line's.
        Some(Algorithm::Blake2b(_)) => match hex_len {
            2..=128 if hex_len % 2 == 0 => Ok(Algorithm::Blake2b((hex_len / 2) as u8)),
            _ => Err(LineError::BadDigest(Some(Algorithm::Blake2b(
                BLAKE2B_DEFAULT_LEN,
            )))),
        },
        Some(known) if known.digest_len() * 2 == hex_len => Ok(known),
        Some(known) => Err(LineError::BadDigest(Some(known))),
        None => match Algorithm::candidates_for_hex_len(hex_len) {
            [] => Err(LineError::BadDigest(None)),
            [only] => Ok(*only),
            _ => Err(LineError::AmbiguousLength(hex_len)),
        },
    }
}

fn trim_blanks_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// A tagged line's digest: hex (either case) of its algorithm's length, or base64 of
/// it (`cksum --base64`, coreutils 9.2 and later; padded, as GNU writes it).
fn decode_tagged_digest(text: &[u8], algorithm: Algorithm) -> Result<LineDigest, LineError> {
    let digest = decode_hex(text, algorithm).or_else(|| decode_base64(text, algorithm));
    digest
        .map(|digest| (algorithm, digest))
        .ok_or(LineError::BadTaggedDigest(algorithm))
}

/// `text` as the hex of a digest of `algorithm`, if it is one.
fn decode_hex(text: &[u8], algorithm: Algorithm) -> Option<Digest> {
    let len = algorithm.digest_len();
    let mut bytes = [0u8; MAX_DIGEST_LEN];
    if text.len() != 2 * len {
        return None;
    }
    hex::decode_to_slice(text, &mut bytes[..len]).ok()?;
    Some(Digest::new(&bytes[..len]))
}

/// `text` as the base64 of a digest of `algorithm`, if it is one: the standard
/// alphabet, padded, canonical (as GNU compares it: the encoding of the digest,
/// byte for byte).
fn decode_base64(text: &[u8], algorithm: Algorithm) -> Option<Digest> {
    let len = algorithm.digest_len();
    if text.len() != len.div_ceil(3) * 4 {
        return None;
    }
    let mut bytes = [0u8; MAX_DIGEST_LEN + 2];
    let decoded = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut bytes)
        .ok()?;
    (decoded == len).then(|| Digest::new(&bytes[..len]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: Option<Algorithm> = Some(Algorithm::Sha1);

    const HEX: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const UPPER: &str = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";

    fn digest() -> Vec<u8> {
        hex::decode(HEX).unwrap()
    }

    /// `line` as the first line of a SHA-1 manifest.
    fn parse_alone(line: &[u8]) -> Result<Option<ChecksumLine>, LineError> {
        Parser::new(SHA1).parse_line(line)
    }

    #[test]
    fn lines_that_parse() {
        let cases: &[(String, &[u8])] = &[
            (format!("{HEX}  a.log"), b"a.log"),
            (format!("{HEX} *a.log"), b"a.log"),
            (format!("{HEX} a.log"), b"a.log"),
            (format!("{HEX}\ta.log"), b"a.log"),
            (format!("{UPPER}  a.log"), b"a.log"),
            (format!("{HEX}  a.log\r"), b"a.log"),
            (format!("  {HEX}  a.log"), b"a.log"),
            (format!("{HEX}  with space"), b"with space"),
            (format!("{HEX}  trailing  "), b"trailing  "),
            (format!("{HEX}   leading"), b" leading"),
            (format!("{HEX}  *star"), b"*star"),
            (format!("{HEX} x"), b"x"),
            // One byte after the blank is a single-space line, even a space or `*`.
            (format!("{HEX}  "), b" "),
            (format!("{HEX} *"), b"*"),
            (format!("{HEX}  dir/sub/f"), b"dir/sub/f"),
            (format!("\\{HEX}  a\\\\b"), b"a\\b"),
            (format!("\\{HEX}  line\\nbreak"), b"line\nbreak"),
            (format!("\\{HEX}  cr\\r"), b"cr\r"),
            (format!("SHA1 (a.log) = {HEX}"), b"a.log"),
            (format!("SHA1(a.log)= {HEX}"), b"a.log"),
            (format!("SHA1 (a (1).log) = {HEX}"), b"a (1).log"),
            (format!("SHA1 ( spaced ) = {HEX}"), b" spaced "),
            (format!("\\SHA1 (a\\nb) = {HEX}"), b"a\nb"),
            (format!("SHA1 (x) = {UPPER}\r"), b"x"),
        ];
        for (line, name) in cases {
            let parsed = parse_alone(line.as_bytes())
                .unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
                .unwrap_or_else(|| panic!("{line:?} skipped"));
            assert_eq!(parsed.name, *name, "{line:?}");
            assert_eq!(parsed.digest.as_bytes(), digest(), "{line:?}");
            assert_eq!(parsed.algorithm, Algorithm::Sha1, "{line:?}");
        }
    }

    #[test]
    fn non_utf8_name_is_kept_byte_for_byte() {
        let mut line = format!("{HEX}  caf").into_bytes();
        line.extend_from_slice(&[0xe9, 0xff, b'.', b'x']);
        let parsed = parse_alone(&line).unwrap().unwrap();
        assert_eq!(parsed.name, b"caf\xe9\xff.x");
    }

    #[test]
    fn lines_that_are_skipped() {
        for line in ["", "\r", "# comment", "#", "#\t", &format!("#{HEX}  x")] {
            assert_eq!(parse_alone(line.as_bytes()), Ok(None), "{line:?}");
            let mut any_algorithm = Parser::new(None);
            assert_eq!(
                any_algorithm.parse_line(line.as_bytes()),
                Ok(None),
                "{line:?}"
            );
            assert_eq!(
                any_algorithm,
                Parser::new(None),
                "a skipped line decides nothing"
            );
        }
    }

    #[test]
    fn lines_that_fail() {
        let cases: &[(String, LineError)] = &[
            ("hello world".into(), LineError::NotAChecksumLine),
            ("x".into(), LineError::NotAChecksumLine),
            (HEX.into(), LineError::NotAChecksumLine),
            (format!("{HEX} "), LineError::EmptyName),
            (format!("{HEX}a  x"), LineError::BadDigest(SHA1)),
            (format!("{}  x", &HEX[..39]), LineError::BadDigest(SHA1)),
            (format!("{HEX}0  x"), LineError::BadDigest(SHA1)),
            (format!("{HEX}:x"), LineError::NotAChecksumLine),
            (format!("{HEX}:x  y"), LineError::NotAChecksumLine),
            (format!("{HEX}  a\0b"), LineError::NulByte),
            (format!("\\{HEX}  a\\tb"), LineError::BadEscape),
            (format!("\\{HEX}  a\\"), LineError::BadEscape),
            (format!("SHA1 (x) {HEX}"), LineError::NotAChecksumLine),
            (format!("SHA1 x = {HEX}"), LineError::NotAChecksumLine),
            (
                format!("SHA1 (x) = {HEX} "),
                LineError::BadTaggedDigest(Algorithm::Sha1),
            ),
            (format!("SHA1 () = {HEX}"), LineError::EmptyName),
            (
                format!("SHA256 (x) = {HEX}"),
                LineError::BadTaggedDigest(Algorithm::Sha256),
            ),
            (format!("{HEX}{HEX}  x"), LineError::BadDigest(SHA1)),
            (
                format!("MD5 (x) = {HEX}"),
                LineError::BadTaggedDigest(Algorithm::Md5),
            ),
            (format!("SM3 (x) = {HEX}"), LineError::UnknownTag),
            (format!("SHA3-256(x)= {HEX}"), LineError::UnknownTag),
            (format!("SHA1-160 (x) = {HEX}"), LineError::UnknownTag),
            (format!("sha1 (x) = {HEX}"), LineError::TagCase),
            (format!("Sha256 (x) = {HEX}"), LineError::TagCase),
            (format!("blake2b-256 (x) = {HEX}"), LineError::TagCase),
            (
                format!("BLAKE2b-520 (x) = {HEX}"),
                LineError::BadBlake2bBits,
            ),
            (
                format!("BLAKE2b-256x (x) = {HEX}"),
                LineError::BadBlake2bBits,
            ),
            (format!("BLAKE2b-12 (x) = {HEX}"), LineError::BadBlake2bBits),
            // GNU skips only empty lines: blanks alone, or a comment after blanks, are
            // improperly formatted lines.
            ("   ".into(), LineError::OnlyBlanks),
            ("\t".into(), LineError::OnlyBlanks),
            (" \r".into(), LineError::OnlyBlanks),
            ("  # comment".into(), LineError::NotAChecksumLine),
        ];
        for (line, error) in cases {
            assert_eq!(parse_alone(line.as_bytes()), Err(*error), "{line:?}");
        }
    }

    /// GNU's rule: the first untagged checksum line decides, for the whole manifest,
    /// whether untagged lines are `<hex> <name>` (single space) or `<hex>  <name>` /
    /// `<hex> *<name>`. Each case: the manifest (`H` is a digest), then the names it
    /// lists or the line that fails and why.
    #[test]
    fn the_first_untagged_line_decides_the_form() {
        use LineError::*;
        type Expected = Result<&'static [&'static [u8]], (u32, LineError)>;
        let cases: &[(&str, Expected)] = &[
            // Single-space first: the name is all after the blank.
            ("% x\n%  x\n", Ok(&[b"x", b" x"])),
            ("% x\n% *c\n", Ok(&[b"x", b"*c"])),
            ("% x\n%  \n", Ok(&[b"x", b" "])),
            ("%\tx\n%\t x\n", Ok(&[b"x", b" x"])),
            ("% *\n%  a\n", Ok(&[b"*", b" a"])),
            ("\\% a\\\\b\n%  z\n", Ok(&[b"a\\b", b" z"])),
            // Indicator first: a later single-space line is refused.
            ("%  x\n% x\n", Err((2, SingleSpaceAfterIndicator))),
            ("% *x\n% x\n", Err((2, SingleSpaceAfterIndicator))),
            ("%  x\n%\tx\n", Err((2, SingleSpaceAfterIndicator))),
            ("%  x\n%  \n", Err((2, SingleSpaceAfterIndicator))),
            ("%  x\n% *y\n%   z\n", Ok(&[b"x", b"y", b" z"])),
            // Comments, empty lines and tagged lines decide nothing.
            ("# c\n\n% x\n%  y\n", Ok(&[b"x", b" y"])),
            (
                "SHA1 (t) = %\n%  x\n% x\n",
                Err((3, SingleSpaceAfterIndicator)),
            ),
            ("SHA1 (t) = %\n% x\n%  x\n", Ok(&[b"t", b"x", b" x"])),
            ("% x\nSHA1 (t) = %\n%  y\n", Ok(&[b"x", b"t", b" y"])),
            ("%  x\nSHA1 ( t) = %\n", Ok(&[b"x", b" t"])),
            // Blank-only lines are not skipped.
            ("%  x\n \t\n%  y\n", Err((2, OnlyBlanks))),
            ("%  x\n\r\n%  y\n", Ok(&[b"x", b"y"])),
        ];
        for (text, expected) in cases {
            let text = text.replace('%', HEX);
            let got = match read_manifest(text.as_bytes(), SHA1) {
                Ok(manifest) => Ok(manifest
                    .entries
                    .iter()
                    .map(|e| e.name.to_vec())
                    .collect::<Vec<_>>()),
                Err(ManifestError::BadLine { line, error, .. }) => Err((line, error)),
                Err(other) => panic!("{text:?}: {other}"),
            };
            let expected = expected.map(|names| names.iter().map(|n| n.to_vec()).collect());
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn the_form_error_says_why() {
        let text = format!("{HEX}  a\n{HEX} b\n");
        let error = read_manifest(text.as_bytes(), SHA1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2: single-space line in a two-space manifest \
             (the first checksum line decides the form, as in GNU)"
        );
    }

    #[test]
    fn manifests() {
        let good = format!("# made by sha1sum\n{HEX}  a\r\n\n{HEX} *b\nSHA1 (c) = {HEX}");
        let entries = read_manifest(good.as_bytes(), SHA1).unwrap();
        assert_eq!(entries.expected(2).as_bytes(), digest());
        let entries = entries.entries;
        let names: Vec<&[u8]> = entries.iter().map(|e| &*e.name).collect();
        assert_eq!(names, [&b"a"[..], b"b", b"c"]);
        let lines: Vec<u32> = entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5]);

        let bad = format!("{HEX}  a\n\nnot a line\n{HEX}  b\n");
        match read_manifest(bad.as_bytes(), SHA1) {
            Err(ManifestError::BadLine { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        for empty in ["", "\n\n", "# only a comment\n"] {
            assert!(matches!(
                read_manifest(empty.as_bytes(), None),
                Err(ManifestError::Empty)
            ));
        }
    }

    #[test]
    fn a_huge_line_is_refused_without_reading_it_whole() {
        let mut huge = format!("{HEX}  a\n").into_bytes();
        huge.extend(std::iter::repeat(b'x').take(2 * 1024 * 1024));
        huge.push(b'\n');
        match read_manifest(&huge[..], SHA1) {
            Err(ManifestError::LineTooLong { line: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_last_line_without_newline_is_refused() {
        let huge = vec![b'a'; MAX_LINE_LEN + 1];
        assert!(matches!(
            read_manifest(&huge[..], None),
            Err(ManifestError::LineTooLong { line: 1 })
        ));
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn a_manifest_is_the_one_split_at_the_same_size_and_second() {
        let split = ManifestStamp {
            len: 100,
            modified_ns: 1_700_000_000_123_456_789,
        };
        // (stamp seen when a part is checked, the same manifest?)
        let cases = [
            (split, true),
            // Another file system's precision: the same second, fewer digits.
            (
                ManifestStamp {
                    modified_ns: 1_700_000_000_000_000_000,
                    ..split
                },
                true,
            ),
            (
                ManifestStamp {
                    modified_ns: 1_700_000_000_999_999_999,
                    ..split
                },
                true,
            ),
            (
                ManifestStamp {
                    modified_ns: 1_700_000_001_123_456_789,
                    ..split
                },
                false,
            ),
            (ManifestStamp { len: 101, ..split }, false),
        ];
        for (seen, same) in cases {
            assert_eq!(split.same_manifest(&seen), same, "{seen:?}");
        }
    }

    /// The starts `line_starts` should give, found the slow way: for each cut, the
    /// first line start at or after it (and after the last start), before the end.
    fn expected_starts(text: &[u8], parts: u64) -> Vec<(u64, u32)> {
        let len = text.len() as u64;
        let mut starts = vec![(0u64, 1u32)];
        for k in 1..parts {
            let cut = (k * len / parts).max(starts.last().unwrap().0 + 1);
            let start = (cut..len).find(|&s| text[s as usize - 1] == b'\n');
            if let Some(start) = start {
                let line = 1 + count_newlines(&text[..start as usize]) as u32;
                starts.push((start, line));
            }
        }
        starts
    }

    #[test]
    fn parts_start_at_line_starts_with_their_line_numbers() {
        // Lines of every length around the counting block's size, so that cuts and
        // lines straddle blocks.
        let mut long = Vec::new();
        for i in 0..40usize {
            long.extend(std::iter::repeat(b'x').take(i * 7919 % 70_000));
            long.push(b'\n');
        }
        let texts: Vec<Vec<u8>> = vec![
            b"a\n".to_vec(),
            b"a\nb\nc\nd\n".to_vec(),
            b"a\nb\nno newline at the end".to_vec(),
            b"\n\n\n\n\n\n".to_vec(),
            long.clone(),
            [long.as_slice(), b"tail"].concat(),
        ];
        for text in &texts {
            for parts in [1, 2, 3, 4, 7, 64, 1000] {
                let starts = line_starts(text.as_slice(), text.len() as u64, parts).unwrap();
                assert_eq!(
                    starts,
                    expected_starts(text, parts),
                    "{} bytes, {parts} parts",
                    text.len()
                );
            }
        }
    }

    #[test]
    fn only_the_deciding_lines_are_parsed() {
        let hex = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        // A bad line after the first is the part's to find, not the split's.
        let text = format!("# c\n{hex}  a\nnot a checksum line\n{hex}  b\n");
        let split = split_manifest(Cursor::new(&text), text.len() as u64, None, 2).unwrap();
        assert_eq!(split.parser.algorithm, Some(Algorithm::Sha1));
        assert_eq!(split.parser.form, Some(UntaggedForm::Indicator));
        // Tagged lines leave the form open: the first untagged line decides it, however
        // far down.
        let text = format!("SHA1 (a) = {hex}\nSHA1 (b) = {hex}\n{hex} c\n{hex}  d\n");
        let split = split_manifest(Cursor::new(&text), text.len() as u64, None, 3).unwrap();
        assert_eq!(split.parser.form, Some(UntaggedForm::SingleSpace));
        // A bad line before that decision, or no checksum line, is the split's error.
        for (text, expected) in [
            (format!("# c\nnot a checksum line\n{hex}  b\n"), "line 2"),
            ("# nothing\n\n".to_string(), "no checksum lines"),
        ] {
            let error = split_manifest(Cursor::new(&text), text.len() as u64, None, 2).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}

#[cfg(test)]
mod algorithm_tests {
    use super::*;

    const H1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const H256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const H512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                        47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const H224: &str = "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f";
    const H384: &str = "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da\
                        274edebfe76f65fbd51ad2f14898b95b";
    /// BLAKE2b-256 of nothing: `b2sum -l 256 /dev/null`.
    const B2_256: &str = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
    /// SHA-256 of nothing in base64: `cksum -a sha256 --base64 /dev/null`.
    const B64_256: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    /// MD5 of nothing in base64.
    const B64_MD5: &str = "1B2M2Y8AsgTpgAmY7PhCfg==";

    /// The algorithm of every entry, or the error, for a manifest read with the
    /// algorithm of its untagged lines given (or not).
    fn algorithms(text: &str, given: Option<Algorithm>) -> Result<Vec<Algorithm>, String> {
        read_manifest(text.as_bytes(), given)
            .map(|manifest| manifest.entries.iter().map(|e| e.algorithm).collect())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_algorithm_follows_from_the_first_line_when_not_given() {
        use Algorithm::*;
        let cases: &[(String, &[Algorithm])] = &[
            (format!("{H1}  a\n{H1}  b\n"), &[Sha1, Sha1]),
            (format!("{MD5}  a\n{MD5} *b\n"), &[Md5, Md5]),
            (format!("{H224}  a\n"), &[Sha224]),
            (format!("{H384}  a\n"), &[Sha384]),
            (
                format!("SHA256 (a) = {H256}\n{H256}  b\n"),
                &[Sha256, Sha256],
            ),
            (format!("# comment\nSHA512 (a) = {H512}\n"), &[Sha512]),
            // A tag decides the untagged lines' algorithm; BLAKE2b's are then read as
            // `b2sum -c` reads them, each line's length its own.
            (
                format!("BLAKE2b-256 (a) = {B2_256}\n{B2_256}  b\n{MD5}  c\n"),
                &[Blake2b(32), Blake2b(32), Blake2b(16)],
            ),
            (
                format!("BLAKE3 (a) = {H256}\n{H256}  b\n"),
                &[Blake3, Blake3],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(algorithms(text, None).as_deref(), Ok(*expected), "{text:?}");
            let manifest = read_manifest(text.as_bytes(), None).unwrap();
            for (index, algorithm) in expected.iter().enumerate() {
                assert_eq!(
                    manifest.expected(index).as_bytes().len(),
                    algorithm.digest_len()
                );
            }
        }
    }

    /// The bits of `BLAKE2b-<bits>` as `b2sum -c` (coreutils 9.1) reads them: C's
    /// `strtoumax` with base 0, so a leading `0` is octal and `0x` hex. Each row's
    /// outcome was checked against `b2sum -c` on the same line.
    #[test]
    fn blake2b_tag_bits_are_read_as_gnu_reads_them() {
        let accepted = [
            "256", "0400", "00400", "0x100", "0X100", "+256", " 256", "\t256",
        ];
        for bits in accepted {
            let text = format!("BLAKE2b-{bits} (a) = {B2_256}\n");
            assert_eq!(
                algorithms(&text, None),
                Ok(vec![Algorithm::Blake2b(32)]),
                "{bits:?}"
            );
        }
        // 0256 is octal 174, not a multiple of 8; 0x alone is 0; 512 is not this length.
        let refused = [
            "0256", "-256", "0x", "0", "0x0", "512", "0x200", "01000", "256x",
        ];
        for bits in refused {
            let text = format!("BLAKE2b-{bits} (a) = {B2_256}\n");
            assert!(algorithms(&text, None).is_err(), "{bits:?}");
        }
        assert_eq!(c_unsigned(b"99999999999999999999 ("), None);
        assert_eq!(c_unsigned(b"017 ("), Some((15, 3)));
    }

    /// `cksum -a X` lines of several algorithms in one file, each checked with its own.
    #[test]
    fn tagged_lines_name_their_own_algorithm() {
        use Algorithm::*;
        let mixed = format!(
            "MD5 (a) = {MD5}\nSHA256 (a) = {H256}\nBLAKE2b-256 (a) = {B2_256}\n\
             BLAKE2b (a) = {H512}\nSHA1 (b) = {H1}\nSHA224 (c) = {H224}\n\
             SHA384 (c) = {H384}\nSHA512 (c) = {H512}\nBLAKE3 (d) = {H256}\n\
             BLAKE2b-8 (e) = ab\n"
        );
        let expected = [
            Md5,
            Sha256,
            Blake2b(32),
            Blake2b(64),
            Sha1,
            Sha224,
            Sha384,
            Sha512,
            Blake3,
            Blake2b(1),
        ];
        for given in [None, Some(Sha256), Some(Md5)] {
            assert_eq!(
                algorithms(&mixed, given).as_deref(),
                Ok(&expected[..]),
                "{given:?}"
            );
        }
        let manifest = read_manifest(mixed.as_bytes(), None).unwrap();
        assert_eq!(manifest.expected(0).to_hex(), MD5);
        assert_eq!(manifest.expected(3).to_hex(), H512);
        assert_eq!(manifest.expected(9).to_hex(), "ab");
        assert_eq!(manifest.single_algorithm(), None);
        // Untagged lines still follow the first line's algorithm.
        assert_eq!(
            algorithms(&format!("MD5 (a) = {MD5}\n{H256}  b\n"), None),
            Err("line 2: the checksum is not 32 hex digits".into())
        );
    }

    #[test]
    fn base64_digests_in_tagged_lines() {
        use Algorithm::*;
        let text = format!("SHA256 (a) = {B64_256}\nMD5 (b) = {B64_MD5}\n");
        let manifest = read_manifest(text.as_bytes(), None).unwrap();
        assert_eq!(manifest.expected(0).to_hex(), H256);
        assert_eq!(manifest.expected(1).to_hex(), MD5);
        assert_eq!(manifest.entries[1].algorithm, Md5);
        let bad = [
            // Unpadded, as GNU refuses it.
            format!("SHA256 (a) = {}", B64_256.trim_end_matches('=')),
            // One character off the alphabet, and the length of another algorithm.
            format!("SHA256 (a) = {}!", &B64_256[..43]),
            format!("SHA1 (a) = {B64_256}"),
            // Base64 is for tagged lines only, as cksum writes it.
            format!("{B64_256}  a"),
        ];
        for line in bad {
            assert!(
                read_manifest(line.as_bytes(), Some(Sha256)).is_err(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_trailing_cr_is_dropped_except_from_the_name_of_an_untagged_blake3_line() {
        use Algorithm::*;
        // (line, algorithm of the untagged lines, name)
        let cases: [(String, Algorithm, &[u8]); 8] = [
            (format!("{H256}  x\r"), Sha256, b"x"),
            (format!("{H256}  x\r"), Blake2b(32), b"x"),
            (format!("SHA256 (x) = {H256}\r"), Sha256, b"x"),
            // As `b3sum -c` reads it: lines end at LF only, CR is not escaped.
            (format!("{H256}  x\r"), Blake3, b"x\r"),
            (format!("{H256} *x\r"), Blake3, b"x\r"),
            (format!("\\{H256}  a\\nb\r"), Blake3, b"a\nb\r"),
            (format!("{H256}  \r"), Blake3, b"\r"),
            // A tagged line's CR follows its digest, never its name.
            (format!("BLAKE3 (x) = {H256}\r"), Blake3, b"x"),
        ];
        for (line, algorithm, name) in cases {
            let parsed = Parser::new(Some(algorithm))
                .parse_line(line.as_bytes())
                .unwrap_or_else(|e| panic!("{line:?}: {e:?}"))
                .unwrap_or_else(|| panic!("{line:?} skipped"));
            assert_eq!(parsed.name, name, "{line:?} as {algorithm}");
        }
    }

    #[test]
    fn an_ambiguous_length_is_an_error_naming_the_candidates() {
        use Algorithm::*;
        let cases = [
            (
                format!("{H256}  a\n"),
                "line 1: a 64-digit checksum could be SHA-256, BLAKE2b-256 or BLAKE3: say \
                 which algorithm (checksig -a, algorithm=), or name the manifest as its tool \
                 does (sha256sum.txt, b2sums.txt or b3sums.txt)",
            ),
            (
                format!("# made by b2sum\n{H512}  a\n"),
                "line 2: a 128-digit checksum could be SHA-512 or BLAKE2b: say which \
                 algorithm (checksig -a, algorithm=), or name the manifest as its tool does \
                 (sha512sum.txt or b2sums.txt)",
            ),
        ];
        for (text, message) in &cases {
            assert_eq!(algorithms(text, None), Err(message.to_string()));
        }
        // Given (or told by the manifest's name), there is nothing to guess.
        let decided: [(&str, Algorithm, Algorithm); 6] = [
            (H256, Sha256, Sha256),
            (H256, Blake3, Blake3),
            (H256, Blake2b(64), Blake2b(32)),
            (H512, Sha512, Sha512),
            (H512, Blake2b(64), Blake2b(64)),
            (H512, Blake2b(32), Blake2b(64)),
        ];
        for (hex, given, algorithm) in decided {
            let text = format!("{hex}  a\n");
            assert_eq!(
                algorithms(&text, Some(given)),
                Ok(vec![algorithm]),
                "{given}"
            );
        }
    }

    #[test]
    fn a_line_of_another_algorithm_is_a_bad_line() {
        let cases = [
            (
                format!("{H1}  a\n{H256}  b\n"),
                None,
                "line 2: the checksum is not 40 hex digits",
            ),
            (
                format!("{H256}  a\n"),
                Some(Algorithm::Sha1),
                "line 1: the checksum is not 40 hex digits",
            ),
            (
                format!("SHA512 (a) = {H256}\n"),
                None,
                "line 1: the SHA-512 checksum is neither 128 hex digits nor 88 base64 \
                 characters",
            ),
            (
                format!("{}  a\n", &H1[..30]),
                None,
                "line 1: the checksum is not the hex digest of a known algorithm (32, 40, \
                 56, 64, 96 or 128 digits)",
            ),
            (
                format!("{}  a\n", &H1[..31]),
                Some(Algorithm::Blake2b(64)),
                "line 1: the checksum is not a BLAKE2b digest (an even number of hex \
                 digits, 2 to 128)",
            ),
            (
                format!("SM3 (a) = {H1}\n"),
                None,
                "line 1: a tagged line of an algorithm checksig does not know (it reads \
                 MD5, SHA1, SHA224, SHA256, SHA384, SHA512, BLAKE2b and BLAKE3)",
            ),
            (
                format!("BLAKE2b-12 (a) = {H1}\n"),
                None,
                "line 1: the BLAKE2b tag's length is not a number of bits, a multiple of 8 \
                 from 8 to 512 (BLAKE2b-256)",
            ),
            (
                format!("sha1 (a) = {H1}\n"),
                None,
                "line 1: a tag in the wrong case (tags are read as the tools write them: \
                 MD5, SHA1, SHA224, SHA256, SHA384, SHA512, BLAKE2b, BLAKE3)",
            ),
            ("garbage\n".to_string(), None, "line 1: not a checksum line"),
            (
                "garbage\n".to_string(),
                Some(Algorithm::Sha512),
                "line 1: not a SHA-512 checksum line",
            ),
        ];
        for (text, algorithm, message) in cases {
            let error = read_manifest(text.as_bytes(), algorithm).unwrap_err();
            assert_eq!(error.to_string(), message, "{text:?}");
        }
    }

    #[test]
    fn the_digest_table_widens_for_a_longer_digest() {
        let text = format!("{MD5}  a\nSHA512 (b) = {H512}\nSHA1 (c) = {H1}\n");
        let manifest = read_manifest(text.as_bytes(), None).unwrap();
        let hex: Vec<String> = (0..3).map(|i| manifest.expected(i).to_hex()).collect();
        assert_eq!(hex, [MD5, H512, H1]);
    }
}

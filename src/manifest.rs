//! The manifest parser: bytes in, checksum entries out. Pure: no file system.
//!
//! It reads what GNU coreutils `sha1sum`, `sha256sum` and `sha512sum` write and read
//! back with `-c`:
//!
//! | form                 | example                              |
//! |----------------------|--------------------------------------|
//! | text (two spaces)    | `<hex>  name`                        |
//! | binary marker        | `<hex> *name`                        |
//! | single space         | `<hex> name`                         |
//! | BSD tag              | `SHA256 (name) = <hex>`              |
//! | escaped name         | `\<hex>  a\\b\nc` (any form above) |
//!
//! One manifest holds one algorithm: the caller's, else the one its file name
//! announces, else the one its first checksum line shows (a BSD tag, or the length of
//! the hex: 40, 64 or 128 digits). A line of another algorithm is a bad line.
//!
//! The untagged form is decided once per manifest, by its first untagged checksum line,
//! as GNU decides it (coreutils `split_3`, its `bsd_reversed` flag): a first
//! `<hex> <name>` line (one blank, then neither a space nor `*`, as BSD `md5 -r` and
//! `openssl dgst -r` write) puts the whole manifest in the single-space form, where the
//! name is everything after that blank, so `<hex>  x` names ` x`; otherwise a later
//! single-space line is a bad line. Reading each line on its own would verify another
//! file than GNU does, and say OK for it. Tagged lines may stand among either form.
//!
//! Where it is stricter than GNU, on purpose: a line that is none of these is an error
//! naming its line number (GNU only warns and goes on), and a manifest without a single
//! entry is an error. Both stop the check before anything is hashed, because a manifest
//! that is half garbage is more likely truncated or tampered with than half right.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use crate::algorithm::{Algorithm, Digest, MAX_DIGEST_LEN};
use crate::text::{os_reason, unescape_name, BadEscape};

/// The longest manifest line accepted, in bytes. A name is at most `PATH_MAX` (4096)
/// bytes, twice that escaped; anything far longer is garbage, and reading it line by
/// line must not allocate without bound.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// One checksum line of the manifest. Its digest lives in [`Manifest`]'s shared buffer:
/// on a million-line manifest, one allocation instead of a million.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name as written (unescaped), byte for byte: relative to the root.
    pub name: Box<[u8]>,
    /// 1-based line number in the manifest, for messages.
    pub line: u32,
}

/// A parsed manifest: its algorithm and its entries, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub algorithm: Algorithm,
    pub entries: Vec<Entry>,
    /// The expected digests, `algorithm.digest_len()` bytes per entry, in entry order.
    digests: Vec<u8>,
}

impl Manifest {
    fn new(algorithm: Algorithm, mut entries: Vec<Entry>, mut digests: Vec<u8>) -> Manifest {
        // A million entries leave up to a million slots of growth slack: give them back.
        entries.shrink_to_fit();
        digests.shrink_to_fit();
        Manifest {
            algorithm,
            entries,
            digests,
        }
    }

    /// The digest entry `index` expects.
    pub fn expected(&self, index: usize) -> Digest {
        let len = self.algorithm.digest_len();
        Digest::new(&self.digests[index * len..(index + 1) * len])
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
    /// The digest is not hex of the length of the algorithm given (or of any, for
    /// `None`).
    BadDigest(Option<Algorithm>),
    /// A BSD tag of another algorithm than the manifest's.
    OtherAlgorithm(Algorithm),
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
    /// The phrase for a manifest of `algorithm` (when known).
    fn describe(&self, algorithm: Option<Algorithm>) -> String {
        match (self, algorithm) {
            (LineError::NotAChecksumLine, Some(a)) => format!("not a {a} checksum line"),
            (LineError::NotAChecksumLine, None) => "not a checksum line".into(),
            (LineError::BadDigest(Some(a)), _) => {
                format!("the checksum is not {} hex digits", a.digest_len() * 2)
            }
            (LineError::BadDigest(None), _) => {
                "the checksum is not 40, 64 or 128 hex digits".into()
            }
            (LineError::OtherAlgorithm(other), Some(a)) => {
                format!("a {other} line in a {a} manifest")
            }
            (LineError::OtherAlgorithm(other), None) => format!("an unexpected {other} line"),
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
        }
    }
}

/// Reads a whole manifest, line by line, with bounded memory per line.
///
/// `algorithm` is the one the manifest must hold, or `None` to take it from the first
/// checksum line. Empty lines and lines starting with `#` are skipped. A trailing CR
/// (CRLF files) is dropped. The first bad line stops the read with its number.
pub fn read_manifest<R: Read>(
    reader: R,
    algorithm: Option<Algorithm>,
) -> Result<Manifest, ManifestError> {
    let mut parser = Parser::new(algorithm);
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for_each_line(reader, 1, u64::MAX, |number, _, line| {
        if let Some(parsed) = parse_numbered(&mut parser, number, line)? {
            digests.extend_from_slice(parsed.digest.as_bytes());
            entries.push(Entry {
                name: parsed.name.into_boxed_slice(),
                line: number,
            });
        }
        Ok(())
    })?;
    let Some(algorithm) = parser.algorithm.filter(|_| !entries.is_empty()) else {
        return Err(ManifestError::Empty);
    };
    Ok(Manifest::new(algorithm, entries, digests))
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
/// algorithm and GNU's untagged form (the first checksum lines of the whole manifest
/// decide them, not each part's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub parser: Parser,
    /// Checksum lines in the whole manifest.
    pub entries: u64,
    pub parts: Vec<Part>,
}

/// Reads the whole manifest (`len` bytes) once, as [`read_manifest`] does, keeping
/// only line counts and offsets, and cuts it into at most `parts` parts of about equal
/// bytes at line starts. Every error `read_manifest` gives (a bad line, an empty
/// manifest) is given here, so that the parts need not agree on one.
pub fn split_manifest<R: Read>(
    reader: R,
    len: u64,
    algorithm: Option<Algorithm>,
    parts: usize,
) -> Result<Split, ManifestError> {
    let parts = parts.max(1) as u64;
    let mut parser = Parser::new(algorithm);
    let mut entries = 0u64;
    let mut starts: Vec<(u64, u32)> = vec![(0, 1)];
    let cut = |index: u64| index * len / parts;
    for_each_line(reader, 1, u64::MAX, |number, offset, line| {
        if offset > 0 && offset >= cut(starts.len() as u64) && (starts.len() as u64) < parts {
            starts.push((offset, number));
        }
        if parse_numbered(&mut parser, number, line)?.is_some() {
            entries += 1;
        }
        Ok(())
    })?;
    if entries == 0 || parser.algorithm.is_none() {
        return Err(ManifestError::Empty);
    }
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
        entries,
        parts,
    })
}

/// Reads one part of a manifest: `reader` is at `part.start`, and lines are read while
/// they start before `part.end`, numbered from `part.first_line`, in the form and of
/// the algorithm the whole manifest decided (`parser`, from [`split_manifest`]). A
/// part without an entry is no error (the whole manifest has entries).
pub fn read_manifest_part<R: Read>(
    reader: R,
    mut parser: Parser,
    part: Part,
) -> Result<Manifest, ManifestError> {
    let algorithm = parser.algorithm.ok_or(ManifestError::Empty)?;
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    let len = part.end.saturating_sub(part.start);
    for_each_line(reader, part.first_line, len, |number, _, line| {
        if let Some(parsed) = parse_numbered(&mut parser, number, line)? {
            digests.extend_from_slice(parsed.digest.as_bytes());
            entries.push(Entry {
                name: parsed.name.into_boxed_slice(),
                line: number,
            });
        }
        Ok(())
    })?;
    Ok(Manifest::new(algorithm, entries, digests))
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

/// Calls `each` with every line (without its `\n`), its number (from `first_line`)
/// and its offset from the reader's start, for the lines that start in the first
/// `limit` bytes; with bounded memory per line.
fn for_each_line<R: Read>(
    reader: R,
    first_line: u32,
    limit: u64,
    mut each: impl FnMut(u32, u64, &[u8]) -> Result<(), ManifestError>,
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
        each(number, offset, &line)?;
        offset += read as u64;
        number = number.checked_add(1).ok_or(ManifestError::TooManyLines)?;
    }
    Ok(())
}

/// The parser of one manifest's lines: what the lines read so far have decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parser {
    /// The manifest's algorithm: the caller's, or the first checksum line's.
    pub algorithm: Option<Algorithm>,
    /// The untagged form, set by the first untagged checksum line.
    pub form: Option<UntaggedForm>,
}

impl Parser {
    /// A parser for a manifest of `algorithm` (`None`: the first checksum line tells).
    pub fn new(algorithm: Option<Algorithm>) -> Parser {
        Parser {
            algorithm,
            form: None,
        }
    }

    /// Parses one line (without its `\n`). `Ok(None)` for a line to skip: empty (after
    /// dropping a trailing CR) or a `#` comment. The first checksum line fixes the
    /// algorithm (when not given) and the first untagged one the form.
    pub fn parse_line(&mut self, line: &[u8]) -> Result<Option<ChecksumLine>, LineError> {
        let parsed = parse_line(line, self.algorithm, self.form)?;
        if let Some((checksum, form)) = &parsed {
            self.algorithm = Some(checksum.algorithm);
            self.form = self.form.or(*form);
        }
        Ok(parsed.map(|(checksum, _)| checksum))
    }
}

/// One line in a manifest of `algorithm` (if known) whose untagged lines are in
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
    let (raw_name, digest_text, line_algorithm, line_form) = match bsd_tag(rest) {
        Some((tag_algorithm, body)) => {
            if algorithm.is_some_and(|a| a != tag_algorithm) {
                return Err(LineError::OtherAlgorithm(tag_algorithm));
            }
            let (name, digest_text) = split_bsd_tag(body)?;
            (name, digest_text, tag_algorithm, None)
        }
        None => {
            let (name, digest_text, line_form) = split_untagged(rest, algorithm, form)?;
            let line_algorithm = match algorithm {
                Some(a) => a,
                None => {
                    Algorithm::from_hex_len(digest_text.len()).ok_or(LineError::BadDigest(None))?
                }
            };
            (name, digest_text, line_algorithm, Some(line_form))
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
    let checksum = ChecksumLine {
        name,
        algorithm: line_algorithm,
        digest: decode_digest(digest_text, line_algorithm)?,
    };
    Ok(Some((checksum, line_form)))
}

/// GNU's blank: space or tab.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// If `rest` starts a BSD tag line of a known algorithm (`SHA256 (` or `SHA256(`), that
/// algorithm and what follows the `(`. An unknown tag (`MD5 (`) is not a tag line here,
/// and fails later as not a checksum line.
fn bsd_tag(rest: &[u8]) -> Option<(Algorithm, &[u8])> {
    Algorithm::ALL.into_iter().find_map(|algorithm| {
        let after_tag = rest.strip_prefix(algorithm.tag().as_bytes())?;
        let after_space = after_tag.strip_prefix(b" ").unwrap_or(after_tag);
        Some((algorithm, after_space.strip_prefix(b"(")?))
    })
}

/// `name) = hex` → (name, hex). The name runs to the last `)`, as in GNU, so names
/// holding `)` work; blanks around `=` are allowed.
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

/// `hex<blank>[ |*]name` or `hex<blank>name` → (name, hex, the form the line shows).
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
) -> Result<(&[u8], &[u8], UntaggedForm), LineError> {
    let digest_end = rest
        .iter()
        .position(|&b| is_blank(b))
        .ok_or(LineError::NotAChecksumLine)?;
    let digest_text = &rest[..digest_end];
    let valid_len = match algorithm {
        Some(a) => a.digest_len() * 2 == digest_end,
        None => Algorithm::from_hex_len(digest_end).is_some(),
    };
    if digest_end == 0 || !digest_text.iter().all(u8::is_ascii_hexdigit) {
        return Err(LineError::NotAChecksumLine);
    }
    if !valid_len {
        return Err(LineError::BadDigest(algorithm));
    }
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
    Ok((name, digest_text, line_form))
}

fn trim_blanks_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn decode_digest(hex_digest: &[u8], algorithm: Algorithm) -> Result<Digest, LineError> {
    let bad = LineError::BadDigest(Some(algorithm));
    let mut bytes = [0u8; MAX_DIGEST_LEN];
    let len = algorithm.digest_len();
    if hex_digest.len() != 2 * len {
        return Err(bad);
    }
    hex::decode_to_slice(hex_digest, &mut bytes[..len]).map_err(|_| bad)?;
    Ok(Digest::new(&bytes[..len]))
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
            (format!("SHA1 (x) = {HEX} "), LineError::BadDigest(SHA1)),
            (format!("SHA1 () = {HEX}"), LineError::EmptyName),
            (
                format!("SHA256 (x) = {HEX}"),
                LineError::OtherAlgorithm(Algorithm::Sha256),
            ),
            (format!("{HEX}{HEX}  x"), LineError::BadDigest(SHA1)),
            (format!("MD5 (x) = {HEX}"), LineError::NotAChecksumLine),
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
mod algorithm_tests {
    use super::*;

    const H1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const H256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const H512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                        47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    #[test]
    fn the_algorithm_follows_from_the_first_line_when_not_given() {
        let cases = [
            (format!("{H1}  a\n{H1}  b\n"), Algorithm::Sha1),
            (format!("{H256}  a\n{H256} *b\n"), Algorithm::Sha256),
            (format!("{H512}  a\n"), Algorithm::Sha512),
            (
                format!("SHA256 (a) = {H256}\n{H256}  b\n"),
                Algorithm::Sha256,
            ),
            (
                format!("# comment\nSHA512 (a) = {H512}\n"),
                Algorithm::Sha512,
            ),
        ];
        for (text, algorithm) in cases {
            let manifest = read_manifest(text.as_bytes(), None).unwrap();
            assert_eq!(manifest.algorithm, algorithm, "{text:?}");
            assert_eq!(
                manifest.expected(0).as_bytes().len(),
                algorithm.digest_len()
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
                format!("{H256}  a\nSHA1 (b) = {H1}\n"),
                None,
                "line 2: a SHA-1 line in a SHA-256 manifest",
            ),
            (
                format!("SHA512 (a) = {H256}\n"),
                None,
                "line 1: the checksum is not 128 hex digits",
            ),
            (
                format!("{}  a\n", &H1[..30]),
                None,
                "line 1: the checksum is not 40, 64 or 128 hex digits",
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
}

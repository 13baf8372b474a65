//! The manifest parser: bytes in, checksum entries out. Pure: no file system.
//!
//! It reads what GNU coreutils `sha1sum` writes and `sha1sum -c` reads, for SHA-1:
//!
//! | form                 | example                              |
//! |----------------------|--------------------------------------|
//! | text (two spaces)    | `<40 hex>  name`                     |
//! | binary marker        | `<40 hex> *name`                     |
//! | single space         | `<40 hex> name`                      |
//! | BSD tag              | `SHA1 (name) = <40 hex>`             |
//! | escaped name         | `\<40 hex>  a\\b\nc` (any form above) |
//!
//! Where it is stricter than GNU, on purpose: a line that is none of these is an error
//! naming its line number (GNU only warns and goes on), and a manifest without a single
//! entry is an error. Both stop the check before anything is hashed, because a manifest
//! that is half garbage is more likely truncated or tampered with than half right.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// Length of a SHA-1 digest in bytes.
pub const DIGEST_LEN: usize = 20;

/// The longest manifest line accepted, in bytes. A name is at most `PATH_MAX` (4096)
/// bytes, twice that escaped; anything far longer is garbage, and reading it line by
/// line must not allocate without bound.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// One checksum line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name as written (unescaped), byte for byte: relative to the root.
    pub name: Box<[u8]>,
    /// The digest the manifest expects.
    pub expected: [u8; DIGEST_LEN],
    /// 1-based line number in the manifest, for messages.
    pub line: u32,
}

/// One parsed line: what `parse_line` returns for a checksum line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumLine {
    pub name: Vec<u8>,
    pub expected: [u8; DIGEST_LEN],
}

/// Why a line is not a checksum line. Short, uniform phrases: they end up in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// Neither `<hex> <name>` nor `SHA1 (<name>) = <hex>`.
    NotAChecksumLine,
    /// The digest is not 40 hex digits.
    BadDigest,
    /// The name is empty.
    EmptyName,
    /// A backslash in an escaped name is not followed by `\`, `n` or `r`.
    BadEscape,
    /// A NUL byte: no file name can hold one, so this is binary garbage.
    NulByte,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineError::NotAChecksumLine => "not a SHA-1 checksum line",
            LineError::BadDigest => "the checksum is not 40 hex digits",
            LineError::EmptyName => "the file name is empty",
            LineError::BadEscape => "bad backslash escape in the file name",
            LineError::NulByte => "contains a NUL byte",
        })
    }
}

/// Why a whole manifest is refused.
#[derive(Debug)]
pub enum ManifestError {
    /// Reading the manifest failed.
    Io(io::Error),
    /// Line `line` is not a checksum line.
    BadLine { line: u32, error: LineError },
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
                write!(f, "cannot read manifest: {}", crate::report::os_reason(e))
            }
            ManifestError::BadLine { line, error } => write!(f, "line {line}: {error}"),
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
/// Empty lines, lines of only blanks and lines starting with `#` are skipped. A trailing
/// CR (CRLF files) is dropped. The first bad line stops the read with its number.
pub fn read_manifest<R: Read>(reader: R) -> Result<Vec<Entry>, ManifestError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut entries = Vec::new();
    let mut line = Vec::with_capacity(256);
    let mut number: u32 = 0;
    loop {
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
        number = number.checked_add(1).ok_or(ManifestError::TooManyLines)?;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE_LEN {
            return Err(ManifestError::LineTooLong { line: number });
        }
        match parse_line(&line) {
            Ok(Some(parsed)) => entries.push(Entry {
                name: parsed.name.into_boxed_slice(),
                expected: parsed.expected,
                line: number,
            }),
            Ok(None) => {}
            Err(error) => {
                return Err(ManifestError::BadLine {
                    line: number,
                    error,
                })
            }
        }
    }
    if entries.is_empty() {
        return Err(ManifestError::Empty);
    }
    // A million entries leave up to a million slots of growth slack: give them back.
    entries.shrink_to_fit();
    Ok(entries)
}

/// Parses one line (without its `\n`). `Ok(None)` for a line to skip: empty, blanks
/// only, or a `#` comment.
pub fn parse_line(line: &[u8]) -> Result<Option<ChecksumLine>, LineError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.first() == Some(&b'#') || line.iter().all(|&b| is_blank(b)) {
        return Ok(None);
    }
    if line.contains(&0) {
        return Err(LineError::NulByte);
    }
    // GNU skips leading blanks before anything else.
    let start = line
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(line.len());
    let mut rest = &line[start..];
    // A leading backslash says the name is escaped (it holds `\\`, `\n` or `\r`).
    let escaped = match rest.strip_prefix(b"\\") {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    let (raw_name, hex_digest) = match bsd_tag_body(rest) {
        Some(body) => split_bsd_tag(body)?,
        None => split_gnu(rest)?,
    };
    let name = if escaped {
        unescape_name(raw_name)?
    } else {
        raw_name.to_vec()
    };
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    Ok(Some(ChecksumLine {
        name,
        expected: decode_digest(hex_digest)?,
    }))
}

/// GNU's blank: space or tab.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// If `rest` starts a BSD tag line (`SHA1 (` or `SHA1(`), what follows the `(`.
fn bsd_tag_body(rest: &[u8]) -> Option<&[u8]> {
    let after_tag = rest.strip_prefix(b"SHA1")?;
    let after_space = after_tag.strip_prefix(b" ").unwrap_or(after_tag);
    after_space.strip_prefix(b"(")
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

/// `hex<blank>[ |*]name` or `hex<blank>name` → (name, hex).
///
/// After the digest and one blank, GNU reads a type indicator: a space (text) or `*`
/// (binary). With neither, it is the single-space form and the name starts right
/// there; a name that is a single byte is also read that way.
fn split_gnu(rest: &[u8]) -> Result<(&[u8], &[u8]), LineError> {
    let hex_end = rest
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(rest.len());
    if hex_end == 0 {
        return Err(LineError::NotAChecksumLine);
    }
    let Some(&separator) = rest.get(hex_end) else {
        return Err(LineError::NotAChecksumLine);
    };
    if !is_blank(separator) {
        return Err(if hex_end != 2 * DIGEST_LEN {
            LineError::BadDigest
        } else {
            LineError::NotAChecksumLine
        });
    }
    let after = &rest[hex_end + 1..];
    let name = match after.first() {
        Some(b' ') | Some(b'*') if after.len() > 1 => &after[1..],
        _ => after,
    };
    Ok((name, &rest[..hex_end]))
}

fn trim_blanks_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Undoes GNU's name escaping: `\\` → `\`, `\n` → LF, `\r` → CR. Anything else after a
/// backslash, or a backslash at the end, is refused as GNU refuses it.
fn unescape_name(raw: &[u8]) -> Result<Vec<u8>, LineError> {
    let mut name = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        if byte != b'\\' {
            name.push(byte);
            continue;
        }
        name.push(match bytes.next() {
            Some(b'\\') => b'\\',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            _ => return Err(LineError::BadEscape),
        });
    }
    Ok(name)
}

fn decode_digest(hex_digest: &[u8]) -> Result<[u8; DIGEST_LEN], LineError> {
    let mut digest = [0u8; DIGEST_LEN];
    if hex_digest.len() != 2 * DIGEST_LEN {
        return Err(LineError::BadDigest);
    }
    hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| LineError::BadDigest)?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const UPPER: &str = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";

    fn digest() -> [u8; DIGEST_LEN] {
        let mut d = [0u8; DIGEST_LEN];
        hex::decode_to_slice(HEX, &mut d).unwrap();
        d
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
            let parsed = parse_line(line.as_bytes())
                .unwrap_or_else(|e| panic!("{line:?}: {e}"))
                .unwrap_or_else(|| panic!("{line:?} skipped"));
            assert_eq!(parsed.name, *name, "{line:?}");
            assert_eq!(parsed.expected, digest(), "{line:?}");
        }
    }

    #[test]
    fn non_utf8_name_is_kept_byte_for_byte() {
        let mut line = format!("{HEX}  caf").into_bytes();
        line.extend_from_slice(&[0xe9, 0xff, b'.', b'x']);
        let parsed = parse_line(&line).unwrap().unwrap();
        assert_eq!(parsed.name, b"caf\xe9\xff.x");
    }

    #[test]
    fn lines_that_are_skipped() {
        for line in [
            "",
            "\r",
            "   ",
            "\t",
            "# comment",
            "#",
            &format!("#{HEX}  x"),
        ] {
            assert_eq!(parse_line(line.as_bytes()), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn lines_that_fail() {
        let cases: &[(String, LineError)] = &[
            ("hello world".into(), LineError::NotAChecksumLine),
            ("x".into(), LineError::NotAChecksumLine),
            (HEX.into(), LineError::NotAChecksumLine),
            (format!("{HEX} "), LineError::EmptyName),
            (format!("{HEX}a  x"), LineError::BadDigest),
            (format!("{}  x", &HEX[..39]), LineError::BadDigest),
            (format!("{HEX}0  x"), LineError::BadDigest),
            (format!("{HEX}:x"), LineError::NotAChecksumLine),
            (format!("{HEX}  a\0b"), LineError::NulByte),
            (format!("\\{HEX}  a\\tb"), LineError::BadEscape),
            (format!("\\{HEX}  a\\"), LineError::BadEscape),
            (format!("SHA1 (x) {HEX}"), LineError::NotAChecksumLine),
            (format!("SHA1 x = {HEX}"), LineError::NotAChecksumLine),
            (format!("SHA1 (x) = {HEX} "), LineError::BadDigest),
            (format!("SHA1 () = {HEX}"), LineError::EmptyName),
            (format!("SHA256 (x) = {HEX}"), LineError::NotAChecksumLine),
            (format!("MD5 (x) = {HEX}"), LineError::NotAChecksumLine),
        ];
        for (line, error) in cases {
            assert_eq!(parse_line(line.as_bytes()), Err(*error), "{line:?}");
        }
    }

    #[test]
    fn manifests() {
        let good = format!("# made by sha1sum\n{HEX}  a\r\n\n{HEX} *b\nSHA1 (c) = {HEX}");
        let entries = read_manifest(good.as_bytes()).unwrap();
        let names: Vec<&[u8]> = entries.iter().map(|e| &*e.name).collect();
        assert_eq!(names, [&b"a"[..], b"b", b"c"]);
        let lines: Vec<u32> = entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5]);

        let bad = format!("{HEX}  a\n\nnot a line\n{HEX}  b\n");
        match read_manifest(bad.as_bytes()) {
            Err(ManifestError::BadLine { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        for empty in ["", "\n\n", "# only a comment\n"] {
            assert!(matches!(
                read_manifest(empty.as_bytes()),
                Err(ManifestError::Empty)
            ));
        }
    }

    #[test]
    fn a_huge_line_is_refused_without_reading_it_whole() {
        let mut huge = format!("{HEX}  a\n").into_bytes();
        huge.extend(std::iter::repeat(b'x').take(2 * 1024 * 1024));
        huge.push(b'\n');
        match read_manifest(&huge[..]) {
            Err(ManifestError::LineTooLong { line: 2 }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_last_line_without_newline_is_refused() {
        let huge = vec![b'a'; MAX_LINE_LEN + 1];
        assert!(matches!(
            read_manifest(&huge[..]),
            Err(ManifestError::LineTooLong { line: 1 })
        ));
    }
}

//! Bytes for people: GNU's escaping of names, paths quoted in messages, and the OS's
//! words for an error. Defined once here for the parser, the reports, manifest
//! creation and (through the C ABI) the Python command line.

use std::io;

/// Whether GNU escapes `name` when it writes it: it holds a backslash, LF or CR.
pub fn needs_escape(name: &[u8]) -> bool {
    name.iter().any(|&b| b == b'\\' || b == b'\n' || b == b'\r')
}

/// GNU's name escaping, the inverse of [`unescape_name`]: `\` → `\\`, LF → `\n`,
/// CR → `\r`, appended to `out`. Writers of manifest lines and of messages (where a
/// path must stay on one line) share it.
pub fn push_escaped(out: &mut Vec<u8>, name: &[u8]) {
    for &byte in name {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

/// A name on a verdict line, in `sha1sum -c`'s form: unchanged, or, when it holds a
/// backslash, line feed or CR, a leading `\` and the escaped name, as `sha1sum` writes
/// such a name in a manifest (`sha1sum -c` 9.1 escapes only a line feed there: a name
/// holding `\n` as two bytes would then read as one holding a line break).
pub fn push_display_name(out: &mut Vec<u8>, name: &[u8]) {
    if needs_escape(name) {
        out.push(b'\\');
        push_escaped(out, name);
    } else {
        out.extend_from_slice(name);
    }
}

/// A backslash not followed by `\`, `n` or `r`, or one at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadEscape;

/// Undoes GNU's name escaping: `\\` → `\`, `\n` → LF, `\r` → CR. Anything else after a
/// backslash, or a backslash at the end, is refused as GNU refuses it.
pub fn unescape_name(raw: &[u8]) -> Result<Vec<u8>, BadEscape> {
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
            _ => return Err(BadEscape),
        });
    }
    Ok(name)
}

/// `"path"`. A path holding a line break would split the one-failure-per-line message,
/// so such a path is escaped as GNU escapes names (`\\`, `\n`, `\r`) and, as GNU marks
/// an escaped name, preceded by a `\`: `\"a\nb"` is `a`, line feed, `b`, where `"a\nb"`
/// is the four bytes as they stand. Any other path is shown byte for byte, as the Go
/// library did.
pub fn quote_path(path: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(path.len() + 3);
    if path.iter().any(|&b| b == b'\n' || b == b'\r') {
        quoted.extend_from_slice(b"\\\"");
        push_escaped(&mut quoted, path);
    } else {
        quoted.push(b'"');
        quoted.extend_from_slice(path);
    }
    quoted.push(b'"');
    quoted
}

/// The OS's words for an I/O error, without Rust's ` (os error N)` suffix.
pub fn os_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            // name, escaped, as `sha1sum -c` shows it
            (b"plain", b"plain", b"plain"),
            (b"a\\b", b"a\\\\b", b"\\a\\\\b"),
            (b"new\nline", b"new\\nline", b"\\new\\nline"),
            (b"cr\r", b"cr\\r", b"\\cr\\r"),
            (b"\xff", b"\xff", b"\xff"),
        ];
        for (name, escaped, shown) in cases {
            let mut out = Vec::new();
            push_escaped(&mut out, name);
            assert_eq!(out, *escaped);
            assert_eq!(unescape_name(&out).as_deref(), Ok(*name));
            let mut display = Vec::new();
            push_display_name(&mut display, name);
            assert_eq!(display, *shown);
        }
        assert_eq!(unescape_name(b"a\\tb"), Err(BadEscape));
        assert_eq!(unescape_name(b"a\\"), Err(BadEscape));
    }

    #[test]
    fn os_reason_drops_the_error_number() {
        let error = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os_reason(&error), "No such file or directory");
    }
}

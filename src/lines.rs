//! Verdicts as output lines, for tools that print every entry as they go: the lines of
//! `sha1sum -c` (`path: OK`, `path: FAILED (reason)`), and JSON Lines for scripts and
//! CI systems. Formatted here, in batches, so that a command line printing a million
//! lines does not build an object per line in a slower language.

use crate::paths::display_join;
use crate::report::{Status, Verdict};
use crate::text::push_display_name;

/// How verdicts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// `sha1sum -c`: `path: OK` and `path: FAILED (reason)`; a missing file skipped
    /// under `ignore_missing` gives no line, as in GNU.
    Text,
    /// As `Text`, failures only (`--quiet`).
    Failures,
    /// One JSON object per entry: `{"path": ..., "line": N, "status": "OK" | "FAILED" |
    /// "SKIPPED", "reason": null | "mismatch" | ..., "detail": "...", "expected":
    /// "hex", "actual": null | "hex"}`. Bytes of a path that are not UTF-8 are written
    /// as the lone surrogates `\udc80`-`\udcff`, as Python's `surrogateescape` reads
    /// them (`os.fsencode` gives the bytes back).
    Json,
}

/// Appends `verdict`'s line (with its `\n`) for a check of `root`, if it has one.
pub fn push_line(out: &mut Vec<u8>, format: LineFormat, root: &[u8], verdict: &Verdict<'_>) {
    let path = display_join(root, verdict.name);
    match (format, &verdict.status) {
        (_, Status::Skipped) if format != LineFormat::Json => {}
        (LineFormat::Failures, Status::Ok) => {}
        (LineFormat::Text, Status::Ok) => {
            push_display_name(out, &path);
            out.extend_from_slice(b": OK\n");
        }
        (LineFormat::Text | LineFormat::Failures, Status::Failed(reason)) => {
            push_display_name(out, &path);
            out.extend_from_slice(format!(": FAILED ({reason})\n").as_bytes());
        }
        (LineFormat::Json, status) => push_json(out, &path, verdict, status),
        (_, Status::Skipped) => unreachable!("skipped entries have a line only in JSON"),
    }
}

fn push_json(out: &mut Vec<u8>, path: &[u8], verdict: &Verdict<'_>, status: &Status) {
    out.extend_from_slice(b"{\"path\": ");
    push_json_string(out, path);
    let (word, reason, detail) = match status {
        Status::Ok => ("OK", None, ""),
        Status::Skipped => ("SKIPPED", None, ""),
        Status::Failed(reason) => ("FAILED", Some(reason.word()), reason.detail()),
    };
    out.extend_from_slice(
        format!(", \"line\": {}, \"status\": \"{word}\"", verdict.line).as_bytes(),
    );
    out.extend_from_slice(b", \"reason\": ");
    match reason {
        Some(reason) => push_json_string(out, reason.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b", \"detail\": ");
    push_json_string(out, detail.as_bytes());
    out.extend_from_slice(format!(", \"expected\": \"{}\"", verdict.expected.to_hex()).as_bytes());
    match verdict.actual {
        Some(actual) => {
            out.extend_from_slice(format!(", \"actual\": \"{}\"}}\n", actual.to_hex()).as_bytes())
        }
        None => out.extend_from_slice(b", \"actual\": null}\n"),
    }
}

/// A JSON string of `bytes`: UTF-8 kept, invalid bytes as `\udcXX` (surrogateescape).
fn push_json_string(out: &mut Vec<u8>, mut bytes: &[u8]) {
    out.push(b'"');
    while !bytes.is_empty() {
        let (valid, rest) = match std::str::from_utf8(bytes) {
            Ok(text) => (text, &b""[..]),
            Err(error) => {
                let (valid, rest) = bytes.split_at(error.valid_up_to());
                (std::str::from_utf8(valid).expect("checked"), rest)
            }
        };
        for character in valid.chars() {
            match character {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => {
                    let mut encoded = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut encoded).as_bytes());
                }
            }
        }
        if let Some((&invalid, after)) = rest.split_first() {
            out.extend_from_slice(format!("\\udc{invalid:02x}").as_bytes());
            bytes = after;
        } else {
            bytes = rest;
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Digest;
    use crate::report::Reason;

    fn verdict(name: &[u8], status: Status) -> Verdict<'_> {
        Verdict {
            index: 0,
            line: 3,
            name,
            status,
            expected: Digest::new(&[0xab; 2]),
            actual: Some(Digest::new(&[0xcd; 2])),
        }
    }

    #[test]
    fn lines_in_every_format() {
        let mismatch = Status::Failed(Reason::Mismatch);
        let read_error = Status::Failed(Reason::ReadError("Input/output error".into()));
        let cases: &[(LineFormat, &[u8], Status, &str)] = &[
            (LineFormat::Text, b"a.log", Status::Ok, "d/a.log: OK\n"),
            (
                LineFormat::Text,
                b"a.log",
                mismatch.clone(),
                "d/a.log: FAILED (mismatch)\n",
            ),
            (LineFormat::Text, b"a\nb", Status::Ok, "\\d/a\\nb: OK\n"),
            (LineFormat::Text, b"gone", Status::Skipped, ""),
            (LineFormat::Failures, b"a.log", Status::Ok, ""),
            (
                LineFormat::Failures,
                b"r",
                read_error.clone(),
                "d/r: FAILED (read error: Input/output error)\n",
            ),
            (
                LineFormat::Json,
                b"a \"q\"\n\xff",
                mismatch,
                "{\"path\": \"d/a \\\"q\\\"\\n\\udcff\", \"line\": 3, \"status\": \"FAILED\", \
                 \"reason\": \"mismatch\", \"detail\": \"\", \"expected\": \"abab\", \
                 \"actual\": \"cdcd\"}\n",
            ),
            (
                LineFormat::Json,
                b"s",
                Status::Skipped,
                "{\"path\": \"d/s\", \"line\": 3, \"status\": \"SKIPPED\", \"reason\": null, \
                 \"detail\": \"\", \"expected\": \"abab\", \"actual\": \"cdcd\"}\n",
            ),
        ];
        for (format, name, status, line) in cases {
            let mut out = Vec::new();
            push_line(&mut out, *format, b"d", &verdict(name, status.clone()));
            assert_eq!(String::from_utf8_lossy(&out), *line, "{format:?} {name:?}");
        }
    }
}

//! Writing a manifest: every regular file under the root, sorted by name, hashed in
//! parallel by the same pool as the check, written in exactly GNU's format and
//! atomically.
//!
//! What is listed, and why:
//! - regular files, at any depth;
//! - symlinks to regular files, under the link's name (the check follows symlinks, as
//!   GNU `sha1sum` does, so the manifest verifies what a reader of the link sees);
//! - not the manifest itself, nor the temporary file it is written through.
//!
//! What is skipped (and counted in [`Created::skipped`]): FIFOs, sockets and devices
//! (no stable content to sign), dangling or looping symlinks, and symlinks to
//! directories (not followed, so a link cannot pull files from outside the root into the
//! manifest, nor loop forever). Directories are walked without following links.
//!
//! The manifest is written to a temporary file beside it, flushed to disk, then renamed
//! over the final name: an interrupted or failed run never leaves half a manifest.

use std::ffi::CStr;
use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::algorithm::Algorithm;
use crate::control::Control;
use crate::os::{DirEntry, EntryKind, FileStat, RootDir};
use crate::paths::{display_join, lexical_clean};
use crate::pool::{FileNames, Outcome, Run};
use crate::report::Error;
use crate::text::{needs_escape, push_escaped};

/// What a caller may choose when creating a manifest.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The algorithm (BLAKE2b with the digest length to write: `b2sum -l`).
    pub algorithm: Algorithm,
    /// Where to write, relative to the root unless absolute; `None` for the
    /// algorithm's usual name (`sha1sum.txt`, `sha256sum.txt`, `md5sum.txt`,
    /// `b2sums.txt`, `b3sums.txt`...).
    pub manifest: Option<PathBuf>,
    /// Write BSD-style tagged lines (`SHA256 (name) = hex`), as `sha256sum --tag` and
    /// `cksum` write them, instead of GNU's default `hex  name`. Not for BLAKE3, which
    /// no tool writes tagged.
    pub tag: bool,
    /// Cores to use; `None` for every available one (see `Options::jobs`).
    pub jobs: Option<NonZeroUsize>,
    /// Files read at once; `None` for the default (see `Options::readers`).
    pub readers: Option<NonZeroUsize>,
}

impl CreateOptions {
    /// Refuses options no manifest can be written with, before anything is read: the
    /// C boundary asks it too (`checksig_create_options_error`), so that a caller can
    /// tell a bad argument from a run that failed.
    pub fn validate(&self) -> Result<(), Error> {
        if self.tag && self.algorithm == Algorithm::Blake3 {
            // No tool writes or reads BLAKE3 tags (`b3sum` knows only `hex  name`,
            // `cksum` no BLAKE3): a manifest only checksig reads is no manifest to publish.
            return Err(Error::InvalidArgument(
                "BLAKE3 has no tagged form: b3sum writes and reads `hex  name` lines".into(),
            ));
        }
        Ok(())
    }
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            algorithm: Algorithm::Sha1,
            manifest: None,
            tag: false,
            jobs: None,
            readers: None,
        }
    }
}

/// What a manifest creation wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The manifest written.
    pub manifest: PathBuf,
    /// Files listed in it.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Names (relative to the root) of entries not listed: special files, dangling
    /// links, links to directories. Sorted.
    pub skipped: Vec<Vec<u8>>,
}

/// Writes the manifest of `root` with default progress and no cancel.
pub fn create(root: &Path, options: &CreateOptions) -> Result<Created, Error> {
    create_with(root, options, &Control::default())
}

/// Writes the manifest of `root`, reporting progress to and obeying `control`.
pub fn create_with(
    root: &Path,
    options: &CreateOptions,
    control: &Control,
) -> Result<Created, Error> {
    options.validate()?;
    let root_bytes = root.as_os_str().as_bytes();
    let root_dir = RootDir::open(root).map_err(|error| Error::Root {
        root: root_bytes.to_vec(),
        error,
    })?;
    let manifest_path = root.join(
        options
            .manifest
            .as_deref()
            .unwrap_or(Path::new(options.algorithm.default_manifest())),
    );
    let manifest_name = manifest_name_in_tree(root, &manifest_path);

    let walk = list_tree(&root_dir, root_bytes, manifest_name.as_deref(), control)?;
    let contents = manifest_contents(&root_dir, root_bytes, &walk, options, control)?;
    write_atomically(&manifest_path, &contents).map_err(|error| Error::Write {
        path: manifest_path.as_os_str().as_bytes().to_vec(),
        error,
    })?;
    Ok(Created {
        manifest: manifest_path,
        files: walk.files.len() as u64,
        bytes: control.progress().bytes_done,
        skipped: walk.skipped,
    })
}

/// The manifest's own name under the root as the walk spells it, when it is written
/// inside the tree: it is not listed. The directories are compared as real paths
/// (symlinks and `..` resolved, `realpath`), so that a root and a manifest spelled
/// differently (one relative and one absolute, one through a symlink) still name the
/// same directory; a manifest that listed itself could never check clean. The last
/// component stays as given: a manifest that is a symlink is replaced, not followed.
/// Spellings are compared only when a directory cannot be resolved: one resolved
/// outside the root is outside, whatever its spelling says.
fn manifest_name_in_tree(root: &Path, manifest_path: &Path) -> Option<Vec<u8>> {
    let real_root = std::fs::canonicalize(root);
    let real_parent = manifest_path.parent().map(std::fs::canonicalize);
    if let (Ok(real_root), Some(Ok(real_parent)), Some(leaf)) =
        (real_root, real_parent, manifest_path.file_name())
    {
        let dir = real_parent.strip_prefix(&real_root).ok()?;
        return lexical_clean(dir.join(leaf).as_os_str().as_bytes()).ok();
    }
    let name = manifest_path.strip_prefix(root).ok()?;
    lexical_clean(name.as_os_str().as_bytes()).ok()
}

/// Every file under the root but the manifest `manifest_name` (relative to the root),
/// sorted by name; and the entries skipped.
fn list_tree(
    root_dir: &RootDir,
    root_bytes: &[u8],
    manifest_name: Option<&[u8]>,
    control: &Control,
) -> Result<Walk, Error> {
    let mut walk = Walk::default();
    walk.visit(root_dir, control).map_err(|error| match error {
        // Directory names in messages are under the root, as written.
        Error::ReadDir { path, error } => Error::ReadDir {
            path: match path.is_empty() {
                true => root_bytes.to_vec(),
                false => display_join(root_bytes, &path),
            },
            error,
        },
        other => other,
    })?;
    walk.files
        .retain(|(name, _)| Some(&name[..]) != manifest_name);
    walk.files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    walk.skipped.sort_unstable();
    Ok(walk)
}

/// The manifest's lines for the listed files, hashed by the pool; every file that
/// cannot be hashed (or is not the file listed any more) is an error naming it.
fn manifest_contents(
    root_dir: &RootDir,
    root_bytes: &[u8],
    walk: &Walk,
    options: &CreateOptions,
    control: &Control,
) -> Result<Vec<u8>, Error> {
    let files = Names {
        files: &walk.files,
        algorithm: [options.algorithm],
    };
    let run = Run {
        root: root_dir,
        jobs: options.jobs,
        readers: options.readers,
        ignore_missing: false,
        list_order: false,
        control,
    };
    let mut outcomes = vec![None; walk.files.len()];
    if !run.hash_all(&files, |file, outcome| {
        outcomes[file as usize] = Some(outcome)
    }) {
        return Err(Error::Cancelled);
    }

    let mut contents = Vec::new();
    let mut unreadable = Vec::new();
    for ((name, _), outcome) in walk.files.iter().zip(outcomes) {
        match outcome {
            Some(Outcome::Digests(digests)) => {
                let hex = digests.as_slice()[0].to_hex();
                match options.tag {
                    true => write_tagged_line(&mut contents, options.algorithm, &hex, name),
                    false => write_line(&mut contents, &hex, name),
                }
            }
            Some(Outcome::Failed(reason)) => {
                unreadable.push((display_join(root_bytes, name), reason))
            }
            None | Some(Outcome::Skipped) => unreachable!("every listed file is hashed"),
        }
    }
    if !unreadable.is_empty() {
        return Err(Error::Unreadable(unreadable));
    }
    Ok(contents)
}

/// The files found under the root: relative names as bytes, each with what `stat`
/// said of it when it was listed.
#[derive(Default)]
struct Walk {
    files: Vec<(Vec<u8>, FileStat)>,
    skipped: Vec<Vec<u8>>,
}

impl Walk {
    /// Lists `root` and every directory under it.
    ///
    /// By descriptor, not by path: each subdirectory is opened relative to its parent's
    /// descriptor with `O_NOFOLLOW`, so a directory swapped for a symlink during the
    /// walk is never entered, and a tree deeper than `PATH_MAX` is listed whole. One
    /// descriptor is open per level of the directory being listed (a tree deeper than
    /// the open-file limit fails, naming the directory). The directories being listed
    /// are a stack on the heap, not calls on the thread's: a recursive walk overflowed
    /// the stack, killing the host process, at a depth of about 5,000.
    fn visit(&mut self, root: &RootDir, control: &Control) -> Result<(), Error> {
        let list_error = |path: &[u8]| {
            let path = path.to_vec();
            move |error| Error::ReadDir { path, error }
        };
        let root_entries = root.entries().map_err(list_error(b""))?;
        // Each level: its directory (the root borrowed, the others owned), its name
        // under the root, and its entries not yet seen (last first).
        let mut levels: Vec<(Option<RootDir>, Vec<u8>, Vec<DirEntry>)> =
            vec![(None, Vec::new(), reversed(root_entries))];
        while let Some((dir, prefix, entries)) = levels.last_mut() {
            if control.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let Some(entry) = entries.pop() else {
                levels.pop();
                continue;
            };
            let dir = dir.as_ref().unwrap_or(root);
            let mut name = prefix.clone();
            if !name.is_empty() {
                name.push(b'/');
            }
            name.extend_from_slice(entry.name.to_bytes());
            let kind = match entry.kind {
                EntryKind::Unknown => dir.entry_kind(&entry.name).map_err(list_error(prefix))?,
                kind => kind,
            };
            match kind {
                EntryKind::Directory => {
                    let subdirectory = dir
                        .open_subdirectory(&entry.name)
                        .map_err(list_error(&name))?;
                    let entries = subdirectory.entries().map_err(list_error(&name))?;
                    levels.push((Some(subdirectory), name, reversed(entries)));
                }
                // A symlink is listed when it leads to a regular file; one leading to a
                // directory is not followed.
                EntryKind::RegularFile | EntryKind::Symlink => match dir.stat(&entry.name) {
                    Ok(stat) if stat.is_regular => self.files.push((name, stat)),
                    _ => self.skipped.push(name),
                },
                EntryKind::Special | EntryKind::Unknown => self.skipped.push(name),
            }
        }
        Ok(())
    }
}

/// `entries` last first, to be taken with `pop` in their order.
fn reversed(mut entries: Vec<DirEntry>) -> Vec<DirEntry> {
    entries.reverse();
    entries
}

/// The walked files, as the pool sees them, all hashed with one algorithm.
struct Names<'a> {
    files: &'a [(Vec<u8>, FileStat)],
    algorithm: [Algorithm; 1],
}

impl FileNames for Names<'_> {
    fn count(&self) -> usize {
        self.files.len()
    }

    fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr {
        buffer.clear();
        buffer.extend_from_slice(&self.files[file as usize].0);
        buffer.push(0);
        CStr::from_bytes_with_nul(buffer).expect("directory entries hold no NUL byte")
    }

    fn algorithms(&self, _file: u32) -> &[Algorithm] {
        &self.algorithm
    }

    fn listed(&self, file: u32) -> Option<FileStat> {
        Some(self.files[file as usize].1)
    }
}

/// One line as GNU `sha1sum` writes it: `hex  name`, or, when the name holds a
/// backslash, LF or CR, `\hex  escaped` with those escaped as `\\`, `\n`, `\r`. `b3sum`
/// writes the same but for CR, which it leaves as it is (and its `-c` refuses `\r`):
/// checksig escapes it for every algorithm, as GNU does, so that no line ends in a CR
/// that a CRLF-minded reader would drop.
pub(crate) fn write_line(out: &mut Vec<u8>, hex: &str, name: &[u8]) {
    let escape = needs_escape(name);
    if escape {
        out.push(b'\\');
    }
    out.extend_from_slice(hex.as_bytes());
    out.extend_from_slice(b"  ");
    push_name(out, name, escape);
    out.push(b'\n');
}

/// `name`, escaped when the line is (it then starts with a backslash).
fn push_name(out: &mut Vec<u8>, name: &[u8], escape: bool) {
    if escape {
        push_escaped(out, name);
    } else {
        out.extend_from_slice(name);
    }
}

/// One tagged line as `sha256sum --tag` and `cksum` write it: `SHA256 (name) = hex`
/// (`BLAKE2b-256 (...)` for a BLAKE2b length other than 512 bits), escaped as
/// [`write_line`] escapes.
pub(crate) fn write_tagged_line(out: &mut Vec<u8>, algorithm: Algorithm, hex: &str, name: &[u8]) {
    let escape = needs_escape(name);
    if escape {
        out.push(b'\\');
    }
    algorithm.push_tag(out);
    out.extend_from_slice(b" (");
    push_name(out, name, escape);
    out.extend_from_slice(b") = ");
    out.extend_from_slice(hex.as_bytes());
    out.push(b'\n');
}

/// The longest file name (one path component) Linux file systems take.
const NAME_MAX: usize = 255;

/// Writes `contents` to `path` through a temporary file in the same directory, synced
/// and renamed into place; the temporary file is removed on any failure.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    // A directory named as the manifest (`.`, `sub/`) would fail the rename with words
    // that do not say so ("Device or resource busy", "Not a directory").
    if fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir()) {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let unique = format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // Within the longest name a directory holds (`NAME_MAX`): as much of the
    // manifest's name as fits (the suffix alone makes it unique), so that a manifest
    // whose own name is near that length can still be written.
    let kept = file_name.len().min(NAME_MAX - 1 - unique.len());
    let mut temporary_name = b".".to_vec();
    temporary_name.extend_from_slice(&file_name.as_bytes()[..kept]);
    temporary_name.extend_from_slice(unique.as_bytes());
    let temporary = path.with_file_name(std::ffi::OsStr::from_bytes(&temporary_name));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        let mut writer = BufWriter::new(file);
        writer.write_all(contents)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory swapped for a symlink to another tree between the walk and the
    /// hashing: the files reached through the link are not the files listed, and the
    /// creation fails naming them, instead of writing the other tree's digests.
    #[test]
    fn a_directory_swapped_for_a_symlink_after_the_walk_is_not_hashed() {
        let base = std::env::temp_dir().join(format!("checksig-swap-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("sub/a.txt"), b"inside").unwrap();
        fs::write(root.join("top.txt"), b"top").unwrap();
        fs::write(outside.join("a.txt"), b"SECRET").unwrap();

        let root_dir = RootDir::open(&root).unwrap();
        let control = Control::default();
        let root_bytes = root.as_os_str().as_bytes();
        let walk = list_tree(&root_dir, root_bytes, None, &control).unwrap();
        let names: Vec<&[u8]> = walk.files.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(names, [&b"sub/a.txt"[..], b"top.txt"]);

        fs::rename(root.join("sub"), base.join("moved")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
        let result = manifest_contents(
            &root_dir,
            root_bytes,
            &walk,
            &CreateOptions::default(),
            &control,
        );
        let _ = fs::remove_dir_all(&base);
        match result {
            Err(Error::Unreadable(files)) => {
                assert_eq!(files.len(), 1);
                assert!(files[0].0.ends_with(b"/sub/a.txt"));
                assert_eq!(files[0].1.detail(), "replaced since the tree was listed");
            }
            other => panic!(
                "{:?}",
                other.map(|c| String::from_utf8_lossy(&c).into_owned())
            ),
        }
    }

    #[test]
    fn lines_escaped_as_gnu_writes_them() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain", b"abc  plain\n"),
            (b"with space", b"abc  with space\n"),
            (b"back\\slash", b"\\abc  back\\\\slash\n"),
            (b"new\nline", b"\\abc  new\\nline\n"),
            (b"cr\r", b"\\abc  cr\\r\n"),
            (b"\xff", b"abc  \xff\n"),
        ];
        for (name, line) in cases {
            let mut out = Vec::new();
            write_line(&mut out, "abc", name);
            assert_eq!(out, *line);
        }
    }

    #[test]
    fn tagged_lines_as_gnu_writes_them() {
        let cases: &[(Algorithm, &[u8], &[u8])] = &[
            (Algorithm::Sha256, b"plain", b"SHA256 (plain) = abc\n"),
            (Algorithm::Md5, b"a (1).txt", b"MD5 (a (1).txt) = abc\n"),
            (Algorithm::Blake2b(64), b"x", b"BLAKE2b (x) = abc\n"),
            (Algorithm::Blake2b(32), b"x", b"BLAKE2b-256 (x) = abc\n"),
            (Algorithm::Blake3, b"x", b"BLAKE3 (x) = abc\n"),
            (
                Algorithm::Sha1,
                b"new\nline",
                b"\\SHA1 (new\\nline) = abc\n",
            ),
        ];
        for (algorithm, name, line) in cases {
            let mut out = Vec::new();
            write_tagged_line(&mut out, *algorithm, "abc", name);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(line),
                "{algorithm}"
            );
        }
    }
}

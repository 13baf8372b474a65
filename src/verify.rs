//! The check itself: read the manifest, resolve and group its names, have the worker
//! pool ([`crate::pool`]) size and hash every listed file, compare, and report every
//! failure in manifest order.
//!
//! Names are looked at before anything is opened: a name outside the root fails without
//! a system call, and names that differ only in `.` components and repeated slashes
//! (`a`, `./a`) are one file, hashed once, while every line naming it is still checked
//! against its own digest (see [`crate::paths::lookup_name`]).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::algorithm::{Algorithm, Digest};
use crate::control::Control;
use crate::manifest::{
    read_manifest, read_manifest_part, split_manifest, Entry, Manifest, ManifestError,
    ManifestStamp, Parser, Part, Split,
};
use crate::os::{OpenError, RootDir};
use crate::paths::{display_join, lookup_name};
pub use crate::pool::DEFAULT_READERS;
use crate::pool::{FileNames, Outcome, Run};
use crate::report::{Error, Failure, Match, Reason, Report, Status, Summary, Verdict};

/// The manifest looked for when the caller names neither a manifest nor an algorithm.
pub const DEFAULT_MANIFEST: &str = "sha1sum.txt";

/// What a caller may choose. The defaults: `sha1sum.txt`, one job per core, missing
/// files fail, no list of matches.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The manifest's path, relative to the root unless absolute; `None` for the
    /// algorithm's usual name (`sha1sum.txt`, `sha256sum.txt`, `md5sum.txt`,
    /// `b2sums.txt`...).
    pub manifest: Option<PathBuf>,
    /// The algorithm of the manifest's untagged lines; `None` to take it from the
    /// manifest's name (`sha256sum.txt`, `MD5SUMS`, `b3sums.txt`...) or else from its
    /// first checksum line (a tag, or a hex length only one algorithm has). A tagged
    /// line always names its own algorithm. For BLAKE2b the length does not matter
    /// here: each untagged line's hex length is its own, as `b2sum -c` reads them.
    pub algorithm: Option<Algorithm>,
    /// Cores to use; `None` for every available one. `Some(1)` is for a spinning disk,
    /// where parallel readers make the head seek back and forth: one file at a time,
    /// in manifest order, nothing read ahead (unless `readers` says otherwise).
    pub jobs: Option<NonZeroUsize>,
    /// Files read at once, each by its own thread, which hashes what it reads: many
    /// reads in flight keep an SSD, NVMe drive or network file system busy on data
    /// that is not cached. `None` for the default: `jobs` when given, else one per core
    /// while reads come from the page cache, and up to [`DEFAULT_READERS`] (128) once
    /// they wait for the storage. Bounded by the open-file limit (two descriptors
    /// each).
    pub readers: Option<NonZeroUsize>,
    /// GNU's `--ignore-missing`: a missing file is skipped, not a failure. A check that
    /// verified nothing at all still fails.
    pub ignore_missing: bool,
    /// Also list every matching entry in `Report::matches`, for output that shows each
    /// file (`name: OK`). Off by default: a million-line manifest would keep a million
    /// paths.
    pub list_matches: bool,
    /// Check only this part of the manifest (from [`split`]), with the algorithm and
    /// form the whole manifest decided; line numbers stay the manifest's. For checking
    /// one manifest on many machines: the parts' reports, concatenated in order, are
    /// the whole check's (and [`nothing_verified`] applies to their sum).
    pub part: Option<ManifestPart>,
    /// The verdicts are consumed as they come ([`check_each`] feeding a stream): read
    /// the files in manifest order, so that each verdict follows soon after the ones
    /// before it. Otherwise, when only the end result counts, the readers take files
    /// from both ends of the list, which finds a large file listed last early and
    /// finishes sooner (see `crate::pool`); the verdicts still come in manifest order,
    /// the later ones later.
    pub stream: bool,
    /// The root as failures, matches and manifest errors name it, when not the path
    /// opened: a cluster worker that sees the data at another path than the client
    /// (Python's `check_distributed(path_map=...)`) reports the client's paths.
    pub shown_root: Option<PathBuf>,
}

impl Options {
    /// The root as the report names it: `shown_root`, else `root`.
    pub fn shown_root<'a>(&'a self, root: &'a Path) -> &'a Path {
        self.shown_root.as_deref().unwrap_or(root)
    }
}

/// A part of the manifest to check, and what the whole manifest decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestPart {
    pub part: Part,
    pub parser: Parser,
    /// The manifest as it was split ([`Split::stamp`]): a part of a manifest that has
    /// changed since fails with `ManifestError::ChangedSinceSplit`. `None`: not
    /// compared (a caller that kept no stamp).
    pub stamp: Option<ManifestStamp>,
}

/// Checks `root` against its manifest with default options.
pub fn check(root: &Path, options: &Options) -> Result<Report, Error> {
    check_with(root, options, &Control::default())
}

/// Checks `root` against its manifest, reporting progress to and obeying `control`.
///
/// `Ok` holds the per-file report (which may list failures); `Err` is a problem with
/// the root or the manifest, or a cancellation.
pub fn check_with(root: &Path, options: &Options, control: &Control) -> Result<Report, Error> {
    let root_bytes = options.shown_root(root).as_os_str().as_bytes();
    let mut report = Report::default();
    let summary = check_each(root, options, control, |verdict| {
        let path = || display_join(root_bytes, verdict.name);
        match &verdict.status {
            Status::Ok if options.list_matches => report.matches.push(Match {
                path: path(),
                line: verdict.line,
            }),
            Status::Ok | Status::Skipped => {}
            Status::Failed(reason) => report.failures.push(Failure {
                path: path(),
                line: verdict.line,
                reason: reason.clone(),
                expected: verdict.expected,
                actual: verdict.actual.filter(|_| *reason == Reason::Mismatch),
            }),
        }
    })?;
    report.entries = summary.entries;
    report.matched = summary.matched;
    report.skipped = summary.skipped;
    Ok(report)
}

/// Checks `root` against its manifest and calls `on_verdict` with every entry's
/// verdict **in manifest order, as soon as it and every entry before it are decided**:
/// a reorder window over the files being read, not the whole list, so a consumer can
/// print each line as GNU `sha1sum -c` does, and hold nothing. Runs on the calling
/// thread (the readers are the pool's). Returns the counts.
///
/// Errors as [`check_with`]; a cancel (through `control`) stops it with
/// `Error::Cancelled` after the verdicts delivered so far.
pub fn check_each(
    root: &Path,
    options: &Options,
    control: &Control,
    mut on_verdict: impl FnMut(&Verdict<'_>),
) -> Result<Summary, Error> {
    let opened = OpenedManifest::open(root, options)?;
    let manifest = match &options.part {
        None => read_manifest(&opened.file, opened.algorithm),
        Some(part) => stamp_of(&opened.file)
            .and_then(|stamp| match part.stamp {
                Some(split) if !split.same_manifest(&stamp) => {
                    Err(ManifestError::ChangedSinceSplit)
                }
                _ => Ok(()),
            })
            .and_then(|_| {
                (&opened.file)
                    .seek(SeekFrom::Start(part.part.start))
                    .map_err(ManifestError::Io)
            })
            .and_then(|_| read_manifest_part(&opened.file, part.parser, part.part)),
    }
    .map_err(|error| opened.error(error))?;
    let (root_dir, manifest_path) = (opened.root, opened.path);

    let plan = Plan::new(&manifest);
    let files = PlanFiles {
        plan: &plan,
        entries: &manifest.entries,
    };
    let run = Run {
        root: &root_dir,
        jobs: options.jobs,
        readers: options.readers,
        ignore_missing: options.ignore_missing,
        list_order: options.stream,
        control,
    };
    let mut table = FileTable::new(&plan.algorithms);
    let mut order = InOrder {
        manifest: &manifest,
        plan: &plan,
        control,
        next: 0,
        summary: Summary {
            entries: manifest.entries.len() as u64,
            ..Summary::default()
        },
    };
    // Names outside the root need no file: the first may be decided already.
    order.deliver(&table, &mut on_verdict);
    let finished = run.hash_all(&files, |file, outcome| {
        table.set(file, outcome);
        order.deliver(&table, &mut on_verdict);
    });
    if !finished {
        return Err(Error::Cancelled);
    }
    let summary = order.summary;
    // A part does not know whether the other parts verified something: whoever merges
    // the parts applies the rule (`nothing_verified`).
    if options.part.is_none() && nothing_verified(options, &summary) {
        return Err(Error::NothingVerified {
            path: manifest_path.as_os_str().as_bytes().to_vec(),
        });
    }
    Ok(summary)
}

/// GNU's rule for `ignore_missing`: a check that verified nothing at all fails.
pub fn nothing_verified(options: &Options, summary: &Summary) -> bool {
    options.ignore_missing && summary.failed == 0 && summary.matched == 0
}

/// Cuts the manifest of `root` (as `options` name it) into at most `parts` parts at
/// line starts, of about equal bytes, for checking them apart (on a cluster), each with
/// `Options::part`. Parses only the first lines (those that decide the algorithm and
/// form) and counts the others' newlines ([`split_manifest`]): an empty manifest, or a
/// bad line among the first, is the error [`check`] gives; a later bad line is the
/// error of the part that holds it, and the first such error in part order is the
/// whole manifest's.
pub fn split(root: &Path, options: &Options, parts: usize) -> Result<Split, Error> {
    // No part would check nothing, and a merge of no parts would stand as a check.
    if parts == 0 {
        return Err(Error::InvalidArgument("parts must be at least 1".into()));
    }
    let opened = OpenedManifest::open(root, options)?;
    let stamp = stamp_of(&opened.file).map_err(|error| opened.error(error))?;
    let mut split = split_manifest(&opened.file, stamp.len, opened.algorithm, parts)
        .map_err(|error| opened.error(error))?;
    split.stamp = stamp;
    Ok(split)
}

/// The size and time of last modification of an open manifest ([`ManifestStamp`]).
fn stamp_of(file: &File) -> Result<ManifestStamp, ManifestError> {
    let metadata = file.metadata().map_err(ManifestError::Io)?;
    Ok(ManifestStamp {
        len: metadata.len(),
        modified_ns: metadata
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(metadata.mtime_nsec()),
    })
}

/// The manifest's name, relative to the root unless absolute: the options', or the
/// algorithm's usual one, or `sha1sum.txt`.
pub(crate) fn manifest_name(options: &Options) -> PathBuf {
    match (&options.manifest, options.algorithm) {
        (Some(name), _) => name.clone(),
        (None, Some(algorithm)) => PathBuf::from(algorithm.default_manifest()),
        (None, None) => PathBuf::from(DEFAULT_MANIFEST),
    }
}

/// The root and the manifest of a check, open, and the algorithm the options or the
/// manifest's name give.
struct OpenedManifest {
    root: RootDir,
    path: PathBuf,
    file: File,
    algorithm: Option<Algorithm>,
}

impl OpenedManifest {
    fn open(root: &Path, options: &Options) -> Result<OpenedManifest, Error> {
        let root_dir = RootDir::open(root).map_err(|error| Error::Root {
            root: root.as_os_str().as_bytes().to_vec(),
            error,
        })?;
        let manifest_name = manifest_name(options);
        let algorithm = options.algorithm.or_else(|| {
            let file_name = manifest_name.file_name()?;
            Algorithm::from_manifest_name(file_name.as_bytes())
        });
        let path = options.shown_root(root).join(&manifest_name);
        let file = open_manifest(&root_dir, &manifest_name).map_err(|error| Error::Manifest {
            path: path.as_os_str().as_bytes().to_vec(),
            error: ManifestError::Io(error),
        })?;
        Ok(OpenedManifest {
            root: root_dir,
            path,
            file,
            algorithm,
        })
    }

    /// `error` as the error of this manifest.
    fn error(&self, error: ManifestError) -> Error {
        Error::Manifest {
            path: self.path.as_os_str().as_bytes().to_vec(),
            error,
        }
    }
}

/// What became of each planned file, compactly: a state byte per file and the digests
/// side by side, `stride` bytes per file (a digest enum per file would be over three
/// times the size on a manifest of millions of lines); the rare read errors' words
/// apart.
struct FileTable<'a> {
    state: Vec<FileState>,
    digests: Vec<u8>,
    algorithms: &'a FileAlgorithms,
    stride: usize,
    reasons: HashMap<u32, Reason>,
}

/// The common failures have a state of their own: a million missing files cost a
/// byte each, not an entry in `reasons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    Pending,
    Hashed,
    Skipped,
    NoSuchFile,
    NotRegularFile,
    /// Any other failure: its reason is in `reasons`.
    Failed,
}

impl FileTable<'_> {
    fn new(algorithms: &FileAlgorithms) -> FileTable<'_> {
        let files = algorithms.files();
        let stride = algorithms.stride();
        FileTable {
            state: vec![FileState::Pending; files],
            digests: vec![0; files * stride],
            algorithms,
            stride,
            reasons: HashMap::new(),
        }
    }

    fn set(&mut self, file: u32, outcome: Outcome) {
        let at = file as usize;
        self.state[at] = match outcome {
            Outcome::Digests(digests) => {
                let mut slot = &mut self.digests[at * self.stride..(at + 1) * self.stride];
                for digest in digests.as_slice() {
                    let (this, rest) = slot.split_at_mut(digest.as_bytes().len());
                    this.copy_from_slice(digest.as_bytes());
                    slot = rest;
                }
                FileState::Hashed
            }
            Outcome::Skipped => FileState::Skipped,
            Outcome::Failed(Reason::NoSuchFile) => FileState::NoSuchFile,
            Outcome::Failed(Reason::NotRegularFile) => FileState::NotRegularFile,
            Outcome::Failed(reason) => {
                self.reasons.insert(file, reason);
                FileState::Failed
            }
        };
    }

    /// The digest of `algorithm` of a hashed file.
    fn digest(&self, file: usize, algorithm: Algorithm) -> Digest {
        let mut offset = file * self.stride;
        for &hashed in self.algorithms.of(file) {
            if hashed == algorithm {
                return Digest::new(&self.digests[offset..offset + algorithm.digest_len()]);
            }
            offset += hashed.digest_len();
        }
        unreachable!("a file is hashed with the algorithm of every entry naming it")
    }
}

/// Delivers verdicts in manifest order: entry `next` goes out once its file is decided.
struct InOrder<'a> {
    manifest: &'a Manifest,
    plan: &'a Plan,
    /// Once cancelled, nothing more is delivered: a file named by millions of lines
    /// decides them all at once, and a cancelled check must end within milliseconds.
    control: &'a Control,
    /// The first entry not delivered yet.
    next: usize,
    summary: Summary,
}

/// Entries delivered between two looks at the cancel flag.
const CANCEL_CHECK_ENTRIES: usize = 4096;

impl InOrder<'_> {
    fn deliver(&mut self, table: &FileTable, on_verdict: &mut impl FnMut(&Verdict<'_>)) {
        while let Some(entry) = self.manifest.entries.get(self.next) {
            if self.next % CANCEL_CHECK_ENTRIES == 0 && self.control.is_cancelled() {
                return;
            }
            let file = self.plan.entry_file[self.next];
            let expected = self.manifest.expected(self.next);
            let (status, actual) = if file == OUTSIDE {
                (Status::Failed(Reason::OutsideRoot), None)
            } else {
                let file = file as usize;
                match table.state[file] {
                    FileState::Pending => return,
                    FileState::Skipped => (Status::Skipped, None),
                    FileState::NoSuchFile => (Status::Failed(Reason::NoSuchFile), None),
                    FileState::NotRegularFile => (Status::Failed(Reason::NotRegularFile), None),
                    FileState::Failed => {
                        (Status::Failed(table.reasons[&(file as u32)].clone()), None)
                    }
                    FileState::Hashed => {
                        let actual = table.digest(file, entry.algorithm);
                        let status = match actual == expected {
                            true => Status::Ok,
                            false => Status::Failed(Reason::Mismatch),
                        };
                        (status, Some(actual))
                    }
                }
            };
            match status {
                Status::Ok => self.summary.matched += 1,
                Status::Skipped => self.summary.skipped += 1,
                Status::Failed(_) => self.summary.failed += 1,
            }
            on_verdict(&Verdict {
                index: self.next,
                line: entry.line,
                name: &entry.name,
                status,
                expected,
                actual,
            });
            self.next += 1;
        }
    }
}

/// Opens the manifest `name` (relative to the root unless absolute) as a listed file
/// is opened: never blocking on a FIFO, and only if it is a regular file.
fn open_manifest(root: &RootDir, name: &Path) -> io::Result<File> {
    let name = match name.as_os_str().as_bytes() {
        b"" => c".".to_owned(),
        bytes => CString::new(bytes).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "the name holds a NUL byte")
        })?,
    };
    match root.open_regular(&name) {
        Ok((file, _)) => Ok(file),
        Err(OpenError::Io(error)) => Err(error),
        Err(OpenError::NotRegular) => Err(io::Error::other("not a regular file")),
    }
}

/// Marks an entry whose name is outside the root in `Plan::entry_file`.
const OUTSIDE: u32 = u32::MAX;

/// Which file each entry names, and the distinct files to hash.
struct Plan {
    /// For each entry, the index into `files`, or `OUTSIDE`. A plain `u32` rather than
    /// an `Option`: half the memory on a million-line manifest.
    entry_file: Vec<u32>,
    /// For each distinct file, the index of the first entry naming it, in manifest order.
    files: Vec<u32>,
    /// The algorithms each file is hashed with.
    algorithms: FileAlgorithms,
}

impl Plan {
    /// Groups entries naming the same file (alike after dropping `.` components and
    /// repeated slashes), keeping files in manifest order.
    ///
    /// Grouping sorts 64-bit hashes of the names rather than probing a hash map: on a
    /// million entries, a map's random probes miss the cache on every insert, while
    /// sorting (hash, index) pairs streams through memory; it also needs 16 bytes per
    /// entry instead of a map's 40. The hasher is std's randomly keyed SipHash, so a
    /// hostile manifest cannot aim for collisions; equal hashes are still confirmed by
    /// comparing the names.
    fn new(manifest: &Manifest) -> Plan {
        let entries = &manifest.entries;
        let hasher = RandomState::new();
        let mut keyed: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let name = lookup_name(&entry.name).ok()?;
                Some((hasher.hash_one(&*name), i as u32))
            })
            .collect();
        keyed.sort_unstable();

        // `first[i]`: the first entry naming the same file as entry `i` (itself when it
        // is the first), or OUTSIDE. Runs of equal hashes are tiny, almost always one.
        let mut first = vec![OUTSIDE; entries.len()];
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            if let [(_, i)] = run {
                // The common case, and no name to look at: a hash seen once is a name
                // seen once.
                first[*i as usize] = *i;
                continue;
            }
            for (position, &(_, i)) in run.iter().enumerate() {
                let name = lookup_name(&entries[i as usize].name).ok();
                let earlier = run[..position]
                    .iter()
                    .map(|&(_, j)| j)
                    .find(|&j| lookup_name(&entries[j as usize].name).ok() == name);
                // The run is sorted by index, so the first match is the first entry.
                first[i as usize] = earlier.map_or(i, |j| first[j as usize]);
            }
        }
        drop(keyed);

        let mut files = Vec::new();
        for i in 0..first.len() {
            let representative = first[i];
            if representative == OUTSIDE {
                continue;
            }
            first[i] = if representative == i as u32 {
                files.push(i as u32);
                files.len() as u32 - 1
            } else {
                // The first entry of the group comes earlier and already holds its file.
                first[representative as usize]
            };
        }
        let algorithms = FileAlgorithms::new(manifest, &first, files.len());
        Plan {
            entry_file: first,
            files,
            algorithms,
        }
    }
}

/// The algorithms each planned file is hashed with: the same one for every file
/// (nearly every manifest), or, when tagged lines mix algorithms, the set of those of
/// the entries naming it, so that a file listed under two algorithms is read once.
enum FileAlgorithms {
    Uniform {
        algorithm: [Algorithm; 1],
        files: usize,
    },
    PerFile {
        /// The distinct sets, each in the order its algorithms first appear.
        sets: Vec<Box<[Algorithm]>>,
        /// For each file, its set in `sets`.
        file_set: Vec<u32>,
    },
}

impl FileAlgorithms {
    /// For `files` files, entry `i` of `manifest` naming file `entry_file[i]` (or
    /// `OUTSIDE`).
    fn new(manifest: &Manifest, entry_file: &[u32], files: usize) -> FileAlgorithms {
        let entries = &manifest.entries;
        if let Some(algorithm) = manifest.single_algorithm() {
            return FileAlgorithms::Uniform {
                algorithm: [algorithm],
                files,
            };
        }
        let mut per_file: Vec<Vec<Algorithm>> = vec![Vec::new(); files];
        for (entry, &file) in entries.iter().zip(entry_file) {
            if file != OUTSIDE {
                let set = &mut per_file[file as usize];
                if !set.contains(&entry.algorithm) {
                    set.push(entry.algorithm);
                }
            }
        }
        let mut known: HashMap<Vec<Algorithm>, u32> = HashMap::new();
        let mut sets = Vec::new();
        let file_set = per_file
            .into_iter()
            .map(|set| {
                *known.entry(set).or_insert_with_key(|set| {
                    sets.push(set.clone().into_boxed_slice());
                    sets.len() as u32 - 1
                })
            })
            .collect();
        FileAlgorithms::PerFile { sets, file_set }
    }

    fn files(&self) -> usize {
        match self {
            FileAlgorithms::Uniform { files, .. } => *files,
            FileAlgorithms::PerFile { file_set, .. } => file_set.len(),
        }
    }

    /// The algorithms file `file` is hashed with, in the order its digests come.
    fn of(&self, file: usize) -> &[Algorithm] {
        match self {
            FileAlgorithms::Uniform { algorithm, .. } => algorithm,
            FileAlgorithms::PerFile { sets, file_set } => &sets[file_set[file] as usize],
        }
    }

    /// The bytes of digests per file: the most any file's set has.
    fn stride(&self) -> usize {
        let total = |set: &[Algorithm]| set.iter().map(|a| a.digest_len()).sum::<usize>();
        match self {
            FileAlgorithms::Uniform { algorithm, .. } => total(algorithm),
            FileAlgorithms::PerFile { sets, .. } => {
                sets.iter().map(|set| total(set)).max().unwrap_or(0)
            }
        }
    }
}

/// The planned files, as the pool sees them.
struct PlanFiles<'a> {
    plan: &'a Plan,
    entries: &'a [Entry],
}

impl FileNames for PlanFiles<'_> {
    fn count(&self) -> usize {
        self.plan.files.len()
    }

    fn algorithms(&self, file: u32) -> &[Algorithm] {
        self.plan.algorithms.of(file as usize)
    }

    /// The name to look up ([`lookup_name`]); the root itself (a name like `.`) is `.`.
    fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr {
        let name = &self.entries[self.plan.files[file as usize] as usize].name;
        let clean = lookup_name(name).expect("only names inside the root are planned");
        buffer.clear();
        buffer.extend_from_slice(if clean.is_empty() { b"." } else { &clean });
        buffer.push(0);
        CStr::from_bytes_with_nul(buffer).expect("manifest names hold no NUL byte")
    }
}

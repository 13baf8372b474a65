//! The check itself: read the manifest, resolve and group its names, have the worker
//! pool ([`crate::pool`]) size and hash every listed file, compare, and report every
//! failure in manifest order.
//!
//! Names are looked at before anything is opened: a name outside the root fails without
//! a system call, and names that differ only in `.` components and repeated slashes
//! (`a`, `./a`) are one file, hashed once, while every line naming it is still checked
//! against its own digest (see [`crate::paths::lookup_name`]).

use std::collections::hash_map::RandomState;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::algorithm::Algorithm;
use crate::control::Control;
use crate::manifest::{read_manifest, Entry, Manifest, ManifestError};
use crate::os::{OpenError, RootDir};
use crate::paths::{display_join, lookup_name};
pub use crate::pool::DEFAULT_READERS;
use crate::pool::{FileNames, Outcome, Run};
use crate::report::{Error, Failure, Match, Reason, Report};

/// The manifest looked for when the caller names neither a manifest nor an algorithm.
pub const DEFAULT_MANIFEST: &str = "sha1sum.txt";

/// What a caller may choose. The defaults: `sha1sum.txt`, one job per core, missing
/// files fail, no list of matches.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The manifest's path, relative to the root unless absolute; `None` for the
    /// algorithm's usual name (`sha1sum.txt`, `sha256sum.txt`, `sha512sum.txt`).
    pub manifest: Option<PathBuf>,
    /// The algorithm the manifest holds; `None` to take it from the manifest's name
    /// (`sha256sum.txt`, `SHA512SUMS`...) or else from its first line (BSD tag or hex
    /// length).
    pub algorithm: Option<Algorithm>,
    /// Cores to use; `None` for every available one. `Some(1)` is for a spinning disk,
    /// where parallel readers make the head seek back and forth: one file at a time,
    /// in manifest order, nothing read ahead (unless `readers` says otherwise).
    pub jobs: Option<NonZeroUsize>,
    /// Files read at once, each by its own thread, which hashes what it reads: many
    /// reads in flight keep an SSD, NVMe drive or network file system busy on data
    /// that is not cached. `None` for the default: `jobs` when given, else
    /// [`DEFAULT_READERS`] (16). Bounded by the open-file limit (two descriptors each).
    pub readers: Option<NonZeroUsize>,
    /// GNU's `--ignore-missing`: a missing file is skipped, not a failure. A check that
    /// verified nothing at all still fails.
    pub ignore_missing: bool,
    /// Also list every matching entry in `Report::matches`, for output that shows each
    /// file (`name: OK`). Off by default: a million-line manifest would keep a million
    /// paths.
    pub list_matches: bool,
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
    let root_bytes = root.as_os_str().as_bytes();
    let root_error = |error| Error::Root {
        root: root_bytes.to_vec(),
        error,
    };
    let root_dir = RootDir::open(root).map_err(root_error)?;

    let manifest_name = match (&options.manifest, options.algorithm) {
        (Some(name), _) => name.clone(),
        (None, Some(algorithm)) => PathBuf::from(algorithm.default_manifest()),
        (None, None) => PathBuf::from(DEFAULT_MANIFEST),
    };
    let manifest_path = root.join(&manifest_name);
    let manifest_error = |error| Error::Manifest {
        path: manifest_path.as_os_str().as_bytes().to_vec(),
        error,
    };
    let algorithm = options.algorithm.or_else(|| {
        let file_name = manifest_name.file_name()?;
        Algorithm::from_manifest_name(file_name.as_bytes())
    });
    let file = open_manifest(&root_dir, &manifest_name)
        .map_err(|error| manifest_error(ManifestError::Io(error)))?;
    let manifest = read_manifest(file, algorithm).map_err(manifest_error)?;

    let plan = Plan::new(&manifest.entries);
    let files = PlanFiles {
        plan: &plan,
        entries: &manifest.entries,
    };
    let run = Run {
        root: &root_dir,
        algorithm: manifest.algorithm,
        jobs: options.jobs,
        readers: options.readers,
        ignore_missing: options.ignore_missing,
        control,
    };
    let outcomes = run.hash_all(&files).ok_or(Error::Cancelled)?;

    let report = plan.report(root_bytes, &manifest, &outcomes, options.list_matches);
    if options.ignore_missing && report.is_ok() && report.matched == 0 {
        return Err(Error::NothingVerified {
            path: manifest_path.as_os_str().as_bytes().to_vec(),
        });
    }
    Ok(report)
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
    fn new(entries: &[Entry]) -> Plan {
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
        Plan {
            entry_file: first,
            files,
        }
    }

    /// Every entry's verdict, in manifest order.
    fn report(
        &self,
        root: &[u8],
        manifest: &Manifest,
        outcomes: &[Outcome],
        list_matches: bool,
    ) -> Report {
        let mut report = Report {
            entries: manifest.entries.len() as u64,
            ..Report::default()
        };
        for (index, (entry, &file)) in manifest.entries.iter().zip(&self.entry_file).enumerate() {
            let expected = manifest.expected(index);
            let outcome = (file != OUTSIDE).then(|| &outcomes[file as usize]);
            let (reason, actual) = match outcome {
                None => (Reason::OutsideRoot, None),
                Some(Outcome::Skipped) => {
                    report.skipped += 1;
                    continue;
                }
                Some(Outcome::Digest(digest)) if *digest == expected => {
                    report.matched += 1;
                    if list_matches {
                        report.matches.push(Match {
                            path: display_join(root, &entry.name),
                            line: entry.line,
                        });
                    }
                    continue;
                }
                Some(Outcome::Digest(digest)) => (Reason::Mismatch, Some(*digest)),
                Some(Outcome::Failed(reason)) => (reason.clone(), None),
                Some(Outcome::Pending) => unreachable!("every file is looked at unless cancelled"),
            };
            report.failures.push(Failure {
                path: display_join(root, &entry.name),
                line: entry.line,
                reason,
                expected,
                actual,
            });
        }
        report
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

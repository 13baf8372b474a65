//! The job behind a `checksig_job *`: a check or a manifest creation running on a
//! thread of its own, and what it leaves, kept in the shapes the accessors hand out.

#![allow(non_camel_case_types)]

use std::collections::{HashMap, VecDeque};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::algorithm::Digest;
use crate::control::Control;
use crate::create::{create_with, CreateOptions, Created};
use crate::ffi::boundary::c_string;
use crate::ffi::types::{
    checksig_counts, checksig_created, checksig_failure, checksig_reason, checksig_status,
    hex_field,
};
use crate::paths::display_join;
use crate::report::{Error, Failure, Reason, Status, Summary, Verdict};
use crate::verify::{check_each, Options};

/// What a job's thread does.
pub(crate) enum Work {
    Check(Options),
    /// A check whose verdicts are queued for `checksig_next_verdicts` /
    /// `checksig_next_lines` as they are decided, instead of kept.
    StreamedCheck(Options),
    Create(CreateOptions),
}

/// The most verdicts queued for the caller: when it does not fetch them, the check
/// waits (and holds no more memory).
const STREAM_CAPACITY: usize = 4096;

/// How long a fetch waits for more verdicts once one has come: short enough to look
/// immediate to a person watching, long enough to batch thousands on a fast check.
const LINGER: Duration = Duration::from_millis(5);

/// The verdicts of a streamed check, on their way from the job's thread to the caller.
#[derive(Default)]
pub(crate) struct Stream {
    queue: Mutex<StreamQueue>,
    /// Signalled when a verdict is queued or fetched, and when the check ends.
    changed: Condvar,
}

#[derive(Default)]
struct StreamQueue {
    verdicts: VecDeque<OwnedVerdict>,
    /// The check has ended: nothing more will be queued.
    finished: bool,
}

/// A verdict that owns its name, to cross threads.
pub(crate) struct OwnedVerdict {
    pub(crate) index: usize,
    pub(crate) line: u32,
    pub(crate) name: Box<[u8]>,
    pub(crate) status: Status,
    pub(crate) expected: Digest,
    pub(crate) actual: Option<Digest>,
}

impl OwnedVerdict {
    pub(crate) fn borrow(&self) -> Verdict<'_> {
        Verdict {
            index: self.index,
            line: self.line,
            name: &self.name,
            status: self.status.clone(),
            expected: self.expected,
            actual: self.actual,
        }
    }
}

impl Stream {
    /// Queues `verdict`, waiting while the queue is full; drops it once the check is
    /// cancelled (nobody fetches the rest, and the queue stays within its bound).
    fn push(&self, verdict: &Verdict<'_>, control: &Control) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        while queue.verdicts.len() >= STREAM_CAPACITY && !control.is_cancelled() {
            queue = self
                .changed
                .wait_timeout(queue, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if control.is_cancelled() {
            return;
        }
        queue.verdicts.push_back(OwnedVerdict {
            index: verdict.index,
            line: verdict.line,
            name: verdict.name.into(),
            status: verdict.status.clone(),
            expected: verdict.expected,
            actual: verdict.actual,
        });
        drop(queue);
        self.changed.notify_all();
    }

    fn finish(&self) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .finished = true;
        self.changed.notify_all();
    }

    /// Takes queued verdicts while `take` says yes to the next one, after waiting up
    /// to `timeout` (forever for `None`) for at least one, or for the end.
    pub(crate) fn take_while(
        &self,
        timeout: Option<Duration>,
        mut take: impl FnMut(&OwnedVerdict) -> bool,
    ) -> Vec<OwnedVerdict> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = |queue: &mut StreamQueue| queue.verdicts.is_empty() && !queue.finished;
        let mut queue = match timeout {
            None => self
                .changed
                .wait_while(queue, waiting)
                .unwrap_or_else(|e| e.into_inner()),
            Some(timeout) => {
                self.changed
                    .wait_timeout_while(queue, timeout, waiting)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        // One verdict is here: give the others a moment to join it, so that a fast
        // check is fetched in large batches (a call and a write per line would cost
        // more than the check), while a slow one still shows each verdict at once.
        let deadline = Instant::now() + LINGER;
        while queue.verdicts.len() < STREAM_CAPACITY / 2 && !queue.finished {
            let now = Instant::now();
            if now >= deadline || queue.verdicts.is_empty() {
                break;
            }
            queue = self
                .changed
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let mut taken = Vec::new();
        while let Some(next) = queue.verdicts.front() {
            if !take(next) {
                break;
            }
            taken.extend(queue.verdicts.pop_front());
        }
        drop(queue);
        self.changed.notify_all();
        taken
    }

    /// The check has ended and every verdict has been taken.
    pub(crate) fn is_done(&self) -> bool {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.finished && queue.verdicts.is_empty()
    }
}

/// A check or a manifest creation running in the background, started by
/// `checksig_start` or `checksig_create_start`. Opaque.
pub struct checksig_job {
    pub(crate) shared: Arc<Shared>,
    /// The thread running the job; joined by the first wait that sees it finished, or
    /// by `checksig_job_free`.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the job's thread and the handle's callers share.
pub(crate) struct Shared {
    /// Progress counters and the cancel flag, read and set without locks.
    pub(crate) control: Control,
    /// A streamed check's verdicts on their way to the caller (unused otherwise).
    pub(crate) stream: Stream,
    /// The root as given, which paths in verdict lines start with.
    pub(crate) root: Vec<u8>,
    /// The verdicts `checksig_next_verdicts` handed out last, which its pointers
    /// borrow from until the next call.
    pub(crate) handed_out: Mutex<Vec<VerdictView>>,
    /// `None` while running, then the outcome; `finished` is signalled when it is set.
    outcome: Mutex<Option<Finished>>,
    finished: Condvar,
}

/// A finished job, kept in the shapes the accessors hand out.
pub(crate) struct Finished {
    pub(crate) status: checksig_status,
    /// The message of an error, a streamed check or a creation; a check's failures
    /// make theirs when asked ([`Finished::message`]).
    pub(crate) message: Option<Vec<u8>>,
    /// A check's counts (zero when it could not run); `None` for a creation.
    pub(crate) counts: Option<checksig_counts>,
    pub(crate) failures: Kept,
    /// Matching entries, when the options asked for them.
    pub(crate) matches: Kept,
    /// A creation's figures and the manifest it wrote.
    pub(crate) created: Option<(checksig_created, Vec<u8>)>,
}

/// A streamed verdict's owned strings, which `checksig_verdict` points into.
pub(crate) struct VerdictView {
    pub(crate) path: CString,
    pub(crate) detail: CString,
    pub(crate) verdict: OwnedVerdict,
}

/// The entries a check keeps for the accessors (its failures, or its matches when
/// asked for), compactly: per entry its line, verdict and digests, the names back to
/// back in one buffer, no string of its own. The C strings a caller borrows
/// (`checksig_failure.path`) are made when it asks for an entry, once each: about
/// 200 bytes a failure and its name until then (a million failures raise a check's
/// peak by 270 MiB, its manifest's table included: tests/kept.rs).
#[derive(Default)]
pub(crate) struct Kept {
    /// The root as given, which paths start with.
    root: Vec<u8>,
    /// The entries' names, back to back.
    names: Vec<u8>,
    records: Vec<KeptEntry>,
    /// Each entry's path as a C string, made when first asked for.
    paths: Vec<OnceLock<CString>>,
    /// The OS's words of read errors (rare), by entry.
    details: HashMap<usize, CString>,
}

struct KeptEntry {
    /// Where the name ends in `Kept::names` (it starts where the previous one ends).
    name_end: usize,
    line: u32,
    /// The failure's reason; `None` for a match.
    reason: Option<Reason>,
    expected: Digest,
    actual: Option<Digest>,
}

impl Kept {
    fn new(root: &[u8]) -> Kept {
        Kept {
            root: root.to_vec(),
            ..Kept::default()
        }
    }

    fn push(&mut self, verdict: &Verdict<'_>) {
        let reason = match &verdict.status {
            Status::Failed(reason) => Some(reason.clone()),
            _ => None,
        };
        if let Some(Reason::ReadError(why)) = &reason {
            self.details
                .insert(self.records.len(), c_string(why.as_bytes().to_vec()));
        }
        self.names.extend_from_slice(verdict.name);
        self.records.push(KeptEntry {
            name_end: self.names.len(),
            line: verdict.line,
            actual: verdict.actual.filter(|_| reason == Some(Reason::Mismatch)),
            reason,
            expected: verdict.expected,
        });
    }

    /// Gives back the slack of growing: the entries are all in.
    fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.records.shrink_to_fit();
        self.paths = (0..self.records.len()).map(|_| OnceLock::new()).collect();
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn name(&self, index: usize) -> &[u8] {
        let start = index
            .checked_sub(1)
            .map_or(0, |before| self.records[before].name_end);
        &self.names[start..self.records[index].name_end]
    }

    /// Entry `index`'s path as a C string, made at the first call; it lives as long as
    /// `self`.
    pub(crate) fn path(&self, index: usize) -> &CString {
        self.paths[index].get_or_init(|| c_string(display_join(&self.root, self.name(index))))
    }

    pub(crate) fn line(&self, index: usize) -> u64 {
        u64::from(self.records[index].line)
    }

    /// Failure `index` as the C struct, its strings borrowed from `self`.
    pub(crate) fn failure(&self, index: usize) -> Option<checksig_failure> {
        let record = self.records.get(index)?;
        let reason = record.reason.as_ref()?;
        let path = self.path(index);
        Some(checksig_failure {
            path: path.as_ptr(),
            path_len: path.as_bytes().len(),
            line: self.line(index),
            reason: checksig_reason::from_reason(reason),
            detail: self
                .details
                .get(&index)
                .map_or(c"".as_ptr(), |detail| detail.as_ptr()),
            expected_hex: hex_field(Some(&record.expected)),
            actual_hex: hex_field(record.actual.as_ref()),
        })
    }

    /// Every failure's line, `"<path>" - <reason>`, joined by `\n` (as
    /// [`crate::report::Report::message`] words them); `None` when none is kept.
    pub(crate) fn message(&self) -> Option<Vec<u8>> {
        let mut message = Vec::new();
        for (index, record) in self.records.iter().enumerate() {
            let Some(reason) = &record.reason else {
                continue;
            };
            if !message.is_empty() {
                message.push(b'\n');
            }
            let failure = Failure {
                path: display_join(&self.root, self.name(index)),
                line: record.line,
                reason: reason.clone(),
                expected: record.expected,
                actual: record.actual,
            };
            message.extend_from_slice(&failure.message());
        }
        (!message.is_empty()).then_some(message)
    }
}

impl Finished {
    /// A check whose failures (and matches, when asked for) were kept as they came.
    fn checked(result: Result<Summary, Error>, failures: Kept, matches: Kept) -> Finished {
        let summary = match result {
            Ok(summary) => summary,
            Err(error) => {
                return Finished {
                    counts: Some(checksig_counts::default()),
                    ..Finished::failed(error)
                }
            }
        };
        Finished {
            status: if summary.failed == 0 {
                checksig_status::CHECKSIG_OK
            } else {
                checksig_status::CHECKSIG_FAILED
            },
            message: None,
            counts: Some(checksig_counts {
                entries: summary.entries,
                matched: summary.matched,
                failed: summary.failed,
                skipped: summary.skipped,
            }),
            failures,
            matches,
            created: None,
        }
    }

    /// The job's message: its error's, or every failure's line (made anew each call).
    pub(crate) fn message(&self) -> Option<Vec<u8>> {
        self.message.clone().or_else(|| self.failures.message())
    }

    /// A streamed check: its verdicts went to the caller; only the counts stay.
    fn streamed(result: Result<Summary, Error>) -> Finished {
        let summary = match result {
            Ok(summary) => summary,
            Err(error) => {
                return Finished {
                    counts: Some(checksig_counts::default()),
                    ..Finished::failed(error)
                }
            }
        };
        let (status, message) = match summary.failed {
            0 => (checksig_status::CHECKSIG_OK, None),
            failed => (
                checksig_status::CHECKSIG_FAILED,
                Some(format!("{failed} of {} entries failed", summary.entries).into_bytes()),
            ),
        };
        Finished {
            counts: Some(checksig_counts {
                entries: summary.entries,
                matched: summary.matched,
                failed: summary.failed,
                skipped: summary.skipped,
            }),
            ..Finished::empty(status, message)
        }
    }

    fn created(result: Result<Created, Error>) -> Finished {
        match result {
            Ok(created) => Finished {
                created: Some((
                    checksig_created {
                        files: created.files,
                        bytes: created.bytes,
                        skipped: created.skipped.len() as u64,
                    },
                    created.manifest.as_os_str().as_bytes().to_vec(),
                )),
                ..Finished::empty(checksig_status::CHECKSIG_OK, None)
            },
            Err(error) => Finished::failed(error),
        }
    }

    fn failed(error: Error) -> Finished {
        let status = match error {
            Error::Cancelled => checksig_status::CHECKSIG_CANCELLED,
            _ => checksig_status::CHECKSIG_ERROR,
        };
        Finished::empty(status, Some(error.message()))
    }

    fn empty(status: checksig_status, message: Option<Vec<u8>>) -> Finished {
        Finished {
            status,
            message,
            counts: None,
            failures: Kept::default(),
            matches: Kept::default(),
            created: None,
        }
    }

    pub(crate) fn error(message: &str) -> Finished {
        Finished::failed(Error::Internal(message.to_string()))
    }
}

impl checksig_job {
    /// Starts `work` on `root` on a thread of its own; a job that failed at once when
    /// the root is missing (NULL) or the work could not be set up.
    pub(crate) fn start(root: Option<PathBuf>, work: Result<Work, &'static str>) -> checksig_job {
        let early_error = match (&root, &work) {
            (None, _) => Some("root_dir is NULL"),
            (_, Err(why)) => Some(*why),
            _ => None,
        };
        if let Some(why) = early_error {
            return checksig_job::finished(Finished::failed(Error::InvalidArgument(
                why.to_string(),
            )));
        }
        let (root, work) = (root.unwrap(), work.unwrap());
        let shown_root = match &work {
            Work::Check(options) | Work::StreamedCheck(options) => options.shown_root(&root),
            Work::Create(_) => &root,
        };
        let shared = Arc::new(Shared {
            control: Control::default(),
            stream: Stream::default(),
            root: shown_root.as_os_str().as_bytes().to_vec(),
            handed_out: Mutex::new(Vec::new()),
            outcome: Mutex::new(None),
            finished: Condvar::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("checksig".into())
            .spawn(move || {
                let shared = worker_shared;
                let finished =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &work {
                        Work::Check(options) => {
                            let (mut failures, mut matches) =
                                (Kept::new(&shared.root), Kept::new(&shared.root));
                            let result =
                                check_each(
                                    &root,
                                    options,
                                    &shared.control,
                                    |verdict| match verdict.status {
                                        Status::Failed(_) => failures.push(verdict),
                                        Status::Ok if options.list_matches => matches.push(verdict),
                                        Status::Ok | Status::Skipped => {}
                                    },
                                );
                            failures.shrink();
                            matches.shrink();
                            Finished::checked(result, failures, matches)
                        }
                        Work::StreamedCheck(options) => {
                            let control = &shared.control;
                            let result = check_each(&root, options, control, |verdict| {
                                shared.stream.push(verdict, control)
                            });
                            Finished::streamed(result)
                        }
                        Work::Create(options) => {
                            Finished::created(create_with(&root, options, &shared.control))
                        }
                    }))
                    .unwrap_or_else(|_| Finished::error("panic while checking"));
                *shared.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(finished);
                shared.finished.notify_all();
                // After the outcome: once the stream is done, the status is final.
                shared.stream.finish();
            });
        match spawned {
            Ok(thread) => checksig_job {
                shared,
                thread: Mutex::new(Some(thread)),
            },
            Err(_) => checksig_job::finished(Finished::error("cannot start a thread")),
        }
    }

    /// A job that has already ended with `finished`.
    pub(crate) fn finished(finished: Finished) -> checksig_job {
        let shared = Shared {
            control: Control::default(),
            stream: Stream::default(),
            root: Vec::new(),
            handed_out: Mutex::new(Vec::new()),
            outcome: Mutex::new(Some(finished)),
            finished: Condvar::new(),
        };
        shared.stream.finish();
        checksig_job {
            shared: Arc::new(shared),
            thread: Mutex::new(None),
        }
    }

    /// Waits up to `timeout` (forever for `None`); true once the job has finished.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let outcome = self
            .shared
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let running = |outcome: &mut Option<Finished>| outcome.is_none();
        let outcome = match timeout {
            None => self
                .shared
                .finished
                .wait_while(outcome, running)
                .unwrap_or_else(|e| e.into_inner()),
            Some(timeout) => {
                self.shared
                    .finished
                    .wait_timeout_while(outcome, timeout, running)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        let done = outcome.is_some();
        drop(outcome);
        if done {
            self.join();
        }
        done
    }

    /// Joins the thread once it has stored its outcome (it ends right after).
    pub(crate) fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Runs `read` on the outcome, or returns `running` when there is none yet.
    pub(crate) fn with_outcome<T>(&self, running: T, read: impl FnOnce(&Finished) -> T) -> T {
        let outcome = self
            .shared
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        outcome.as_ref().map_or(running, read)
    }
}

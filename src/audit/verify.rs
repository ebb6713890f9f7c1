#![forbid(unsafe_code)]
//! The verifier behind `sysgate audit verify FILE...`: walks the chain from the oldest file to the
//! newest and stops at the first line that breaks it, saying where and how.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::chain::{self, GENESIS, MAC_LEN, Opened};
use super::head::{self, HeadState};
use super::hex;
use super::key::AuditKey;
use super::log::{MAX_LINE_BYTES, rotated_path};

/// The chain verified from end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The files read, oldest first.
    pub files: Vec<PathBuf>,
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Hex MAC of the newest record: compare it with a copy kept elsewhere (the syslog forward) to
    /// detect the removal of the newest records, which the files alone cannot show.
    pub last_mac: Option<String>,
    /// Gap records found (each MAC-verified): places where the writer found records missing.
    pub gaps: Vec<GapNote>,
    /// What the chain head beside the log says about its end.
    pub head: HeadCheck,
}

/// A verified `audit_gap` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapNote {
    pub file: PathBuf,
    pub line: u64,
    pub seq: u64,
    /// The last record the files held when the gap was recorded.
    pub after_seq: Option<u64>,
    pub cause: String,
}

/// The log's end against its head file (`PATH.head`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The current file (`PATH`) is not among the files given, so there is no head to compare.
    NotApplicable,
    /// No head file (or an empty one).
    Missing(PathBuf),
    /// The head file does not verify under the key.
    Unreadable(PathBuf),
    /// The log's newest record is the one the head names (or comes after it, the head lagging
    /// by the record being written when the writer stopped).
    Reached { path: PathBuf, seq: u64 },
    /// The log ends before the record the head names: newer records were removed.
    Behind {
        path: PathBuf,
        head_seq: u64,
        log_seq: Option<u64>,
    },
    /// The log holds a different record where the head names one.
    Mismatch { path: PathBuf, head_seq: u64 },
}

impl HeadCheck {
    fn ok(&self, records: u64) -> bool {
        match self {
            HeadCheck::NotApplicable | HeadCheck::Reached { .. } => true,
            // An empty log needs no head.
            HeadCheck::Missing(_) => records == 0,
            _ => false,
        }
    }
}

impl fmt::Display for HeadCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadCheck::NotApplicable => f.write_str(
                "head not checked: the current file of the log is not among the files given",
            ),
            HeadCheck::Missing(p) => write!(
                f,
                "head {} is missing: whether the newest records were removed cannot be told",
                p.display()
            ),
            HeadCheck::Unreadable(p) => write!(
                f,
                "head {} does not verify under the key (damaged, forged, or another key)",
                p.display()
            ),
            HeadCheck::Reached { path, seq } => {
                write!(
                    f,
                    "head {} names seq {seq}: the log reaches it",
                    path.display()
                )
            }
            HeadCheck::Behind {
                path,
                head_seq,
                log_seq,
            } => {
                let end = log_seq.map_or("holds no record".to_string(), |s| {
                    format!("ends at seq {s}")
                });
                write!(
                    f,
                    "head {} names seq {head_seq} but the log {end}: records were removed from its end",
                    path.display()
                )
            }
            HeadCheck::Mismatch { path, head_seq } => write!(
                f,
                "head {} names a different record at seq {head_seq} than the log holds: the log was replaced",
                path.display()
            ),
        }
    }
}

impl VerifyReport {
    /// Whether the oldest record is the first of its chain; if not, older files were rotated away
    /// (or removed).
    #[cfg(test)]
    pub fn starts_at_genesis(&self) -> bool {
        self.first_seq.is_none_or(|s| s == 0)
    }

    /// No gap records, and the log reaches its head: nothing is known to be missing.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty() && self.head.ok(self.records)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        if self.records == 0 && self.complete() {
            return write!(
                f,
                "nothing verified: no audit records in {} file(s) ({})",
                self.files.len(),
                names.join(", ")
            );
        }
        let verdict = if self.complete() {
            "audit chain intact"
        } else {
            "audit chain INCOMPLETE (records are missing)"
        };
        write!(
            f,
            "{verdict}: {} records in {} file(s) ({})",
            self.records,
            self.files.len(),
            names.join(", ")
        )?;
        for g in &self.gaps {
            let after = g
                .after_seq
                .map_or("no earlier record".to_string(), |s| format!("seq {s}"));
            write!(
                f,
                "\ngap: {} line {}: gap record seq {} ({}) written after {after}",
                g.file.display(),
                g.line,
                g.seq,
                g.cause
            )?;
        }
        write!(f, "\n{}", self.head)?;
        if let (Some(first), Some(last), Some(mac)) =
            (self.first_seq, self.last_seq, &self.last_mac)
        {
            write!(f, "\nseq {first} to {last}; ")?;
            if first == 0 {
                f.write_str("the chain starts at its beginning")?;
            } else {
                write!(
                    f,
                    "records before seq {first} are not in these files (rotated away or removed)"
                )?;
            }
            write!(
                f,
                "\nlast MAC {mac}: compare it with a copy kept elsewhere (e.g. syslog) to detect \
                 removal of the newest records"
            )?;
        }
        Ok(())
    }
}

/// Why verification did not succeed.
#[derive(Debug)]
pub enum VerifyError {
    /// No files, or files that are not one log's rotation set.
    Usage(String),
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// The chain is broken. `verified` records before the finding were intact.
    Tampered {
        finding: Finding,
        verified: u64,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Usage(m) => write!(f, "audit verify: {m}"),
            VerifyError::Io { path, source } => {
                write!(f, "audit verify: cannot read {}: {source}", path.display())
            }
            VerifyError::Tampered { finding, verified } => write!(
                f,
                "audit chain BROKEN at {finding}\n({verified} records before it verified)"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is the whole file.
    pub line: Option<u64>,
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{} line {n}: {}", self.file.display(), self.problem),
            None => write!(f, "{}: {}", self.file.display(), self.problem),
        }
    }
}

/// How the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The line is not an audit record at all.
    Malformed(String),
    /// The MAC does not match the content.
    Edited,
    /// The MAC does not match, and the chain continues intact without this line.
    Inserted,
    /// `seq` skips records that should be here.
    Deleted {
        first_missing: u64,
        last_missing: u64,
        at_file_start: bool,
    },
    /// `seq` is not the next one, and the expected one follows or came before.
    Reordered { expected: u64, found: u64 },
    /// `seq` is right but `prev` is not the MAC of the record before.
    PrevMismatch,
    /// The file's last line is incomplete.
    Truncated,
    /// A file of the rotation set is missing (the finding's `file` names it).
    MissingFile,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed(why) => write!(f, "not an audit record ({why})"),
            Problem::Edited => {
                f.write_str("edited: the MAC does not match the content (changed or forged record)")
            }
            Problem::Inserted => f.write_str(
                "inserted: the MAC does not match, and the chain continues intact without this line",
            ),
            Problem::Deleted {
                first_missing,
                last_missing,
                at_file_start,
            } => {
                write!(
                    f,
                    "deleted: records with seq {first_missing} to {last_missing} are missing"
                )?;
                if *at_file_start {
                    f.write_str(
                        " (before the first line of this file: the end of the previous file or a \
                         whole rotated file was removed)",
                    )?;
                }
                Ok(())
            }
            Problem::Reordered { expected, found } => write!(
                f,
                "reordered: seq {found} where {expected} was expected (records moved or replayed)"
            ),
            Problem::PrevMismatch => f.write_str(
                "spliced: prev is not the MAC of the record before (a record from another chain)",
            ),
            Problem::Truncated => {
                f.write_str("truncated: the last line is incomplete (no trailing newline)")
            }
            Problem::MissingFile => f.write_str("missing from the rotation set"),
        }
    }
}

/// Verifies a log. `files` is either one base path (`audit.jsonl`: its rotations `audit.jsonl.N`
/// are found beside it) or any list of one log's files in any order (ordered by their `.N`
/// suffix, oldest first). A log whose own name ends in `.<digits>` is not supported. Only regular
/// files are read (a FIFO or device is refused, never waited on); symlinks are not followed.
/// When the current file is among them, its head (`PATH.head`) is compared with the log's end.
pub fn verify(files: &[PathBuf], key: &AuditKey) -> Result<VerifyReport, VerifyError> {
    let set = rotation_set(files)?;
    // The head first: a writer running meanwhile only moves the log past what we read here.
    let head_state = match set.iter().find(|(_, n)| *n == 0) {
        Some((base, _)) => {
            let path = head::head_path(base);
            Some((read_head(key, &path)?, path))
        }
        None => None,
    };
    // A gap in the numbering is reported once the files before it have been checked.
    let gap = set
        .windows(2)
        .position(|w| w[0].1 != w[1].1 + 1)
        .map(|i| (i + 1, set[i].1 - 1));
    let readable: Vec<PathBuf> = match gap {
        Some((end, _)) => set[..end].iter().map(|(p, _)| p.clone()).collect(),
        None => set.iter().map(|(p, _)| p.clone()).collect(),
    };

    let mut lines = Lines::new(&readable);
    let mut prev: Option<(u64, [u8; MAC_LEN])> = None;
    let mut records = 0u64;
    let mut first_seq = None;
    let mut gaps = Vec::new();
    let head_seq = match &head_state {
        Some((HeadState::At(h), _)) => Some(h.seq),
        _ => None,
    };
    let mut mac_at_head = None;
    let mut current = lines.next()?;
    while let Some(entry) = current {
        let next = lines.next()?;
        match judge(key, &entry, prev, next.as_ref()) {
            Ok(o) => {
                first_seq.get_or_insert(o.seq);
                if Some(o.seq) == head_seq {
                    mac_at_head = Some(o.mac);
                }
                if let Some(g) = &o.gap {
                    gaps.push(GapNote {
                        file: readable[entry.file].clone(),
                        line: entry.line,
                        seq: o.seq,
                        after_seq: g.after_seq,
                        cause: g.cause.clone(),
                    });
                }
                prev = Some((o.seq, o.mac));
                records += 1;
            }
            Err(problem) => {
                return Err(VerifyError::Tampered {
                    finding: Finding {
                        file: readable[entry.file].clone(),
                        line: Some(entry.line),
                        problem,
                    },
                    verified: records,
                });
            }
        }
        current = next;
    }
    if let Some((_, missing)) = gap {
        let base = rotation_of(&set[0].0).0;
        return Err(VerifyError::Tampered {
            finding: Finding {
                file: rotated_path(&base, missing),
                line: None,
                problem: Problem::MissingFile,
            },
            verified: records,
        });
    }
    let head = match head_state {
        None => HeadCheck::NotApplicable,
        Some((HeadState::Missing, path)) => HeadCheck::Missing(path),
        Some((HeadState::Unreadable, path)) => HeadCheck::Unreadable(path),
        Some((HeadState::At(h), path)) => match prev {
            Some((s, _)) if s >= h.seq && mac_at_head == Some(h.mac) => {
                HeadCheck::Reached { path, seq: h.seq }
            }
            Some((s, _)) if s >= h.seq => HeadCheck::Mismatch {
                path,
                head_seq: h.seq,
            },
            end => HeadCheck::Behind {
                path,
                head_seq: h.seq,
                log_seq: end.map(|(s, _)| s),
            },
        },
    };
    Ok(VerifyReport {
        files: readable,
        records,
        first_seq,
        last_seq: prev.map(|(s, _)| s),
        last_mac: prev.map(|(_, m)| hex(&m)),
        gaps,
        head,
    })
}

/// Opens a file to verify: no symlink, no waiting on a FIFO, a regular file only.
fn open_regular(path: &Path) -> Result<File, VerifyError> {
    let io_err = |source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                VerifyError::Usage(format!(
                    "{} is a symbolic link; name the file itself",
                    path.display()
                ))
            } else {
                io_err(e)
            }
        })?;
    let t = f.metadata().map_err(io_err)?.file_type();
    if !t.is_file() {
        let what = if t.is_fifo() {
            "a FIFO"
        } else if t.is_dir() {
            "a directory"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(VerifyError::Usage(format!(
            "{} is {what}, not a regular file: nothing was verified",
            path.display()
        )));
    }
    Ok(f)
}

fn read_head(key: &AuditKey, path: &Path) -> Result<HeadState, VerifyError> {
    match open_regular(path) {
        Ok(f) => head::read(key, &f).map_err(|source| VerifyError::Io {
            path: path.to_path_buf(),
            source,
        }),
        Err(VerifyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(HeadState::Missing)
        }
        Err(e) => Err(e),
    }
}

/// The files to read with their rotation numbers, oldest (highest number) first.
fn rotation_set(files: &[PathBuf]) -> Result<Vec<(PathBuf, u32)>, VerifyError> {
    let mut set: Vec<(PathBuf, u32)> = match files {
        [] => return Err(VerifyError::Usage("no audit file given".into())),
        [one] if rotation_of(one).1 == 0 => discover(one)?,
        many => many.iter().map(|p| (p.clone(), rotation_of(p).1)).collect(),
    };
    let base = rotation_of(&set[0].0).0;
    if let Some((p, _)) = set.iter().find(|(p, _)| rotation_of(p).0 != base) {
        return Err(VerifyError::Usage(format!(
            "{} and {} are not files of one log (expected {} and {}.N)",
            set[0].0.display(),
            p.display(),
            base.display(),
            base.display()
        )));
    }
    set.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    if let Some(w) = set.windows(2).find(|w| w[0].1 == w[1].1) {
        return Err(VerifyError::Usage(format!(
            "{} is given twice",
            w[0].0.display()
        )));
    }
    Ok(set)
}

/// `base` and its `base.N` siblings that exist.
fn discover(base: &Path) -> Result<Vec<(PathBuf, u32)>, VerifyError> {
    let dir = match base.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VerifyError::Io { path, source }
    };
    let mut set = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let (b, n) = rotation_of(&path);
        if n > 0 && b.file_name() == base.file_name() {
            set.push((rotated_path(base, n), n));
        }
    }
    match std::fs::symlink_metadata(base) {
        Ok(_) => set.push((base.to_path_buf(), 0)),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !set.is_empty() => {}
        Err(e) => return Err(io_err(base)(e)),
    }
    Ok(set)
}

/// `audit.jsonl.3` → (`audit.jsonl`, 3); `audit.jsonl` → (`audit.jsonl`, 0).
fn rotation_of(path: &Path) -> (PathBuf, u32) {
    let name = path.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
    if let Some(dot) = name.iter().rposition(|b| *b == b'.') {
        let digits = &name[dot + 1..];
        let canonical = !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
            && digits[0] != b'0'
            && dot > 0;
        if let Some(n) = canonical
            .then(|| std::str::from_utf8(digits).ok()?.parse::<u32>().ok())
            .flatten()
        {
            let base = path.with_file_name(std::ffi::OsStr::from_bytes(&name[..dot]));
            return (base, n);
        }
    }
    (path.to_path_buf(), 0)
}

/// One line read from a file.
#[derive(Debug)]
struct Entry {
    /// Index into the readable files.
    file: usize,
    /// 1-based.
    line: u64,
    bytes: Vec<u8>,
}

/// The lines of several files in order, each read with a length cap.
struct Lines<'a> {
    files: &'a [PathBuf],
    next_file: usize,
    reader: Option<(usize, BufReader<File>)>,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(files: &'a [PathBuf]) -> Self {
        Lines {
            files,
            next_file: 0,
            reader: None,
            line: 0,
        }
    }

    fn next(&mut self) -> Result<Option<Entry>, VerifyError> {
        loop {
            let (file, reader) = match &mut self.reader {
                Some((i, r)) => (*i, r),
                None => {
                    let Some(path) = self.files.get(self.next_file) else {
                        return Ok(None);
                    };
                    let f = open_regular(path)?;
                    self.line = 0;
                    let (i, r) = self
                        .reader
                        .insert((self.next_file, BufReader::with_capacity(64 * 1024, f)));
                    self.next_file += 1;
                    (*i, r)
                }
            };
            let mut bytes = Vec::new();
            let n = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut bytes)
                .map_err(|source| VerifyError::Io {
                    path: self.files[file].clone(),
                    source,
                })?;
            if n == 0 {
                self.reader = None;
                continue;
            }
            self.line += 1;
            return Ok(Some(Entry {
                file,
                line: self.line,
                bytes,
            }));
        }
    }
}

/// Parses and authenticates one line.
fn examine(key: &AuditKey, e: &Entry) -> Result<Opened, Problem> {
    if e.bytes.len() > MAX_LINE_BYTES {
        return Err(Problem::Malformed(format!(
            "line longer than {MAX_LINE_BYTES} bytes"
        )));
    }
    let Some(body) = e.bytes.strip_suffix(b"\n") else {
        return Err(Problem::Truncated);
    };
    let o = chain::open(key, body).map_err(Problem::Malformed)?;
    if o.authentic {
        Ok(o)
    } else {
        Err(Problem::Edited)
    }
}

/// Checks `e` against the record before it; `next` (the following line, if any) only serves to
/// tell an insertion from an edit and a swap from a deletion.
fn judge(
    key: &AuditKey,
    e: &Entry,
    prev: Option<(u64, [u8; MAC_LEN])>,
    next: Option<&Entry>,
) -> Result<Opened, Problem> {
    let next_ok = || next.and_then(|n| examine(key, n).ok());
    let o = match examine(key, e) {
        Err(Problem::Edited) => {
            let chain_skips_it = match (prev, next_ok()) {
                (Some((seq, mac)), Some(n)) => seq.checked_add(1) == Some(n.seq) && n.prev == mac,
                _ => false,
            };
            return Err(if chain_skips_it {
                Problem::Inserted
            } else {
                Problem::Edited
            });
        }
        r => r?,
    };
    // A gap record continues after the last record the writer found; its `prev` is the MAC of a
    // record the files no longer hold, so only its own MAC (checked above) and place are checked.
    if let Some(g) = &o.gap {
        match (prev, g.after_seq) {
            (None, _) => return Ok(o),
            (Some((ps, _)), Some(after)) if after == ps && o.seq > ps => return Ok(o),
            _ => {}
        }
    }
    let Some((prev_seq, prev_mac)) = prev else {
        // The oldest record: it may start mid-chain (older files rotated away), but a record
        // claiming to be the first of a chain must start from genesis.
        if o.seq == 0 && o.prev != GENESIS {
            return Err(Problem::PrevMismatch);
        }
        return Ok(o);
    };
    let expected = prev_seq.saturating_add(1);
    if o.seq == expected {
        if o.prev != prev_mac {
            return Err(Problem::PrevMismatch);
        }
        Ok(o)
    } else if o.seq > expected {
        if next_ok().is_some_and(|n| n.seq == expected) {
            Err(Problem::Reordered {
                expected,
                found: o.seq,
            })
        } else {
            Err(Problem::Deleted {
                first_missing: expected,
                last_missing: o.seq - 1,
                at_file_start: e.line == 1,
            })
        }
    } else {
        Err(Problem::Reordered {
            expected,
            found: o.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{EventKind, Record};
    use crate::audit::testdir::TempDir;
    use crate::audit::{AuditLog, AuditSettings};

    fn key() -> AuditKey {
        AuditKey::from_bytes(&[0x42; 32]).unwrap()
    }

    /// A log of `n` records (seq i has tool `t{i}`); with `max_size` it rotates.
    fn write_log(dir: &TempDir, name: &str, n: usize, max_size: Option<u64>) -> PathBuf {
        let path = dir.join(name);
        let mut s = AuditSettings::new(&path, key());
        s.max_files = 50;
        if let Some(m) = max_size {
            s.max_size_bytes = m;
        }
        let log = AuditLog::open(s).unwrap();
        for i in 0..n {
            log.append(Record::new(EventKind::Query).tool(format!("t{i}")))
                .unwrap();
        }
        path
    }

    fn read_lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    /// The finding of a verification expected to fail.
    fn finding(files: &[PathBuf]) -> (Finding, u64) {
        match verify(files, &key()) {
            Err(VerifyError::Tampered { finding, verified }) => (finding, verified),
            other => panic!("expected a finding, got {other:?}"),
        }
    }

    #[test]
    fn intact_single_file_passes() {
        let dir = TempDir::new("v-intact");
        let path = write_log(&dir, "audit.jsonl", 10, None);
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!(r.records, 10);
        assert_eq!((r.first_seq, r.last_seq), (Some(0), Some(9)));
        assert!(r.starts_at_genesis());
        let last: serde_json::Value =
            serde_json::from_str(read_lines(&path).last().unwrap()).unwrap();
        assert_eq!(r.last_mac.as_deref(), last["mac"].as_str());
        let text = r.to_string();
        assert!(text.contains("intact: 10 records in 1 file"), "{text}");
        assert!(text.contains("starts at its beginning"), "{text}");
    }

    #[test]
    fn empty_and_fresh_logs_pass() {
        let dir = TempDir::new("v-empty");
        let path = dir.join("audit.jsonl");
        std::fs::write(&path, "").unwrap();
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!((r.records, r.last_mac), (0, None));
    }

    #[test]
    fn a_head_lagging_behind_the_log_is_accepted_by_writer_and_verifier() {
        // As when the process stopped between a record and its head: restore an older head.
        let dir = TempDir::new("v-head-lag");
        let path = write_log(&dir, "audit.jsonl", 3, None);
        let head = head::head_path(&path);
        let old = std::fs::read(&head).unwrap();
        let path = write_log(&dir, "audit.jsonl", 2, None);
        std::fs::write(&head, &old).unwrap();
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert!(r.complete(), "{r}");
        assert_eq!(
            r.head,
            HeadCheck::Reached {
                path: head.clone(),
                seq: 2
            }
        );
        // The writer continues without a gap.
        let path = write_log(&dir, "audit.jsonl", 1, None);
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!((r.records, r.gaps.len()), (6, 0), "{r}");
    }

    #[test]
    fn a_gap_record_excuses_only_the_place_it_names() {
        let dir = TempDir::new("v-gap");
        let path = write_log(&dir, "audit.jsonl", 4, None);
        // Cut the last two records: the next writer notes the gap after seq 1, resumes at 4.
        let lines = read_lines(&path);
        write_lines(&path, &lines[..2]);
        let path = write_log(&dir, "audit.jsonl", 1, None);
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert!(!r.complete());
        assert_eq!(r.gaps.len(), 1, "{r}");
        assert_eq!((r.gaps[0].seq, r.gaps[0].after_seq), (4, Some(1)));
        assert_eq!(r.gaps[0].cause, "log_behind_head");
        assert!(r.to_string().contains("INCOMPLETE"), "{r}");
        // Removing a record before the gap record is still a deletion, not excused by it.
        let lines = read_lines(&path);
        write_lines(
            &path,
            &[lines[0].clone(), lines[2].clone(), lines[3].clone()],
        );
        let (f, _) = finding(std::slice::from_ref(&path));
        assert_eq!(f.line, Some(2));
        assert!(matches!(f.problem, Problem::Deleted { .. }), "{f}");
    }

    #[test]
    fn intact_rotated_set_passes_from_base_path_or_any_order() {
        let dir = TempDir::new("v-rotated");
        let path = write_log(&dir, "audit.jsonl", 40, Some(800));
        let mut all = vec![path.clone()];
        let mut n = 1;
        while rotated_path(&path, n).exists() {
            all.push(rotated_path(&path, n));
            n += 1;
        }
        assert!(
            all.len() >= 4,
            "expected several rotations, got {}",
            all.len()
        );
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!(
            (r.records, r.first_seq, r.last_seq),
            (40, Some(0), Some(39))
        );
        assert_eq!(r.files.first(), all.last());
        assert_eq!(r.files.last(), Some(&path));
        // Same result from the files listed explicitly, shuffled.
        let mut shuffled = all.clone();
        shuffled.swap(0, 2);
        shuffled.reverse();
        assert_eq!(verify(&shuffled, &key()).unwrap(), r);
        // A contiguous subset (the two oldest) verifies on its own.
        let oldest = &all[all.len() - 2..];
        let sub = verify(oldest, &key()).unwrap();
        assert_eq!(sub.first_seq, Some(0));
        assert!(sub.records < 40);
    }

    #[test]
    fn edited_field_is_reported_as_edited() {
        let dir = TempDir::new("v-edit");
        let path = write_log(&dir, "audit.jsonl", 10, None);
        let mut ls = read_lines(&path);
        ls[4] = ls[4].replace("\"tool\":\"t4\"", "\"tool\":\"tX\"");
        write_lines(&path, &ls);
        let (f, verified) = finding(std::slice::from_ref(&path));
        assert_eq!(
            (f.file, f.line, f.problem),
            (path, Some(5), Problem::Edited)
        );
        assert_eq!(verified, 4);
    }

    #[test]
    fn deleted_line_is_reported_as_deleted() {
        let dir = TempDir::new("v-delete");
        let path = write_log(&dir, "audit.jsonl", 10, None);
        let mut ls = read_lines(&path);
        ls.remove(3);
        write_lines(&path, &ls);
        let (f, _) = finding(&[path]);
        assert_eq!(f.line, Some(4));
        assert_eq!(
            f.problem,
            Problem::Deleted {
                first_missing: 3,
                last_missing: 3,
                at_file_start: false
            }
        );
    }

    #[test]
    fn forged_line_under_another_key_is_reported_as_inserted() {
        let dir = TempDir::new("v-insert");
        let path = write_log(&dir, "audit.jsonl", 10, None);
        let mut ls = read_lines(&path);
        // The forger copies record seq 3, changes it and re-signs with a key of their own.
        let body = ls[3]
            .rsplit_once(",\"mac\":")
            .unwrap()
            .0
            .replace("t3", "evil");
        let wrong = AuditKey::from_bytes(&[0x66; 32]).unwrap();
        let (forged, _) = chain::seal(&wrong, format!("{body}}}").as_bytes());
        ls.insert(3, String::from_utf8(forged).unwrap().trim_end().to_string());
        write_lines(&path, &ls);
        let (f, verified) = finding(&[path]);
        assert_eq!((f.line, f.problem.clone()), (Some(4), Problem::Inserted));
        assert_eq!(verified, 3);
        assert!(f.to_string().contains("line 4: inserted"), "{f}");
    }

    #[test]
    fn forged_last_line_is_reported_as_edited() {
        // Nothing follows it, so it cannot be told apart from an edit.
        let dir = TempDir::new("v-forge-last");
        let path = write_log(&dir, "audit.jsonl", 5, None);
        let mut ls = read_lines(&path);
        let wrong = AuditKey::from_bytes(&[0x66; 32]).unwrap();
        let body = ls[4]
            .rsplit_once(",\"mac\":")
            .unwrap()
            .0
            .replace("t4", "t5");
        let (forged, _) = chain::seal(&wrong, format!("{body}}}").as_bytes());
        ls.push(String::from_utf8(forged).unwrap().trim_end().to_string());
        write_lines(&path, &ls);
        let (f, _) = finding(&[path]);
        assert_eq!((f.line, f.problem), (Some(6), Problem::Edited));
    }

    #[test]
    fn swapped_lines_are_reported_as_reordered() {
        let dir = TempDir::new("v-swap");
        let path = write_log(&dir, "audit.jsonl", 10, None);
        let mut ls = read_lines(&path);
        ls.swap(5, 6);
        write_lines(&path, &ls);
        let (f, _) = finding(&[path]);
        assert_eq!(f.line, Some(6));
        assert_eq!(
            f.problem,
            Problem::Reordered {
                expected: 5,
                found: 6
            }
        );
    }

    #[test]
    fn replayed_line_is_reported_as_reordered() {
        let dir = TempDir::new("v-replay");
        let path = write_log(&dir, "audit.jsonl", 6, None);
        let mut ls = read_lines(&path);
        let dup = ls[2].clone();
        ls.insert(3, dup);
        write_lines(&path, &ls);
        let (f, _) = finding(&[path]);
        assert_eq!(f.line, Some(4));
        assert_eq!(
            f.problem,
            Problem::Reordered {
                expected: 3,
                found: 2
            }
        );
    }

    #[test]
    fn truncated_last_line_is_reported_as_truncated() {
        let dir = TempDir::new("v-trunc");
        let path = write_log(&dir, "audit.jsonl", 8, None);
        let len = std::fs::metadata(&path).unwrap().len();
        for cut in [1, 30] {
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len - cut)
                .unwrap();
            let (f, verified) = finding(std::slice::from_ref(&path));
            assert_eq!(
                (f.line, f.problem),
                (Some(8), Problem::Truncated),
                "cut {cut}"
            );
            assert_eq!(verified, 7);
        }
    }

    #[test]
    fn record_from_another_chain_is_reported_as_spliced() {
        // Same key, another log: its records authenticate but do not link.
        let dir = TempDir::new("v-splice");
        let a = write_log(&dir, "a.jsonl", 6, None);
        let b = dir.join("b.jsonl");
        let log = AuditLog::open(AuditSettings::new(&b, key())).unwrap();
        for i in 0..6 {
            // Different content, so the chains differ even within one millisecond.
            log.append(Record::new(EventKind::Query).tool(format!("other{i}")))
                .unwrap();
        }
        let mut la = read_lines(&a);
        la[3] = read_lines(&b)[3].clone();
        write_lines(&a, &la);
        let (f, _) = finding(&[a]);
        assert_eq!((f.line, f.problem), (Some(4), Problem::PrevMismatch));
    }

    #[test]
    fn garbage_line_and_wrong_key_are_reported() {
        let dir = TempDir::new("v-garbage");
        let path = write_log(&dir, "audit.jsonl", 4, None);
        let mut ls = read_lines(&path);
        ls.insert(2, "hello".into());
        write_lines(&path, &ls);
        let (f, _) = finding(std::slice::from_ref(&path));
        assert_eq!(f.line, Some(3));
        assert!(matches!(f.problem, Problem::Malformed(_)), "{f}");

        let path = write_log(&dir, "other.jsonl", 4, None);
        let wrong = AuditKey::from_bytes(&[0x01; 32]).unwrap();
        match verify(&[path], &wrong) {
            Err(VerifyError::Tampered { finding, verified }) => {
                assert_eq!(
                    (finding.line, finding.problem, verified),
                    (Some(1), Problem::Edited, 0)
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_rotated_file_is_reported() {
        let dir = TempDir::new("v-missing");
        let path = write_log(&dir, "audit.jsonl", 40, Some(800));
        assert!(rotated_path(&path, 4).exists());
        std::fs::remove_file(rotated_path(&path, 2)).unwrap();
        let (f, _) = finding(std::slice::from_ref(&path));
        assert_eq!(
            (f.file.clone(), f.line, f.problem.clone()),
            (rotated_path(&path, 2), None, Problem::MissingFile)
        );
        assert!(
            VerifyError::Tampered {
                finding: f,
                verified: 0
            }
            .to_string()
            .contains("audit.jsonl.2: missing from the rotation set")
        );
        // Hiding the gap by renaming the older files down is caught by the chain itself.
        let mut n = 3;
        while rotated_path(&path, n).exists() {
            std::fs::rename(rotated_path(&path, n), rotated_path(&path, n - 1)).unwrap();
            n += 1;
        }
        let (f, _) = finding(std::slice::from_ref(&path));
        assert_eq!((f.file, f.line), (rotated_path(&path, 1), Some(1)));
        assert!(
            matches!(
                f.problem,
                Problem::Deleted {
                    at_file_start: true,
                    ..
                }
            ),
            "{:?}",
            f.problem
        );
    }

    #[test]
    fn usage_errors() {
        let dir = TempDir::new("v-usage");
        assert!(matches!(verify(&[], &key()), Err(VerifyError::Usage(_))));
        let a = write_log(&dir, "a.jsonl", 1, None);
        let b = write_log(&dir, "b.jsonl", 1, None);
        let e = verify(&[a.clone(), b], &key()).unwrap_err();
        assert!(e.to_string().contains("not files of one log"), "{e}");
        let e = verify(&[a.clone(), a], &key()).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        let e = verify(&[dir.join("absent.jsonl")], &key()).unwrap_err();
        assert!(matches!(e, VerifyError::Io { .. }), "{e}");
    }

    #[test]
    fn rotation_names() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            rotation_of(&p("/l/audit.jsonl.12")),
            (p("/l/audit.jsonl"), 12)
        );
        assert_eq!(rotation_of(&p("/l/audit.jsonl")), (p("/l/audit.jsonl"), 0));
        for not_rotated in [
            "/l/audit.jsonl.0",
            "/l/audit.jsonl.01",
            "/l/audit.jsonl.1x",
            "/l/.1",
        ] {
            assert_eq!(rotation_of(&p(not_rotated)).1, 0, "{not_rotated}");
        }
    }
}

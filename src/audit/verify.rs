#![forbid(unsafe_code)]
//! The verifier behind `sysgate audit verify FILE...`: walks the chain from the oldest file to the
//! newest and stops at the first line that breaks it, saying where and how.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::chain::{self, GENESIS, MAC_LEN, Opened};
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
}

impl VerifyReport {
    /// Whether the oldest record is the first of its chain; if not, older files were rotated away
    /// (or removed).
    pub fn starts_at_genesis(&self) -> bool {
        self.first_seq.is_none_or(|s| s == 0)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        write!(
            f,
            "audit chain intact: {} records in {} file(s) ({})",
            self.records,
            self.files.len(),
            names.join(", ")
        )?;
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
/// suffix, oldest first). A log whose own name ends in `.<digits>` is not supported.
pub fn verify(files: &[PathBuf], key: &AuditKey) -> Result<VerifyReport, VerifyError> {
    let set = rotation_set(files)?;
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
    let mut current = lines.next()?;
    while let Some(entry) = current {
        let next = lines.next()?;
        match judge(key, &entry, prev, next.as_ref()) {
            Ok(o) => {
                first_seq.get_or_insert(o.seq);
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
    Ok(VerifyReport {
        files: readable,
        records,
        first_seq,
        last_seq: prev.map(|(s, _)| s),
        last_mac: prev.map(|(_, m)| hex(&m)),
    })
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
                    let f = File::open(path).map_err(|source| VerifyError::Io {
                        path: path.clone(),
                        source,
                    })?;
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

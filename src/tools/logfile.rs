#![forbid(unsafe_code)]
//! The text-log reader the file-based log tools share (`get_syslog`, `get_app_logs`,
//! `get_auth_logs`): reads a file **backwards from the end** in fixed blocks (never the whole
//! file), returns the newest matching lines first, and pages further back in time with a cursor.
//!
//! A page holds at most `lines` lines, newest first. Each line is cut to [`MAX_LINE_CHARS`]
//! characters (at most [`KEEP_LINE_BYTES`] bytes of it are ever held); bytes that are not valid
//! UTF-8 and control characters other than tab become U+FFFD and the line is flagged `binary`.
//! `grep` is a literal, case-sensitive substring of the (kept part of the) line, after the
//! redaction patterns (so it cannot probe a redacted secret). The time bound
//! uses the stamp at the start of each line (RFC 3164 or RFC 3339, see `parse::syslog`): the
//! scan stops at the first line older than the bound (logs are written in time order); lines
//! without a stamp (continuations) are kept.
//!
//! **Continuation.** When the scan stopped before the start of the file and the time bound, and
//! another matching line exists (or the scan budget of [`SCAN_BUDGET`] bytes per page ran out),
//! the page carries `next_cursor`: the file's identity (device, inode), the byte offset where the
//! page stopped and a fingerprint of the bytes around it (see `cursor`). Passing it back returns
//! the lines just older than the page: new lines appended meanwhile do not shift it, and when
//! the file was rotated (renamed to `NAME.1`, a new `NAME` created) the cursor's file is found
//! there by its identity. A file truncated below the offset, or truncated and written again
//! (the fingerprint differs), is a clear error; so is a file that is gone.

pub mod cursor;

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use self::cursor::{Cursor, FileCursor, fnv1a};
use super::parse::syslog;
use crate::error::ToolError;
use crate::output::redact::Redactor;

/// Bytes read per `pread`.
pub const BLOCK: usize = 64 * 1024;
/// Most bytes scanned for one page: a page on a file of huge lines (or a sparse hole) stops here
/// with a cursor instead of reading on.
pub const SCAN_BUDGET: u64 = 32 << 20;
/// Bytes of a line kept while scanning; the rest is counted, not held.
pub const KEEP_LINE_BYTES: usize = 16 * 1024;
/// Characters of a line returned.
pub const MAX_LINE_CHARS: usize = 4096;
/// Most text bytes in one page: under half the default 1 MiB output cap (JSON escaping can
/// double text), so the output pipeline does not cut a page under the default caps (a cut page
/// would make its cursor skip the lines cut; the `truncated` marker then says so).
pub const PAGE_TEXT_BYTES: usize = 384 * 1024;
/// Bytes around the stop offset that the cursor fingerprints (each side).
const FP_SIDE: u64 = 32;
pub const MAX_LINES: usize = 1000;
pub const DEFAULT_LINES: usize = 100;
pub const MAX_AGE_HOURS: u64 = 24;

/// The input schema properties every file log tool shares (spliced into each tool's schema).
#[macro_export]
#[doc(hidden)]
macro_rules! log_page_properties {
    () => {
        r#""lines": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "most lines to return (default 100)"},
        "grep": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000-\\u0008\\u000a-\\u001f]*$", "description": "keep only lines containing this literal text (case-sensitive; not a regular expression)"},
        "cursor": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9_-]+$", "description": "`next_cursor` of the previous page (valid for this server process): continue with the lines just older than it"}"#
    };
}

/// The output schema every file log tool shares; `$extra` adds the tool's own properties.
#[macro_export]
#[doc(hidden)]
macro_rules! log_page_output {
    ($extra:literal) => {
        $crate::log_page_output!(r#""file", "lines", "returned", "stopped", "window_start""#, $extra)
    };
    ($required:literal, $extra:literal) => {
        concat!(
            r#"{"type": "object", "additionalProperties": false, "required": ["#,
            $required,
            r#"], "properties": {
                "file": {"type": "string", "description": "the file read"},
                "lines": {"type": "array", "description": "newest first", "items": {
                    "type": "object", "additionalProperties": false, "required": ["text"],
                    "properties": {
                        "text": {"type": "string"},
                        "time": {"type": "string", "x-sysgate-server-text": true, "description": "the line's stamp in UTC (RFC 3339), when it has one"},
                        "binary": {"type": "boolean", "description": "the line had bytes that are not UTF-8 text (shown as U+FFFD)"},
                        "cut": {"type": "boolean", "description": "the line was longer and is shown shortened"},
                        "bytes": {"type": "integer", "minimum": 0, "description": "the whole line's length, when cut"}
                    }}},
                "returned": {"type": "integer", "minimum": 0},
                "stopped": {"type": "string", "enum": ["start_of_file", "time_bound", "line_cap", "page_bytes", "scan_budget", "no_file"],
                    "description": "why the page ended"},
                "window_start": {"type": "string", "x-sysgate-server-text": true, "description": "lines older than this (UTC) are not returned"},
                "next_cursor": {"type": "string", "x-sysgate-server-text": true, "description": "present when older lines may follow: pass it as `cursor` for the next page"},
                "rotated": {"type": "boolean", "description": "the cursor's file had been rotated and was found under the rotated name"},
                "scanned_bytes": {"type": "integer", "minimum": 0},
                "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why there are no lines (stopped: no_file)"}"#,
            $extra,
            r#"}}"#
        )
    };
}

/// What a page asks for, from the validated arguments.
#[derive(Debug, Clone)]
pub struct PageArgs {
    pub lines: usize,
    pub grep: Option<String>,
    pub max_age_hours: u64,
    pub cursor: Option<String>,
}

impl PageArgs {
    /// The shared arguments; the schema already bounded them (the clamps only make that local).
    pub fn from(args: &Map<String, Value>) -> PageArgs {
        PageArgs {
            lines: args
                .get("lines")
                .and_then(Value::as_u64)
                .map_or(DEFAULT_LINES, |n| n.clamp(1, MAX_LINES as u64) as usize),
            grep: args.get("grep").and_then(Value::as_str).map(str::to_owned),
            max_age_hours: args
                .get("max_age_hours")
                .and_then(Value::as_u64)
                .map_or(MAX_AGE_HOURS, |n| n.clamp(1, MAX_AGE_HOURS)),
            cursor: args
                .get("cursor")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// How a page's files are opened: the tool's own rules (no symlinks; beneath a root).
pub type Opener<'a> = &'a dyn Fn(&Path) -> io::Result<File>;

/// What a page needs besides its arguments (a handler builds it from its `Ctx`).
pub struct Env<'a> {
    pub redactor: &'a Redactor,
    pub check: &'a dyn Fn() -> Result<(), ToolError>,
    /// Unix time now.
    pub now: i64,
}

/// One file log: the tool and path identify it (cursors are bound to both), `open` opens it
/// and its rotated sibling `PATH.1`.
pub struct LogFile<'a> {
    pub tool: &'static str,
    pub path: &'a Path,
    pub open: Opener<'a>,
}

impl LogFile<'_> {
    fn id(&self) -> u64 {
        fnv1a(&[
            self.tool.as_bytes(),
            b"\0",
            self.path.as_os_str().as_encoded_bytes(),
        ])
    }

    fn rotated(&self) -> PathBuf {
        let mut p = self.path.as_os_str().to_owned();
        p.push(".1");
        PathBuf::from(p)
    }
}

/// A system log tool's page: the first of `candidates` that exists (as anything: a symlink is
/// then refused on open), or, when none does, an empty page that says so (a host that logs only
/// to the journal has no such file; that is an answer, not a failure).
pub fn system_log_page(
    ctx: &crate::tools::Ctx<'_>,
    tool: &'static str,
    candidates: &[&str],
    what: &str,
    args: &Map<String, Value>,
) -> Result<Value, ToolError> {
    let args = PageArgs::from(args);
    let Some(path) = candidates
        .iter()
        .copied()
        .find(|p| Path::new(p).symlink_metadata().is_ok())
    else {
        let now = now_unix();
        let page = Page {
            file: candidates.first().copied().unwrap_or_default().to_owned(),
            lines: Vec::new(),
            returned: 0,
            stopped: Stop::NoFile,
            window_start: syslog::format_utc(now - args.max_age_hours as i64 * 3600, 0),
            next_cursor: None,
            rotated: false,
            scanned_bytes: 0,
            reason: Some(format!(
                "this host has no {what} file ({} do not exist; the system may log only to the journal)",
                candidates.join(" and ")
            )),
        };
        return serde_json::to_value(&page).map_err(|e| {
            ToolError::Failed(format!("internal error: cannot encode the result: {e}"))
        });
    };
    let log = LogFile {
        tool,
        path: Path::new(path),
        open: &open_nofollow,
    };
    page_in(ctx, &log, &args)
}

/// Open `path` read-only without following a symlink in its last component, and insist on a
/// regular file (a FIFO or device put in a log's place is refused, never read).
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    regular(f)
}

/// `f` if it is a regular file.
pub fn regular(f: File) -> io::Result<File> {
    if f.metadata()?.file_type().is_file() {
        Ok(f)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

fn open_error(path: &Path, e: &io::Error) -> ToolError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => ToolError::Unavailable(format!("{} does not exist", path.display())),
        Some(libc::EACCES | libc::EPERM) => ToolError::Unavailable(format!(
            "{} is not readable by this server's user: {e}",
            path.display()
        )),
        Some(libc::ELOOP) | Some(libc::EXDEV) => ToolError::Denied(format!(
            "{} is or goes through a symbolic link, which log tools never follow",
            path.display()
        )),
        _ => ToolError::Unavailable(format!("cannot open {}: {e}", path.display())),
    }
}

fn cursor_error(rule: impl Into<String>) -> ToolError {
    ToolError::InvalidArgument {
        argument: "cursor".into(),
        rule: rule.into(),
    }
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    StartOfFile,
    TimeBound,
    LineCap,
    PageBytes,
    ScanBudget,
    /// None of the tool's files exists on this host (`reason` says which were tried).
    NoFile,
}

#[derive(Serialize, Debug)]
pub struct Page {
    pub file: String,
    pub lines: Vec<Line>,
    pub returned: usize,
    pub stopped: Stop,
    pub window_start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rotated: bool,
    pub scanned_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one backward scan asks.
pub struct Scan<'a> {
    /// Scan the bytes before this offset.
    pub end: u64,
    /// The line ending at `end` continues past it (a cursor made inside a line).
    pub partial: bool,
    pub lines: usize,
    pub grep: Option<&'a str>,
    /// Unix time: older lines end the scan.
    pub cutoff: i64,
    pub now: i64,
    /// The local zone's offset from UTC, for RFC 3164 stamps.
    pub utc_offset: i64,
    pub budget: u64,
}

/// What a backward scan found.
#[derive(Debug)]
pub struct Found {
    pub lines: Vec<Line>,
    pub stop: Stop,
    /// Where the next page starts (an end offset), and whether that is inside a line.
    pub resume: Option<(u64, bool)>,
    pub scanned: u64,
}

/// Read exactly `buf.len()` bytes at `at`; a short read means the file shrank under us.
fn read_exact_at(f: &File, buf: &mut [u8], at: u64) -> Result<(), ToolError> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], at + done as u64) {
            Ok(0) => {
                return Err(ToolError::Failed(
                    "the log file was truncated while it was being read; call again without `cursor` to start from the newest lines".into(),
                ));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ToolError::Failed(format!("cannot read the log file: {e}"))),
        }
    }
    Ok(())
}

/// Text of raw line bytes: invalid UTF-8 and control characters (except tab) become U+FFFD.
/// Returns the text and whether anything was replaced.
pub fn line_text(raw: &[u8]) -> (String, bool) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let lossy = String::from_utf8_lossy(raw);
    let mut binary = matches!(lossy, std::borrow::Cow::Owned(_));
    let is_control = |c: char| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}';
    if lossy.contains(is_control) {
        binary = true;
        return (lossy.replace(is_control, "\u{fffd}"), binary);
    }
    (lossy.into_owned(), binary)
}

/// The lines a scan keeps, and the decision for each line found.
struct Collector<'a> {
    q: &'a Scan<'a>,
    redactor: &'a Redactor,
    out: Vec<Line>,
    text_bytes: usize,
}

/// Why a scan ends, and where the next page would start.
type End = (Stop, Option<(u64, bool)>);

impl Collector<'_> {
    /// One whole line: `start .. start + len`, its first bytes `head`. `Some` ends the scan.
    fn take(&mut self, start: u64, head: &[u8], len: u64, fragment: bool) -> Option<End> {
        if len == 0 || head == b"\r" {
            return None;
        }
        let q = self.q;
        let time =
            syslog::parse_stamp(head).and_then(|s| syslog::resolve(s, q.now, &|_| q.utc_offset));
        if let Some((t, _)) = time
            && t < q.cutoff
        {
            return Some((Stop::TimeBound, None));
        }
        let (text, binary) = line_text(head);
        if let Some(g) = q.grep {
            // Matched on the line as the caller will see it (redacted), so that `grep` is no
            // oracle for the value of a secret the output hides; only lines that match raw can.
            if !text.contains(g) {
                return None;
            }
            if let Some(redacted) = self.redactor.redact_text(&text)
                && !redacted.contains(g)
            {
                return None;
            }
        }
        // One more matching line than the page holds: it starts the next page.
        if self.out.len() >= q.lines {
            return Some((Stop::LineCap, Some((start + len, false))));
        }
        let (text, shortened) = if text.chars().nth(MAX_LINE_CHARS).is_some() {
            self.redactor.cut(&text, MAX_LINE_CHARS)
        } else {
            (text, false)
        };
        if self.text_bytes + text.len() > PAGE_TEXT_BYTES && !self.out.is_empty() {
            return Some((Stop::PageBytes, Some((start + len, false))));
        }
        let cut = shortened || (len as usize) > head.len() || fragment;
        self.text_bytes += text.len();
        self.out.push(Line {
            text,
            time: time.map(|(s, n)| syslog::format_utc(s, n)),
            binary,
            cut,
            bytes: cut.then_some(len),
        });
        None
    }
}

/// `carry` with `piece` put before it, keeping the first [`KEEP_LINE_BYTES`].
fn prepend(piece: &[u8], carry: &[u8]) -> Vec<u8> {
    let mut h = piece[..piece.len().min(KEEP_LINE_BYTES)].to_vec();
    let room = KEEP_LINE_BYTES - h.len();
    h.extend_from_slice(&carry[..carry.len().min(room)]);
    h
}

/// Scan `file` backwards per `q`. The heart of the reader: one block buffer, one carried
/// partial line of at most [`KEEP_LINE_BYTES`].
pub fn scan_back(
    file: &File,
    q: &Scan<'_>,
    redactor: &Redactor,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Found, ToolError> {
    let mut buf = vec![0u8; BLOCK];
    let mut c = Collector {
        q,
        redactor,
        out: Vec::new(),
        text_bytes: 0,
    };
    // The first bytes of the line being assembled, which ends where the last line found began
    // (or at `q.end`), and its length so far.
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_len: u64 = 0;
    // The next line completed is the start of a line cut by the previous page's scan budget.
    let mut fragment = q.partial;
    let mut pos = q.end;
    let mut scanned: u64 = 0;
    let done = |c: Collector<'_>, (stop, resume): End, scanned: u64| Found {
        lines: c.out,
        stop,
        resume,
        scanned,
    };
    loop {
        if pos == 0 {
            let end = c
                .take(0, &carry, carry_len, fragment)
                .unwrap_or((Stop::StartOfFile, None));
            return Ok(done(c, end, scanned));
        }
        if scanned >= q.budget {
            // Stop; the next page resumes at `pos`. If the line being assembled starts exactly
            // there, it is whole: take it now. Otherwise the next page gets its start only.
            let mut before = [0u8; 1];
            read_exact_at(file, &mut before, pos - 1)?;
            let inside = carry_len > 0 && before[0] != b'\n';
            if carry_len > 0 && !inside {
                let frag = std::mem::take(&mut fragment);
                if let Some(end) = c.take(pos, &carry, carry_len, frag) {
                    return Ok(done(c, end, scanned));
                }
            }
            let resume = Some((pos, inside || (fragment && carry_len > 0)));
            return Ok(done(c, (Stop::ScanBudget, resume), scanned));
        }
        check()?;
        let start = pos.saturating_sub(BLOCK as u64);
        let n = (pos - start) as usize;
        read_exact_at(file, &mut buf[..n], start)?;
        scanned += n as u64;
        let mut hi = n;
        while let Some(i) = rfind_newline(&buf[..hi]) {
            let piece = &buf[i + 1..hi];
            let len = piece.len() as u64 + carry_len;
            let head = if carry.is_empty() {
                std::borrow::Cow::Borrowed(&piece[..piece.len().min(KEEP_LINE_BYTES)])
            } else {
                std::borrow::Cow::Owned(prepend(piece, &carry))
            };
            let frag = std::mem::take(&mut fragment);
            if let Some(end) = c.take(start + i as u64 + 1, &head, len, frag) {
                return Ok(done(c, end, scanned));
            }
            carry.clear();
            carry_len = 0;
            hi = i;
        }
        // No newline in buf[..hi]: it all belongs before the carried line.
        if hi > 0 {
            carry = prepend(&buf[..hi], &carry);
            carry_len += hi as u64;
        }
        pos = start;
    }
}

/// The last `\n` in `b`, eight bytes at a time (a sparse hole or a huge line is mostly scanned
/// here).
fn rfind_newline(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut end = b.len();
    while end >= 8 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[end - 8..end]);
        let x = u64::from_le_bytes(w) ^ NL;
        // Nonzero exactly when some byte of `x` is zero, i.e. some byte of the word is `\n`.
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        end -= 8;
    }
    b[..end].iter().rposition(|c| *c == b'\n')
}

/// The fingerprint window around `offset` in a file of `size` bytes.
fn fp_window(offset: u64, size: u64) -> (u8, u8) {
    let before = offset.min(FP_SIDE);
    let after = size.saturating_sub(offset).min(FP_SIDE);
    (before as u8, after as u8)
}

fn fingerprint(f: &File, offset: u64, before: u8, after: u8) -> Result<u64, ToolError> {
    let mut b = vec![0u8; usize::from(before) + usize::from(after)];
    read_exact_at(f, &mut b, offset - u64::from(before))?;
    Ok(fnv1a(&[&b]))
}

/// One page of `log` per `args`: the handlers' entry point.
pub fn page(log: &LogFile<'_>, args: &PageArgs, env: &Env<'_>) -> Result<Value, ToolError> {
    let id = log.id();
    let window_floor = env.now - (MAX_AGE_HOURS as i64) * 3600;
    let (file, end, partial, cutoff, rotated) = match &args.cursor {
        None => {
            let f = (log.open)(log.path).map_err(|e| open_error(log.path, &e))?;
            let size = f.metadata().map_err(|e| open_error(log.path, &e))?.len();
            let cutoff = env.now - (args.max_age_hours as i64) * 3600;
            (f, size, false, cutoff, false)
        }
        Some(text) => {
            let c = match Cursor::decode(text).map_err(|e| cursor_error(e.rule()))? {
                Cursor::File(c) => c,
                Cursor::Kmsg(_) => {
                    return Err(cursor_error(
                        "is a kernel log cursor, not one of this tool's",
                    ));
                }
            };
            if c.log != id {
                return Err(cursor_error(format!(
                    "was issued for another log file or tool, not for {} of {}",
                    log.path.display(),
                    log.tool
                )));
            }
            let (f, rotated) = find_by_identity(log, &c)?;
            let size = f.metadata().map_err(|e| open_error(log.path, &e))?.len();
            if size < c.offset {
                return Err(cursor_error(format!(
                    "points to byte {} but the file is now {size} bytes: it was truncated since the previous page; leave `cursor` out to start again from the newest lines",
                    c.offset
                )));
            }
            if fingerprint(&f, c.offset, c.fp_before, c.fp_after)? != c.fingerprint {
                return Err(cursor_error(
                    "points into a file that was truncated and written again since the previous page; leave `cursor` out to start again from the newest lines",
                ));
            }
            (f, c.offset, c.partial, c.cutoff.max(window_floor), rotated)
        }
    };
    let scan = Scan {
        end,
        partial,
        lines: args.lines,
        grep: args.grep.as_deref(),
        cutoff,
        now: env.now,
        utc_offset: crate::sys::utc_offset(env.now),
        budget: SCAN_BUDGET,
    };
    let found = scan_back(&file, &scan, env.redactor, env.check)?;
    let next_cursor = match found.resume {
        Some((offset, partial)) if offset > 0 => {
            let meta = file.metadata().map_err(|e| open_error(log.path, &e))?;
            let size = meta.len().max(offset);
            let (fp_before, fp_after) = fp_window(offset, size);
            Some(
                Cursor::File(FileCursor {
                    log: id,
                    dev: meta.dev(),
                    ino: meta.ino(),
                    offset,
                    partial,
                    fp_before,
                    fp_after,
                    fingerprint: fingerprint(&file, offset, fp_before, fp_after)?,
                    cutoff,
                })
                .encode(),
            )
        }
        _ => None,
    };
    let page = Page {
        file: log.path.display().to_string(),
        returned: found.lines.len(),
        lines: found.lines,
        stopped: found.stop,
        window_start: syslog::format_utc(cutoff, 0),
        next_cursor,
        rotated,
        scanned_bytes: found.scanned,
        reason: None,
    };
    serde_json::to_value(&page)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

/// The file a cursor was made on: the log's path if it still has that identity, else its first
/// rotation `PATH.1`. Nothing else is ever opened for a cursor.
fn find_by_identity(log: &LogFile<'_>, c: &FileCursor) -> Result<(File, bool), ToolError> {
    for (path, rotated) in [(log.path.to_path_buf(), false), (log.rotated(), true)] {
        let Ok(f) = (log.open)(&path) else { continue };
        let Ok(m) = f.metadata() else { continue };
        if m.dev() == c.dev && m.ino() == c.ino {
            return Ok((f, rotated));
        }
    }
    Err(cursor_error(format!(
        "points into a file that is gone: neither {} nor {} is the file it was made on (deleted, or rotated further); leave `cursor` out to start again from the newest lines",
        log.path.display(),
        log.rotated().display()
    )))
}

/// [`page`] with a handler's context.
pub fn page_in(
    ctx: &crate::tools::Ctx<'_>,
    log: &LogFile<'_>,
    args: &PageArgs,
) -> Result<Value, ToolError> {
    let check = || ctx.check();
    let env = Env {
        redactor: ctx.redactor,
        check: &check,
        now: now_unix(),
    };
    page(log, args, &env)
}

/// One page of the file at `path` (opened without following a symlink), as a file log tool
/// would return it, with `args` as that tool's arguments: for tests and benchmarks, which
/// cannot put fixtures at `/var/log/syslog`.
pub fn page_of_path(tool: &'static str, path: &Path, args: &Value) -> Result<Value, ToolError> {
    let empty = Map::new();
    let args = PageArgs::from(args.as_object().unwrap_or(&empty));
    let output = crate::output::Settings::default();
    let redactor = output.redactor();
    let log = LogFile {
        tool,
        path,
        open: &open_nofollow,
    };
    let env = Env {
        redactor,
        check: &|| Ok(()),
        now: now_unix(),
    };
    page(&log, &args, &env)
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests;

#![forbid(unsafe_code)]
//! `get_processes`: a scan of `/proc/PID/stat`, sorted and cut, then `status` (for the uid) and
//! `cmdline` read only for the processes returned. `/proc/PID/environ` is never opened.
//!
//! Cost: one small read per process, plus two per returned process. Buffers are reused; the only
//! per-process allocation is the name. The context fields here are ones `stat` already holds
//! (nice, tty, CPU time); those that cost a read or a directory scan each (cgroup, systemd unit,
//! container, open descriptors, I/O) are only in `get_process`, and so are priority and the RFC
//! 3339 start time: each field of a row costs about 100 bytes per copy of a 500-row answer, and
//! the peak-RSS budget has little room.
//!
//! The same scan counts processes by state and finds the parents of zombies ([`Tally`]), which
//! `get_system_status` reports too.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::memory;
use super::{boot_time, passwd_users, read_into, round2, to_value, uptime_seconds};
use crate::error::ToolError;
use crate::output::redact::Redactor;
use crate::sys;
use crate::tools::procfs::{self, PidStat};
use crate::tools::{Ctx, invalid};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "sort_by": {"type": "string", "enum": ["cpu", "memory", "pid", "name"], "default": "cpu",
            "description": "cpu and memory sort highest first; pid and name lowest first"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 25,
            "description": "most processes to return"},
        "user": {"type": "string", "pattern": "^[a-z_][a-z0-9_.-]{0,31}$",
            "description": "only processes whose effective user is this (a name from /etc/passwd)"},
        "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
            "description": "only processes whose name contains this (ASCII case-insensitive; the kernel keeps 15 bytes of a name)"},
        "sample_ms": {"type": "integer", "minimum": 0, "maximum": 2000, "default": 0,
            "description": "0: CPU percent is the average over each process's lifetime; otherwise it is measured over this many milliseconds"},
        "state": {"type": "string", "enum": ["running", "sleeping", "disk-sleep", "zombie", "stopped", "tracing-stop", "idle", "other"],
            "description": "only processes in this state (other: any state not named here)"}
    }
}"#;

/// The `summary` object of `get_processes` and `get_system_status` (a macro so that both
/// schemas can splice the same text in with `concat!`).
macro_rules! summary_schema {
    () => {
        r#"{
            "type": "object", "additionalProperties": false,
            "required": ["by_state", "zombie_parents"],
            "description": "every process on the host, whatever the filters",
            "properties": {
                "by_state": {
                    "type": "object", "additionalProperties": false,
                    "required": ["running", "sleeping", "disk_sleep", "zombie", "stopped",
                                 "tracing_stop", "idle", "other"],
                    "properties": {
                        "running": {"type": "integer", "minimum": 0},
                        "sleeping": {"type": "integer", "minimum": 0},
                        "disk_sleep": {"type": "integer", "minimum": 0, "description": "uninterruptible sleep (D), usually waiting for I/O"},
                        "zombie": {"type": "integer", "minimum": 0},
                        "stopped": {"type": "integer", "minimum": 0},
                        "tracing_stop": {"type": "integer", "minimum": 0},
                        "idle": {"type": "integer", "minimum": 0, "description": "idle kernel threads (I)"},
                        "other": {"type": "integer", "minimum": 0}
                    }
                },
                "zombie_parents": {"type": "array", "maxItems": 20,
                    "description": "processes with unreaped zombie children, most zombies first (at most 20)",
                    "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["ppid", "zombies"],
                        "properties": {
                            "ppid": {"type": "integer", "minimum": 0},
                            "name": {"type": "string", "description": "absent when the parent has exited since"},
                            "zombies": {"type": "integer", "minimum": 1}
                        }
                    }
                }
            }
        }"#
    };
}
pub(super) use summary_schema;

pub const OUTPUT: &str = concat!(
    r#"{
    "type": "object", "additionalProperties": false,
    "required": ["processes", "total_processes", "matched", "returned", "sort_by", "cpu_mode",
                 "sample_ms", "summary"],
    "properties": {
        "processes": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "additionalProperties": false,
            "required": ["pid", "ppid", "name", "state", "user", "uid", "threads", "nice", "tty",
                         "cpu_percent", "cpu_time_seconds", "rss_bytes", "mem_percent",
                         "vsz_bytes", "start_time", "cmdline", "cmdline_truncated",
                         "kernel_thread"],
            "properties": {
                "pid": {"type": "integer", "minimum": 1},
                "ppid": {"type": "integer", "minimum": 0},
                "name": {"type": "string"},
                "state": {"type": "string", "description": "R running, S sleeping, D disk sleep, Z zombie, T stopped, I idle, ..."},
                "user": {"type": "string", "description": "effective user name, or the uid when /etc/passwd has no entry"},
                "uid": {"type": "integer", "minimum": 0},
                "threads": {"type": "integer", "minimum": 0},
                "nice": {"type": "integer", "minimum": -20, "maximum": 19},
                "tty": {"type": "string", "x-sysgate-server-text": true, "description": "controlling terminal (pts/N, ttyN, ttySN, or major:minor), ? for none (as ps shows it)"},
                "cpu_percent": {"type": "number", "minimum": 0, "description": "percent of one CPU"},
                "cpu_time_seconds": {"type": "number", "minimum": 0, "description": "user plus system CPU time since the process started"},
                "rss_bytes": {"type": "integer", "minimum": 0},
                "mem_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "vsz_bytes": {"type": "integer", "minimum": 0},
                "start_time": {"type": "integer", "description": "unix seconds"},
                "cmdline": {"type": "string", "description": "arguments joined by spaces; empty for kernel threads"},
                "cmdline_truncated": {"type": "boolean"},
                "kernel_thread": {"type": "boolean"}
            }
        }},
        "total_processes": {"type": "integer", "minimum": 0},
        "matched": {"type": "integer", "minimum": 0, "description": "processes that passed the filters"},
        "returned": {"type": "integer", "minimum": 0, "description": "how many processes are in `processes`"},
        "sort_by": {"type": "string", "enum": ["cpu", "memory", "pid", "name"]},
        "cpu_mode": {"type": "string", "enum": ["lifetime_average", "sampled"]},
        "sample_ms": {"type": "integer", "minimum": 0},
        "summary": "#,
    summary_schema!(),
    r#"
    }
}"#
);

/// Longest command line returned, in characters.
const CMDLINE_MAX_CHARS: usize = 1024;
/// Bytes read from `cmdline`: enough for `CMDLINE_MAX_CHARS` characters of up to 4 bytes each
/// plus one, so reaching it always means the text gets cut, and 4 KiB more, so that a secret
/// straddling the cut is read whole and the redaction-aware cut (`Redactor::cut`) can see it.
const CMDLINE_READ_BYTES: u64 = (CMDLINE_MAX_CHARS as u64) * 4 + 1 + 4096;
/// `stat` and `status` are a few hundred bytes to a couple of KiB.
const STAT_READ_BYTES: u64 = 4096;
const STATUS_READ_BYTES: u64 = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Cpu,
    Memory,
    Pid,
    Name,
}

impl SortBy {
    fn name(self) -> &'static str {
        match self {
            SortBy::Cpu => "cpu",
            SortBy::Memory => "memory",
            SortBy::Pid => "pid",
            SortBy::Name => "name",
        }
    }
}

/// Validated arguments. The schema has already checked them; this turns them into types (and
/// still refuses anything odd rather than trusting that).
#[derive(Debug)]
struct Query {
    sort_by: SortBy,
    limit: usize,
    /// Effective uid to keep.
    uid: Option<u32>,
    /// Lowercased name substring.
    name: Option<String>,
    sample_ms: u64,
    /// A name from [`STATES`].
    state: Option<&'static str>,
}

/// The states the `state` filter and the summary name, in the schema's order.
const STATES: [&str; 8] = [
    "running",
    "sleeping",
    "disk-sleep",
    "zombie",
    "stopped",
    "tracing-stop",
    "idle",
    "other",
];

/// Which of [`STATES`] a `stat` state letter is.
fn state_class(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk-sleep",
        'Z' => "zombie",
        'T' => "stopped",
        't' => "tracing-stop",
        'I' => "idle",
        _ => "other",
    }
}

impl Query {
    fn from_args(args: &Map<String, Value>, users: &[(String, u32)]) -> Result<Query, ToolError> {
        let sort_by = match args.get("sort_by").map(|v| v.as_str()) {
            None => SortBy::Cpu,
            Some(Some("cpu")) => SortBy::Cpu,
            Some(Some("memory")) => SortBy::Memory,
            Some(Some("pid")) => SortBy::Pid,
            Some(Some("name")) => SortBy::Name,
            Some(_) => return Err(invalid("sort_by", "must be one of cpu, memory, pid, name")),
        };
        let limit = match args.get("limit") {
            None => 25,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| invalid("limit", "must be between 1 and 500"))?
                as usize,
        };
        let sample_ms = match args.get("sample_ms") {
            None => 0,
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= 2000)
                .ok_or_else(|| invalid("sample_ms", "must be between 0 and 2000"))?,
        };
        let uid = match args.get("user") {
            None => None,
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| invalid("user", "must be a string"))?;
                Some(procfs::uid_of(users, name).ok_or_else(|| {
                    invalid(
                        "user",
                        "no such user in /etc/passwd (give a user name, not a uid)",
                    )
                })?)
            }
        };
        let name = match args.get("name") {
            None => None,
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid("name", "must be a string"))?;
                if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
                    return Err(invalid(
                        "name",
                        "must be 1 to 64 characters without control characters",
                    ));
                }
                Some(s.to_ascii_lowercase())
            }
        };
        let state = match args.get("state") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| STATES.iter().find(|n| **n == s).copied())
                    .ok_or_else(|| invalid("state", "must be one of the state names"))?,
            ),
        };
        Ok(Query {
            sort_by,
            limit,
            uid,
            name,
            sample_ms,
            state,
        })
    }
}

#[derive(Serialize)]
struct Processes {
    processes: Vec<Process>,
    total_processes: usize,
    matched: usize,
    returned: usize,
    sort_by: &'static str,
    cpu_mode: &'static str,
    sample_ms: u64,
    summary: Summary,
}

/// Processes by state, every one counted once.
#[derive(Serialize, Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct ByState {
    running: u64,
    sleeping: u64,
    disk_sleep: u64,
    zombie: u64,
    stopped: u64,
    tracing_stop: u64,
    idle: u64,
    other: u64,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub(super) struct ZombieParent {
    ppid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    zombies: u64,
}

#[derive(Serialize, Debug)]
pub(super) struct Summary {
    by_state: ByState,
    zombie_parents: Vec<ZombieParent>,
}

/// Most zombie parents listed (the schema's `maxItems`).
const MAX_ZOMBIE_PARENTS: usize = 20;

/// The summary, built during a scan of every process.
#[derive(Default)]
pub(super) struct Tally {
    by_state: ByState,
    /// Parent pid → zombie children.
    zombie_parents: HashMap<u32, u64>,
}

impl Tally {
    pub(super) fn add(&mut self, s: &PidStat) {
        let b = &mut self.by_state;
        let slot = match state_class(s.state) {
            "running" => &mut b.running,
            "sleeping" => &mut b.sleeping,
            "disk-sleep" => &mut b.disk_sleep,
            "zombie" => {
                *self.zombie_parents.entry(s.ppid).or_default() += 1;
                &mut b.zombie
            }
            "stopped" => &mut b.stopped,
            "tracing-stop" => &mut b.tracing_stop,
            "idle" => &mut b.idle,
            _ => &mut b.other,
        };
        *slot += 1;
    }

    /// The summary; the parents' names are read now (a parent that has exited since has none).
    fn finish(self, reader: &mut Reader) -> Summary {
        let mut parents: Vec<(u32, u64)> = self.zombie_parents.into_iter().collect();
        parents.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        parents.truncate(MAX_ZOMBIE_PARENTS);
        Summary {
            by_state: self.by_state,
            zombie_parents: parents
                .into_iter()
                .map(|(ppid, zombies)| ZombieParent {
                    ppid,
                    // pid 0 (the kernel) has no /proc entry.
                    name: (ppid > 0)
                        .then(|| reader.stat(ppid))
                        .flatten()
                        .map(|s| s.comm),
                    zombies,
                })
                .collect(),
        }
    }
}

/// Scans every process for the summary alone (`get_system_status`).
pub(super) fn summary(ctx: &Ctx<'_>) -> Result<Summary, ToolError> {
    let mut reader = Reader::new();
    let mut tally = Tally::default();
    for (i, pid) in pids(ctx)?.into_iter().enumerate() {
        if i % 64 == 0 {
            ctx.check()?;
        }
        if let Some(s) = reader.stat(pid) {
            tally.add(&s);
        }
    }
    Ok(tally.finish(&mut reader))
}

#[derive(Serialize)]
struct Process {
    pid: u32,
    ppid: u32,
    name: String,
    state: String,
    user: String,
    uid: u32,
    threads: u64,
    nice: i64,
    tty: String,
    cpu_percent: f64,
    cpu_time_seconds: f64,
    rss_bytes: u64,
    mem_percent: f64,
    vsz_bytes: u64,
    start_time: i64,
    cmdline: String,
    cmdline_truncated: bool,
    kernel_thread: bool,
}

/// One scanned process.
struct Row {
    stat: PidStat,
    cpu_percent: f64,
    /// Effective uid, read only when a filter needs it before the cut.
    uid: Option<u32>,
}

/// Reuses one path string and one byte buffer for every file of the scan.
pub(super) struct Reader {
    path: String,
    buf: Vec<u8>,
}

impl Reader {
    pub(super) fn new() -> Reader {
        Reader {
            path: String::with_capacity(32),
            buf: Vec::with_capacity(STAT_READ_BYTES as usize),
        }
    }

    /// Read `/proc/<pid>/<file>` (at most `max` bytes) into the buffer. Errors mean the process
    /// is gone or hidden from us.
    fn read(&mut self, pid: u32, file: &str, max: u64) -> bool {
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/{file}");
        read_into(Path::new(&self.path), &mut self.buf, max).is_ok()
    }

    pub(super) fn stat(&mut self, pid: u32) -> Option<PidStat> {
        if !self.read(pid, "stat", STAT_READ_BYTES) {
            return None;
        }
        procfs::parse_pid_stat(&self.buf).filter(|s| s.pid == pid)
    }

    pub(super) fn euid(&mut self, pid: u32) -> Option<u32> {
        if !self.read(pid, "status", STATUS_READ_BYTES) {
            return None;
        }
        procfs::parse_status_uids(&self.buf).map(|(_, effective)| effective)
    }

    /// The command line, cut at `CMDLINE_MAX_CHARS` without splitting a secret (the cut is made
    /// before the output pipeline redacts, so it must not leave the first part of one).
    pub(super) fn cmdline(&mut self, pid: u32, redactor: &Redactor) -> Option<(String, bool)> {
        if !self.read(pid, "cmdline", CMDLINE_READ_BYTES) {
            return None;
        }
        let more = self.buf.len() as u64 >= CMDLINE_READ_BYTES;
        let (full, _) = procfs::parse_cmdline(&self.buf, usize::MAX, more);
        let (kept, cut) = redactor.cut(&full, CMDLINE_MAX_CHARS);
        Some((kept, cut || more))
    }
}

/// Pids in `/proc` (numeric entries only).
fn pids(ctx: &Ctx<'_>) -> Result<Vec<u32>, ToolError> {
    let rd = fs::read_dir("/proc")
        .map_err(|e| ToolError::Unavailable(format!("cannot list /proc: {e}")))?;
    let mut out = Vec::with_capacity(512);
    for e in rd {
        let Ok(e) = e else { continue };
        if let Some(pid) = e.file_name().to_str().and_then(procfs::pid_of_name) {
            out.push(pid);
        }
        if out.len() % 256 == 0 {
            ctx.check()?;
        }
    }
    Ok(out)
}

/// ASCII case-insensitive substring test without allocating.
fn contains_ignore_ascii_case(hay: &str, needle_lower: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    // `windows(0)` would panic; everything contains the empty string.
    n.is_empty()
        || n.len() <= h.len()
            && h.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

fn compare(sort_by: SortBy, a: &Row, b: &Row) -> Ordering {
    let by_pid = a.stat.pid.cmp(&b.stat.pid);
    match sort_by {
        SortBy::Cpu => b
            .cpu_percent
            .partial_cmp(&a.cpu_percent)
            .unwrap_or(Ordering::Equal)
            .then(by_pid),
        SortBy::Memory => b.stat.rss_pages.cmp(&a.stat.rss_pages).then(by_pid),
        SortBy::Pid => by_pid,
        SortBy::Name => a
            .stat
            .comm
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.stat.comm.bytes().map(|c| c.to_ascii_lowercase()))
            .then(by_pid),
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let users = passwd_users();
    let q = Query::from_args(args, &users)?;
    let hz = sys::clock_ticks_per_second() as f64;
    let page = sys::page_size();
    let mem_total = memory::read_meminfo()?.total;
    let mut reader = Reader::new();
    let redactor = ctx.redactor;

    // With sampling: CPU ticks of every process now, then again after the wait.
    let mut earlier: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut sampled_secs = 0.0;
    if q.sample_ms > 0 {
        // Any sample waits, so a caller that asked for progress hears about it.
        ctx.progress(
            0.0,
            Some(2.0),
            &format!("sampling CPU for {} ms", q.sample_ms),
        );
        let list = pids(ctx)?;
        earlier.reserve(list.len());
        for (i, pid) in list.into_iter().enumerate() {
            if i % 64 == 0 {
                ctx.check()?;
            }
            if let Some(s) = reader.stat(pid) {
                earlier.insert(pid, (s.starttime, s.cpu_ticks()));
            }
        }
        let t0 = Instant::now();
        ctx.sleep(Duration::from_millis(q.sample_ms))?;
        sampled_secs = t0.elapsed().as_secs_f64();
        ctx.progress(1.0, Some(2.0), "reading processes");
    }

    let uptime = uptime_seconds()?;
    let btime = boot_time(uptime)?;
    let list = pids(ctx)?;
    let mut total = 0;
    let mut tally = Tally::default();
    let mut rows: Vec<Row> = Vec::with_capacity(list.len());
    for (i, pid) in list.into_iter().enumerate() {
        if i % 64 == 0 {
            ctx.check()?;
        }
        // A process that exits mid-scan has no stat any more: skipped silently.
        let Some(stat) = reader.stat(pid) else {
            continue;
        };
        total += 1;
        tally.add(&stat);
        if q.state.is_some_and(|want| state_class(stat.state) != want) {
            continue;
        }
        if let Some(n) = &q.name
            && !contains_ignore_ascii_case(&stat.comm, n)
        {
            continue;
        }
        let mut uid = None;
        if let Some(want) = q.uid {
            uid = reader.euid(pid);
            if uid != Some(want) {
                continue;
            }
        }
        let ticks = stat.cpu_ticks() as f64;
        let cpu_percent = if q.sample_ms > 0 {
            // A process not seen (or a reused pid) in the first sample started during it.
            let before = match earlier.get(&pid) {
                Some((start, t)) if *start == stat.starttime => *t as f64,
                _ => 0.0,
            };
            (ticks - before).max(0.0) / hz / sampled_secs.max(0.001) * 100.0
        } else {
            let age = uptime - stat.starttime as f64 / hz;
            if age > 0.0 {
                ticks / hz / age * 100.0
            } else {
                0.0
            }
        };
        rows.push(Row {
            stat,
            cpu_percent,
            uid,
        });
    }
    let matched = rows.len();
    rows.sort_by(|a, b| compare(q.sort_by, a, b));

    let mut processes = Vec::with_capacity(q.limit.min(rows.len()));
    for row in rows {
        if processes.len() == q.limit {
            break;
        }
        ctx.check()?;
        let pid = row.stat.pid;
        let (Some(uid), Some((cmdline, cmdline_truncated))) = (
            row.uid.or_else(|| reader.euid(pid)),
            reader.cmdline(pid, redactor),
        ) else {
            continue; // exited since the scan
        };
        let user = procfs::user_name(&users, uid);
        let rss = row.stat.rss_pages.saturating_mul(page);
        let s = row.stat;
        processes.push(Process {
            pid,
            ppid: s.ppid,
            state: s.state.to_string(),
            user,
            uid,
            threads: s.num_threads,
            nice: s.nice,
            tty: procfs::tty_name(s.tty_nr).unwrap_or_else(|| "?".to_owned()),
            cpu_percent: round2(row.cpu_percent),
            cpu_time_seconds: round2(s.cpu_ticks() as f64 / hz),
            rss_bytes: rss,
            mem_percent: round2(procfs::percent(rss, mem_total)),
            vsz_bytes: s.vsize,
            start_time: (btime + s.starttime as f64 / hz).round() as i64,
            cmdline,
            cmdline_truncated,
            kernel_thread: s.is_kernel_thread(),
            name: s.comm,
        });
    }
    to_value(&Processes {
        returned: processes.len(),
        processes,
        total_processes: total,
        matched,
        sort_by: q.sort_by.name(),
        cpu_mode: if q.sample_ms > 0 {
            "sampled"
        } else {
            "lifetime_average"
        },
        sample_ms: q.sample_ms,
        summary: tally.finish(&mut reader),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users() -> Vec<(String, u32)> {
        vec![("root".into(), 0), ("alice".into(), 1000)]
    }

    fn q(args: Value) -> Result<Query, ToolError> {
        Query::from_args(args.as_object().unwrap(), &users())
    }

    #[test]
    fn query_defaults_and_values() {
        let d = q(json!({})).unwrap();
        assert_eq!(
            (d.sort_by, d.limit, d.uid, d.name, d.sample_ms, d.state),
            (SortBy::Cpu, 25, None, None, 0, None)
        );
        assert_eq!(
            q(json!({"state": "disk-sleep"})).unwrap().state,
            Some("disk-sleep")
        );
        let v = q(json!({"sort_by": "name", "limit": 3, "user": "alice", "name": "SSHd", "sample_ms": 250}))
            .unwrap();
        assert_eq!(v.sort_by, SortBy::Name);
        assert_eq!(v.limit, 3);
        assert_eq!(v.uid, Some(1000));
        assert_eq!(v.name.as_deref(), Some("sshd"));
        assert_eq!(v.sample_ms, 250);
    }

    #[test]
    fn query_refuses_what_the_schema_would() {
        for (args, arg) in [
            (json!({"sort_by": "rss"}), "sort_by"),
            (json!({"sort_by": 1}), "sort_by"),
            (json!({"limit": 0}), "limit"),
            (json!({"limit": 501}), "limit"),
            (json!({"limit": -1}), "limit"),
            (json!({"sample_ms": 2001}), "sample_ms"),
            (json!({"user": "nobody-here"}), "user"),
            (json!({"user": 0}), "user"),
            (json!({"name": ""}), "name"),
            (json!({"name": "a\nb"}), "name"),
            (json!({"name": "x".repeat(65)}), "name"),
            (json!({"state": "D"}), "state"),
            (json!({"state": "asleep"}), "state"),
            (json!({"state": 1}), "state"),
        ] {
            match q(args.clone()) {
                Err(ToolError::InvalidArgument { argument, .. }) => {
                    assert_eq!(argument, arg, "{args}")
                }
                other => panic!("{args}: {other:?}"),
            }
        }
    }

    #[test]
    fn substring_ignores_ascii_case() {
        assert!(contains_ignore_ascii_case("SSHd", "sshd"));
        assert!(contains_ignore_ascii_case("kworker/0:1", "worker"));
        assert!(!contains_ignore_ascii_case("ssh", "sshd"));
        assert!(contains_ignore_ascii_case("anything", ""));
        assert!(contains_ignore_ascii_case("Wéb Content", "content"));
    }

    fn row(pid: u32, comm: &str, cpu: f64, rss: u64) -> Row {
        let mut s = procfs::parse_pid_stat(
            format!("{pid} ({comm}) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 {rss}").as_bytes(),
        )
        .unwrap();
        s.rss_pages = rss;
        Row {
            stat: s,
            cpu_percent: cpu,
            uid: None,
        }
    }

    #[test]
    fn tally_counts_states_and_zombie_parents() {
        let mut t = Tally::default();
        let line = |pid: u32, state: char, ppid: u32| {
            procfs::parse_pid_stat(
                format!("{pid} (p{pid}) {state} {ppid} 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1")
                    .as_bytes(),
            )
            .unwrap()
        };
        for (pid, state, ppid) in [
            (10, 'R', 1),
            (11, 'S', 1),
            (12, 'S', 1),
            (13, 'D', 1),
            (14, 'Z', 4_000_000),
            (15, 'Z', 4_000_001),
            (16, 'Z', 4_000_001),
            (17, 'T', 1),
            (18, 't', 1),
            (19, 'I', 2),
            (20, 'X', 1),
            (21, 'W', 1),
            (22, 'Z', 0),
        ] {
            t.add(&line(pid, state, ppid));
        }
        let s = t.finish(&mut Reader::new());
        assert_eq!(
            s.by_state,
            ByState {
                running: 1,
                sleeping: 2,
                disk_sleep: 1,
                zombie: 4,
                stopped: 1,
                tracing_stop: 1,
                idle: 1,
                other: 2,
            }
        );
        // Most zombies first, then by pid; parents that do not exist have no name.
        let z = |ppid, zombies| ZombieParent {
            ppid,
            name: None,
            zombies,
        };
        assert_eq!(
            s.zombie_parents,
            [z(4_000_001, 2), z(0, 1), z(4_000_000, 1)]
        );
        // At most MAX_ZOMBIE_PARENTS parents.
        let mut t = Tally::default();
        for pid in 0..100 {
            t.add(&line(pid + 10, 'Z', 4_000_000 + pid));
        }
        assert_eq!(
            t.finish(&mut Reader::new()).zombie_parents.len(),
            MAX_ZOMBIE_PARENTS
        );
    }

    #[test]
    fn every_state_letter_has_one_class() {
        for c in [
            'R', 'S', 'D', 'Z', 'T', 't', 'I', 'X', 'x', 'K', 'W', 'P', '?',
        ] {
            assert!(STATES.contains(&state_class(c)), "{c}");
        }
    }

    #[test]
    fn sort_orders() {
        let mut rows = vec![
            row(3, "beta", 5.0, 10),
            row(1, "Alpha", 50.0, 5),
            row(2, "alpha", 5.0, 30),
        ];
        let order = |rows: &mut Vec<Row>, by| {
            rows.sort_by(|a, b| compare(by, a, b));
            rows.iter().map(|r| r.stat.pid).collect::<Vec<_>>()
        };
        assert_eq!(order(&mut rows, SortBy::Cpu), [1, 2, 3]);
        assert_eq!(order(&mut rows, SortBy::Memory), [2, 3, 1]);
        assert_eq!(order(&mut rows, SortBy::Pid), [1, 2, 3]);
        assert_eq!(order(&mut rows, SortBy::Name), [1, 2, 3]);
    }
}

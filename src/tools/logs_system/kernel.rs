#![forbid(unsafe_code)]
//! `get_kernel_logs`: `/dev/kmsg` read natively. The device is opened non-blocking; each
//! `read(2)` returns one record, `EAGAIN` means no more, `EPIPE` means records were overwritten
//! while we read (the next read continues with the oldest one left). Records come oldest first,
//! so one pass keeps the newest matching ones in a ring of `lines + 1`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::logfile::cursor::{Cursor, KmsgCursor, fnv1a};
use crate::tools::logfile::{MAX_AGE_HOURS, PageArgs};
use crate::tools::parse::kmsg::{self, Record};
use crate::tools::parse::syslog::format_utc;

pub const INPUT: &str = concat!(
    r#"{"type": "object", "additionalProperties": false, "properties": {
    "max_age_hours": {"type": "integer", "minimum": 1, "maximum": 24, "description": "only records from the last this many hours (default 24)"},
    "level": {"type": "string", "enum": ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"], "description": "only records of this severity or more severe (default: all)"},
    "#,
    crate::log_page_properties!(),
    "}}"
);

pub const OUTPUT: &str = r#"{"type": "object", "additionalProperties": false,
    "required": ["lines", "returned", "stopped", "window_start", "boot_time"],
    "properties": {
        "lines": {"type": "array", "description": "newest first", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["seq", "level", "facility", "uptime_s", "time", "message"],
            "properties": {
                "seq": {"type": "integer", "minimum": 0},
                "level": {"type": "string", "enum": ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]},
                "facility": {"type": "string", "enum": ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", "unknown"]},
                "uptime_s": {"type": "number", "minimum": 0, "description": "seconds since boot (the kernel's monotonic clock)"},
                "time": {"type": "string", "x-sysgate-server-text": true, "description": "boot time plus uptime_s, UTC (approximate after a suspend)"},
                "message": {"type": "string"},
                "continuation": {"type": "boolean", "description": "a fragment continuing the previous record"},
                "subsystem": {"type": "string"},
                "device": {"type": "string"}
            }}},
        "returned": {"type": "integer", "minimum": 0},
        "stopped": {"type": "string", "enum": ["start_of_buffer", "time_bound", "line_cap"], "description": "why the page ended"},
        "window_start": {"type": "string", "x-sysgate-server-text": true},
        "boot_time": {"type": "string", "x-sysgate-server-text": true},
        "next_cursor": {"type": "string", "x-sysgate-server-text": true, "description": "present when older records remain: pass it as `cursor` for the next page"}
    }
}"#;

#[derive(Serialize, Debug)]
struct Out {
    seq: u64,
    level: &'static str,
    facility: &'static str,
    uptime_s: f64,
    time: String,
    message: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    continuation: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    subsystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<String>,
}

#[derive(Serialize, Debug)]
struct Page {
    lines: Vec<Out>,
    returned: usize,
    stopped: &'static str,
    window_start: String,
    boot_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The biggest record a read returns (the kernel's limit is 8 KiB including the dictionary).
const RECORD_BUF: usize = 16 * 1024;
/// Most records read in one call: far above any ring buffer, so a flood cannot keep us reading.
const MAX_RECORDS: usize = 1 << 20;

/// What one pass over the records asks.
pub struct Query<'a> {
    pub lines: usize,
    pub grep: Option<&'a str>,
    pub max_level: u32,
    /// Only records with a lower sequence number (a cursor's).
    pub before_seq: Option<u64>,
    /// Boot time (Unix microseconds) and the cutoff, to place records on the wall clock.
    pub boot_us: i64,
    pub cutoff: i64,
    /// `grep` matches the message as the redaction patterns leave it (see `tools::logfile`).
    pub redactor: Option<&'a crate::output::redact::Redactor>,
}

/// What one pass found.
#[derive(Debug)]
pub struct Pass {
    /// Newest first, at most `lines`.
    pub records: Vec<Record>,
    /// More matching records are older than the last one returned.
    pub more: bool,
    /// A record was left out for being older than the cutoff.
    pub time_bound: bool,
    /// The lowest sequence number seen.
    pub first_seq: Option<u64>,
}

/// One pass over `records` (the raw reads), oldest first. `check` runs every 1024 records.
pub fn select<I>(
    records: I,
    q: &Query<'_>,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Pass, ToolError>
where
    I: IntoIterator<Item = io::Result<Vec<u8>>>,
{
    let mut ring: VecDeque<Record> = VecDeque::with_capacity(q.lines + 1);
    let mut time_bound = false;
    let mut first_seq = None;
    for (n, raw) in records.into_iter().enumerate() {
        if n % 1024 == 1023 {
            check()?;
        }
        if n >= MAX_RECORDS {
            break;
        }
        let raw = raw.map_err(|e| ToolError::Failed(format!("cannot read /dev/kmsg: {e}")))?;
        let Some(r) = kmsg::parse_record(&raw) else {
            continue;
        };
        first_seq.get_or_insert(r.seq);
        if q.before_seq.is_some_and(|s| r.seq >= s) {
            continue;
        }
        if r.level() > q.max_level {
            continue;
        }
        if wall_secs(q.boot_us, r.ts_usec) < q.cutoff {
            time_bound = true;
            continue;
        }
        if let Some(g) = q.grep {
            if !r.message.contains(g) {
                continue;
            }
            if let Some(red) = q.redactor.and_then(|x| x.redact_text(&r.message))
                && !red.contains(g)
            {
                continue;
            }
        }
        if ring.len() > q.lines {
            ring.pop_front();
        }
        ring.push_back(r);
    }
    let more = ring.len() > q.lines;
    if more {
        ring.pop_front();
    }
    Ok(Pass {
        records: ring.into_iter().rev().collect(),
        more,
        time_bound,
        first_seq,
    })
}

fn wall_secs(boot_us: i64, ts_usec: u64) -> i64 {
    (boot_us + ts_usec.min(i64::MAX as u64 / 2) as i64).div_euclid(1_000_000)
}

/// The records of an open `/dev/kmsg`, until `EAGAIN`.
struct Reads {
    f: File,
    buf: Vec<u8>,
    done: bool,
}

impl Iterator for Reads {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        while !self.done {
            match self.f.read(&mut self.buf) {
                Ok(0) => self.done = true,
                Ok(n) => return Some(Ok(self.buf[..n].to_vec())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.done = true,
                // Overwritten while we read: the next read returns the oldest record left.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

fn open_kmsg(path: &Path) -> Result<File, ToolError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => ToolError::Unavailable(format!(
                "reading the kernel log ({}) is not permitted for this server's user: with kernel.dmesg_restrict = 1 it needs CAP_SYSLOG (or membership in a group that may read {})",
                path.display(),
                path.display()
            )),
            Some(libc::ENOENT) => ToolError::Unavailable(format!(
                "{} does not exist (a container without the kernel log device?)",
                path.display()
            )),
            _ => ToolError::Unavailable(format!("cannot open {}: {e}", path.display())),
        })
}

fn boot_id_hash() -> u64 {
    let id = std::fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    fnv1a(&[id.trim_ascii()])
}

/// Boot time as Unix microseconds: now minus `/proc/uptime`.
fn boot_time_us(now_us: i64) -> Result<i64, ToolError> {
    let text = crate::tools::core::read("/proc/uptime")?;
    let up: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/uptime".into()))?;
    Ok(now_us - (up * 1e6) as i64)
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let check = || ctx.check();
    read_kernel_log(Path::new("/dev/kmsg"), args, ctx.redactor, &check)
}

/// The whole tool on the device at `path` (tests pass other files).
pub fn read_kernel_log(
    path: &Path,
    args: &Map<String, Value>,
    redactor: &crate::output::redact::Redactor,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Value, ToolError> {
    let page_args = PageArgs::from(args);
    let max_level = args
        .get("level")
        .and_then(Value::as_str)
        .and_then(kmsg::level_number)
        .unwrap_or(7);
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let now = now_us.div_euclid(1_000_000);
    let boot = boot_id_hash();
    let floor = now - MAX_AGE_HOURS as i64 * 3600;
    let (before_seq, cutoff) = match &page_args.cursor {
        None => (None, now - page_args.max_age_hours as i64 * 3600),
        Some(text) => {
            let bad = |rule: &str| ToolError::InvalidArgument {
                argument: "cursor".into(),
                rule: rule.into(),
            };
            match Cursor::decode(text).map_err(|e| bad(e.rule()))? {
                Cursor::Kmsg(c) if c.boot == boot => (Some(c.seq), c.cutoff.max(floor)),
                Cursor::Kmsg(_) => {
                    return Err(bad(
                        "was made before the host rebooted (kernel log sequence numbers restart at each boot); leave it out to start from the newest records",
                    ));
                }
                Cursor::File(_) => return Err(bad("is a log file cursor, not one of this tool's")),
            }
        }
    };
    let boot_us = boot_time_us(now_us)?;
    let f = open_kmsg(path)?;
    let reads = Reads {
        f,
        buf: vec![0u8; RECORD_BUF],
        done: false,
    };
    let q = Query {
        lines: page_args.lines,
        grep: page_args.grep.as_deref(),
        max_level,
        before_seq,
        boot_us,
        cutoff,
        redactor: Some(redactor),
    };
    let pass = select(reads, &q, check)?;
    if let (Some(seq), Some(first)) = (before_seq, pass.first_seq)
        && first >= seq
        && seq > 0
    {
        return Err(ToolError::InvalidArgument {
            argument: "cursor".into(),
            rule: "points to records the kernel has since overwritten in its ring buffer; leave it out to start again from the newest records".into(),
        });
    }
    let next_cursor = match (pass.more, pass.records.last()) {
        (true, Some(oldest)) => Some(
            Cursor::Kmsg(KmsgCursor {
                boot,
                seq: oldest.seq,
                cutoff,
            })
            .encode(),
        ),
        _ => None,
    };
    let stopped = if pass.more {
        "line_cap"
    } else if pass.time_bound {
        "time_bound"
    } else {
        "start_of_buffer"
    };
    let lines: Vec<Out> = pass
        .records
        .into_iter()
        .map(|r| {
            let wall_us = boot_us + r.ts_usec.min(i64::MAX as u64 / 2) as i64;
            let dict = |k: &str| {
                r.dict
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            Out {
                seq: r.seq,
                level: kmsg::level_name(r.level()),
                facility: kmsg::facility_name(r.facility()),
                uptime_s: r.ts_usec as f64 / 1e6,
                time: format_utc(
                    wall_us.div_euclid(1_000_000),
                    (wall_us.rem_euclid(1_000_000) * 1000) as u32,
                ),
                subsystem: dict("SUBSYSTEM"),
                device: dict("DEVICE"),
                continuation: r.continuation,
                message: r.message,
            }
        })
        .collect();
    let page = Page {
        returned: lines.len(),
        lines,
        stopped,
        window_start: format_utc(cutoff, 0),
        boot_time: format_utc(boot_us.div_euclid(1_000_000), 0),
        next_cursor,
    };
    serde_json::to_value(&page)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(lines: &[&str]) -> Vec<io::Result<Vec<u8>>> {
        lines.iter().map(|l| Ok(l.as_bytes().to_vec())).collect()
    }

    fn q(lines: usize) -> Query<'static> {
        Query {
            lines,
            grep: None,
            max_level: 7,
            before_seq: None,
            boot_us: 1_000_000_000_000_000,
            cutoff: 0,
            redactor: None,
        }
    }

    const RECS: [&str; 5] = [
        "6,1,100,-;one\n",
        "3,2,200,-;two err\n",
        "garbage",
        "6,3,300,-;three\n SUBSYSTEM=pci\n",
        "4,4,400,c;four warn\n",
    ];

    #[test]
    fn newest_first_with_a_cap_and_paging() {
        let ok = || Ok(());
        let p = select(raw(&RECS), &q(2), &ok).unwrap();
        let seqs: Vec<u64> = p.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [4, 3]);
        assert!(p.more);
        assert_eq!(p.first_seq, Some(1));
        let mut next = q(2);
        next.before_seq = Some(3);
        let p = select(raw(&RECS), &next, &ok).unwrap();
        let seqs: Vec<u64> = p.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 1]);
        assert!(!p.more);
    }

    #[test]
    fn filters() {
        let ok = || Ok(());
        let seqs = |f: &Query<'_>| -> Vec<u64> {
            select(raw(&RECS), f, &ok)
                .unwrap()
                .records
                .iter()
                .map(|r| r.seq)
                .collect()
        };
        let mut f = q(10);
        f.max_level = 4;
        assert_eq!(seqs(&f), [4, 2]);
        let mut f = q(10);
        f.grep = Some("thr");
        assert_eq!(seqs(&f), [3]);
        // Boot at 1_000_000_000 s: records at +100..400 µs; a cutoff one second later drops all.
        let mut f = q(10);
        f.cutoff = 1_000_000_001;
        let p = select(raw(&RECS), &f, &ok).unwrap();
        assert!(p.records.is_empty() && p.time_bound);
    }

    #[test]
    fn a_read_error_is_reported() {
        let ok = || Ok(());
        let e = select(vec![Err(io::Error::other("boom"))], &q(1), &ok).unwrap_err();
        assert!(e.to_string().contains("/dev/kmsg"), "{e}");
    }

    #[test]
    fn the_real_device() {
        // Through the real device where the host lets us read it; otherwise the clear refusal.
        let ok = || Ok(());
        let out = crate::output::Settings::default();
        let mut args = Map::new();
        args.insert("lines".into(), 3.into());
        match read_kernel_log(Path::new("/dev/kmsg"), &args, out.redactor(), &ok) {
            Ok(v) => {
                let schema =
                    crate::tools::schema::Schema::compile(&serde_json::from_str(OUTPUT).unwrap())
                        .unwrap();
                schema.validate(&v).unwrap();
                assert!(v["returned"].as_u64().unwrap() <= 3);
                if let Some(c) = v.get("next_cursor").and_then(Value::as_str) {
                    args.insert("cursor".into(), c.into());
                    let older = read_kernel_log(Path::new("/dev/kmsg"), &args, out.redactor(), &ok)
                        .unwrap();
                    let last = v["lines"][v["returned"].as_u64().unwrap() as usize - 1]["seq"]
                        .as_u64()
                        .unwrap();
                    for r in older["lines"].as_array().unwrap() {
                        assert!(r["seq"].as_u64().unwrap() < last);
                    }
                }
            }
            Err(e) => assert!(
                e.to_string().contains("kernel log") || e.to_string().contains("/dev/kmsg"),
                "{e}"
            ),
        }
    }
}

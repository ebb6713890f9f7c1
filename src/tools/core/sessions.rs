#![forbid(unsafe_code)]
//! `get_sessions_and_time`: logins from utmp, the kernel clock discipline (`adjtimex`), kernel
//! taint, file handles and whether a reboot is pending. All native reads; no process is started.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{now_unix, read_path, to_value};
use crate::audit::format_rfc3339_millis;
use crate::error::ToolError;
use crate::sys;
use crate::tools::Ctx;
use crate::tools::parse::kernel::{decode_taint, parse_file_nr, parse_tainted};
use crate::tools::parse::utmp::{self, Parser, RECORD_BYTES};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["sessions", "count", "more_not_listed", "reboot_required"],
    "properties": {
        "sessions": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["user", "line", "host", "pid"],
            "properties": {
                "user": {"type": "string"},
                "line": {"type": "string", "description": "terminal, e.g. pts/0"},
                "host": {"type": "string", "description": "remote host or display; empty for a local login"},
                "pid": {"type": "integer"},
                "login_time": {"type": "string", "x-sysgate-server-text": true, "description": "RFC 3339, UTC"},
                "login_unix": {"type": "integer", "minimum": 0},
                "notes": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
                    "description": "what was wrong with this record's fields"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many sessions are in `sessions`"},
        "more_not_listed": {"type": "boolean", "description": "more logins exist than were listed"},
        "utmp_path": {"type": "string", "x-sysgate-server-text": true},
        "sessions_reason": {"type": "string", "x-sysgate-server-text": true,
            "description": "why the list is empty or incomplete"},
        "clock": {"type": "object", "additionalProperties": false,
            "required": ["synced", "state", "offset_us", "max_error_us", "estimated_error_us", "frequency_ppm", "status"],
            "properties": {
                "synced": {"type": "boolean", "description": "STA_UNSYNC clear and the state is not TIME_ERROR"},
                "state": {"type": "string", "enum": ["ok", "insert_leap", "delete_leap", "leap_in_progress", "leap_occurred", "error", "unknown"]},
                "offset_us": {"type": "number", "description": "current offset from the reference, microseconds"},
                "max_error_us": {"type": "integer", "minimum": 0},
                "estimated_error_us": {"type": "integer", "minimum": 0},
                "frequency_ppm": {"type": "number"},
                "status": {"type": "array", "items": {"type": "string", "enum": ["PLL", "PPSFREQ", "PPSTIME", "FLL", "INS", "DEL", "UNSYNC", "FREQHOLD", "PPSSIGNAL", "PPSJITTER", "PPSWANDER", "PPSERROR", "CLOCKERR", "NANO", "MODE", "CLK"]}}
            }},
        "clock_reason": {"type": "string", "x-sysgate-server-text": true},
        "taint": {"type": "object", "additionalProperties": false, "required": ["mask", "flags"],
            "properties": {
                "mask": {"type": "integer", "minimum": 0},
                "flags": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "required": ["bit", "letter", "name"],
                    "properties": {
                        "bit": {"type": "integer", "minimum": 0, "maximum": 63},
                        "letter": {"type": "string", "x-sysgate-server-text": true},
                        "name": {"type": "string", "x-sysgate-server-text": true}
                    }}}
            }},
        "taint_reason": {"type": "string", "x-sysgate-server-text": true},
        "file_handles": {"type": "object", "additionalProperties": false, "required": ["allocated", "unused", "max"],
            "properties": {
                "allocated": {"type": "integer", "minimum": 0},
                "unused": {"type": "integer", "minimum": 0},
                "max": {"type": "integer", "minimum": 0}
            }},
        "file_handles_reason": {"type": "string", "x-sysgate-server-text": true},
        "reboot_required": {"type": "boolean", "description": "/run/reboot-required exists"},
        "reboot_packages": {"type": "array", "items": {"type": "string"},
            "description": "from /run/reboot-required.pkgs"},
        "reboot_packages_more": {"type": "boolean"}
    }
}"#;

/// Most package names reported from `/run/reboot-required.pkgs`, and bytes read of it.
const MAX_REBOOT_PKGS: usize = 256;
const MAX_REBOOT_PKGS_BYTES: u64 = 64 * 1024;
/// Longest package name kept (Debian allows far less).
const MAX_PKG_NAME: usize = 128;

/// Where utmp lives: `/run/utmp`, or `/var/run/utmp` on systems without `/run`.
const UTMP_PATHS: &[&str] = &["/run/utmp", "/var/run/utmp"];

#[derive(Serialize)]
struct SessionOut {
    user: String,
    line: String,
    host: String,
    pid: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_unix: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<&'static str>,
}

#[derive(Serialize)]
struct Clock {
    synced: bool,
    state: &'static str,
    offset_us: f64,
    max_error_us: i64,
    estimated_error_us: i64,
    frequency_ppm: f64,
    status: Vec<&'static str>,
}

#[derive(Serialize)]
struct TaintOut {
    mask: u64,
    flags: Vec<TaintFlag>,
}

#[derive(Serialize)]
struct TaintFlag {
    bit: u32,
    letter: String,
    name: &'static str,
}

#[derive(Serialize)]
struct FileHandles {
    allocated: u64,
    unused: u64,
    max: u64,
}

#[derive(Serialize)]
struct Out {
    sessions: Vec<SessionOut>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    utmp_path: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessions_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<Clock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    taint: Option<TaintOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    taint_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_handles: Option<FileHandles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_handles_reason: Option<String>,
    reboot_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reboot_packages: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reboot_packages_more: Option<bool>,
}

/// `STA_*` bits of `struct timex` (`<linux/timex.h>`), by name.
const STATUS_BITS: &[(i32, &str)] = &[
    (0x0001, "PLL"),
    (0x0002, "PPSFREQ"),
    (0x0004, "PPSTIME"),
    (0x0008, "FLL"),
    (0x0010, "INS"),
    (0x0020, "DEL"),
    (0x0040, "UNSYNC"),
    (0x0080, "FREQHOLD"),
    (0x0100, "PPSSIGNAL"),
    (0x0200, "PPSJITTER"),
    (0x0400, "PPSWANDER"),
    (0x0800, "PPSERROR"),
    (0x1000, "CLOCKERR"),
    (0x2000, "NANO"),
    (0x4000, "MODE"),
    (0x8000, "CLK"),
];
const STA_UNSYNC: i32 = 0x0040;
const STA_NANO: i32 = 0x2000;
const TIME_ERROR: i32 = 5;

/// The clock discipline as reported, interpreted.
fn clock(t: &sys::Timex) -> Clock {
    let state = match t.state {
        0 => "ok",
        1 => "insert_leap",
        2 => "delete_leap",
        3 => "leap_in_progress",
        4 => "leap_occurred",
        5 => "error",
        _ => "unknown",
    };
    let offset_us = if t.status & STA_NANO != 0 {
        t.offset as f64 / 1000.0
    } else {
        t.offset as f64
    };
    Clock {
        synced: t.status & STA_UNSYNC == 0 && t.state != TIME_ERROR,
        state,
        offset_us,
        max_error_us: t.maxerror.max(0),
        estimated_error_us: t.esterror.max(0),
        // `freq` is in ppm with a 16-bit fraction.
        frequency_ppm: (t.freq as f64 / 65_536.0 * 1000.0).round() / 1000.0,
        status: STATUS_BITS
            .iter()
            .filter(|(bit, _)| t.status & bit != 0)
            .map(|(_, name)| *name)
            .collect(),
    }
}

/// Open a file without following a symlink in its last component, and only if it is a regular
/// file (a FIFO or device planted at the path must not block or stream forever).
fn open_regular(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// Stream the records of a utmp file through the parser.
pub(super) fn read_utmp(
    path: &Path,
    now: i64,
    ctx: &dyn Fn() -> Result<(), ToolError>,
) -> Result<io::Result<utmp::Utmp>, ToolError> {
    let f = match open_regular(path) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut r = BufReader::with_capacity(RECORD_BYTES * 16, f);
    let mut p = Parser::new(now);
    let mut rec = [0u8; RECORD_BYTES];
    let mut n = 0usize;
    loop {
        // Fill one record, noting a short read at the end of the file.
        let mut got = 0;
        while got < RECORD_BYTES {
            match r.read(&mut rec[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Ok(Err(e)),
            }
        }
        if got < RECORD_BYTES {
            return Ok(Ok(p.finish(got, false)));
        }
        if !p.push(&rec) {
            return Ok(Ok(p.finish(0, true)));
        }
        n += 1;
        if n.is_multiple_of(1024) {
            ctx()?;
        }
    }
}

/// The logins, whether more exist, the file read, and why the list may be empty or short.
type Logins = (Vec<SessionOut>, bool, Option<&'static str>, Option<String>);

/// The logins from the first utmp file of `paths` that exists.
fn sessions(
    paths: &[&'static str],
    now: i64,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Logins, ToolError> {
    let mut missing = Vec::new();
    for path in paths {
        let u = match read_utmp(Path::new(path), now, check)? {
            Ok(u) => u,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(*path);
                continue;
            }
            Err(e) => {
                return Ok((
                    Vec::new(),
                    false,
                    Some(path),
                    Some(format!("cannot read {path}: {e}")),
                ));
            }
        };
        let mut why = Vec::new();
        if u.trailing_bytes > 0 {
            why.push(format!(
                "the last {} bytes are not a whole {RECORD_BYTES}-byte record (ignored)",
                u.trailing_bytes
            ));
        }
        if u.records_capped {
            why.push(format!(
                "only the first {} records were read",
                utmp::MAX_RECORDS
            ));
        }
        if u.nameless > 0 {
            why.push(format!(
                "{} login records have no user name (left out)",
                u.nameless
            ));
        }
        if u.sessions.is_empty() && why.is_empty() {
            why.push("nobody is logged in according to utmp".to_string());
        }
        let more = u.more_not_listed > 0;
        let list = u
            .sessions
            .into_iter()
            .map(|s| SessionOut {
                user: s.user,
                line: s.line,
                host: s.host,
                pid: s.pid,
                login_time: s.login.map(|(secs, us)| {
                    format_rfc3339_millis(
                        UNIX_EPOCH
                            + Duration::from_secs(secs as u64)
                            + Duration::from_micros(u64::from(us)),
                    )
                }),
                login_unix: s.login.map(|(secs, _)| secs),
                notes: s.notes,
            })
            .collect();
        let reason = (!why.is_empty()).then(|| why.join("; "));
        return Ok((list, more, Some(path), reason));
    }
    Ok((
        Vec::new(),
        false,
        None,
        Some(format!(
            "no utmp file ({} do not exist): login records are not kept on this host",
            missing.join(" and ")
        )),
    ))
}

/// The package names of `/run/reboot-required.pkgs`, one per line, capped.
fn reboot_packages(
    path: &Path,
    cut: &dyn Fn(&str, usize) -> String,
) -> Option<(Vec<String>, bool)> {
    let mut buf = Vec::new();
    open_regular(path)
        .ok()?
        .take(MAX_REBOOT_PKGS_BYTES)
        .read_to_end(&mut buf)
        .ok()?;
    let text = String::from_utf8_lossy(&buf);
    let mut names: Vec<String> = Vec::new();
    let mut more = false;
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if names.iter().any(|n| n == l) {
            continue;
        }
        if names.len() == MAX_REBOOT_PKGS {
            more = true;
            break;
        }
        names.push(cut(l, MAX_PKG_NAME));
    }
    Some((names, more))
}

fn read_small(path: &str) -> Result<String, String> {
    read_path(Path::new(path)).map_err(|e| format!("cannot read {path}: {e}"))
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let now = now_unix() as i64;
    let (sessions, more, utmp_path, sessions_reason) = sessions(UTMP_PATHS, now, &|| ctx.check())?;

    let (clock, clock_reason) = match sys::adjtimex() {
        Ok(t) => (Some(clock(&t)), None),
        Err(e) => (None, Some(format!("adjtimex failed: {e}"))),
    };

    let (taint, taint_reason) = match read_small("/proc/sys/kernel/tainted") {
        Ok(text) => match parse_tainted(&text) {
            Some(mask) => (
                Some(TaintOut {
                    mask,
                    flags: decode_taint(mask)
                        .into_iter()
                        .map(|t| TaintFlag {
                            bit: t.bit,
                            letter: t.letter.map(String::from).unwrap_or_default(),
                            name: t.name,
                        })
                        .collect(),
                }),
                None,
            ),
            None => (
                None,
                Some("/proc/sys/kernel/tainted is not a number".to_string()),
            ),
        },
        Err(e) => (None, Some(e)),
    };

    let (file_handles, file_handles_reason) = match read_small("/proc/sys/fs/file-nr") {
        Ok(text) => match parse_file_nr(&text) {
            Some(n) => (
                Some(FileHandles {
                    allocated: n.allocated,
                    unused: n.unused,
                    max: n.max,
                }),
                None,
            ),
            None => (
                None,
                Some("/proc/sys/fs/file-nr is not three numbers".to_string()),
            ),
        },
        Err(e) => (None, Some(e)),
    };

    let reboot_required = Path::new("/run/reboot-required").exists();
    let pkgs = reboot_packages(Path::new("/run/reboot-required.pkgs"), &|s, n| {
        ctx.redactor.cut(s, n).0
    });
    to_value(&Out {
        count: sessions.len(),
        sessions,
        more_not_listed: more,
        utmp_path,
        sessions_reason,
        clock,
        clock_reason,
        taint,
        taint_reason,
        file_handles,
        file_handles_reason,
        reboot_required,
        reboot_packages_more: pkgs.as_ref().map(|p| p.1),
        reboot_packages: pkgs.map(|p| p.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    #[test]
    fn clock_flags_and_sync_follow_the_status_bits() {
        let mut t = sys::Timex {
            state: 0,
            status: 0x0001 | 0x2000,
            offset: -12_345,
            freq: 65_536 * 3,
            maxerror: 100,
            esterror: 5,
            constant: 7,
            precision: 1,
            tolerance: 32_768_000,
            tick: 10_000,
        };
        let c = clock(&t);
        assert!(c.synced);
        assert_eq!(c.status, ["PLL", "NANO"]);
        assert_eq!(c.offset_us, -12.345); // nanoseconds under STA_NANO
        assert_eq!(c.frequency_ppm, 3.0);
        t.status = STA_UNSYNC;
        let c = clock(&t);
        assert!(!c.synced);
        assert_eq!(c.offset_us, -12_345.0);
        t.status = 0;
        t.state = TIME_ERROR;
        assert!(!clock(&t).synced);
        assert_eq!(clock(&t).state, "error");
        t.state = 99;
        assert_eq!(clock(&t).state, "unknown");
    }

    #[test]
    fn utmp_files_missing_truncated_and_not_regular() {
        let dir = crate::testdir::TempDir::new("utmp");
        let check = || Ok(());
        // Missing everywhere: an empty list with a reason.
        let (list, more, path, why) = sessions(&["/nonexistent/sysgate/utmp"], 0, &check).unwrap();
        assert!(list.is_empty() && !more && path.is_none());
        assert!(why.unwrap().contains("no utmp file"));
        // A truncated file: the whole records count, the tail is named.
        let mut rec = vec![0u8; RECORD_BYTES];
        rec[0..2].copy_from_slice(&7i16.to_ne_bytes());
        rec[4..8].copy_from_slice(&9i32.to_ne_bytes());
        rec[8..12].copy_from_slice(b"pts9");
        rec[44..47].copy_from_slice(b"eve");
        rec[340..344].copy_from_slice(&1_700_000_000i32.to_ne_bytes());
        let mut bytes = rec.clone();
        bytes.extend_from_slice(&rec[..50]);
        let f = dir.join("utmp");
        std::fs::write(&f, &bytes).unwrap();
        let u = read_utmp(&f, 1_800_000_000, &check).unwrap().unwrap();
        assert_eq!(u.sessions.len(), 1);
        assert_eq!(u.trailing_bytes, 50);
        // Same answer as the in-memory parser.
        assert_eq!(u, utmp::parse_utmp(&bytes, 1_800_000_000));
        // A symlink is not followed; a directory or FIFO is not read.
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(read_utmp(&link, 0, &check).unwrap().is_err());
        assert!(read_utmp(dir.path(), 0, &check).unwrap().is_err());
        // Cancellation is checked while streaming a long file.
        std::fs::write(&f, vec![0u8; RECORD_BYTES * 2048]).unwrap();
        assert_eq!(
            read_utmp(&f, 0, &|| Err(ToolError::Cancelled)).unwrap_err(),
            ToolError::Cancelled
        );
    }

    #[test]
    fn reboot_packages_are_deduplicated_and_capped() {
        let dir = crate::testdir::TempDir::new("reboot");
        let f = dir.join("pkgs");
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        std::fs::write(&f, "linux-image-amd64\nlibc6\n\nlibc6\n").unwrap();
        let (names, more) = reboot_packages(&f, &cut).unwrap();
        assert_eq!(names, ["linux-image-amd64", "libc6"]);
        assert!(!more);
        let many: String = (0..MAX_REBOOT_PKGS + 3)
            .map(|i| format!("p{i}\n"))
            .collect();
        std::fs::write(&f, many).unwrap();
        let (names, more) = reboot_packages(&f, &cut).unwrap();
        assert_eq!(names.len(), MAX_REBOOT_PKGS);
        assert!(more);
        assert!(reboot_packages(&dir.join("none"), &cut).is_none());
    }

    #[test]
    fn this_host_answers_within_the_schema() {
        let (list, more, _, why) = sessions(UTMP_PATHS, now_unix() as i64, &|| Ok(())).unwrap();
        let out = Out {
            count: list.len(),
            sessions: list,
            more_not_listed: more,
            utmp_path: None,
            sessions_reason: why,
            clock: sys::adjtimex().ok().map(|t| clock(&t)),
            clock_reason: None,
            taint: None,
            taint_reason: None,
            file_handles: None,
            file_handles_reason: None,
            reboot_required: false,
            reboot_packages: None,
            reboot_packages_more: None,
        };
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        schema.validate(&to_value(&out).unwrap()).unwrap();
    }
}

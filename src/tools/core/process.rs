#![forbid(unsafe_code)]
//! `get_process`: everything safe about one process: what `get_processes` lists, plus its cgroup
//! (and the systemd unit and container it names), open descriptor count and I/O counters.
//!
//! `/proc/PID/environ` is never opened. The record is all or nothing: `stat` is read first and
//! again last, and if the process is gone by then (or the pid now belongs to a newer process,
//! which has another start time) the call fails rather than mix two processes or report half of
//! one. A file the server may not read (another user's `fd` or `io`) leaves its field out and
//! says why in `<field>_reason`.

use std::fs;
use std::io;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::processes::Reader;
use super::{boot_time, memory, passwd_users, read_path, round2, to_value, uptime_seconds};
use crate::error::ToolError;
use crate::sys;
use crate::tools::Ctx;
use crate::tools::parse::cgroup::{self, CgroupError};
use crate::tools::parse::pidio;
use crate::tools::procfs::{self, PidStat};

/// Linux's `PID_MAX_LIMIT` on 64-bit hosts.
const PID_MAX: u64 = 4_194_304;
/// Descriptors counted before giving up (a directory scan; a process may hold a million).
const MAX_FDS_COUNTED: u64 = 1 << 16;

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false, "required": ["pid"],
    "properties": {
        "pid": {"type": "integer", "minimum": 1, "maximum": 4194304, "description": "the process id"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["pid", "ppid", "name", "state", "user", "uid", "threads", "nice", "priority",
                 "tty", "cpu_percent", "cpu_time_seconds", "rss_bytes", "mem_percent",
                 "vsz_bytes", "start_time", "start_time_utc", "start_after_boot_seconds",
                 "kernel_thread", "cmdline", "cmdline_truncated"],
    "properties": {
        "pid": {"type": "integer", "minimum": 1},
        "ppid": {"type": "integer", "minimum": 0},
        "name": {"type": "string"},
        "state": {"type": "string", "description": "R running, S sleeping, D disk sleep, Z zombie, T stopped, I idle, ..."},
        "user": {"type": "string", "description": "effective user name, or the uid when /etc/passwd has no entry"},
        "uid": {"type": "integer", "minimum": 0},
        "threads": {"type": "integer", "minimum": 0},
        "nice": {"type": "integer", "minimum": -20, "maximum": 19},
        "priority": {"type": "integer", "description": "the kernel's: 20 + nice for normal tasks, negative for real-time (ps -o pri shows 39 minus this)"},
        "tty": {"type": "string", "x-sysgate-server-text": true, "description": "controlling terminal (pts/N, ttyN, ttySN, or major:minor), ? for none (as ps shows it)"},
        "cpu_percent": {"type": "number", "minimum": 0, "description": "percent of one CPU, averaged over the process's lifetime"},
        "cpu_time_seconds": {"type": "number", "minimum": 0, "description": "user plus system CPU time"},
        "rss_bytes": {"type": "integer", "minimum": 0},
        "mem_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "vsz_bytes": {"type": "integer", "minimum": 0},
        "start_time": {"type": "integer", "description": "unix seconds"},
        "start_time_utc": {"type": "string", "x-sysgate-server-text": true, "description": "the start time as RFC 3339, UTC"},
        "start_after_boot_seconds": {"type": "number", "minimum": 0},
        "kernel_thread": {"type": "boolean"},
        "cgroup": {"type": "string", "description": "the cgroup path (v2, else systemd's v1 hierarchy, else the first v1 one); absent with cgroup_reason when unknown"},
        "cgroup_hierarchy": {"type": "string", "enum": ["v2", "v1-systemd", "v1"]},
        "cgroup_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why cgroup is absent"},
        "systemd_unit": {"type": "string", "description": "the system unit (a .service or .scope) the cgroup path names, when it names one"},
        "systemd_user_unit": {"type": "string", "description": "the unit inside a user manager (user@UID.service)"},
        "systemd_slice": {"type": "string"},
        "container_id": {"type": "string", "x-sysgate-server-text": true, "pattern": "^[0-9a-f]{64}$", "description": "when the cgroup path shows a container"},
        "container_runtime": {"type": "string", "enum": ["docker", "podman", "containerd", "cri-o", "kubernetes"]},
        "open_fds": {"type": "integer", "minimum": 0, "description": "open file descriptors; absent with open_fds_reason when they cannot be counted"},
        "open_fds_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why open_fds is absent"},
        "io": {"type": "object", "additionalProperties": false,
            "description": "cumulative I/O from /proc/PID/io (absent with io_reason when unreadable): rchar/wchar count every read and write call, read_bytes/write_bytes what reached storage",
            "required": ["rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes"],
            "properties": {
                "rchar": {"type": "integer", "minimum": 0},
                "wchar": {"type": "integer", "minimum": 0},
                "syscr": {"type": "integer", "minimum": 0},
                "syscw": {"type": "integer", "minimum": 0},
                "read_bytes": {"type": "integer", "minimum": 0},
                "write_bytes": {"type": "integer", "minimum": 0},
                "cancelled_write_bytes": {"type": "integer", "minimum": 0}
            }
        },
        "io_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why io is absent"},
        "cmdline": {"type": "string", "description": "arguments joined by spaces; empty for kernel threads and zombies"},
        "cmdline_truncated": {"type": "boolean"}
    }
}"#;

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
    priority: i64,
    tty: String,
    cpu_percent: f64,
    cpu_time_seconds: f64,
    rss_bytes: u64,
    mem_percent: f64,
    vsz_bytes: u64,
    start_time: i64,
    start_time_utc: String,
    start_after_boot_seconds: f64,
    kernel_thread: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup_hierarchy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    systemd_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    systemd_user_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    systemd_slice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_runtime: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_fds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_fds_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    io: Option<Io>,
    #[serde(skip_serializing_if = "Option::is_none")]
    io_reason: Option<String>,
    cmdline: String,
    cmdline_truncated: bool,
}

#[derive(Serialize)]
struct Io {
    rchar: u64,
    wchar: u64,
    syscr: u64,
    syscw: u64,
    read_bytes: u64,
    write_bytes: u64,
    cancelled_write_bytes: u64,
}

/// How reading one optional file went.
enum Got<T> {
    Value(T),
    /// The file is not there: the process has exited, or the kernel lacks the feature (told
    /// apart once the final `stat` shows whether the process is still there).
    Missing,
    /// Readable in principle, not by us, or not in the expected form: the reason.
    Refused(String),
}

fn got_err<T>(what: &str, e: &io::Error) -> Got<T> {
    match e.kind() {
        io::ErrorKind::NotFound => Got::Missing,
        // ESRCH: the task went away while the file was open.
        _ if e.raw_os_error() == Some(ESRCH) => Got::Missing,
        io::ErrorKind::PermissionDenied => Got::Refused(format!(
            "permission denied reading {what} (another user's process; it needs the same uid or CAP_SYS_PTRACE)"
        )),
        _ => Got::Refused(format!("cannot read {what}: {e}")),
    }
}

/// `ESRCH` on Linux (a stable ABI number).
const ESRCH: i32 = 3;

/// The value, or why there is none.
fn split<T>(got: Got<T>, missing: &str) -> (Option<T>, Option<String>) {
    match got {
        Got::Value(v) => (Some(v), None),
        Got::Missing => (None, Some(missing.to_owned())),
        Got::Refused(r) => (None, Some(r)),
    }
}

fn read_text(path: &str) -> Result<String, io::Error> {
    read_path(Path::new(path))
}

fn pid_arg(args: &Map<String, Value>) -> Result<u32, ToolError> {
    args.get("pid")
        .and_then(Value::as_u64)
        .filter(|p| (1..=PID_MAX).contains(p))
        .and_then(|p| u32::try_from(p).ok())
        .ok_or_else(|| ToolError::InvalidArgument {
            argument: "pid".into(),
            rule: format!("is required: an integer between 1 and {PID_MAX}"),
        })
}

fn count_fds(ctx: &Ctx<'_>, pid: u32) -> Result<Got<u64>, ToolError> {
    let what = format!("/proc/{pid}/fd");
    let rd = match fs::read_dir(&what) {
        Ok(rd) => rd,
        Err(e) => return Ok(got_err(&what, &e)),
    };
    let mut n = 0u64;
    for entry in rd {
        if entry.is_ok() {
            n += 1;
        }
        if n.is_multiple_of(4096) {
            ctx.check()?;
        }
        if n > MAX_FDS_COUNTED {
            return Ok(Got::Refused(format!(
                "more than {MAX_FDS_COUNTED} open descriptors; not counted further"
            )));
        }
    }
    Ok(Got::Value(n))
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let pid = pid_arg(args)?;
    let gone = || ToolError::InvalidArgument {
        argument: "pid".into(),
        rule: format!(
            "no process {pid} (it does not exist, has exited, or is hidden from this server)"
        ),
    };
    let exited = || {
        ToolError::Failed(format!(
            "process {pid} exited while it was being read; nothing is reported (call again for a new process with that pid)"
        ))
    };
    let mut reader = Reader::new();
    let first = reader.stat(pid).ok_or_else(gone)?;
    // /proc also answers for thread ids it does not list; a thread is not a process.
    let status = read_text(&format!("/proc/{pid}/status")).map_err(|_| exited())?;
    if let Some(tgid) = procfs::parse_status_number(status.as_bytes(), "Tgid")
        && tgid != u64::from(pid)
    {
        return Err(ToolError::InvalidArgument {
            argument: "pid".into(),
            rule: format!("{pid} is a thread of process {tgid}; give the process id"),
        });
    }
    let uid = procfs::parse_status_uids(status.as_bytes())
        .map(|(_, effective)| effective)
        .ok_or_else(|| ToolError::Failed(format!("could not parse /proc/{pid}/status")))?;
    let (cmdline, cmdline_truncated) = reader.cmdline(pid, ctx.redactor).ok_or_else(exited)?;
    ctx.check()?;

    let cgroup_path = format!("/proc/{pid}/cgroup");
    let cgroup = match read_text(&cgroup_path) {
        Ok(text) => match cgroup::parse_cgroup(&text) {
            Ok(c) => Got::Value(c),
            Err(CgroupError::NoPath) => Got::Refused(format!("{cgroup_path} names no cgroup")),
            Err(CgroupError::TooLong) => Got::Refused(format!(
                "the cgroup path is longer than {} bytes",
                cgroup::MAX_PATH_BYTES
            )),
        },
        Err(e) => got_err(&cgroup_path, &e),
    };
    let io_path = format!("/proc/{pid}/io");
    let io = match read_text(&io_path) {
        Ok(text) => match pidio::parse_pid_io(&text) {
            Some(io) => Got::Value(io),
            None => Got::Refused(format!("{io_path} is not in the expected form")),
        },
        Err(e) => got_err(&io_path, &e),
    };
    let fds = count_fds(ctx, pid)?;

    // The same process still? (A pid reused meanwhile has a later start time.)
    match reader.stat(pid) {
        Some(s) if s.starttime == first.starttime => {}
        _ => return Err(exited()),
    }
    // The process is still there, so a missing file is a missing kernel feature.
    let (cgroup, cgroup_reason) = split(
        cgroup,
        "this kernel has no cgroups (/proc/PID/cgroup is absent)",
    );
    let (io, io_reason) = split(
        io,
        "this kernel does not account task I/O (/proc/PID/io is absent)",
    );
    let (open_fds, open_fds_reason) = split(fds, "/proc/PID/fd is absent");

    let users = passwd_users();
    let user = procfs::user_name(&users, uid);
    describe(
        first,
        user,
        uid,
        cmdline,
        cmdline_truncated,
        cgroup,
        cgroup_reason,
        io,
        io_reason,
        open_fds,
        open_fds_reason,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site: the parts of the record, read above"
)]
fn describe(
    s: PidStat,
    user: String,
    uid: u32,
    cmdline: String,
    cmdline_truncated: bool,
    cgroup: Option<cgroup::Cgroup>,
    cgroup_reason: Option<String>,
    io: Option<pidio::PidIo>,
    io_reason: Option<String>,
    open_fds: Option<u64>,
    open_fds_reason: Option<String>,
) -> Result<Value, ToolError> {
    let hz = sys::clock_ticks_per_second() as f64;
    let uptime = uptime_seconds()?;
    let btime = boot_time(uptime)?;
    let mem_total = memory::read_meminfo()?.total;
    let rss = s.rss_pages.saturating_mul(sys::page_size());
    let after_boot = s.starttime as f64 / hz;
    let age = uptime - after_boot;
    let start_time = (btime + after_boot).round() as i64;
    let (container_runtime, container_id) = match cgroup.as_ref().and_then(|c| c.container.clone())
    {
        Some((r, id)) => (Some(r.name()), Some(id)),
        None => (None, None),
    };
    let (cgroup_hierarchy, systemd_unit, systemd_user_unit, systemd_slice, cgroup) = match cgroup {
        Some(c) => (
            Some(c.hierarchy.name()),
            c.unit,
            c.user_unit,
            c.slice,
            Some(c.path),
        ),
        None => (None, None, None, None, None),
    };
    to_value(&Process {
        pid: s.pid,
        ppid: s.ppid,
        state: s.state.to_string(),
        user,
        uid,
        threads: s.num_threads,
        nice: s.nice,
        priority: s.priority,
        tty: procfs::tty_name(s.tty_nr).unwrap_or_else(|| "?".to_owned()),
        cpu_percent: if age > 0.0 {
            round2(s.cpu_ticks() as f64 / hz / age * 100.0)
        } else {
            0.0
        },
        cpu_time_seconds: round2(s.cpu_ticks() as f64 / hz),
        rss_bytes: rss,
        mem_percent: round2(procfs::percent(rss, mem_total)),
        vsz_bytes: s.vsize,
        start_time,
        start_time_utc: procfs::rfc3339_utc(start_time),
        start_after_boot_seconds: round2(after_boot),
        kernel_thread: s.is_kernel_thread(),
        cgroup,
        cgroup_hierarchy,
        cgroup_reason,
        systemd_unit,
        systemd_user_unit,
        systemd_slice,
        container_id,
        container_runtime,
        open_fds,
        open_fds_reason,
        io: io.map(|io| Io {
            rchar: io.rchar,
            wchar: io.wchar,
            syscr: io.syscr,
            syscw: io.syscw,
            read_bytes: io.read_bytes,
            write_bytes: io.write_bytes,
            cancelled_write_bytes: io.cancelled_write_bytes,
        }),
        io_reason,
        cmdline,
        cmdline_truncated,
        name: s.comm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pid_argument() {
        let p = |v: Value| pid_arg(v.as_object().unwrap());
        assert_eq!(p(json!({"pid": 1})).unwrap(), 1);
        assert_eq!(p(json!({"pid": 4_194_304})).unwrap(), 4_194_304);
        for bad in [
            json!({}),
            json!({"pid": 0}),
            json!({"pid": -1}),
            json!({"pid": 4_194_305}),
            json!({"pid": "1"}),
            json!({"pid": 1.5}),
        ] {
            assert!(
                matches!(p(bad.clone()), Err(ToolError::InvalidArgument { argument, .. }) if argument == "pid"),
                "{bad}"
            );
        }
    }

    #[test]
    fn read_errors_become_reasons_or_missing() {
        let nf = io::Error::from(io::ErrorKind::NotFound);
        assert!(matches!(got_err::<u8>("x", &nf), Got::Missing));
        let esrch = io::Error::from_raw_os_error(3);
        assert!(matches!(got_err::<u8>("x", &esrch), Got::Missing));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(
            matches!(got_err::<u8>("/proc/1/io", &denied), Got::Refused(r) if r.contains("permission denied reading /proc/1/io"))
        );
    }
}

#![forbid(unsafe_code)]
//! Scope `hooks`: what runs on this host besides the processes you see, how it is wired and
//! what it is built from: kernel modules, mounts, scheduled jobs (cron and systemd timers),
//! systemd units, routes, listening ports and the DNS configuration, read natively from
//! `/proc`, `/etc`, `/run` and `/usr/lib`. No process is started here (`netfs` holds the reads
//! the network tools share).
//! The readers take their root directories as parameters so the tests can point them at
//! fixture trees; the file helpers below never follow a symlink out of a directory.

use std::ffi::OsString;
use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{Annotations, Impact, ToolDef};
use crate::error::ToolError;
use crate::scope::Scope;

mod cron;
mod dns;
mod modules;
mod mounts;
mod netfs;
mod ports;
mod routes;
mod units;

const NO_ARGS: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Minimal: one small /proc file.
        name: "get_kernel_modules",
        title: "Kernel modules",
        description: "Loaded kernel modules from /proc/modules: name, size, reference count, the modules using each one, state (live, loading, unloading) and the module's taint flags with their meaning. The load address is never returned. An empty list with a `reason` when the kernel has no /proc/modules.",
        scope: Scope::Hooks,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: modules::OUTPUT,
        handler: modules::handler,
    },
    ToolDef {
        // Minimal: one /proc file of a few hundred lines.
        name: "get_mounts",
        title: "Mounts",
        description: "The mount table of sysgate's mount namespace from /proc/self/mountinfo: mount id, parent id, device number, source, target, filesystem type, per-mount and superblock options, the root of the mount within its filesystem, and propagation (shared, master, unbindable; none for a private mount). Filter with `fstype`.",
        scope: Scope::Hooks,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: mounts::INPUT,
        output_schema: mounts::OUTPUT,
        handler: mounts::handler,
    },
    ToolDef {
        // Low: a few hundred small files at most, each capped.
        name: "get_cron_jobs",
        title: "Scheduled jobs",
        description: "Scheduled jobs read natively: /etc/crontab and /etc/cron.d/* (with their user field), per-user crontabs in /var/spool/cron/crontabs and /var/spool/cron (the file's owner is the user), the scripts run-parts runs from /etc/cron.hourly, daily, weekly and monthly, and systemd timers from the *.timer unit files in /etc/systemd/system, /run/systemd/system, /usr/lib/systemd/system and /lib/systemd/system (OnCalendar, OnBootSec and the other triggers, the unit started, and whether a timers.target.wants (or other .wants) symlink enables it). Symbolic links are never followed: one in a crontab directory is reported as skipped, one in a run-parts directory is listed by name (run-parts would run it); only regular files are read, each capped at 256 KiB and 8 MiB in all per call. Environment lines are reported by variable name only, never their values.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: cron::OUTPUT,
        handler: cron::handler,
    },
    ToolDef {
        // Low: a few hundred small unit files, each capped.
        name: "get_systemd_units",
        title: "systemd units",
        description: "systemd unit files read natively from /etc/systemd/system, /run/systemd/system, /usr/lib/systemd/system and /lib/systemd/system (the first directory holding a name wins, in that order): name, type, path, description, enablement (enabled, enabled-runtime, disabled, static, indirect, masked for a symlink to /dev/null, alias, linked) from the *.wants/ and *.requires/ symlinks and the [Install] section, and the units that want each one. Static units (no [Install] section) are counted but left out unless `include_static` is true. Drop-in directories (*.d/) are not applied. Runtime state (active, failed) is not read: it is null with a `runtime_reason` (systemd not running, or this build does not run systemctl). Filter with `type` and `enablement`.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: units::INPUT,
        output_schema: units::OUTPUT,
        handler: units::handler,
    },
    ToolDef {
        // Low: two small /proc files (a full routing table is capped).
        name: "get_routes",
        title: "Routing tables",
        description: "The IPv4 main routing table from /proc/net/route and the IPv6 routes of every table from /proc/net/ipv6_route: destination and prefix length, gateway, interface, metric, route type and flags by name, lowest metric first within a destination. Read natively; no program is run.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: routes::INPUT,
        output_schema: routes::OUTPUT,
        handler: routes::handler,
    },
    ToolDef {
        // Low: one pass over /proc/PID/fd and one read of the socket tables per network
        // namespace (20 ms on a small host).
        name: "get_listening_ports",
        title: "Listening ports",
        description: "Listening TCP sockets, bound unconnected UDP sockets and listening unix sockets from /proc/net/{tcp,tcp6,udp,udp6,unix}, read once per network namespace, each with its owning processes (pid, name, user) found through the socket inode in /proc/PID/fd. Processes whose descriptors cannot be read are counted with a reason, never guessed. Read natively; no program is run.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: ports::INPUT,
        output_schema: ports::OUTPUT,
        handler: ports::handler,
    },
    ToolDef {
        // Minimal: three small files.
        name: "get_dns_config",
        title: "DNS configuration",
        description: "The resolver configuration: nameservers (the first three are the ones glibc uses), search domains and options from /etc/resolv.conf (and where it links to), the `hosts:` line of /etc/nsswitch.conf, and whether systemd-resolved is in use (resolv.conf links into /run/systemd/resolve or names its 127.0.0.53 stub), with its upstream servers from /run/systemd/resolve/resolv.conf. Lines of another shape are counted by line number, never echoed.",
        scope: Scope::Hooks,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: dns::OUTPUT,
        handler: dns::handler,
    },
];

/// Bytes a single tool call may read from files in all, so a tree of many large files cannot
/// make one call slow or big.
pub(crate) const TOOL_BYTES: u64 = 8 * 1024 * 1024;
/// Most directory entries looked at per directory.
pub(crate) const MAX_DIR_ENTRIES: usize = 8192;

/// What is left of a call's read allowance.
#[derive(Debug)]
pub(crate) struct Budget(u64);

impl Budget {
    pub(crate) fn new(bytes: u64) -> Budget {
        Budget(bytes)
    }
}

/// Why a file was not read, in the server's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unread {
    Missing,
    Symlink,
    NotRegular,
    TooLarge(u64),
    OverBudget,
    Io(String),
}

impl Unread {
    pub(crate) fn reason(&self) -> String {
        match self {
            Unread::Missing => "does not exist".into(),
            Unread::Symlink => "symbolic link (not followed)".into(),
            Unread::NotRegular => "not a regular file".into(),
            Unread::TooLarge(max) => format!("larger than {max} bytes (not read)"),
            Unread::OverBudget => format!(
                "not read: this call already read {} MiB of files",
                TOOL_BYTES / (1024 * 1024)
            ),
            Unread::Io(e) => format!("cannot read: {e}"),
        }
    }
}

/// Read a whole regular file of at most `max` bytes without following a symlink at its last
/// component (`O_NOFOLLOW`), without blocking on a FIFO (`O_NONBLOCK`), and charge it to the
/// call's budget. Invalid UTF-8 is replaced.
pub(crate) fn read_file(
    path: &Path,
    max: u64,
    budget: &mut Budget,
) -> Result<(String, File), Unread> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Unread::Symlink,
            Some(libc::ENOENT) => Unread::Missing,
            _ => Unread::Io(e.to_string()),
        })?;
    let meta = f.metadata().map_err(|e| Unread::Io(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(Unread::NotRegular);
    }
    if meta.len() > max {
        return Err(Unread::TooLarge(max));
    }
    if meta.len() > budget.0 {
        return Err(Unread::OverBudget);
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the fstat: read at most `max` bytes regardless.
    (&f).take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Unread::Io(e.to_string()))?;
    if buf.len() as u64 > max {
        return Err(Unread::TooLarge(max));
    }
    budget.0 = budget.0.saturating_sub(buf.len() as u64);
    let text = match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok((text, f))
}

/// The entries of `dir`, sorted by name, with their types as the directory reports them (a
/// symlink is a symlink, never its target), at most [`MAX_DIR_ENTRIES`]; the bool says more
/// were there.
pub(crate) fn list_dir(dir: &Path) -> io::Result<(Vec<(OsString, FileType)>, bool)> {
    let mut out = Vec::new();
    let mut more = false;
    for e in fs::read_dir(dir)? {
        let Ok(e) = e else { continue };
        if out.len() == MAX_DIR_ENTRIES {
            more = true;
            break;
        }
        let Ok(ty) = e.file_type() else { continue };
        out.push((e.file_name(), ty));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, more))
}

/// The identity of a directory (device, inode), so two paths to one directory (`/lib` is a
/// symlink to `/usr/lib` on merged-/usr systems) are read once.
pub(crate) fn dir_identity(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(dir).ok()?;
    m.is_dir().then(|| (m.dev(), m.ino()))
}

/// A result struct as `structuredContent`.
pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ToolError> {
    serde_json::to_value(v)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

/// A loop's cancellation check (`Ctx::check`, or a stand-in in tests).
pub(crate) type Check<'a> = &'a dyn Fn() -> Result<(), ToolError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_file_refuses_symlinks_fifos_and_big_files() {
        let dir = crate::testdir::TempDir::new("hooks-read");
        let f = dir.join("a");
        fs::write(&f, b"ok\xff").unwrap();
        let mut b = Budget::new(100);
        assert_eq!(read_file(&f, 10, &mut b).unwrap().0, "ok\u{fffd}");
        assert_eq!(b.0, 97);
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read_file(&link, 10, &mut b).unwrap_err(), Unread::Symlink);
        assert_eq!(
            read_file(dir.path(), 10, &mut b).unwrap_err(),
            Unread::NotRegular
        );
        assert_eq!(
            read_file(&dir.join("none"), 10, &mut b).unwrap_err(),
            Unread::Missing
        );
        assert_eq!(read_file(&f, 2, &mut b).unwrap_err(), Unread::TooLarge(2));
        let mut small = Budget::new(1);
        assert_eq!(
            read_file(&f, 10, &mut small).unwrap_err(),
            Unread::OverBudget
        );
        for u in [Unread::Symlink, Unread::OverBudget, Unread::TooLarge(5)] {
            assert!(!u.reason().is_empty());
        }
        let (names, more) = list_dir(dir.path()).unwrap();
        assert!(!more);
        assert_eq!(names.len(), 2);
        assert!(names[1].1.is_symlink());
        assert!(dir_identity(dir.path()).is_some());
        assert!(dir_identity(&f).is_none());
    }
}

#![forbid(unsafe_code)]
//! Scope `logs_system`: the host's own logs. `get_journal_logs` runs `journalctl` (the journal
//! file format has no stable native reader); `get_syslog` reads the syslog file backwards from its
//! end (see `tools::logfile`); `get_kernel_logs` reads `/dev/kmsg`. All are time-bounded (24 h at
//! most) and line-capped (1000 at most), and page with a cursor. Each handler lives in a
//! submodule with its schemas.

use super::{Annotations, Impact, ToolDef};
use crate::scope::Scope;

mod journal;
mod kernel;
mod syslog;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Medium: journalctl may read many journal files before it finds `since`.
        name: "get_journal_logs",
        title: "Journal logs",
        description: "Entries of the systemd journal, oldest first, from `since_minutes` ago (at most 24 hours; default 60), read by running journalctl (sandboxed) with JSON output. Filters: `unit` (a systemd unit name), `priority` (this level and more severe: 0-7 or emerg, alert, crit, err, warning, notice, info, debug), `grep` (a literal, case-sensitive substring of the message, matched by sysgate, not as a regular expression). At most `lines` entries (default 100, at most 1000); when more match, the result has `more: true` and a `next_cursor`: pass it back as `cursor`, with the same filters, for the next entries, none repeated or skipped (with a cursor, `since_minutes` is not used). A cursor the journal no longer has is refused. Each entry has its time (RFC 3339, UTC), priority, unit, identifier, pid and message; messages longer than 8192 characters are cut.",
        scope: Scope::LogsSystem,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: journal::INPUT,
        output_schema: journal::OUTPUT,
        handler: journal::handler,
    },
    ToolDef {
        // Medium: a page may scan up to 32 MiB of the file (logfile::SCAN_BUDGET).
        name: "get_syslog",
        title: "System log",
        description: "Lines of /var/log/syslog (or /var/log/messages, whichever exists), read natively from the end of the file: newest first, at most `lines` (≤ 1000), not older than `max_age_hours` (≤ 24), optionally only those containing the literal text `grep`. When older lines remain, `next_cursor` continues further back in time, also across a rotation of the file (to NAME.1). Without either file (a host that logs only to the journal), an empty page with `stopped: no_file` and a `reason`.",
        scope: Scope::LogsSystem,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: syslog::INPUT,
        output_schema: syslog::OUTPUT,
        handler: syslog::handler,
    },
    ToolDef {
        // Medium: one pass over the kernel's ring buffer (a few MiB at most).
        name: "get_kernel_logs",
        title: "Kernel log",
        description: "Kernel log records from /dev/kmsg, read natively without blocking: newest first, with level, facility, time since boot and wall-clock time, at most `lines` (≤ 1000), not older than `max_age_hours` (≤ 24), optionally only up to a severity `level` and containing the literal text `grep`. `next_cursor` continues with older records (by sequence number). Needs permission to read the kernel log (kernel.dmesg_restrict).",
        scope: Scope::LogsSystem,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: kernel::INPUT,
        output_schema: kernel::OUTPUT,
        handler: kernel::handler,
    },
];

#![forbid(unsafe_code)]
//! Scope `logs_system`: the host's own logs, read natively. `get_syslog` reads the syslog file
//! backwards from its end (see `tools::logfile`); `get_kernel_logs` reads `/dev/kmsg`. Both are
//! time-bounded (24 h at most) and line-capped (1000 at most), and page with a cursor.

use super::{Annotations, Impact, ToolDef};
use crate::scope::Scope;

mod kernel;
mod syslog;

pub static TOOLS: &[ToolDef] = &[
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

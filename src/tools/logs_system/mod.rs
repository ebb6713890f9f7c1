#![forbid(unsafe_code)]
//! Scope `logs_system`: the host's own logs. `get_journal_logs` runs `journalctl` (the journal
//! file format has no stable native reader); each handler lives in a submodule with its schemas.

use super::{Annotations, Impact, ToolDef};
use crate::scope::Scope;

mod journal;

pub static TOOLS: &[ToolDef] = &[ToolDef {
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
}];

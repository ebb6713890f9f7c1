#![forbid(unsafe_code)]
//! Scope `sensitive` (off unless the config enables it and the caller holds the scope): tools
//! whose results reveal who logs in, and how.

use super::{Annotations, Impact, ToolDef};
use crate::scope::Scope;

mod auth_logs;

pub static TOOLS: &[ToolDef] = &[ToolDef {
    // Medium: a page may scan up to 32 MiB of the file (logfile::SCAN_BUDGET).
    name: "get_auth_logs",
    title: "Authentication log",
    description: "Lines of /var/log/auth.log (or /var/log/secure, whichever exists): logins, sudo, sshd and PAM messages, with user names and addresses. Read natively from the end of the file: newest first, at most `lines` (≤ 1000), from the last `max_age_hours` (required, ≤ 24), optionally only those containing the literal text `grep`; `next_cursor` continues further back in time, also across a rotation of the file (to NAME.1). Without either file, an empty page with `stopped: no_file` and a `reason`.",
    scope: Scope::Sensitive,
    impact: Impact::Medium,
    annotations: Annotations::READ_LOCAL,
    input_schema: auth_logs::INPUT,
    output_schema: auth_logs::OUTPUT,
    handler: auth_logs::handler,
}];

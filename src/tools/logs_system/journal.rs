#![forbid(unsafe_code)]
//! `get_journal_logs`: `journalctl --output=json`, oldest first from `since_minutes` ago.
//!
//! Paging: journalctl prints entries in order and has no "first N" option in every version, so
//! the capture stops it after the lines needed (`Caps::stdout_lines`). A page read from a cursor
//! starts *at* it (`--cursor=`, inclusive): the first entry must be the cursor's own entry, which
//! proves the cursor is one the journal still has (journalctl itself seeks silently to the
//! nearest entry for an unknown one); that entry is then dropped. `next_cursor` is the cursor of
//! the last entry examined, so the next page starts right after it: with `grep`, entries that
//! were examined and did not match are not examined again, and entries appended meanwhile come
//! after it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::error::ToolError;
use crate::exec::{Argv, Caps, JournalCursor, Program, UnitName};
use crate::tools::Ctx;
use crate::tools::parse::journal::{Entry, parse_entry, priority_name};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "unit": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9:_.@\\\\][A-Za-z0-9:_.@\\\\-]*$",
            "description": "only entries of this systemd unit (e.g. nginx.service)"},
        "priority": {"type": "string", "enum": ["0", "1", "2", "3", "4", "5", "6", "7",
            "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"],
            "description": "only entries of this priority or more severe"},
        "since_minutes": {"type": "integer", "minimum": 1, "maximum": 1440,
            "description": "how far back to start, in minutes (default 60; at most 24 hours)"},
        "grep": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000-\\u001f]*$",
            "description": "only entries whose message contains this text (literal, case-sensitive)"},
        "lines": {"type": "integer", "minimum": 1, "maximum": 1000,
            "description": "most entries to return (default 100)"},
        "cursor": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[a-z0-9=;]+$",
            "description": "the next_cursor of an earlier call with the same filters: continue after it"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["entries", "more", "source"],
    "properties": {
        "entries": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["message"],
            "properties": {
                "time": {"type": "string", "x-sysgate-server-text": true, "description": "RFC 3339, UTC"},
                "priority": {"type": "integer", "minimum": 0, "maximum": 7},
                "priority_name": {"type": "string", "enum": ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]},
                "unit": {"type": "string"},
                "identifier": {"type": "string"},
                "pid": {"type": "integer", "minimum": 0},
                "message": {"type": "string"},
                "message_cut": {"type": "boolean", "description": "the message was longer than 8192 characters and was cut"}
            }
        }},
        "more": {"type": "boolean", "description": "more entries may match: call again with `cursor` set to next_cursor"},
        "next_cursor": {"type": "string", "x-sysgate-server-text": true, "pattern": "^s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$",
            "description": "where the next page starts (a journal cursor, checked by the server)"},
        "scanned": {"type": "integer", "minimum": 0, "description": "entries examined for this page"},
        "skipped_unreadable": {"type": "integer", "minimum": 0, "description": "lines of journalctl output that were not a journal entry"},
        "source": {"type": "string", "x-sysgate-server-text": true, "description": "which journal was read"},
        "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why there are no entries"}
    }
}"#;

/// Entries examined per page when `grep` filters in sysgate (without it, `lines` + 1).
const GREP_SCAN: usize = 10_000;
/// Most bytes of journalctl output read per page.
const STDOUT_CAP: usize = 4 << 20;
/// Longest message returned whole, in characters.
const MAX_MESSAGE_CHARS: usize = 8 * 1024;
/// Entries stop being added when the page's messages reach this many bytes, so that the output
/// caps (1 MiB by default) never cut entries out from under `next_cursor`.
const PAGE_BYTES: usize = 640 * 1024;
/// Only these fields are printed (journalctl adds the cursor and timestamps itself).
const FIELDS: &str = "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,_COMM,_PID";

fn priority_number(s: &str) -> Option<i64> {
    match s {
        "emerg" => Some(0),
        "alert" => Some(1),
        "crit" => Some(2),
        "err" => Some(3),
        "warning" => Some(4),
        "notice" => Some(5),
        "info" => Some(6),
        "debug" => Some(7),
        d => d.parse().ok().filter(|n| (0..=7).contains(n)),
    }
}

fn str_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    // Every value is checked before anything runs.
    let unit = str_arg(args, "unit")
        .map(|u| UnitName::parse("unit", u))
        .transpose()?;
    let cursor = str_arg(args, "cursor")
        .map(|c| JournalCursor::parse("cursor", c))
        .transpose()?;
    let priority = match str_arg(args, "priority") {
        Some(p) => Some(
            priority_number(p).ok_or_else(|| ToolError::InvalidArgument {
                argument: "priority".into(),
                rule: "must be 0-7 or a priority name".into(),
            })?,
        ),
        None => None,
    };
    let grep = str_arg(args, "grep");
    let lines = args
        .get("lines")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 1000) as usize;
    let since_minutes = args
        .get("since_minutes")
        .and_then(Value::as_u64)
        .unwrap_or(60)
        .clamp(1, 1440);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    let directory = ctx.exec.settings.journal_directory.as_ref();
    let mut argv = Argv::new(Program::Journalctl)
        .flag("--no-pager")
        .flag("--quiet")
        .flag("--all")
        .flag("--output=json")
        .flag(FIELDS);
    if let Some(d) = directory {
        argv = argv.opt("--directory", d);
    }
    // journalctl takes one starting point: a cursor (which came from a page that was within
    // the time bound) or the time.
    if cursor.is_none() {
        argv = argv.opt_epoch("--since", now.saturating_sub(since_minutes * 60));
    }
    if let Some(u) = &unit {
        argv = argv.opt("--unit", u);
    }
    if let Some(p) = priority {
        argv = argv.opt_num("--priority", p);
    }
    if let Some(c) = &cursor {
        argv = argv.opt("--cursor", c);
    }
    // One more than wanted shows whether more exist; one more again for the cursor's own entry.
    let want = if grep.is_some() { GREP_SCAN } else { lines + 1 } + usize::from(cursor.is_some());
    let caps = Caps {
        stdout: STDOUT_CAP,
        stdout_lines: Some(want),
        ..Caps::default()
    };
    let finished = ctx.run(&argv, caps)?;
    if !finished.success() && !finished.line_limit_reached {
        return Err(ToolError::Failed(format!(
            "journalctl failed ({}): {}",
            match (finished.record.exit_code, finished.record.signal) {
                (Some(c), _) => format!("exit status {c}"),
                (_, Some(s)) => format!("signal {s}"),
                _ => "no status".into(),
            },
            finished.stderr_line()
        )));
    }

    // Complete lines only: a line cut by the byte cap is read again on the next page.
    let out = &finished.stdout;
    let complete = out.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut entries: Vec<Entry> = Vec::new();
    let mut unreadable = 0u64;
    for line in out[..complete].split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_entry(line) {
            Ok(e) => entries.push(e),
            Err(_) => unreadable += 1,
        }
    }
    // The journal printed as many lines as asked for, or more than the cap: there may be more.
    let source_may_have_more = finished.line_limit_reached || finished.stdout_truncated;

    if let Some(c) = &cursor {
        if entries.first().map(|e| &e.cursor) != Some(c) {
            return Err(ToolError::InvalidArgument {
                argument: "cursor".into(),
                rule: "the journal has no entry at this cursor any more (rotated or vacuumed \
                       away), or this call's unit or priority differ from the call that returned \
                       it; start again without a cursor"
                    .into(),
            });
        }
        entries.remove(0);
    }

    let mut result = Vec::new();
    let mut bytes = 0usize;
    let mut consumed = 0usize;
    for e in &entries {
        if result.len() == lines || bytes >= PAGE_BYTES {
            break;
        }
        ctx.check()?;
        consumed += 1;
        if grep.is_some_and(|g| !e.message.contains(g)) {
            continue;
        }
        bytes += e.message.len().min(4 * MAX_MESSAGE_CHARS) + 128;
        result.push(entry_json(ctx, e));
    }
    let more = consumed < entries.len() || source_may_have_more;
    let mut v = json!({
        "entries": result,
        "more": more,
        "scanned": consumed,
        "source": match directory {
            Some(d) => format!("journal directory {d}"),
            None => "the system journal".to_string(),
        },
    });
    if more && consumed > 0 {
        v["next_cursor"] = json!(entries[consumed - 1].cursor.to_string());
    } else if more {
        // Nothing could be examined (every line unreadable): no position to continue from.
        v["more"] = json!(false);
    }
    if unreadable > 0 {
        v["skipped_unreadable"] = json!(unreadable);
    }
    if v["entries"].as_array().is_some_and(Vec::is_empty) {
        v["reason"] = json!(empty_reason(directory.map(|d| d.as_path()), grep.is_some()));
    }
    Ok(v)
}

fn entry_json(ctx: &Ctx<'_>, e: &Entry) -> Value {
    let mut m = Map::new();
    if let Some(us) = e.realtime_us {
        let t = UNIX_EPOCH + std::time::Duration::from_micros(us);
        m.insert("time".into(), json!(crate::audit::format_rfc3339_millis(t)));
    }
    if let Some(p) = e.priority {
        m.insert("priority".into(), json!(p));
        m.insert("priority_name".into(), json!(priority_name(p)));
    }
    if let Some(u) = &e.unit {
        m.insert("unit".into(), json!(u));
    }
    if let Some(i) = &e.identifier {
        m.insert("identifier".into(), json!(i));
    }
    if let Some(p) = e.pid {
        m.insert("pid".into(), json!(p));
    }
    let (message, cut) = ctx.redactor.cut(&e.message, MAX_MESSAGE_CHARS);
    m.insert("message".into(), json!(message));
    if cut {
        m.insert("message_cut".into(), json!(true));
    }
    Value::Object(m)
}

/// Why a page is empty: no journal at all (usual in containers: no journald), or no match.
fn empty_reason(directory: Option<&std::path::Path>, grep: bool) -> String {
    let dirs: Vec<&std::path::Path> = match directory {
        Some(d) => vec![d],
        None => vec![
            std::path::Path::new("/var/log/journal"),
            std::path::Path::new("/run/log/journal"),
        ],
    };
    let has_journal = dirs.iter().any(|d| has_journal_file(d, 2));
    if has_journal {
        if grep {
            "no entry in the time range matched the filters and `grep`".into()
        } else {
            "no entry in the time range matched the filters".into()
        }
    } else {
        format!(
            "no journal files under {}: journald is not running or keeps no journal on this host",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        )
    }
}

fn has_journal_file(dir: &std::path::Path, depth: u32) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().take(1000).any(|e| {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            depth > 0 && has_journal_file(&p, depth - 1)
        } else {
            p.extension()
                .is_some_and(|x| x == "journal" || x == "journal~")
        }
    })
}

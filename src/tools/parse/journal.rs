#![forbid(unsafe_code)]
//! `journalctl --output=json`: one JSON object per line. A field is a string, an array of byte
//! values (binary or invalid UTF-8 data), `null` (too large, when `--all` is not given), or an
//! array of those when the entry has the field more than once.

use serde_json::Value;

use crate::exec::JournalCursor;

/// One entry, as the journal tool uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `__CURSOR`, checked as strictly as a caller's cursor.
    pub cursor: JournalCursor,
    /// `__REALTIME_TIMESTAMP`, microseconds since the epoch.
    pub realtime_us: Option<u64>,
    /// `PRIORITY`, 0..=7.
    pub priority: Option<u8>,
    /// `_SYSTEMD_UNIT`.
    pub unit: Option<String>,
    /// `SYSLOG_IDENTIFIER`, else `_COMM`.
    pub identifier: Option<String>,
    /// `_PID`.
    pub pid: Option<u32>,
    /// `MESSAGE` (invalid UTF-8 replaced; several values joined by newlines; empty if absent).
    pub message: String,
}

/// A field's value as text: strings as they are, byte arrays decoded (lossy), several values
/// joined with newlines; `None` for `null`, a missing field or another JSON type.
pub fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.iter().all(|i| i.is_u64()) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|b| u8::try_from(b).unwrap_or(b'?'))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(field_text).collect();
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        _ => None,
    }
}

/// The fields the tool reads, deserialized straight from the line: serde skips every other field
/// without building it (a journal entry has dozens), which is most of the cost of a `Value` map.
#[derive(serde::Deserialize)]
struct Wanted {
    #[serde(rename = "__CURSOR")]
    cursor: Option<Value>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<Value>,
    #[serde(rename = "PRIORITY")]
    priority: Option<Value>,
    #[serde(rename = "_SYSTEMD_UNIT")]
    unit: Option<Value>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<Value>,
    #[serde(rename = "_COMM")]
    comm: Option<Value>,
    #[serde(rename = "_PID")]
    pid: Option<Value>,
    #[serde(rename = "MESSAGE")]
    message: Option<Value>,
}

/// Parse one line. Errors (not JSON, not an object, no valid `__CURSOR`) name what is wrong;
/// the tool counts such lines and skips them.
pub fn parse_entry(line: &[u8]) -> Result<Entry, String> {
    // A derived struct would also accept a JSON array; an entry is an object.
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() => {
            return Err("not a JSON object".into());
        }
        _ => {}
    }
    let w: Wanted = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let text = |v: &Option<Value>| v.as_ref().and_then(field_text);
    let cursor = text(&w.cursor).ok_or("no __CURSOR")?;
    let cursor =
        JournalCursor::parse("__CURSOR", &cursor).map_err(|_| "malformed __CURSOR".to_string())?;
    Ok(Entry {
        cursor,
        realtime_us: text(&w.realtime).and_then(|t| t.parse().ok()),
        priority: text(&w.priority)
            .and_then(|p| p.parse::<u8>().ok())
            .filter(|p| *p <= 7),
        unit: text(&w.unit),
        identifier: text(&w.identifier).or_else(|| text(&w.comm)),
        pid: text(&w.pid).and_then(|p| p.parse().ok()),
        message: text(&w.message).unwrap_or_default(),
    })
}

/// The syslog name of a priority (`PRIORITY`) 0..=7.
pub fn priority_name(p: u8) -> &'static str {
    match p {
        0 => "emerg",
        1 => "alert",
        2 => "crit",
        3 => "err",
        4 => "warning",
        5 => "notice",
        6 => "info",
        _ => "debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "s=65084fb05795427b8bfbcd1b3b35d3ba;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=6619bda845d00;x=35d003e515534f20";

    #[test]
    fn a_journalctl_line_is_parsed() {
        let line = format!(
            r#"{{"__CURSOR":"{C}","__REALTIME_TIMESTAMP":"1796171874196736","PRIORITY":"3","_SYSTEMD_UNIT":"demo.service","SYSLOG_IDENTIFIER":"demo","_PID":"42","MESSAGE":"hello"}}"#
        );
        let e = parse_entry(line.as_bytes()).unwrap();
        assert_eq!(e.cursor.to_string(), C);
        assert_eq!(e.realtime_us, Some(1_796_171_874_196_736));
        assert_eq!(e.priority, Some(3));
        assert_eq!(e.unit.as_deref(), Some("demo.service"));
        assert_eq!(e.identifier.as_deref(), Some("demo"));
        assert_eq!(e.pid, Some(42));
        assert_eq!(e.message, "hello");
    }

    #[test]
    fn binary_repeated_and_missing_fields() {
        let line = format!(
            r#"{{"__CURSOR":"{C}","MESSAGE":[104,105,255],"_COMM":"sshd","PRIORITY":"9","_PID":["1","2"]}}"#
        );
        let e = parse_entry(line.as_bytes()).unwrap();
        assert_eq!(e.message, "hi\u{fffd}");
        assert_eq!(e.identifier.as_deref(), Some("sshd"));
        assert_eq!(e.priority, None, "9 is not a priority");
        assert_eq!(e.pid, None, "two values are not one pid");
        let line = format!(r#"{{"__CURSOR":"{C}","MESSAGE":["a",[98],null]}}"#);
        assert_eq!(parse_entry(line.as_bytes()).unwrap().message, "a\nb");
        let line = format!(r#"{{"__CURSOR":"{C}","MESSAGE":null}}"#);
        assert_eq!(parse_entry(line.as_bytes()).unwrap().message, "");
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for (line, want) in [
            ("", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"MESSAGE":"x"}"#, "no __CURSOR"),
            (r#"{"__CURSOR":"s=1"}"#, "malformed __CURSOR"),
            (r#"{"__CURSOR":"#, "not JSON"),
        ] {
            let e = parse_entry(line.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}

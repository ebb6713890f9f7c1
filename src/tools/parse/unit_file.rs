#![forbid(unsafe_code)]
//! systemd unit files (`systemd.unit(5)`, `systemd.syntax(7)`): `[Section]` headers,
//! `Key=Value` assignments, `#`/`;` comments, and a trailing backslash continuing a line.
//! Only what the hooks tools report is interpreted; every assignment is kept in order.

use std::borrow::Cow;

/// Most assignments kept from one file.
pub const MAX_ENTRIES: usize = 1024;
/// Longest value kept (bytes, cut at a character boundary); systemd's own limit is larger, but
/// nothing we report needs more.
pub const MAX_VALUE: usize = 4096;
/// Longest logical line (after joining continuations) looked at.
pub const MAX_LINE: usize = 64 * 1024;

/// One assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
}

/// A parsed unit file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    pub entries: Vec<Entry>,
    /// Lines that are neither a section, an assignment nor a comment.
    pub invalid_lines: usize,
    /// More than [`MAX_ENTRIES`] assignments were there.
    pub capped: bool,
}

impl UnitFile {
    /// The last value of `key` in `section` (later assignments override earlier ones).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.section == section && e.key == key)
            .map(|e| e.value.as_str())
    }

    /// Every value of a list setting, in order: each assignment adds its space-separated
    /// words, and an empty assignment clears what came before (as systemd does).
    pub fn list(&self, section: &str, key: &str) -> Vec<&str> {
        self.all(section, key)
            .into_iter()
            .flat_map(str::split_ascii_whitespace)
            .collect()
    }

    /// Every assignment of `key` in `section`, in order (a timer may have several
    /// `OnCalendar=`; an empty one clears the earlier ones).
    pub fn all(&self, section: &str, key: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for e in self
            .entries
            .iter()
            .filter(|e| e.section == section && e.key == key)
        {
            if e.value.is_empty() {
                out.clear();
            } else {
                out.push(e.value.as_str());
            }
        }
        out
    }

    /// Whether the file has a section of this name with at least one assignment.
    pub fn has_section(&self, section: &str) -> bool {
        self.entries.iter().any(|e| e.section == section)
    }
}

fn is_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 128
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn is_section(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.contains(|c: char| c.is_control() || c == '[' || c == ']')
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    &s[..s.floor_char_boundary(max)]
}

/// Parse a unit file's text.
pub fn parse_unit_file(text: &str) -> UnitFile {
    let mut out = UnitFile::default();
    let mut section: Option<String> = None;
    let mut lines = text.split('\n');
    while let Some(first) = lines.next() {
        // Join continuation lines (a trailing backslash), bounded.
        // Borrowed unless continuation lines are joined: most lines cost no allocation.
        let mut logical = Cow::Borrowed(first.strip_suffix('\r').unwrap_or(first));
        let comment = logical.trim_start().starts_with(['#', ';']);
        while logical.ends_with('\\') {
            let joined = logical.to_mut();
            joined.pop();
            joined.push(' ');
            match lines.next() {
                Some(next) if joined.len() <= MAX_LINE => {
                    let next = next.strip_suffix('\r').unwrap_or(next);
                    // Comment lines inside a continuation are skipped, as systemd does.
                    if next.trim_start().starts_with(['#', ';']) {
                        joined.push('\\');
                        continue;
                    }
                    joined.push_str(next);
                }
                _ => break,
            }
        }
        let t = logical.trim();
        if t.is_empty() || comment {
            continue;
        }
        if logical.len() > MAX_LINE {
            out.invalid_lines += 1;
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if is_section(name) {
                section = Some(name.to_string());
            } else {
                section = None;
                out.invalid_lines += 1;
            }
            continue;
        }
        let (Some(sec), Some((k, v))) = (&section, t.split_once('=')) else {
            out.invalid_lines += 1;
            continue;
        };
        let key = k.trim();
        if !is_key(key) {
            out.invalid_lines += 1;
            continue;
        }
        if out.entries.len() == MAX_ENTRIES {
            out.capped = true;
            break;
        }
        out.entries.push(Entry {
            section: sec.clone(),
            key: key.to_string(),
            value: cut(v.trim(), MAX_VALUE).to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_assignments_comments_and_continuations() {
        let text = "# comment\n; another\n[Unit]\nDescription=Daily apt download activities\n\
            After=network-online.target\r\n\n[Timer]\nOnCalendar=*-*-* 6,18:00\nOnCalendar=\nOnCalendar=daily\n\
            OnBootSec = 15min\nRandomizedDelaySec=12h\nPersistent=true\n\n[Install]\nWantedBy=timers.target \\\n\
            # a comment inside\n  multi-user.target\nAlias=a.timer\nAlias=\nAlias=b.timer c.timer\n";
        let u = parse_unit_file(text);
        assert_eq!(u.invalid_lines, 0);
        assert_eq!(
            u.get("Unit", "Description"),
            Some("Daily apt download activities")
        );
        assert_eq!(u.get("Unit", "After"), Some("network-online.target"));
        assert_eq!(u.all("Timer", "OnCalendar"), ["daily"]);
        assert_eq!(u.get("Timer", "OnBootSec"), Some("15min"));
        assert_eq!(
            u.list("Install", "WantedBy"),
            ["timers.target", "multi-user.target"]
        );
        assert_eq!(u.list("Install", "Alias"), ["b.timer", "c.timer"]);
        assert!(u.has_section("Install"));
        assert!(!u.has_section("Service"));
        assert_eq!(u.get("Timer", "Missing"), None);
    }

    #[test]
    fn hostile_text() {
        let u = parse_unit_file(
            "Key=before any section\n[Bad]]\nX=1\n[Ok]\nno equals sign\n=empty key\nA B=1\n[Ok]\nGood=yes\n",
        );
        assert_eq!(u.invalid_lines, 6);
        assert_eq!(u.entries.len(), 1);
        assert_eq!(u.get("Ok", "Good"), Some("yes"));
        // A continuation at the end of the file and a huge value are bounded.
        let u = parse_unit_file(&format!("[S]\nK={}\\", "é".repeat(MAX_VALUE)));
        assert!(u.entries[0].value.len() <= MAX_VALUE);
        let u = parse_unit_file(&format!("[S]\n{}", "K=v\n".repeat(MAX_ENTRIES + 1)));
        assert!(u.capped);
        assert_eq!(u.entries.len(), MAX_ENTRIES);
        let u = parse_unit_file(&format!("[S]\nK=a\\\n{}", "b\\\n".repeat(MAX_LINE)));
        assert_eq!(u.entries.len(), 0);
        assert!(u.invalid_lines >= 1);
        assert_eq!(parse_unit_file(""), UnitFile::default());
    }
}

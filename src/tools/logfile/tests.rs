//! The backward reader on fixture files: paging, rotation, truncation, binary and long lines,
//! time bounds, scan budgets.
#![forbid(unsafe_code)]

use std::io::Write;

use serde_json::{Value, json};

use super::*;
use crate::testdir::TempDir;
use crate::tools::schema::Schema;

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn numbered(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("line {i:05}\n")).collect()
}

fn texts(v: &Value) -> Vec<String> {
    v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .collect()
}

fn get(path: &Path, args: Value) -> Result<Value, ToolError> {
    let v = page_of_path("get_syslog", path, &args)?;
    let schema = Schema::compile(&serde_json::from_str(crate::log_page_output!("")).unwrap());
    schema.unwrap().validate(&v).unwrap();
    Ok(v)
}

#[test]
fn pages_back_without_repeat_or_skip_while_the_log_grows() {
    let d = TempDir::new("logfile-pages");
    let p = d.join("syslog");
    append(&p, &numbered(0, 2500));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for round in 0..10 {
        let mut args = json!({"lines": 1000});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let v = get(&p, args).unwrap();
        seen.extend(texts(&v));
        // Lines appended between pages are newer than the first page: never in a later one.
        append(&p, &numbered(10_000 + round * 10, 10_000 + round * 10 + 10));
        match v.get("next_cursor").and_then(Value::as_str) {
            Some(c) => {
                assert_eq!(v["stopped"], "line_cap");
                cursor = Some(c.to_owned());
            }
            None => {
                assert_eq!(v["stopped"], "start_of_file");
                break;
            }
        }
    }
    let want: Vec<String> = (0..2500).rev().map(|i| format!("line {i:05}")).collect();
    assert_eq!(seen, want);
}

#[test]
fn a_page_that_ends_exactly_at_the_start_has_no_cursor() {
    let d = TempDir::new("logfile-exact");
    let p = d.join("syslog");
    append(&p, &numbered(0, 10));
    let v = get(&p, json!({"lines": 10})).unwrap();
    assert_eq!(v["returned"], 10);
    assert!(v.get("next_cursor").is_none(), "{v}");
    let v = get(&p, json!({"lines": 9})).unwrap();
    let c = v["next_cursor"].as_str().unwrap();
    let v = get(&p, json!({"lines": 9, "cursor": c})).unwrap();
    assert_eq!(texts(&v), ["line 00000"]);
    // An empty file, and one without a final newline.
    let e = d.join("empty");
    append(&e, "");
    assert_eq!(get(&e, json!({})).unwrap()["returned"], 0);
    let n = d.join("nonl");
    append(&n, "a\n\n\r\nb");
    assert_eq!(texts(&get(&n, json!({})).unwrap()), ["b", "a"]);
}

#[test]
fn rotation_between_pages_continues_in_the_rotated_file() {
    let d = TempDir::new("logfile-rotate");
    let p = d.join("syslog");
    append(&p, &numbered(0, 300));
    let v = get(&p, json!({"lines": 100})).unwrap();
    let c = v["next_cursor"].as_str().unwrap().to_owned();
    std::fs::rename(&p, d.join("syslog.1")).unwrap();
    append(&p, &numbered(5000, 5100));
    let v = get(&p, json!({"lines": 100, "cursor": c})).unwrap();
    assert_eq!(v["rotated"], true);
    let want: Vec<String> = (100..200).rev().map(|i| format!("line {i:05}")).collect();
    assert_eq!(texts(&v), want);
    // The next cursor still finds it there; a second rotation pushes it out of reach.
    let c = v["next_cursor"].as_str().unwrap().to_owned();
    std::fs::rename(d.join("syslog.1"), d.join("syslog.2")).unwrap();
    std::fs::rename(&p, d.join("syslog.1")).unwrap();
    append(&p, "new\n");
    let e = get(&p, json!({"cursor": c})).unwrap_err().to_string();
    assert!(e.contains("gone"), "{e}");
}

#[test]
fn truncation_and_rewrite_are_clear_errors() {
    let d = TempDir::new("logfile-trunc");
    let p = d.join("syslog");
    append(&p, &numbered(0, 300));
    let c = get(&p, json!({"lines": 10})).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(100)
        .unwrap();
    let e = get(&p, json!({"cursor": c})).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    assert!(e.starts_with("invalid argument `cursor`"), "{e}");
    // copytruncate, then as much new text written again: same inode, same size, other bytes.
    std::fs::write(&p, numbered(0, 300)).unwrap();
    let c = get(&p, json!({"lines": 10})).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(&p, numbered(0, 300).replace("line", "LINE")).unwrap();
    let e = get(&p, json!({"cursor": c})).unwrap_err().to_string();
    assert!(e.contains("written again"), "{e}");
}

#[test]
fn cursors_are_bound_to_their_log_and_tagged() {
    let d = TempDir::new("logfile-bound");
    let (a, b) = (d.join("a.log"), d.join("b.log"));
    append(&a, &numbered(0, 50));
    append(&b, &numbered(0, 50));
    let c = get(&a, json!({"lines": 5})).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = get(&b, json!({"cursor": c})).unwrap_err().to_string();
    assert!(e.contains("another log file"), "{e}");
    let e = page_of_path("get_auth_logs", &a, &json!({"cursor": c}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("another log file"), "{e}");
    let mut forged = c.clone().into_bytes();
    forged[20] = if forged[20] == b'a' { b'b' } else { b'a' };
    let e = get(&a, json!({"cursor": String::from_utf8(forged).unwrap()}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not issued by this server"), "{e}");
    // Deleted and created again (made before the delete, so not on a reused inode).
    append(&d.join("new"), &numbered(0, 50));
    std::fs::remove_file(&a).unwrap();
    std::fs::rename(d.join("new"), &a).unwrap();
    let e = get(&a, json!({"cursor": c})).unwrap_err().to_string();
    assert!(e.contains("gone"), "{e}");
}

#[test]
fn binary_invalid_utf8_and_long_lines() {
    let d = TempDir::new("logfile-binary");
    let p = d.join("syslog");
    let mut bytes = b"first\n".to_vec();
    bytes.extend_from_slice(b"bad \xff\xfe utf8\n");
    bytes.extend_from_slice(b"nul\0and\x1b[31mescape\n");
    bytes.extend_from_slice(&vec![b'x'; 100_000]);
    bytes.extend_from_slice(b"\nlast\n");
    std::fs::write(&p, &bytes).unwrap();
    let v = get(&p, json!({})).unwrap();
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["text"], "last");
    assert_eq!(lines[1]["cut"], true);
    assert_eq!(lines[1]["bytes"], 100_000);
    assert_eq!(lines[1]["text"].as_str().unwrap().len(), MAX_LINE_CHARS);
    assert_eq!(lines[2]["text"], "nul\u{fffd}and\u{fffd}[31mescape");
    assert_eq!(lines[2]["binary"], true);
    assert_eq!(lines[3]["text"], "bad \u{fffd}\u{fffd} utf8");
    assert_eq!(lines[3]["binary"], true);
    assert!(lines[4].get("binary").is_none());
}

#[test]
fn time_bound_and_grep() {
    let d = TempDir::new("logfile-time");
    let p = d.join("syslog");
    let now = now_unix();
    let stamp = |t: i64| syslog::format_utc(t, 0).replace('Z', "+00:00");
    let mut text = String::new();
    for (age_h, what) in [
        (30, "old sshd"),
        (25, "old cron"),
        (5, "sshd a"),
        (2, "cron b"),
        (1, "sshd c"),
    ] {
        text.push_str(&format!("{} host {what}\n", stamp(now - age_h * 3600)));
        text.push_str("  continuation without a stamp\n");
    }
    std::fs::write(&p, &text).unwrap();
    let v = get(&p, json!({"max_age_hours": 3})).unwrap();
    assert_eq!(v["stopped"], "time_bound");
    // Reading backwards, a stamp-less continuation line is kept until the stamped line before
    // it shows it is too old: the last one here belongs to `sshd a`, 5 hours old.
    assert_eq!(v["returned"], 5, "{v}");
    assert!(v["lines"][1]["text"].as_str().unwrap().ends_with("sshd c"));
    assert_eq!(v["lines"][1]["time"], syslog::format_utc(now - 3600, 0));
    let v = get(&p, json!({"grep": "sshd"})).unwrap();
    let t = texts(&v);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].ends_with("sshd c") && t[1].ends_with("sshd a"));
    assert_eq!(v["stopped"], "time_bound");
    // RFC 3164 stamps, in the local zone of this process.
    let off = crate::sys::utc_offset(now);
    let local = |t: i64| {
        let s = syslog::format_utc(t + off, 0);
        let (_, m, dd) = syslog::civil_from_days((t + off).div_euclid(86_400));
        const M: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!("{} {dd:>2} {}", M[m as usize - 1], &s[11..19])
    };
    let q = d.join("messages");
    std::fs::write(
        &q,
        format!(
            "{} h old\n{} h new\n",
            local(now - 10 * 3600),
            local(now - 600)
        ),
    )
    .unwrap();
    let v = get(&q, json!({"max_age_hours": 1})).unwrap();
    assert_eq!(texts(&v).len(), 1, "{v}");
    assert!(texts(&v)[0].ends_with("h new"));
}

#[test]
fn the_scan_budget_stops_inside_a_huge_line_and_the_next_page_resumes() {
    let d = TempDir::new("logfile-budget");
    let p = d.join("syslog");
    let mut bytes = b"oldest\n".to_vec();
    bytes.extend_from_slice(&vec![b'z'; 300_000]);
    bytes.extend_from_slice(b"\nnewest\n");
    std::fs::write(&p, &bytes).unwrap();
    let f = File::open(&p).unwrap();
    let output = crate::output::Settings::default();
    let ok = || Ok(());
    let mut q = Scan {
        end: bytes.len() as u64,
        partial: false,
        lines: 10,
        grep: None,
        cutoff: i64::MIN,
        now: now_unix(),
        utc_offset: 0,
        budget: 100_000,
    };
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let r = scan_back(&f, &q, output.redactor(), &ok).unwrap();
        all.extend(r.lines);
        match r.resume {
            Some((end, partial)) => {
                assert_eq!(r.stop, Stop::ScanBudget);
                assert!(end < q.end, "progress");
                q.end = end;
                q.partial = partial;
            }
            None => break,
        }
    }
    assert!(pages >= 3, "{pages}");
    let t: Vec<&str> = all.iter().map(|l| &l.text[..l.text.len().min(6)]).collect();
    assert_eq!(t, ["newest", "zzzzzz", "oldest"]);
    assert!(all[1].cut);
}

#[test]
fn the_word_at_a_time_newline_search_agrees_with_a_plain_one() {
    let mut b = [b'x'; 40];
    for n in 0..40 {
        assert_eq!(rfind_newline(&b[..n]), None);
    }
    for at in [0usize, 1, 7, 8, 9, 15, 16, 31, 39] {
        b.fill(b'y');
        b[at] = b'\n';
        for n in 0..=40 {
            let want = b[..n].iter().rposition(|c| *c == b'\n');
            assert_eq!(rfind_newline(&b[..n]), want, "{at} {n}");
        }
    }
    // Bytes that differ from `\n` by borrow patterns (0x0b, 0x8a) are not newlines.
    let tricky = [0x0b, 0x8a, 0x09, 0x0a, 0x0b, 0x0b, 0x0b, 0x0b, 0x8a, 0x0b];
    assert_eq!(rfind_newline(&tricky), Some(3));
}

#[test]
fn grep_cannot_probe_a_redacted_secret() {
    let d = TempDir::new("logfile-grep-secret");
    let p = d.join("syslog");
    std::fs::write(&p, "login ok\nconnect password=hunter2 to db\n").unwrap();
    // The line is found by its visible words...
    let v = get(&p, json!({"grep": "connect"})).unwrap();
    assert_eq!(v["returned"], 1);
    // ...but not by the secret the output would hide.
    for probe in ["hunter2", "password=hunter", "=hunter2 to"] {
        let v = get(&p, json!({"grep": probe})).unwrap();
        assert_eq!(v["returned"], 0, "{probe}: {v}");
    }
}

//! `get_journal_logs` through the real binary against real journals. This machine (like CI) has
//! no journald, so each test writes its own journal files with `systemd-journal-remote`
//! (journal export format on stdin; Debian package `systemd-journal-remote`, which
//! `scripts/test.sh` installs) and points `scopes.logs_system.journal_directory` at them.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests run systemd-journal-remote and journalctl to make and read the journals they check against"
)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::audit::{self, records as audit_records};
use common::{Client, TempDir, write_config};
use serde_json::{Value, json};

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

struct E<'a> {
    unit: &'a str,
    priority: u8,
    message: &'a [u8],
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Append `entries` (realtime from `start_us`, 1 ms apart) to the journal file `file`.
fn write_journal(file: &Path, start_us: u64, first_seq: u64, entries: &[E<'_>]) {
    assert!(
        Path::new(JOURNAL_REMOTE).exists(),
        "{JOURNAL_REMOTE} is missing: install the Debian package systemd-journal-remote (scripts/test.sh does)"
    );
    let mut export = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let i = i as u64;
        write!(
            export,
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             PRIORITY={}\n_SYSTEMD_UNIT={}\nSYSLOG_IDENTIFIER=test\n_PID={}\n",
            start_us + i * 1000,
            first_seq + i + 1,
            e.priority,
            e.unit,
            1000 + first_seq + i,
        )
        .unwrap();
        // The binary field form: name, newline, little-endian 64-bit length, the bytes.
        export.extend_from_slice(b"MESSAGE\n");
        export.extend_from_slice(&(e.message.len() as u64).to_le_bytes());
        export.extend_from_slice(e.message);
        export.extend_from_slice(b"\n\n");
    }
    let mut child = Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", file.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&export).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Setup {
    _dir: TempDir,
    journal: PathBuf,
    config: PathBuf,
    log: PathBuf,
}

fn setup(tag: &str) -> Setup {
    let dir = TempDir::new(tag);
    let journal = dir.path("journal");
    std::fs::create_dir(&journal).unwrap();
    let (log, audit) = audit::log_in(&dir);
    let config = dir.path("c.yaml");
    write_config(
        &config,
        &format!(
            "scopes:\n  logs_system:\n    enabled: true\n    journal_directory: {}\n\
             resources:\n  timeouts: {{medium: 20000}}\n{audit}",
            journal.display(),
        ),
        0o600,
    );
    Setup {
        _dir: dir,
        journal,
        config,
        log,
    }
}

fn client(s: &Setup) -> Client {
    Client::initialized(&["serve", "--config", s.config.to_str().unwrap()])
}

/// The structured result, or a panic with the error text.
fn ok(r: &Value) -> &Value {
    assert_eq!(r["result"]["isError"], false, "{r}");
    &r["result"]["structuredContent"]
}

fn error_text(r: &Value) -> String {
    assert_eq!(r["result"]["isError"], true, "{r}");
    r["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

fn messages(v: &Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect()
}

fn numbered(n: usize, prefix: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix} {i:05}").into_bytes())
        .collect()
}

fn plain(msgs: &[Vec<u8>]) -> Vec<E<'_>> {
    msgs.iter()
        .map(|m| E {
            unit: "demo.service",
            priority: 6,
            message: m,
        })
        .collect()
}

/// Page through with `lines`, returning every message and the number of pages.
fn page_all(c: &mut Client, args: Value) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut a = args.clone();
        if let Some(cur) = &cursor {
            a["cursor"] = json!(cur);
        }
        let r = c.call("get_journal_logs", a);
        let v = ok(&r).clone();
        pages += 1;
        all.extend(messages(&v));
        if v["more"] == true {
            cursor = Some(v["next_cursor"].as_str().unwrap().to_string());
        } else {
            assert!(v.get("next_cursor").is_none(), "{v}");
            return (all, pages);
        }
        assert!(pages < 100, "paging does not end");
    }
}

#[test]
fn paging_through_2500_entries_repeats_and_skips_nothing() {
    let s = setup("journal-paging");
    let msgs = numbered(2500, "entry");
    write_journal(
        &s.journal.join("remote.journal"),
        now_us() - 10_000_000,
        0,
        &plain(&msgs),
    );
    let mut c = client(&s);
    let (got, pages) = page_all(&mut c, json!({"lines": 1000}));
    let want: Vec<String> = msgs
        .iter()
        .map(|m| String::from_utf8(m.clone()).unwrap())
        .collect();
    assert_eq!(got.len(), 2500);
    assert_eq!(got, want);
    assert_eq!(pages, 3);
}

#[test]
fn entries_appended_between_pages_come_after_the_cursor() {
    let s = setup("journal-growth");
    let first = numbered(1500, "old");
    let start = now_us() - 20_000_000;
    write_journal(&s.journal.join("remote.journal"), start, 0, &plain(&first));
    let mut c = client(&s);
    let r = c.call("get_journal_logs", json!({"lines": 1000}));
    let page1 = ok(&r).clone();
    assert_eq!(page1["more"], true);
    assert_eq!(messages(&page1).len(), 1000);
    // The journal grows (a second file in the directory, later entries) before the next page.
    let second = numbered(700, "new");
    write_journal(
        &s.journal.join("remote-2.journal"),
        start + 5_000_000,
        1500,
        &plain(&second),
    );
    let mut got = messages(&page1);
    let (rest, _) = page_all(
        &mut c,
        json!({"lines": 1000, "cursor": page1["next_cursor"]}),
    );
    got.extend(rest);
    let want: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|m| String::from_utf8(m.clone()).unwrap())
        .collect();
    assert_eq!(got, want);
}

/// What journalctl itself returns for the same directory and filters: the messages.
fn journalctl_messages(dir: &Path, filters: &[&str]) -> Vec<String> {
    let out = Command::new("journalctl")
        .arg(format!("--directory={}", dir.display()))
        .args(["--no-pager", "--output=json", "--all"])
        .args(filters)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            match &v["MESSAGE"] {
                Value::String(s) => s.clone(),
                Value::Array(b) => String::from_utf8_lossy(
                    &b.iter()
                        .map(|x| x.as_u64().unwrap() as u8)
                        .collect::<Vec<_>>(),
                )
                .into_owned(),
                other => panic!("{other}"),
            }
        })
        .collect()
}

#[test]
fn unit_priority_and_grep_filters_agree_with_journalctl() {
    let s = setup("journal-filters");
    let texts: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            if i % 7 == 0 {
                format!("literal a.c here {i}").into_bytes()
            } else {
                format!("abc {i}").into_bytes()
            }
        })
        .collect();
    let units = ["demo.service", "other.service", "getty@tty1.service"];
    let entries: Vec<E<'_>> = texts
        .iter()
        .enumerate()
        .map(|(i, m)| E {
            unit: units[i % 3],
            priority: (i % 8) as u8,
            message: m,
        })
        .collect();
    write_journal(
        &s.journal.join("remote.journal"),
        now_us() - 5_000_000,
        0,
        &entries,
    );
    let mut c = client(&s);
    for (args, filters) in [
        (json!({"unit": "demo.service"}), vec!["--unit=demo.service"]),
        (
            json!({"unit": "getty@tty1.service", "priority": "err"}),
            vec!["--unit=getty@tty1.service", "--priority=3"],
        ),
        (json!({"priority": "5"}), vec!["--priority=5"]),
    ] {
        let r = c.call("get_journal_logs", args.clone());
        let got = messages(ok(&r));
        let want = journalctl_messages(&s.journal, &filters);
        assert!(!want.is_empty(), "{args}");
        assert_eq!(got, want, "{args}");
    }
    // grep is a literal substring: `a.c` does not match `abc`.
    let r = c.call("get_journal_logs", json!({"grep": "a.c"}));
    let got = messages(ok(&r));
    assert_eq!(got.len(), 9, "{got:?}");
    assert!(got.iter().all(|m| m.contains("a.c")), "{got:?}");
    // And with grep, paging continues after the last entry examined.
    let (paged, _) = page_all(&mut c, json!({"grep": "a.c", "lines": 2}));
    assert_eq!(paged, got);
    // Each entry carries its fields.
    let r = c.call("get_journal_logs", json!({"lines": 1}));
    let e = &ok(&r)["entries"][0];
    assert_eq!(e["unit"], "demo.service");
    assert_eq!(e["priority"], 0);
    assert_eq!(e["priority_name"], "emerg");
    assert_eq!(e["identifier"], "test");
    assert_eq!(e["pid"], 1000);
    assert!(e["time"].as_str().unwrap().ends_with('Z'), "{e}");
}

#[test]
fn invalid_utf8_and_binary_messages_are_returned_lossily() {
    let s = setup("journal-binary");
    let msgs: Vec<Vec<u8>> = vec![b"ok".to_vec(), b"bad \xff\xfe bytes".to_vec()];
    write_journal(
        &s.journal.join("remote.journal"),
        now_us() - 1_000_000,
        0,
        &plain(&msgs),
    );
    let mut c = client(&s);
    let r = c.call("get_journal_logs", json!({}));
    assert_eq!(messages(ok(&r)), ["ok", "bad \u{fffd}\u{fffd} bytes"]);
}

#[test]
fn forged_and_stale_cursors_are_refused() {
    let s = setup("journal-cursor");
    let msgs = numbered(5, "e");
    write_journal(
        &s.journal.join("remote.journal"),
        now_us() - 1_000_000,
        0,
        &plain(&msgs),
    );
    let mut c = client(&s);
    let r = c.call("get_journal_logs", json!({"lines": 2}));
    let cursor = ok(&r)["next_cursor"].as_str().unwrap().to_string();
    // Forged: not the journal's syntax.
    for forged in ["s=1;i=2", "--after-cursor=x", "s=zz"] {
        let e = error_text(&c.call("get_journal_logs", json!({"cursor": forged})));
        assert!(e.contains("`cursor`"), "{forged}: {e}");
    }
    // Well-formed but not an entry of this journal (another sequence number).
    let stale = cursor.replacen(";i=", ";i=fff", 1);
    let e = error_text(&c.call("get_journal_logs", json!({"cursor": stale})));
    assert!(e.contains("no entry at this cursor"), "{e}");
    // The real one still works.
    let r = c.call("get_journal_logs", json!({"cursor": cursor}));
    assert_eq!(messages(ok(&r)), ["e 00002", "e 00003", "e 00004"]);
}

#[test]
fn an_absent_journal_is_an_empty_result_with_its_reason() {
    let s = setup("journal-absent");
    let mut c = client(&s);
    let r = c.call("get_journal_logs", json!({}));
    let v = ok(&r);
    assert_eq!(v["entries"], json!([]));
    assert_eq!(v["more"], false);
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("no journal files under"), "{reason}");
}

#[test]
fn hostile_values_are_refused_before_any_process_starts_and_children_are_audited() {
    let s = setup("journal-hostile");
    write_journal(
        &s.journal.join("remote.journal"),
        now_us() - 1_000_000,
        0,
        &plain(&numbered(3, "e")),
    );
    let mut c = client(&s);
    let long = "a".repeat(10 * 1024);
    let hostile = [
        ("unit", "-rf"),
        ("unit", "--output=/x"),
        ("unit", "$(id)"),
        ("unit", ";"),
        ("unit", "a\nb"),
        ("unit", long.as_str()),
        ("unit", "a\0b"),
        ("unit", "../"),
        ("unit", ".."),
        ("cursor", "--after-cursor=x"),
        ("grep", "a\nb"),
    ];
    for (arg, value) in hostile {
        let e = error_text(&c.call("get_journal_logs", json!({ arg: value })));
        assert!(
            e.contains(&format!("invalid argument `{arg}`")),
            "{arg}={value:?}: {e}"
        );
    }
    let r = c.call("get_journal_logs", json!({"unit": "demo.service"}));
    assert_eq!(messages(ok(&r)).len(), 3);
    drop(c);
    let records = audit_records(&s.log);
    let refused = records
        .iter()
        .filter(|r| r["tool"] == "get_journal_logs" && r["result"] != "success")
        .count();
    assert!(refused >= hostile.len(), "{records:?}");
    // Only the one good call ran a program.
    let ran: Vec<&Value> = records
        .iter()
        .filter(|r| r.get("children").is_some())
        .collect();
    assert_eq!(ran.len(), 1, "{ran:?}");
    let last = ran[0];
    assert_eq!(last["result"], "success", "{last}");
    let children = last["children"].as_array().unwrap();
    assert_eq!(children.len(), 1, "{last}");
    let child = &children[0];
    assert_eq!(child["program"], "journalctl");
    assert!(
        child["path"].as_str().unwrap().ends_with("/journalctl"),
        "{child}"
    );
    assert_eq!(child["exit_code"], 0, "{child}");
    assert!(child["max_rss_kib"].as_u64().unwrap() > 0, "{child}");
    assert!(child["stdout_bytes"].as_u64().unwrap() > 0, "{child}");
    assert!(child.get("user_ms").is_some() && child.get("system_ms").is_some());
}

#[test]
fn tools_and_check_config_list_the_programs() {
    let s = setup("journal-cli");
    let (code, out, err) = common::run(&["check-config", "--config", s.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("programs:"), "{out}");
    let journalctl = out
        .lines()
        .find(|l| l.trim_start().starts_with("journalctl"))
        .unwrap();
    assert!(
        journalctl.contains("/journalctl (seccomp: reader allowlist)"),
        "{journalctl}"
    );
    let (code, out, _) = common::run(&["tools"]);
    assert_eq!(code, 0);
    for p in [
        "journalctl",
        "systemctl",
        "dpkg-query",
        "rpm",
        "ps",
        "docker",
        "ssh",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(p)),
            "{p}: {out}"
        );
    }
}

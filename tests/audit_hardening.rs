//! The audit log against a careless operator and a hostile caller, through the real binary: the
//! chain head survives truncation, refusals stay small, an empty `audit:` section is refused, key
//! names are redacted, `audit verify` refuses what is not a log, and syslog trouble is visible.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{TempDir, run, write_config};
use serde_json::Value;

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct Setup {
    dir: TempDir,
    config: PathBuf,
    log: PathBuf,
}

fn setup(tag: &str, extra: &str) -> Setup {
    let dir = TempDir::new(tag);
    let key = dir.path("audit.key");
    std::fs::write(&key, KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let log = dir.path("audit.jsonl");
    let config = dir.path("c.yaml");
    write_config(
        &config,
        &format!(
            "audit:\n  path: {}\n  key_file: {}\n{extra}",
            log.display(),
            key.display()
        ),
        0o600,
    );
    Setup { dir, config, log }
}

fn records(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn seqs(log: &Path) -> Vec<u64> {
    records(log)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn verify(s: &Setup) -> (i32, String) {
    let (code, out, err) = run(&[
        "audit",
        "verify",
        s.log.to_str().unwrap(),
        "--config",
        s.config.to_str().unwrap(),
    ]);
    (code, out + &err)
}

/// One audited call through `sysgate query` (it opens the log like a server start does).
fn query(s: &Setup) {
    let (code, _, err) = run(&["query", "whoami", "--config", s.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

fn write_lines(path: &Path, lines: &[&str]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

// ---- 1. The chain head -----------------------------------------------------------------------

#[test]
fn truncating_the_live_file_after_a_rotation_cannot_reuse_sequence_numbers() {
    let s = setup("head-rotated", "");
    for _ in 0..3 {
        query(&s);
    }
    // A rotation as the writer does it: the older records in PATH.1, the newer ones in PATH.
    let text = std::fs::read_to_string(&s.log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    write_lines(&s.log.with_extension("jsonl.1"), &lines[..half]);
    write_lines(&s.log, &lines[half..]);
    let highest = lines.len() as u64 - 1;
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the log reaches it"), "{out}");

    std::fs::File::options()
        .write(true)
        .open(&s.log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("records were removed from its end"), "{out}");

    query(&s);
    let recs = records(&s.log);
    assert_eq!(recs[0]["event"], "audit_gap", "{recs:?}");
    assert_eq!(recs[0]["detail"]["cause"], "log_behind_head");
    assert_eq!(recs[0]["detail"]["head_seq"], highest);
    assert!(
        seqs(&s.log).iter().all(|q| *q > highest),
        "a sequence number was reused: {:?}",
        seqs(&s.log)
    );
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INCOMPLETE") && out.contains("log_behind_head"),
        "{out}"
    );
    drop(s.dir);
}

#[test]
fn truncating_the_log_without_rotation_is_recorded_as_a_gap() {
    let s = setup("head-truncated", "");
    query(&s);
    query(&s);
    let highest = *seqs(&s.log).last().unwrap();
    std::fs::File::options()
        .write(true)
        .open(&s.log)
        .unwrap()
        .set_len(0)
        .unwrap();
    query(&s);
    let recs = records(&s.log);
    assert_eq!(recs[0]["event"], "audit_gap", "{recs:?}");
    assert_eq!(recs[0]["seq"], highest + 1);
    assert_eq!(recs[0]["detail"]["after_seq"], Value::Null);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("gap:"), "{out}");
    // Cutting the last records off (not the whole file) is caught the same way.
    let text = std::fs::read_to_string(&s.log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    write_lines(&s.log, &lines[..lines.len() - 1]);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("records were removed from its end"), "{out}");
}

#[test]
fn deleting_the_head_file_is_reported_and_recorded() {
    let s = setup("head-deleted", "");
    query(&s);
    let head = s.dir.path("audit.jsonl.head");
    assert_eq!(
        std::fs::metadata(&head).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    std::fs::remove_file(&head).unwrap();
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is missing"), "{out}");
    query(&s);
    let gap: Vec<Value> = records(&s.log)
        .into_iter()
        .filter(|r| r["event"] == "audit_gap")
        .collect();
    assert_eq!(gap.len(), 1, "{gap:?}");
    assert_eq!(gap[0]["detail"]["cause"], "head_missing");
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("head_missing"), "{out}");
    assert!(out.contains("the log reaches it"), "{out}");
}

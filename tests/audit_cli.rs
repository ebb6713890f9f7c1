//! The audit log through the real binary: every call and refusal is recorded before its answer,
//! the chain verifies (also under concurrent calls), tampering is caught by `audit verify`, and a
//! log that cannot be written refuses calls.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary they test, and mount/umount"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::audit::{self, KEY, records};
use common::{Client, TempDir, run, write_config};
use serde_json::json;

struct Setup {
    dir: TempDir,
    config: PathBuf,
    log: PathBuf,
}

fn setup(tag: &str, log_dir: Option<&Path>, extra: &str) -> Setup {
    let dir = TempDir::new(tag);
    let key = audit::write_key(&dir);
    let log = match log_dir {
        Some(d) => d.join("audit.jsonl"),
        None => dir.path("audit.jsonl"),
    };
    let config = dir.path("c.yaml");
    write_config(
        &config,
        &format!("{}{extra}", audit::section(&log, &key)),
        0o600,
    );
    Setup { dir, config, log }
}

fn verify(s: &Setup) -> (i32, String) {
    audit::verify(&s.log, &s.config)
}

#[test]
fn calls_and_refusals_are_audited_in_a_verifiable_chain() {
    let s = setup("audit-chain", None, "");
    let cfg = s.config.to_str().unwrap();
    {
        let mut c = Client::initialized(&["serve", "--config", cfg]);
        let r = c.call("get_uptime", json!({}));
        assert_eq!(r["result"]["isError"], false, "{r}");
        // The record is on disk before the answer arrives.
        let recs = records(&s.log);
        let q = recs
            .iter()
            .find(|r| r["event"] == "query")
            .expect("query record written before the answer");
        assert_eq!(q["tool"], "get_uptime");
        assert_eq!(q["result"], "success");
        assert!(q["output_bytes"].as_u64().unwrap() > 10);
        assert_eq!(q["client"]["transport"], "stdio");
        assert!(q["request_id"].as_str().unwrap().ends_with("-2"), "{q}");

        let r = c.call("get_processes", json!({"limit": -1}));
        assert_eq!(r["result"]["isError"], true);
        let recs = records(&s.log);
        let d = recs.iter().find(|r| r["event"] == "query_denied").unwrap();
        assert_eq!(d["params"], json!({"limit": -1}));
        assert!(d["reason"].as_str().unwrap().contains("`limit`"));
        c.close_stdin();
        let _ = c.child.wait();
    }
    let recs = records(&s.log);
    let events: Vec<&str> = recs.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "startup",
            "auth_success",
            "query",
            "query_denied",
            "shutdown"
        ],
        "{events:?}"
    );
    assert!(recs[0]["detail"]["config_sha256"].as_str().unwrap().len() == 64);
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain intact: 5 records"), "{out}");

    // `sysgate query` appends to the same chain.
    let (code, _, err) = run(&["query", "whoami", "--config", s.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain intact: 6 records"), "{out}");

    // Editing a record breaks the chain, and the verifier names the line.
    let text = std::fs::read_to_string(&s.log)
        .unwrap()
        .replace("get_uptime", "get_uptimf");
    std::fs::write(&s.log, text).unwrap();
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("edited"), "{out}");
    drop(s.dir);
}

#[test]
fn concurrent_calls_keep_the_chain_valid() {
    let s = setup("audit-concurrent", None, "");
    let cfg = s.config.to_str().unwrap();
    let mut clients: Vec<Client> = (0..3)
        .map(|_| Client::initialized(&["serve", "--config", cfg]))
        .collect();
    for round in 0..20 {
        for c in clients.iter_mut() {
            // Several calls in flight per connection at once, answered out of order.
            for i in 0..4 {
                c.send(&json!({"jsonrpc": "2.0", "id": 1000 + round * 10 + i, "method": "tools/call",
                    "params": {"name": if i % 2 == 0 { "get_uptime" } else { "get_load" }, "arguments": {}}}));
            }
        }
        for c in clients.iter_mut() {
            // Answers may come in any order; collect all four.
            let mut seen = Vec::new();
            while seen.len() < 4 {
                let r = c.recv(Duration::from_secs(10)).expect("an answer");
                assert_eq!(r["result"]["isError"], false, "{r}");
                seen.push(r["id"].as_i64().unwrap());
            }
            seen.sort_unstable();
            let want: Vec<i64> = (0..4).map(|i| 1000 + round * 10 + i).collect();
            assert_eq!(seen, want);
        }
    }
    drop(clients);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    let queries = records(&s.log)
        .iter()
        .filter(|r| r["event"] == "query")
        .count();
    assert_eq!(queries, 3 * 20 * 4);
}

#[test]
fn an_unwritable_audit_log_refuses_calls() {
    // A tiny tmpfs that fills up. Mounting needs root; skip (with a note) where it is not allowed.
    let mnt = TempDir::new("audit-full-mnt");
    let ok = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=16k,mode=0700",
            "tmpfs",
            mnt.0.to_str().unwrap(),
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Unmount(mnt.0.clone());
    let s = setup("audit-full", Some(&mnt.0), "");
    let mut c = Client::initialized(&["serve", "--config", s.config.to_str().unwrap()]);
    let r = c.call("get_uptime", json!({}));
    assert_eq!(r["result"]["isError"], false, "{r}");
    // Fill the filesystem. The log's last page may still have room for a few records, so call
    // until the log is full: every answered call must have its record, and then calls are refused.
    let filler = mnt.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 64 * 1024]);
    let mut refused = None;
    for _ in 0..100 {
        let before = records(&s.log)
            .iter()
            .filter(|r| r["event"] == "query")
            .count();
        let r = c.call("get_uptime", json!({}));
        let after = records(&s.log)
            .iter()
            .filter(|r| r["event"] == "query")
            .count();
        if r["result"]["isError"] == true {
            assert_eq!(after, before, "a refused call leaves no record");
            refused = Some(r);
            break;
        }
        assert_eq!(after, before + 1, "an answered call must have been audited");
    }
    let r = refused.expect("calls must be refused once the audit log cannot be written");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("audit log cannot be written"), "{text}");
    assert!(r["result"].get("structuredContent").is_none());
    // Space comes back: calls work again and the chain still verifies.
    std::fs::remove_file(&filler).unwrap();
    let r = c.call("get_uptime", json!({}));
    assert_eq!(r["result"]["isError"], false, "{r}");
    drop(c);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_missing_or_unsafe_key_refuses_startup() {
    let s = setup("audit-key", None, "");
    let key = s.dir.path("audit.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, err) = run(&["check-config", "--config", s.config.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("mode 0640; required 0600 or stricter"),
        "{err}"
    );
    std::fs::remove_file(&key).unwrap();
    let (code, _, err) = run(&["query", "whoami", "--config", s.config.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot open secret file"), "{err}");
    // An audit section without a key is refused.
    write_config(
        &s.config,
        &format!("audit:\n  path: {}\n", s.log.display()),
        0o600,
    );
    let (code, _, err) = run(&["check-config", "--config", s.config.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("audit.key_file or audit.key_env is required"),
        "{err}"
    );
}

#[test]
fn the_key_may_come_from_an_environment_variable_the_config_names() {
    let s = setup("audit-env", None, "");
    write_config(
        &s.config,
        &format!(
            "audit:\n  path: {}\n  key_env: SYSGATE_AUDIT_KEY\n",
            s.log.display()
        ),
        0o600,
    );
    common::host::succeed(
        std::process::Command::new(common::bin())
            .args(["query", "whoami", "--config", s.config.to_str().unwrap()])
            .env("SYSGATE_AUDIT_KEY", KEY),
    );
    let out = std::process::Command::new(common::bin())
        .args([
            "audit",
            "verify",
            s.log.to_str().unwrap(),
            "--key-env",
            "SYSGATE_AUDIT_KEY",
        ])
        .env("SYSGATE_AUDIT_KEY", KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

//! The call lifecycle through the real binary: `sysgate query` enforces the deadline a session
//! does; a call past its deadline has one outcome recorded once; cancelled calls release what they
//! hold; refusals before a tool is found, reloads and SIGTERM are on the audit record.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::audit::{self, records_if_any as records};
use common::{Client, TempDir, run, write_config};
use serde_json::{Value, json};

struct Setup {
    dir: TempDir,
    config: PathBuf,
    log: PathBuf,
    key: PathBuf,
}

impl Setup {
    fn cfg(&self) -> &str {
        self.config.to_str().unwrap()
    }

    /// Rewrite the config (`audit: true` keeps the audit section).
    fn write(&self, audit: bool, extra: &str) {
        let audit = if audit {
            audit::section(&self.log, &self.key)
        } else {
            String::new()
        };
        write_config(&self.config, &format!("{audit}{extra}"), 0o600);
    }
}

fn setup(tag: &str, extra: &str) -> Setup {
    let dir = TempDir::new(tag);
    let key = audit::write_key(&dir);
    let s = Setup {
        config: dir.path("c.yaml"),
        log: dir.path("audit.jsonl"),
        key,
        dir,
    };
    s.write(true, extra);
    s
}

/// Poll `f` until it holds (or fail after `limit`).
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn query_answers_at_the_deadline_with_a_timeout_not_a_cancellation() {
    let s = setup("lc-query", "resources:\n  timeouts:\n    medium: 150\n");
    let t0 = Instant::now();
    let (code, out, err) = run(&[
        "query",
        "get_processes",
        "--args",
        r#"{"sample_ms": 2000}"#,
        "--config",
        s.cfg(),
    ]);
    let took = t0.elapsed();
    assert_eq!(code, 1, "{out}{err}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(out.contains("exceeded its deadline of 150 ms"), "{out}");
    assert!(!out.contains("cancelled"), "{out}");
    let recs = records(&s.log);
    let calls: Vec<&Value> = recs
        .iter()
        .filter(|r| r["tool"] == "get_processes")
        .collect();
    assert_eq!(calls.len(), 1, "{recs:?}");
    assert_eq!(calls[0]["event"], "limit_exceeded");
    assert_eq!(calls[0]["result"], "timeout");
}

#[test]
fn each_call_past_its_deadline_has_exactly_one_record_with_its_cause() {
    let s = setup(
        "lc-once",
        "resources:\n  max_concurrent_queries: 4\n  timeouts:\n    medium: 100\n",
    );
    let mut c = Client::initialized(&["serve", "--config", s.cfg()]);
    let n = 24;
    for id in 100..100 + n {
        c.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "get_processes", "arguments": {"sample_ms": 300 + (id % 5) * 50}}}));
    }
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < n as usize {
        let r = c
            .recv(Duration::from_secs(10))
            .expect("an answer for every call");
        let text = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("exceeded its deadline"), "{r}");
        assert!(!text.contains("cancelled"), "{r}");
        assert!(
            answered.insert(r["id"].as_i64().unwrap()),
            "answered twice: {r}"
        );
    }
    // Let any late handler finish: it must not add a record.
    std::thread::sleep(Duration::from_millis(600));
    let mut per_id: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in records(&s.log) {
        if r["tool"] == "get_processes" {
            per_id
                .entry(r["request_id"].as_str().unwrap().to_string())
                .or_default()
                .push((r["event"].to_string(), r["result"].to_string()));
        }
    }
    assert_eq!(per_id.len(), n as usize, "{per_id:?}");
    for (id, recs) in &per_id {
        assert_eq!(
            recs,
            &[("\"limit_exceeded\"".to_string(), "\"timeout\"".to_string())],
            "{id}"
        );
    }
}

#[test]
fn unknown_tool_and_missing_name_answer_invalid_params_and_are_audited() {
    let s = setup("lc-unknown", "");
    let mut c = Client::initialized(&["serve", "--config", s.cfg()]);
    let r = c.call("no_such_tool", json!({}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(r["error"]["message"], "unknown tool: no_such_tool");
    let r = c.request("tools/call", json!({"arguments": {}}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(r["error"]["message"], "`name` (a string) is required");
    let recs = records(&s.log);
    let denied: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event"] == "query_denied")
        .collect();
    assert_eq!(denied.len(), 2, "{recs:?}");
    assert_eq!(denied[0]["tool"], "no_such_tool");
    assert_eq!(denied[0]["detail"]["denial"], "unknown_tool");
    assert_eq!(denied[0]["result"], "denied");
    assert!(denied[1].get("tool").is_none(), "{}", denied[1]);
    assert_eq!(denied[1]["detail"]["denial"], "missing_name");
}

#[test]
fn sighup_applied_or_rejected_writes_one_config_reload_record() {
    let s = setup("lc-reload", "");
    let mut c = Client::initialized(&["serve", "--config", s.cfg()]);
    let reloads = |s: &Setup| -> Vec<Value> {
        records(&s.log)
            .into_iter()
            .filter(|r| r["event"] == "config_reload")
            .collect()
    };
    // Applied.
    s.write(true, "log_level: debug\n");
    c.signal("-HUP");
    eventually(Duration::from_secs(5), "an applied reload", || {
        reloads(&s).len() == 1
    });
    let r = &reloads(&s)[0];
    assert_eq!(r["result"], "success", "{r}");
    assert_eq!(r["detail"]["applied"], true);
    // Rejected: the old config stays, and says why.
    s.write(true, "limits:\n  max_in_flight: 0\n");
    c.signal("-HUP");
    eventually(Duration::from_secs(5), "a rejected reload", || {
        reloads(&s).len() == 2
    });
    let r = &reloads(&s)[1];
    assert_eq!(r["result"], "error", "{r}");
    assert_eq!(r["detail"]["applied"], false);
    assert!(
        r["detail"]["problems"]
            .to_string()
            .contains("max_in_flight"),
        "{r}"
    );
    // Redaction off: on the record of the log in force.
    s.write(true, "redaction:\n  enabled: false\n");
    c.signal("-HUP");
    eventually(Duration::from_secs(5), "redaction off", || {
        reloads(&s).len() == 3
    });
    assert_eq!(reloads(&s)[2]["detail"]["redaction"], false);
    // The audit log off: recorded in the old log before it is swapped out.
    s.write(false, "");
    c.signal("-HUP");
    eventually(Duration::from_secs(5), "audit off", || {
        reloads(&s).len() == 4
    });
    let r = &reloads(&s)[3];
    assert_eq!(r["detail"]["applied"], true);
    assert_eq!(r["detail"]["audit"], false);
    // Still serving; nothing more goes to the old log.
    let r = c.call("get_uptime", json!({}));
    assert_eq!(r["result"]["isError"], false, "{r}");
    let n = records(&s.log).len();
    let _ = c.call("get_uptime", json!({}));
    assert_eq!(records(&s.log).len(), n);
    // The chain stays verifiable.
    let (code, out, err) = run(&[
        "audit",
        "verify",
        s.log.to_str().unwrap(),
        "--key-file",
        s.key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn sigterm_answers_running_calls_then_records_shutdown_and_exits_0() {
    let s = setup("lc-term", "");
    let mut c = Client::initialized(&["serve", "--config", s.cfg()]);
    c.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "get_processes", "arguments": {"sample_ms": 700, "limit": 1}}}));
    // Let the call start, then terminate while it runs.
    std::thread::sleep(Duration::from_millis(200));
    c.signal("-TERM");
    let r = c
        .wait_for(&json!(7), Duration::from_secs(10))
        .expect("the running call is answered");
    assert_eq!(r["result"]["isError"], false, "{r}");
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = c.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < end, "sysgate did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let recs = records(&s.log);
    let events: Vec<&str> = recs.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["startup", "auth_success", "query", "shutdown"],
        "{events:?}"
    );
    assert_eq!(recs[3]["detail"]["reason"], "SIGTERM");
    drop(s.dir);
}

/// Resident memory high-water mark of a process, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn cancelled_calls_release_what_they_hold_at_once() {
    // Long deadlines: before the fix every cancelled call stayed in the deadline timer (with its
    // arguments and context) until its deadline.
    let s = setup("lc-flood", "resources:\n  timeouts:\n    medium: 600000\n");
    s.write(false, "resources:\n  timeouts:\n    medium: 600000\n");
    let mut c = Client::initialized(&["serve", "--config", s.cfg()]);
    let name = "a".repeat(64);
    let flood = |c: &mut Client, from: i64, n: i64| {
        for id in from..from + n {
            c.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "get_processes", "arguments": {"sample_ms": 2000, "name": name}}}));
            c.notify("notifications/cancelled", json!({"requestId": id}));
        }
        // Everything sent has been read once a ping after it is answered.
        let r = c.request("tools/list", json!({}));
        assert!(r["result"]["tools"].is_array());
    };
    flood(&mut c, 1_000, 2_000);
    let before = vm_hwm_kib(c.child.id());
    flood(&mut c, 10_000, 20_000);
    let after = vm_hwm_kib(c.child.id());
    assert!(
        after < before + 4 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB over 20000 cancelled calls"
    );
    drop(s.dir);
}

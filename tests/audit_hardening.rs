//! The audit log against a careless operator and a hostile caller, through the real binary: the
//! chain head survives truncation, refusals stay small, an empty `audit:` section is refused, key
//! names are redacted, `audit verify` refuses what is not a log, and syslog trouble is visible.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start sysgate, mkfifo and the user tools of the setup recipe"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::audit::{self, records};
use common::{TempDir, run, write_config};
use serde_json::Value;

struct Setup {
    dir: TempDir,
    config: PathBuf,
    log: PathBuf,
}

fn setup(tag: &str, extra: &str) -> Setup {
    let dir = TempDir::new(tag);
    let (log, audit) = audit::log_in(&dir);
    let config = dir.path("c.yaml");
    write_config(&config, &format!("{audit}{extra}"), 0o600);
    Setup { dir, config, log }
}

fn seqs(log: &Path) -> Vec<u64> {
    records(log)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect()
}

fn verify(s: &Setup) -> (i32, String) {
    audit::verify(&s.log, &s.config)
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

// ---- 2. Refusals stay small ------------------------------------------------------------------

/// What a refusal's record may take at most, whatever the caller sent (see docs/configuration.md).
const REFUSAL_RECORD_MAX: usize = 4096;

#[test]
fn a_huge_denied_call_leaves_a_small_record_with_a_digest() {
    let s = setup("bound-params", "");
    let junk = "x".repeat(900 * 1024);
    {
        let mut c = common::Client::initialized(&["serve", "--config", s.config.to_str().unwrap()]);
        let r = c.call(
            "get_processes",
            serde_json::json!({"limit": -1, "junk": junk}),
        );
        assert_eq!(r["result"]["isError"], true, "{r}");
        c.close_stdin();
        let _ = c.child.wait();
    }
    let text = std::fs::read_to_string(&s.log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"query_denied\""))
        .expect("a query_denied record");
    assert!(
        line.len() < REFUSAL_RECORD_MAX,
        "refusal record is {} bytes",
        line.len()
    );
    let rec: Value = serde_json::from_str(line).unwrap();
    let p = &rec["params"];
    assert_eq!(p["truncated"], true, "{p}");
    let full = serde_json::to_string(&serde_json::json!({"junk": junk, "limit": -1})).unwrap();
    assert_eq!(p["bytes"], full.len());
    assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
    assert!(
        full.starts_with(p["prefix"].as_str().unwrap()),
        "{}",
        p["prefix"]
    );
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
}

// ---- 3. `audit:` present but empty ----------------------------------------------------------

#[test]
fn an_empty_audit_section_is_refused_like_an_empty_map() {
    let dir = TempDir::new("audit-empty");
    let config = dir.path("c.yaml");
    for yaml in [
        "audit: {}\n",
        "audit: ~\n",
        "audit:\n",
        "audit:\n  # path: /var/log/sysgate/audit.jsonl\n  # key_file: /etc/sysgate/audit.key\n",
    ] {
        write_config(&config, yaml, 0o600);
        for cmd in ["check-config", "serve"] {
            let (code, _, err) = run(&[cmd, "--config", config.to_str().unwrap()]);
            assert_ne!(code, 0, "{cmd} accepted {yaml:?}");
            assert!(
                err.contains("audit.path is required when the audit section is present"),
                "{cmd} {yaml:?}: {err}"
            );
        }
    }
}

// ---- 4. Secrets in key names ----------------------------------------------------------------

#[test]
fn a_secret_in_an_argument_key_name_is_redacted_in_the_audit_log() {
    let s = setup("redact-keys", "");
    {
        let mut c = common::Client::initialized(&["serve", "--config", s.config.to_str().unwrap()]);
        let r = c.call(
            "get_processes",
            serde_json::json!({"AKIAIOSFODNN7EXAMPLE": 1, "token=s3cr3tvalue": 2, "limit": -1}),
        );
        assert_eq!(r["result"]["isError"], true, "{r}");
        c.close_stdin();
        let _ = c.child.wait();
    }
    let text = std::fs::read_to_string(&s.log).unwrap();
    assert!(text.contains("query_denied"), "{text}");
    for secret in ["AKIAIOSFODNN7EXAMPLE", "s3cr3tvalue"] {
        assert!(!text.contains(secret), "{secret} reached the log: {text}");
    }
    let rec: Value =
        serde_json::from_str(text.lines().find(|l| l.contains("query_denied")).unwrap()).unwrap();
    let keys: Vec<&String> = rec["params"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().any(|k| k.contains("[REDACTED")), "{keys:?}");
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
}

// ---- 5. `audit verify` on what is not a log -------------------------------------------------

/// Runs `audit verify` on `target` with a key file, killed after 10 s so a hang fails the test.
fn verify_path(s: &Setup, target: &Path) -> (i32, String) {
    let mut child = std::process::Command::new(common::bin())
        .args([
            "audit",
            "verify",
            target.to_str().unwrap(),
            "--key-file",
            s.dir.path("audit.key").to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            );
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("audit verify {} hung", target.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn verify_refuses_a_fifo_without_hanging_and_says_when_nothing_was_verified() {
    let s = setup("verify-special", "");
    let fifo = s.dir.path("fifo.jsonl");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
    let (code, out) = verify_path(&s, &fifo);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is a FIFO"), "{out}");

    let (code, out) = verify_path(&s, Path::new("/dev/null"));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("is a device") && out.contains("nothing was verified"),
        "{out}"
    );
    assert!(!out.contains("intact"), "{out}");

    let empty = s.dir.path("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (code, out) = verify_path(&s, &empty);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("nothing verified"), "{out}");
    assert!(!out.contains("intact"), "{out}");
}

// ---- 6. Root's verify with a key the service user owns --------------------------------------

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

#[test]
fn root_verifies_with_a_key_owned_by_the_service_user_and_names_users_in_refusals() {
    if !is_root() {
        eprintln!("skipping: needs root to chown files to a service uid");
        return;
    }
    // A log directory of its own, owned by the "service user" (an unused uid).
    const SERVICE: u32 = 54_321;
    let s = setup("key-owner", "");
    let logdir = s.dir.path("log");
    std::fs::create_dir(&logdir).unwrap();
    std::fs::set_permissions(&logdir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let log = logdir.join("audit.jsonl");
    let key = s.dir.path("audit.key");
    write_config(
        &s.config,
        &format!(
            "audit:\n  path: {}\n  key_file: {}\n",
            log.display(),
            key.display()
        ),
        0o600,
    );
    query(&s);
    for p in [&logdir, &log, &key] {
        chown(p, SERVICE);
    }
    let verify_with = |args: &[&str]| {
        let mut all = vec!["audit", "verify", log.to_str().unwrap()];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        (code, out + &err)
    };
    let (code, out) = verify_with(&["--key-file", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain intact"), "{out}");
    let (code, out) = verify_with(&["--config", s.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    // Another user's key is refused, and the message says which users would do.
    chown(&key, SERVICE + 1);
    let (code, out) = verify_with(&["--key-file", key.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(&format!("is owned by uid {}", SERVICE + 1))
            && out.contains(&format!("required: root or uid {SERVICE}"))
            && out.contains("owner of the audit directory"),
        "{out}"
    );
    assert!(!out.contains("service user (uid 0)"), "{out}");
    // Group or other access stays refused for the service user's key too.
    chown(&key, SERVICE);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, out) = verify_with(&["--key-file", key.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("mode 0640"), "{out}");
}

// ---- 8. Syslog forwarding that cannot reach its socket --------------------------------------

#[test]
fn syslog_forwarding_is_announced_and_a_missing_socket_is_warned_about() {
    use std::io::{Read, Write};
    let s = setup("syslog-missing", "");
    let socket = s.dir.path("no-such-dir/log.sock");
    let yaml = std::fs::read_to_string(&s.config).unwrap();
    write_config(
        &s.config,
        &format!(
            "{}  syslog:\n    enabled: true\n    network: unix\n    addr: {}\n",
            yaml.trim_start_matches(common::root_prefix()),
            socket.display()
        ),
        0o600,
    );
    // check-config's summary names the target too.
    let (code, out, err) = run(&["check-config", "--config", s.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let target = format!("the unix socket {}", socket.display());
    assert!(
        out.contains(&format!("a copy to syslog over {target}")),
        "{out}"
    );
    let mut child = std::process::Command::new(common::bin())
        .args(["serve", "--config", s.config.to_str().unwrap()])
        .env_remove("SYSGATE_LOG_LEVEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#,
    ] {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    // Give the forwarder a moment to try, then end the session.
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(stdin);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    let want = format!(
        "forwarding a copy of every record to syslog over the unix socket {}",
        socket.display()
    );
    assert!(err.contains(&want), "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("cannot forward records to syslog"))
        .collect();
    // Several records failed, but within a minute only the first failure is warned about.
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains(&socket.display().to_string()), "{err}");
    assert!(warnings[0].contains("1 record(s) not forwarded"), "{err}");
    // The file still has every record.
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
}

// ---- 7. The recipe in config/audited-stdio.yaml, followed literally --------------------------

/// The recipe's commands: the indented lines of the file's leading comment.
fn recipe(yaml: &str) -> Vec<String> {
    yaml.lines()
        .take_while(|l| l.starts_with('#') || l.is_empty())
        .filter_map(|l| l.strip_prefix("#   "))
        .map(str::to_string)
        .collect()
}

/// `line` with the recipe's paths moved under `root`, and the word `sysgate` as a command turned
/// into the binary under test and as a user or group into `user`.
fn localise(line: &str, root: &Path, bin: &Path, user: &str) -> String {
    let line = line
        .replace("/etc/sysgate", &root.join("etc").display().to_string())
        .replace("/var/log/sysgate", &root.join("log").display().to_string());
    let mut out: Vec<String> = Vec::new();
    for tok in line.split(' ') {
        let command_position = matches!(out.last().map(String::as_str), None | Some("--" | "&&"));
        let t = match tok {
            "sysgate" if command_position => bin.display().to_string(),
            "sysgate" => user.to_string(),
            "sysgate:sysgate" => format!("{user}:{user}"),
            t => t.to_string(),
        };
        out.push(t);
    }
    out.join(" ")
}

struct UserGuard(String);

impl Drop for UserGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("userdel").arg(&self.0).status();
        let _ = std::process::Command::new("groupdel").arg(&self.0).status();
    }
}

fn sh(line: &str, cwd: &Path) -> (i32, String) {
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .current_dir(cwd)
        .env_remove("SYSGATE_LOG_LEVEL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_audited_stdio_recipe_works_when_followed_literally() {
    use std::io::{BufRead, BufReader, Write};
    let have = |c: &str| sh(&format!("command -v {c}"), Path::new("/")).0 == 0;
    if !is_root()
        || !["useradd", "userdel", "runuser", "openssl", "install"]
            .iter()
            .all(|c| have(c))
    {
        eprintln!("skipping: needs root and useradd, runuser, openssl, install");
        return;
    }
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/audited-stdio.yaml"
    ))
    .unwrap();
    let steps = recipe(&yaml);
    let serve = steps
        .iter()
        .position(|l| l.contains(" serve "))
        .expect("a serve command");
    let verify_at = steps
        .iter()
        .position(|l| l.contains("audit verify"))
        .expect("a verify command");

    // Everything under one directory the service user can traverse, removed afterwards.
    let root = TempDir::traversable("recipe");
    let user = format!("sgt{}", std::process::id() % 1_000_000);
    let _guard = UserGuard(user.clone());
    let bin = root.path("sysgate");
    std::fs::copy(common::bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = root.path("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("audited-stdio.yaml"),
        localise_text(&yaml, &root.0),
    )
    .unwrap();

    for line in &steps[..serve] {
        let cmd = localise(line, &root.0, &bin, &user);
        let (code, out) = sh(&cmd, &src);
        assert_eq!(code, 0, "`{cmd}` failed: {out}");
    }

    let cmd = localise(&steps[serve], &root.0, &bin, &user);
    let mut child = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .current_dir(&src)
        .env_remove("SYSGATE_LOG_LEVEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#,
    ] {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let mut answers = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while answers.len() < 2 {
        match lines.next() {
            Some(Ok(l)) => answers.push(serde_json::from_str::<Value>(&l).unwrap()),
            _ => break,
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(answers.len(), 2, "`{cmd}`: {answers:?} {err}");
    assert_eq!(
        answers[1]["result"]["isError"], false,
        "{}: {err}",
        answers[1]
    );
    let uid_line = sh(&format!("id -u {user}"), Path::new("/")).1;
    assert_eq!(
        answers[1]["result"]["structuredContent"]["uid"].to_string(),
        uid_line.trim(),
        "the call ran as the service user: {}",
        answers[1]
    );

    let cmd = localise(&steps[verify_at], &root.0, &bin, &user);
    let (code, out) = sh(&cmd, &src);
    assert_eq!(code, 0, "`{cmd}`: {out}");
    assert!(out.contains("audit chain intact"), "{out}");
    assert!(out.contains("the log reaches it"), "{out}");
}

/// The config's own paths, moved under `root` like the commands'.
fn localise_text(yaml: &str, root: &Path) -> String {
    yaml.replace("/etc/sysgate", &root.join("etc").display().to_string())
        .replace("/var/log/sysgate", &root.join("log").display().to_string())
}

//! Config integrity, fail-closed startup and live reload, through the real binary.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary they test, and mkfifo/kill"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{Client, TempDir, root_prefix, run, write_config};
use serde_json::json;

/// `check-config` and `serve` must both refuse; returns check-config's stderr.
fn refused(path: &std::path::Path) -> String {
    let p = path.to_str().unwrap();
    let (code, out, err) = run(&["check-config", "--config", p]);
    assert_ne!(code, 0, "check-config accepted {p}: {out}");
    // serve must refuse before reading any request: it exits even though stdin stays open.
    let mut c = Client::spawn(&["serve", "--config", p]);
    let status = wait_exit(&mut c, Duration::from_secs(5));
    assert!(
        matches!(status, Some(code) if code != 0),
        "serve did not refuse {p}"
    );
    assert!(
        c.recv(Duration::from_millis(100)).is_none(),
        "serve wrote to stdout while refusing"
    );
    err
}

fn wait_exit(c: &mut Client, timeout: Duration) -> Option<i32> {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if let Some(s) = c.child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_good_config_passes_with_a_summary() {
    let d = TempDir::new("cfg-ok");
    let p = d.path("c.yaml");
    write_config(&p, "queries: {deny: [get_uptime]}\n", 0o600);
    let (code, out, err) = run(&["check-config", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // One summary line, then the program table (`exec`): where each program was found.
    assert_eq!(out.lines().nth(1), Some("programs:"), "{out}");
    assert!(out.starts_with("config ok: "), "{out}");
    assert!(out.contains("denied tools: get_uptime"), "{out}");
    // 0640 is the loosest accepted mode.
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(run(&["check-config", "--config", p.to_str().unwrap()]).0, 0);
}

#[test]
fn file_mode_owner_and_type_refusals_name_the_file_and_the_rule() {
    let d = TempDir::new("cfg-modes");
    let p = d.path("c.yaml");

    write_config(&p, "", 0o644);
    let e = refused(&p);
    assert!(
        e.contains("has mode 0644; required 0640 or stricter"),
        "{e}"
    );
    assert!(e.contains(p.to_str().unwrap()), "{e}");

    write_config(&p, "", 0o660);
    let e = refused(&p);
    assert!(e.contains("mode 0660, which lets others change it"), "{e}");

    write_config(&p, "", 0o602);
    assert!(refused(&p).contains("lets others change it"));

    let link = d.path("link.yaml");
    write_config(&p, "", 0o600);
    std::os::unix::fs::symlink(&p, &link).unwrap();
    assert!(refused(&link).contains("is a symbolic link"));

    let dir = d.path("dir.yaml");
    std::fs::create_dir(&dir).unwrap();
    assert!(refused(&dir).contains("is a directory"));

    let fifo = d.path("fifo.yaml");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    // Opening must not block on the FIFO (O_NONBLOCK), and it is refused as not a regular file.
    assert!(refused(&fifo).contains("is a FIFO"));

    assert!(refused(&d.path("missing.yaml")).contains("cannot open config file"));
}

#[test]
fn every_directory_above_an_operator_file_must_be_safe() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let d = TempDir::new("cfg-parents");
    let mkdir = |name: &str, mode: u32| {
        let p = d.path(name);
        std::fs::create_dir(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    let real = mkdir("real", 0o700);
    write_config(&real.join("c.yaml"), "", 0o600);
    symlink(&real, d.path("link")).unwrap();

    // A symbolic link anywhere on the path is refused, not followed.
    let e = refused(&d.path("link").join("c.yaml"));
    let link = d.path("link");
    assert!(
        e.contains(&format!("directory {} is a symbolic link", link.display())),
        "{e}"
    );
    assert!(e.contains("required: every directory on the path"), "{e}");
    // The same file by its real path is fine (a private dir under sticky /tmp is accepted).
    let ok = real.join("c.yaml");
    let (code, _, err) = run(&["check-config", "--config", ok.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A directory that group or others can write, and a sticky one as the file's own directory.
    for (name, mode) in [
        ("group-writable", 0o770),
        ("world-writable", 0o777),
        ("sticky", 0o1777),
    ] {
        let dir = mkdir(name, mode);
        write_config(&dir.join("c.yaml"), "", 0o600);
        let e = refused(&dir.join("c.yaml"));
        assert!(
            e.contains(&format!("directory {} has mode {mode:04o}", dir.display())),
            "{name}: {e}"
        );
    }
    // A writable directory higher up is refused too.
    let gw = d.path("group-writable");
    let deep = gw.join("deep");
    std::fs::create_dir(&deep).unwrap();
    write_config(&deep.join("c.yaml"), "", 0o600);
    assert!(refused(&deep.join("c.yaml")).contains("has mode 0770"));

    // A relative path is checked from the working directory.
    let out = std::process::Command::new(common::bin())
        .args(["check-config", "--config", "link/c.yaml"])
        .current_dir(&d.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"));
    common::host::succeed(
        std::process::Command::new(common::bin())
            .args(["check-config", "--config", "real/c.yaml"])
            .current_dir(&d.0),
    );

    // Key files and the audit log's directory follow the same rule.
    std::fs::write(real.join("key"), "ab".repeat(32)).unwrap();
    std::fs::set_permissions(real.join("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let logs = real.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o700)).unwrap();
    let cfg = d.path("real/a.yaml");
    for (key, log, bad) in [
        (link.join("key"), logs.join("audit.jsonl"), "key"),
        (real.join("key"), link.join("logs/audit.jsonl"), "log"),
    ] {
        write_config(
            &cfg,
            &format!(
                "audit:\n  path: {}\n  key_file: {}\n",
                log.display(),
                key.display()
            ),
            0o600,
        );
        let e = refused(&cfg);
        assert!(
            e.contains(&format!("{} is a symbolic link", link.display())),
            "{bad}: {e}"
        );
    }
    write_config(
        &cfg,
        &format!(
            "audit:\n  path: {}\n  key_file: {}\n",
            logs.join("audit.jsonl").display(),
            real.join("key").display()
        ),
        0o600,
    );
    let (code, _, err) = run(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_file_owned_by_another_user_is_refused() {
    if !root_prefix().is_empty() {
        let d = TempDir::new("cfg-owner");
        let p = d.path("c.yaml");
        write_config(&p, "", 0o600);
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        let e = refused(&p);
        assert!(
            e.contains("is owned by uid 65534") && e.contains("; required: root (uid 0)"),
            "{e}"
        );
        // A directory on the way owned by someone else is refused as well.
        let dir = d.path("theirs");
        std::fs::create_dir(&dir).unwrap();
        write_config(&dir.join("c.yaml"), "", 0o600);
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let e = refused(&dir.join("c.yaml"));
        assert!(
            e.contains(&format!(
                "directory {} is owned by uid 65534",
                dir.display()
            )),
            "{e}"
        );
    }
}

#[test]
fn content_problems_are_refused_with_the_key_and_line() {
    let d = TempDir::new("cfg-content");
    let p = d.path("c.yaml");
    let cases: &[(&str, &str)] = &[
        (
            "limits:\n  max_mesage_bytes: 10\n",
            "unknown field `max_mesage_bytes`",
        ),
        (
            "log_level: info\nlog_level: debug\n",
            "duplicate key `log_level`",
        ),
        ("transport: https\n", "transport: `https` is not available"),
        ("transport: http\n", "plain `http` is never allowed"),
        (
            "limits: {max_in_flight: 0}\n",
            "limits.max_in_flight: 0 is out of range",
        ),
        ("limits: {max_message_bytes: -5}\n", "max_message_bytes"),
        (
            "resources: {timeouts: {medium: 31536000000}}\n",
            "resources.timeouts.medium: 31536000000 is out of range",
        ),
        ("scopes: {kore: {enabled: true}}\n", "unknown scope `kore`"),
        (
            "queries: {deny: [format_disk]}\n",
            "unknown tool `format_disk`",
        ),
        (": : :\n  - [\n", "error"),
    ];
    for (yaml, want) in cases {
        write_config(&p, yaml, 0o600);
        let e = refused(&p);
        assert!(e.contains(want), "for {yaml:?} expected {want:?} in:\n{e}");
    }
    // The unknown-key error shows where it is (line 3 counting the root opt-in line if any).
    write_config(&p, "limits:\n  max_mesage_bytes: 10\n", 0o600);
    let line = 2 + root_prefix().lines().count();
    assert!(refused(&p).contains(&format!("line {line}")));
}

#[test]
fn quoted_booleans_and_numbers_are_refused_with_the_key_and_line() {
    let d = TempDir::new("cfg-quoted");
    let p = d.path("c.yaml");
    let first = 1 + root_prefix().lines().count();
    let cases = [
        (
            "allow_root: \"true\"\n",
            "allow_root",
            "\"true\" is a quoted string, not a boolean",
        ),
        (
            "config: {fail_closed: 'false'}\n",
            "config.fail_closed",
            "\"false\" is a quoted string, not a boolean",
        ),
        (
            "limits:\n  max_in_flight: \"7\"\n",
            "limits.max_in_flight",
            "\"7\" is a quoted string, not a number",
        ),
        (
            "scopes: {sensitive: {enabled: \"true\"}}\n",
            "scopes.sensitive.enabled",
            "\"true\" is a quoted string, not a boolean",
        ),
        (
            "audit: {enabled: \"false\"}\n",
            "audit.enabled",
            "\"false\" is a quoted string, not a boolean",
        ),
        (
            "redaction: {enabled: \"false\"}\n",
            "redaction.enabled",
            "\"false\" is a quoted string, not a boolean",
        ),
    ];
    for (yaml, key, want) in cases {
        // The root opt-in line would duplicate the `allow_root` case's key.
        let line = if key == "allow_root" {
            std::fs::write(&p, yaml).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            1
        } else {
            write_config(&p, yaml, 0o600);
            first + yaml.lines().count() - 1
        };
        let e = refused(&p);
        let want = format!("{key} (line {line}): {want}");
        assert!(e.contains(&want), "for {yaml:?} expected {want:?} in:\n{e}");
    }
    // Quoted where a string is expected stays fine.
    write_config(
        &p,
        "log_level: \"debug\"\nqueries: {deny: [\"get_uptime\"]}\n",
        0o600,
    );
    let (code, _, err) = run(&["check-config", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn yaml_errors_name_the_file_the_lines_and_what_was_not_checked() {
    let d = TempDir::new("cfg-yamlerr");
    let p = d.path("c.yaml");
    let name = p.to_str().unwrap();
    let first = root_prefix().lines().count();
    write_config(&p, "limits:\n  max_in_flight: [1\nfoo: : :\n", 0o600);
    let e = refused(&p);
    assert!(e.contains(&format!("--> {name}:{}:", first + 2)), "{e}");
    assert!(!e.contains("<input>"), "{e}");
    assert!(e.contains("the lines after it were not checked"), "{e}");

    write_config(
        &p,
        "log_level: info\nlimits: {max_in_flight: 3}\nlog_level: debug\n",
        0o600,
    );
    let e = refused(&p);
    let want = format!(
        "{name}: duplicate key `log_level` at line {} (first at line {})",
        first + 3,
        first + 1
    );
    assert!(e.contains(&want), "{e}");
    assert!(!e.contains("DuplicateKeyPolicy"), "{e}");
}

#[test]
fn a_too_open_mode_is_told_the_rule_and_the_chmod_first() {
    let d = TempDir::new("cfg-chmod");
    let p = d.path("c.yaml");
    let name = p.to_str().unwrap();
    write_config(&p, "", 0o644);
    let e = refused(&p);
    let fix = format!("required 0640 or stricter: fix it with `chmod 0640 {name}`");
    assert!(e.contains(&fix), "{e}");
    assert!(
        e.contains("only the owner and its group may read it"),
        "{e}"
    );
    let (chmod, fail_open) = (e.find("chmod").unwrap(), e.find("fail_closed").unwrap());
    assert!(chmod < fail_open, "the chmod fix comes first: {e}");
    write_config(&p, "", 0o664);
    assert!(refused(&p).contains(
        "which lets others change it; required 0640 or stricter: fix it with `chmod 0640"
    ));

    // The shipped examples say at the top that a checkout's 0644 copy is refused, and a 0644
    // copy of each is refused with the fix.
    let mut n = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let head: String = text.lines().take(6).collect::<Vec<_>>().join("\n");
        assert!(
            head.contains("0644") && head.contains("refuses"),
            "{}: {head}",
            path.display()
        );
        let copy = d.path("example.yaml");
        std::fs::write(&copy, &text).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, _, e) = run(&["check-config", "--config", copy.to_str().unwrap()]);
        assert_ne!(code, 0);
        assert!(
            e.contains("fix it with `chmod 0640"),
            "{}: {e}",
            path.display()
        );
    }
    assert!(n >= 2, "no example configs found");
}

#[test]
fn fail_closed_false_downgrades_only_readability_with_a_loud_warning() {
    let d = TempDir::new("cfg-failopen");
    let p = d.path("c.yaml");
    write_config(&p, "config: {fail_closed: false}\n", 0o644);
    let (code, _, err) = run(&["check-config", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("WARNING") && err.contains("fail_closed is false"),
        "{err}"
    );
    assert!(err.contains("mode 0644"), "{err}");
    // Writable by others is never relaxed.
    write_config(&p, "config: {fail_closed: false}\n", 0o666);
    assert!(refused(&p).contains("lets others change it"));
    // The warning is printed on every start of the server too.
    write_config(&p, "config: {fail_closed: false}\n", 0o600);
    let (code, _, err) = run(&["query", "whoami", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("fail_closed is false"), "{err}");
}

#[test]
fn environment_overrides_of_secrets_or_auth_are_refused() {
    let d = TempDir::new("cfg-env");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let out = std::process::Command::new(common::bin())
        .args(["check-config", "--config", p.to_str().unwrap()])
        .env("SYSGATE_JWT_SECRET", "hunter2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "SYSGATE_JWT_SECRET: secrets, authentication and security settings cannot be overridden"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the value must never be echoed");
    let out = std::process::Command::new(common::bin())
        .args(["check-config", "--config", p.to_str().unwrap()])
        .env("SYSGATE_LOG_LEVEL", "debug")
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn environment_names_are_checked_without_case() {
    let d = TempDir::new("cfg-env-case");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    // (variable, refused)
    let cases = [
        ("SYSGATE_audit_key", true),
        ("SYSGATE_Allow_Root", true),
        ("sysgate_jwt_secret", true),
        ("Sysgate_Fail_Closed", true),
        ("SYSGATE_Scopes", true),
        ("sysgate_color", false),
    ];
    for (name, refused) in cases {
        let out = std::process::Command::new(common::bin())
            .args(["check-config", "--config", p.to_str().unwrap()])
            .env_remove("SYSGATE_LOG_LEVEL")
            .env(name, "hunter2")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!out.status.success(), refused, "{name}: {err}");
        let want = if refused {
            format!("{name}: secrets, authentication and security settings cannot be overridden")
        } else {
            format!("{name} is not a recognised override")
        };
        assert!(err.contains(&want), "{name}: {err}");
        assert!(!err.contains("hunter2"), "the value must never be echoed");
    }
    let out = std::process::Command::new(common::bin())
        .args(["check-config", "--config", p.to_str().unwrap()])
        .env("sysgate_Log_Level", "loud")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a bad log level in any case is refused"
    );
}

#[test]
fn check_config_refuses_every_audit_log_that_serve_refuses() {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("cfg-auditcheck");
    std::fs::write(d.path("key"), "ab".repeat(32)).unwrap();
    std::fs::set_permissions(d.path("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = d.path("c.yaml");
    let with_log = |log: &std::path::Path| {
        write_config(
            &cfg,
            &format!(
                "audit:\n  path: {}\n  key_file: {}\n",
                log.display(),
                d.path("key").display()
            ),
            0o600,
        );
    };
    let logs = d.path("logs");
    std::fs::create_dir(&logs).unwrap();

    // (what, set-up, expected in the refusal)
    let missing = d.path("missing/audit.jsonl");
    with_log(&missing);
    assert!(refused(&cfg).contains("No such file or directory"));

    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o777)).unwrap();
    with_log(&logs.join("audit.jsonl"));
    assert!(refused(&cfg).contains("has mode 0777"));
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o700)).unwrap();

    let log = logs.join("audit.jsonl");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(refused(&cfg).contains("has mode 0644"));

    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&log, "not a record\n").unwrap();
    let e = refused(&cfg);
    assert!(e.contains(log.to_str().unwrap()), "{e}");

    if root_prefix().is_empty() {
        // Not root: a file we cannot write.
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(refused(&cfg).contains("Permission denied"));
    }

    // A usable log passes, and check-config opened it as serve does.
    let fresh = logs.join("fresh.jsonl");
    with_log(&fresh);
    let (code, out, err) = run(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("audit log"), "{out}");
}

#[test]
fn check_config_as_root_refuses_what_serve_refuses_as_root() {
    if root_prefix().is_empty() {
        return; // not running as root: nothing to refuse
    }
    let d = TempDir::new("cfg-root-check");
    let p = d.path("c.yaml");
    std::fs::write(&p, "log_level: info\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = refused(&p);
    assert!(
        e.contains("refusing to run as root (allow_root is false)"),
        "{e}"
    );
    assert!(e.contains("run it as the service user"), "{e}");
}

#[test]
fn refuses_root_unless_allowed() {
    if root_prefix().is_empty() {
        return; // not running as root: nothing to refuse
    }
    let d = TempDir::new("cfg-root");
    let p = d.path("c.yaml");
    std::fs::write(&p, "log_level: info\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = run(&["query", "whoami", "--config", p.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("refusing to run as root"), "{err}");
    write_config(&p, "", 0o600);
    let (code, _, err) = run(&["query", "whoami", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("running as root (allow_root: true)"), "{err}");
}

#[test]
fn a_disabled_scope_or_denied_tool_is_absent_and_refused_with_the_reason() {
    let d = TempDir::new("cfg-scopes");
    let p = d.path("c.yaml");
    write_config(&p, "queries: {deny: [get_uptime]}\n", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let list = c.request("tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"get_uptime"), "{names:?}");
    assert!(names.contains(&"whoami"));
    let r = c.call("get_uptime", json!({}));
    assert_eq!(r["result"]["isError"], true);
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("denied by this server's configuration")
    );

    write_config(&p, "scopes: {core: {enabled: false}}\n", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let list = c.request("tools/list", json!({}));
    assert!(
        list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "get_uptime")
    );
    let r = c.call("get_uptime", json!({}));
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("scope `core`, which is disabled"), "{text}");

    write_config(&p, "stdio: {scopes: [hooks]}\n", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let r = c.call("get_uptime", json!({}));
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("needs scope `core`, which this caller does not hold"),
        "{text}"
    );
}

#[test]
fn whoami_is_always_callable_and_a_config_without_tools_is_warned_about() {
    let d = TempDir::new("cfg-whoami");
    let p = d.path("c.yaml");
    let name = p.to_str().unwrap();
    // Naming it in queries.deny cannot take effect, so it is refused.
    write_config(&p, "queries: {deny: [whoami]}\n", 0o600);
    assert!(refused(&p).contains("queries.deny: `whoami` cannot be denied"));

    // (Configs that leave no tool whatever other scopes gain tools: the caller holds only
    // scopes that are disabled.)
    for yaml in [
        "scopes: {core: {enabled: false}, logs_system: {enabled: false}, hooks: {enabled: false}, sbom: {enabled: false}}\n",
        "stdio: {scopes: [\"container:read\"]}\n",
    ] {
        // A generous deadline: the first call may wait for the redactor on a busy machine.
        let yaml = format!("{yaml}resources: {{timeouts: {{minimal: 10000}}}}\n");
        let yaml = yaml.as_str();
        write_config(&p, yaml, 0o600);
        let (code, _, err) = run(&["check-config", "--config", name]);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("WARNING: stdio callers get no tools except `whoami`"),
            "{yaml}: {err}"
        );
        // The server warns at startup too (query runs the same start-up).
        let (code, out, err) = run(&["query", "whoami", "--config", name]);
        assert_eq!(code, 0, "{yaml}: {err}");
        assert!(err.contains("get no tools except `whoami`"), "{err}");
        assert!(out.contains("\"whoami\""), "{out}");

        let mut c = Client::initialized(&["serve", "--config", name]);
        assert_eq!(tool_names(&mut c), vec!["whoami".to_string()], "{yaml}");
        let r = c.call("whoami", json!({}));
        assert_eq!(r["result"]["isError"], false, "{yaml}: {r}");
        assert_eq!(r["result"]["structuredContent"]["tools"], json!(["whoami"]));
        let r = c.call("get_uptime", json!({}));
        assert_eq!(r["result"]["isError"], true, "{yaml}: {r}");
    }
    // A config that leaves tools gets no such warning.
    write_config(&p, "queries: {deny: [get_uptime]}\n", 0o600);
    let (_, _, err) = run(&["check-config", "--config", name]);
    assert!(!err.contains("get no tools"), "{err}");
}

fn tool_names(c: &mut Client) -> Vec<String> {
    let list = c.request("tools/list", json!({}));
    list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sighup_applies_a_valid_config_and_keeps_the_old_one_on_a_broken_file() {
    let d = TempDir::new("cfg-reload");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    assert!(tool_names(&mut c).contains(&"get_uptime".to_string()));

    // A valid change applies without a restart.
    write_config(&p, "queries: {deny: [get_uptime]}\n", 0o600);
    c.signal("-HUP");
    let mut applied = false;
    for _ in 0..100 {
        if !tool_names(&mut c).contains(&"get_uptime".to_string()) {
            applied = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(applied, "reload did not apply");

    // A broken file (and one with a bad mode) is rejected; the client keeps calling under the
    // previous config throughout.
    for (yaml, mode) in [
        ("queries: {deny: [get_uptime]}\nbogus_key: 1\n", 0o600),
        ("", 0o666),
    ] {
        write_config(&p, yaml, mode);
        c.signal("-HUP");
        for _ in 0..25 {
            let r = c.call("whoami", json!({}));
            assert_eq!(r["result"]["isError"], false, "{r}");
            assert!(
                !tool_names(&mut c).contains(&"get_uptime".to_string()),
                "old config must stay"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(
        c.child.try_wait().unwrap().is_none(),
        "server died on a broken reload"
    );
}

#[test]
fn the_server_process_is_hardened() {
    let d = TempDir::new("cfg-harden");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let _ = c.request("ping", json!({}));
    let pid = c.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.lines().any(|l| l == "Umask:\t0077"), "{status}");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], &["0", "0"], "{core}");
}

/// SIGHUP, SIGINT and SIGTERM as bits of a /proc `SigBlk` mask (bit n-1 for signal n).
const HANDLED_SIGNALS: u64 = 1 | (1 << 1) | (1 << 14); // SIGHUP 1, SIGINT 2, SIGTERM 15

fn blocked_signals(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// User CPU time of `pid` in clock ticks (`/proc/PID/stat` field 14; USER_HZ is 100 on Linux).
fn user_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name in parentheses start with field 3 (the state).
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(11)?.parse().ok()
}

#[test]
fn sighup_while_the_server_is_still_starting_never_kills_it() {
    let d = TempDir::new("cfg-early-hup");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    // A long command line keeps argument parsing busy for a while: the signals must already be
    // blocked while it runs, and while the config is loaded and the server built.
    let mut args = vec!["serve", "--config", p.to_str().unwrap()];
    args.extend(std::iter::repeat_n("--markdown", 80_000));
    let mut c = Client::spawn(&args);
    let pid = c.child.id();
    // A signal that arrives before the new image runs its own code (while the kernel and the
    // dynamic loader start it) has its default effect whatever the program does. That takes well
    // under a millisecond of CPU; once the process has used 20 ms of user CPU time (so it is
    // busy in `main`, parsing), the mask must already show the block, on any machine load.
    // (A build fast enough to finish starting with less CPU than that ends the wait at 5 s.)
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while user_cpu_ticks(pid).is_none_or(|t| t < 2) && std::time::Instant::now() < end {
        assert!(
            c.child.try_wait().unwrap().is_none(),
            "exited while starting"
        );
        std::thread::sleep(Duration::from_micros(100));
    }
    let mask = blocked_signals(pid).unwrap();
    assert_eq!(
        mask & HANDLED_SIGNALS,
        HANDLED_SIGNALS,
        "not blocked while starting: {mask:x}"
    );
    for _ in 0..20 {
        c.signal("-HUP");
    }
    let r = c.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}));
    assert_eq!(r["result"]["protocolVersion"], "2025-11-25", "{r}");
    assert!(c.child.try_wait().unwrap().is_none(), "killed by SIGHUP");
}

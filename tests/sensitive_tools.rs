//! The `sensitive` tools through the real binary (`sysgate query` and a stdio session, with a
//! config that enables the scope), compared with independent sources on this machine:
//! `getent`/`id` for accounts, `sshd -T` for the effective sshd settings of fixture configs,
//! `visudo -c -f` for a sudoers fixture, and `strace` to prove `/etc/shadow` is never opened.
//! Every `structuredContent` is validated against the tool's published `outputSchema`.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests run getent, id, strace, sshd -T, ssh-keygen and visudo to check the tools"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the tests stop at the first surprise"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::schema::{assert_fits, listed_output_schemas};
use common::{Client, TempDir, audit, bin, write_config};
use serde_json::{Value, json};
use sysgate::testing::tools::schema::Schema;
use sysgate::testing::tools::sensitive::{read_ssh_config, read_sudo_config};

const SENSITIVE: [&str; 4] = [
    "get_user_accounts",
    "get_sudo_config",
    "get_ssh_config",
    "get_open_files",
];

struct Setup {
    dir: TempDir,
    config: PathBuf,
    log: PathBuf,
}

/// A config with `scopes.sensitive.enabled` as given, and an audit log.
fn setup(tag: &str, sensitive: bool) -> Setup {
    let dir = TempDir::new(tag);
    let (log, audit) = audit::log_in(&dir);
    let config = dir.path("c.yaml");
    write_config(
        &config,
        &format!("scopes:\n  sensitive: {{enabled: {sensitive}}}\n{audit}"),
        0o600,
    );
    Setup { dir, config, log }
}

impl Setup {
    fn cfg(&self) -> &str {
        self.config.to_str().unwrap()
    }

    fn records(&self) -> Vec<Value> {
        audit::records_if_any(&self.log)
    }
}

/// `sysgate query TOOL --args ARGS`: the tools/call result.
fn query(s: &Setup, tool: &str, args: Value) -> Value {
    let out = Command::new(bin())
        .args([
            "query",
            tool,
            "--args",
            &args.to_string(),
            "--config",
            s.cfg(),
        ])
        .env_remove("SYSGATE_LOG_LEVEL")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{tool}: stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The output schemas as `tools/list` publishes them to a session of this config.
fn output_schemas(s: &Setup) -> BTreeMap<String, Schema> {
    listed_output_schemas(&mut Client::initialized(&["serve", "--config", s.cfg()]))
}

/// A successful result's `structuredContent`, checked against the published schema.
fn ok(schemas: &BTreeMap<String, Schema>, tool: &str, r: &Value) -> Value {
    assert_eq!(r["isError"], false, "{tool}: {r}");
    let sc = r["structuredContent"].clone();
    assert_fits(&schemas[tool], &sc, tool);
    sc
}

fn program(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn text_of(r: &Value) -> String {
    r["content"][0]["text"].as_str().unwrap_or("").to_string()
}

#[test]
fn sensitive_tools_are_listed_and_run_only_when_the_scope_is_enabled() {
    let off = setup("sens-off", false);
    let names: Vec<String> = output_schemas(&off).into_keys().collect();
    for t in SENSITIVE {
        assert!(!names.iter().any(|n| n == t), "{t} listed while disabled");
        let r = query(&off, t, json!({"pid": 1}));
        assert_eq!(r["isError"], true);
        assert!(
            text_of(&r).contains("scope `sensitive`, which is disabled"),
            "{r}"
        );
    }
    let on = setup("sens-on", true);
    let schemas = output_schemas(&on);
    for t in SENSITIVE {
        assert!(schemas.contains_key(t), "{t} not listed while enabled");
    }
}

#[test]
fn user_accounts_match_getent_and_id() {
    let s = setup("sens-accounts", true);
    let schemas = output_schemas(&s);
    let v = ok(
        &schemas,
        "get_user_accounts",
        &query(&s, "get_user_accounts", json!({})),
    );
    let out = Command::new("getent").arg("passwd").output().unwrap();
    let getent = String::from_utf8(out.stdout).unwrap();
    let users = v["users"].as_array().unwrap();
    assert_eq!(v["count"], users.len());
    let mut want = Vec::new();
    for line in getent.lines() {
        let f: Vec<&str> = line.split(':').collect();
        want.push(json!({
            "name": f[0], "uid": f[2].parse::<u64>().unwrap(), "gid": f[3].parse::<u64>().unwrap(),
            "gecos": f[4], "home": f[5], "shell": f[6],
        }));
    }
    let got: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"name": u["name"], "uid": u["uid"], "gid": u["gid"], "gecos": u["gecos"],
                   "home": u["home"], "shell": u["shell"]})
        })
        .collect();
    assert_eq!(got, want);
    for u in users {
        // `id -nG` lists the primary group first, then the supplementary ones.
        let name = u["name"].as_str().unwrap();
        let out = Command::new("id")
            .args(["-nG", "--", name])
            .output()
            .unwrap();
        let groups: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut ours: Vec<String> = u["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect();
        if let Some(p) = u["primary_group"].as_str() {
            ours.retain(|g| g != p);
            ours.insert(0, p.to_string());
        }
        let mut a = groups.clone();
        let mut b = ours.clone();
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        assert_eq!(a, b, "{name}");
        let shell = u["shell"].as_str().unwrap();
        let no_login = shell.ends_with("/nologin") || shell.ends_with("/false");
        assert_eq!(u["login_shell"], !no_login, "{name}");
    }
    let root = users.iter().find(|u| u["name"] == "root").unwrap();
    assert_eq!(root["kind"], "system");
    // No password field, not even the `x` placeholder, anywhere in the answer.
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains("\"x\""), "{text}");
    assert!(!text.contains("$6$") && !text.contains("$y$"), "{text}");
}

#[test]
fn shadow_files_are_never_opened() {
    let Some(strace) = program("strace") else {
        eprintln!("SKIPPED: strace is not installed (scripts/test.sh installs it)");
        return;
    };
    let s = setup("sens-strace", true);
    let trace = s.dir.path("trace.txt");
    let out = common::host::succeed(
        Command::new(strace)
            .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
            .arg(&trace)
            .arg(bin())
            .args(["query", "get_user_accounts", "--config", s.cfg()]),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["isError"], false, "{v}");
    let t = std::fs::read_to_string(&trace).unwrap();
    // The trace saw the files the tool reads, so its silence about shadow means something.
    assert!(t.contains("\"/etc/passwd\""), "{t}");
    assert!(t.contains("\"/etc/group\""), "{t}");
    assert!(!t.contains("shadow"), "{t}");
}

#[test]
fn open_files_finds_the_tests_file_and_refuses_an_unfiltered_query() {
    let s = setup("sens-open", true);
    let schemas = output_schemas(&s);
    let dir = TempDir::new("sens-held");
    let path = dir.path("held-open.txt");
    let _held = std::fs::File::create(&path).unwrap();
    let me = std::process::id();
    let mine = |v: &Value| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["pid"] == me && f["target"] == path.to_str().unwrap())
            .cloned()
    };
    let prefix = dir
        .path("")
        .to_str()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let v = ok(
        &schemas,
        "get_open_files",
        &query(&s, "get_open_files", json!({"path_prefix": prefix})),
    );
    let f = mine(&v).unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        (f["kind"].as_str(), f["access"].as_str()),
        (Some("file"), Some("write"))
    );
    assert_eq!(v["returned"], v["files"].as_array().unwrap().len());
    let v = ok(
        &schemas,
        "get_open_files",
        &query(&s, "get_open_files", json!({"pid": me, "limit": 1000})),
    );
    assert!(mine(&v).is_some(), "{v}");
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["pid"] == me)
    );
    let v = ok(
        &schemas,
        "get_open_files",
        &query(&s, "get_open_files", json!({"pid": me, "limit": 1})),
    );
    assert_eq!(v["returned"], 1);
    assert_eq!(
        v["omitted"].as_u64().unwrap() + 1,
        v["matched"].as_u64().unwrap()
    );

    // `{}` is refused by the gate with the seed's message, audited as a requirement denial,
    // and no handler ran (no `query` record).
    let before = s.records().len();
    for args in [json!({}), json!({"limit": 10})] {
        let r = query(&s, "get_open_files", args);
        assert_eq!(r["isError"], true);
        assert_eq!(
            text_of(&r),
            "denied: get_open_files needs one of `pid`, `path_prefix`, `user` (it never lists everything at once)"
        );
    }
    let recs = s.records();
    let new: Vec<&Value> = recs[before..]
        .iter()
        .filter(|r| r["event"] != "startup" && r["event"] != "shutdown")
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    for r in new {
        assert_eq!(r["event"], "query_denied");
        assert_eq!(r["detail"]["denial"], "requirement_unmet");
    }
    // Hostile values are refused at the gate with the argument named.
    for (args, arg) in [
        (json!({"path_prefix": "/tmp/../etc"}), "path_prefix"),
        (json!({"path_prefix": "relative"}), "path_prefix"),
        (json!({"path_prefix": "/tmp/a\u{0}b"}), "path_prefix"),
        (
            json!({"path_prefix": format!("/{}", "a".repeat(10_000))}),
            "path_prefix",
        ),
        (json!({"user": "-rf"}), "user"),
        (json!({"user": "$(id)"}), "user"),
        (json!({"pid": 0}), "pid"),
        (json!({"pid": 99_999_999}), "pid"),
    ] {
        let r = query(&s, "get_open_files", args.clone());
        assert_eq!(r["isError"], true, "{args}");
        assert!(text_of(&r).contains(&format!("`{arg}`")), "{args}: {r}");
    }
    let r = query(&s, "get_open_files", json!({"user": "no-such-user-here"}));
    assert!(text_of(&r).contains("no such user"), "{r}");
}

/// `sshd -T` of `config`: keyword → values (one per printed line; a line's words for the
/// keywords sshd prints on one line).
fn sshd_t(sshd: &Path, config: &Path, hostkey: &Path) -> BTreeMap<String, Vec<String>> {
    let out = Command::new(sshd)
        .arg("-T")
        .arg("-f")
        .arg(config)
        .arg("-h")
        .arg(hostkey)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sshd -T -f {}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        let e = m.entry(k.to_string()).or_default();
        if k == "authorizedkeysfile" {
            e.extend(v.split_whitespace().map(str::to_string));
        } else {
            e.push(v.to_string());
        }
    }
    m
}

/// The keywords the comparison covers: the security-relevant ones the tool fills in.
const COMPARED: &[&str] = &[
    "permitrootlogin",
    "passwordauthentication",
    "pubkeyauthentication",
    "kbdinteractiveauthentication",
    "permitemptypasswords",
    "x11forwarding",
    "allowtcpforwarding",
    "allowagentforwarding",
    "usepam",
    "port",
    "listenaddress",
    "authorizedkeysfile",
    "maxauthtries",
    "logingracetime",
    "clientaliveinterval",
    "ciphers",
    "macs",
    "kexalgorithms",
    "allowusers",
    "allowgroups",
    "denyusers",
    "denygroups",
];

#[test]
fn ssh_config_agrees_with_sshd_t_on_fixtures() {
    let Some(sshd) = program("sshd") else {
        eprintln!("SKIPPED: sshd is not installed (scripts/test.sh installs openssh-server)");
        return;
    };
    // sshd -T insists on its privilege separation directory.
    if !Path::new("/run/sshd").is_dir() && std::fs::create_dir_all("/run/sshd").is_err() {
        eprintln!("SKIPPED: /run/sshd is missing and cannot be created (not root)");
        return;
    }
    let dir = TempDir::new("sens-sshd");
    let hostkey = dir.path("hostkey");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&hostkey)
        .status()
        .unwrap();
    assert!(st.success());
    let d = dir.path("conf.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("10-first.conf"),
        "PasswordAuthentication no\nPort 2200\nAllowUsers carol@10.0.0.0/8\n",
    )
    .unwrap();
    std::fs::write(
        d.join("20-match.conf"),
        "Match User bob\n  PermitRootLogin yes\n  X11Forwarding yes\n",
    )
    .unwrap();
    std::fs::write(d.join("ignored.txt"), "PermitRootLogin yes\n").unwrap();
    let fixtures = [
        ("empty", String::new()),
        (
            "full",
            format!(
                "# a fixture\nInclude {}/*.conf\n\
                 PermitRootLogin prohibit-password\n\
                 passwordauthentication yes\n\
                 PubkeyAuthentication=yes\n\
                 ChallengeResponseAuthentication no\n\
                 PermitEmptyPasswords no\n\
                 X11Forwarding yes\n\
                 AllowTcpForwarding local\n\
                 AllowAgentForwarding no\n\
                 UsePAM yes\n\
                 Port 2222\n\
                 ListenAddress 127.0.0.1\n\
                 ListenAddress [::1]:2300\n\
                 AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n\
                 MaxAuthTries 3\n\
                 LoginGraceTime 1m30s\n\
                 ClientAliveInterval 5m\n\
                 Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n\
                 MACs hmac-sha2-512-etm@openssh.com\n\
                 KexAlgorithms curve25519-sha256\n\
                 AllowUsers alice bob\n\
                 AllowGroups ssh-users\n\
                 DenyUsers mallory\n\
                 DenyGroups nossh wheel\n\
                 PermitRootLogin yes\n\
                 Match Address 192.168.0.0/16\n\
                 \tPasswordAuthentication yes\n",
                d.display()
            ),
        ),
        (
            "family",
            "AddressFamily inet\nPort 2022\nPort 2023\nPermitRootLogin forced-commands-only\nAllowTcpForwarding no\n"
                .to_string(),
        ),
    ];
    for (name, text) in &fixtures {
        let file = dir.path(name);
        std::fs::write(&file, text).unwrap();
        let want = sshd_t(&sshd, &file, &hostkey);
        let v = read_ssh_config(&file, Path::new("/etc/ssh")).unwrap();
        let settings = v["settings"].as_array().unwrap();
        let mut compared = 0;
        for k in COMPARED {
            let Some(s) = settings.iter().find(|s| s["keyword"] == *k) else {
                // Not reported (Ciphers/MACs/KexAlgorithms only when set).
                assert!(
                    matches!(*k, "ciphers" | "macs" | "kexalgorithms"),
                    "{name}: {k} missing"
                );
                continue;
            };
            let ours: Vec<String> = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            let ours = if ours.len() > 1
                && !matches!(
                    *k,
                    "port"
                        | "listenaddress"
                        | "allowusers"
                        | "allowgroups"
                        | "denyusers"
                        | "denygroups"
                        | "authorizedkeysfile"
                ) {
                vec![ours.join(" ")]
            } else {
                ours
            };
            let theirs = want.get(*k).cloned().unwrap_or_default();
            assert_eq!(ours, theirs, "{name}: {k}");
            compared += 1;
        }
        assert!(compared >= 19, "{name}: {compared}");
    }
    // The Match block of the include is reported, not applied; the ignored file is not read.
    let v = read_ssh_config(&dir.path("full"), Path::new("/etc/ssh")).unwrap();
    let crit: Vec<&str> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["criteria"].as_str().unwrap())
        .collect();
    assert_eq!(crit, ["User bob", "Address 192.168.0.0/16"]);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("ignored.txt")));

    // The host's own configuration through the binary, when there is one.
    if Path::new("/etc/ssh/sshd_config").exists() {
        let s = setup("sens-ssh-host", true);
        let schemas = output_schemas(&s);
        let v = ok(
            &schemas,
            "get_ssh_config",
            &query(&s, "get_ssh_config", json!({})),
        );
        let want = sshd_t(&sshd, Path::new("/etc/ssh/sshd_config"), &hostkey);
        for k in [
            "permitrootlogin",
            "passwordauthentication",
            "usepam",
            "x11forwarding",
            "port",
        ] {
            let s = v["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["keyword"] == k)
                .unwrap();
            let ours: Vec<String> = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            assert_eq!(Some(&ours), want.get(k), "host: {k}");
        }
    }
}

/// A sudoers file with most of the grammar, which `visudo -c -f` accepts.
const SUDOERS: &str = "\
# fixture
Defaults\tenv_reset
Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"
Defaults:%ops !lecture, timestamp_timeout=5
Defaults@web01 log_output
Defaults>root env_keep += \"HOME EDITOR\"
Defaults!/usr/bin/less noexec
User_Alias ADMINS = alice, bob : OPS = carol, %ops
Runas_Alias DBA = postgres, mysql
Host_Alias WEB = web01, web02, 10.0.0.0/8
Cmnd_Alias SERVICES = /usr/bin/systemctl start *, /usr/bin/systemctl stop *, \\
\t/usr/bin/systemctl restart *
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
ADMINS WEB = (DBA) NOPASSWD: SERVICES, /usr/bin/psql, PASSWD: /bin/ls : ALL = (root) /bin/true
alice ALL = (:adm) NOEXEC: /usr/bin/tail /var/log/syslog
#1000 ALL = !/bin/sh, /bin/echo a\\,b
%#27 ALL = CWD=/tmp /bin/pwd
@includedir SUBDIR
";

#[test]
fn sudo_config_parses_what_visudo_accepts_and_reports_modes() {
    let dir = TempDir::new("sens-sudo");
    let sub = dir.path("sudoers.d");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("10-ops"),
        "%ops ALL = (root) /usr/bin/journalctl\n",
    )
    .unwrap();
    std::fs::write(sub.join("skipped.conf"), "this is not = sudoers = at all\n").unwrap();
    let main = dir.path("sudoers");
    std::fs::write(&main, SUDOERS.replace("SUBDIR", sub.to_str().unwrap())).unwrap();
    for f in [&main, &sub.join("10-ops")] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o440)).unwrap();
    }
    match program("visudo") {
        Some(visudo) => {
            let out = Command::new(visudo)
                .arg("-c")
                .arg("-f")
                .arg(&main)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "visudo refuses the fixture: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None => eprintln!(
            "visudo is not installed (scripts/test.sh installs sudo); parsing the fixture anyway"
        ),
    }
    let v = read_sudo_config(&main).unwrap();
    assert_eq!(v["parse_problems"], json!([]), "{v}");
    let rules = v["rules"].as_array().unwrap();
    let users: Vec<&str> = rules
        .iter()
        .map(|r| r["users"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        [
            "root", "%sudo", "ADMINS", "ADMINS", "alice", "#1000", "%#27", "%ops"
        ]
    );
    let admins = &rules[2]["commands"];
    assert_eq!(admins[0]["runas_users"], json!(["DBA"]));
    assert_eq!(admins[0]["tags"], json!(["NOPASSWD"]));
    assert_eq!(admins[2]["tags"], json!(["PASSWD"]));
    assert_eq!(admins[2]["command"], "/bin/ls");
    assert_eq!(rules[3]["hosts"], json!(["ALL"]));
    assert_eq!(rules[4]["commands"][0]["runas_groups"], json!(["adm"]));
    assert_eq!(v["aliases"].as_array().unwrap().len(), 5);
    assert_eq!(v["aliases"][4]["members"].as_array().unwrap().len(), 3);
    assert_eq!(v["defaults"].as_array().unwrap().len(), 6);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(files[0]["mode"], "0440");
    assert_eq!(files[1]["kind"], "directory");

    // The host's own sudoers through the binary, when sudo is installed.
    if Path::new("/etc/sudoers").exists() && common::euid_is_root() {
        let s = setup("sens-sudo-host", true);
        let schemas = output_schemas(&s);
        let v = ok(
            &schemas,
            "get_sudo_config",
            &query(&s, "get_sudo_config", json!({})),
        );
        assert_eq!(v["files"][0]["path"], "/etc/sudoers");
        assert_eq!(v["files"][0]["owner_uid"], 0);
        assert_eq!(v["parse_problems"], json!([]), "{v}");
        assert!(!v["rules"].as_array().unwrap().is_empty());
    }
}

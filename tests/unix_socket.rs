//! The Unix socket transport through the real binary: peers named by the kernel and mapped by
//! `unix.peers`, refusals (an unmapped peer, a full connection table) audited, the socket path
//! rules (stale socket replaced; a live one, a regular file and a world-writable directory
//! refused), the idle and write timeouts, `sysgate connect` as a relay, and socket activation.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary they test, as another user too"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop at the first surprise"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, bin, write_config};
use serde_json::{Value, json};

struct Served {
    child: Child,
    socket: PathBuf,
    audit: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn stderr(mut self) -> String {
        let _ = self.child.kill();
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    fn audit_lines(&self) -> Vec<Value> {
        common::audit::records_if_any(&self.audit)
    }
}

/// A config dir (mode 0711, so `nobody` can reach the socket) with an audit log, and `unix`
/// settings appended.
fn setup(d: &TempDir, unix: &str) -> PathBuf {
    std::fs::set_permissions(d.path(""), std::fs::Permissions::from_mode(0o711)).unwrap();
    let key = d.path("audit.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = d.path("c.yaml");
    let sock = d.path("s.sock");
    write_config(
        &cfg,
        &format!(
            "transport: unix\naudit:\n  path: {}\n  key_file: {}\nunix:\n  path: {}\n{unix}",
            d.path("audit.jsonl").display(),
            key.display(),
            sock.display()
        ),
        0o600,
    );
    cfg
}

fn serve(d: &TempDir, cfg: &Path) -> Served {
    let child = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = Served {
        child,
        socket: d.path("s.sock"),
        audit: d.path("audit.jsonl"),
    };
    let end = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(&s.socket).is_err() {
        assert!(Instant::now() < end, "no socket: {}", s.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    // That probe connection counted; let the server see it close.
    std::thread::sleep(Duration::from_millis(50));
    s
}

struct Client {
    w: UnixStream,
    r: BufReader<UnixStream>,
}

impl Client {
    fn connect(path: &Path) -> Client {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, v: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        self.w.write_all(&line)
    }

    /// The next line, or `None` at EOF.
    fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.r.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap()),
        }
    }

    fn initialize(&mut self) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "unix-test", "version": "1"}}}),
        )
        .unwrap();
        let r = self.recv().expect("initialize answered");
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .unwrap();
        r
    }

    fn call(&mut self, id: u64, name: &str) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": {}}}))
            .unwrap();
        self.recv().expect("an answer")
    }
}

fn whoami(c: &mut Client) -> Value {
    let r = c.call(1, "whoami");
    r["result"]["structuredContent"].clone()
}

#[test]
fn a_mapped_peer_gets_its_scopes_and_the_kernel_names_it() {
    let d = TempDir::new("unix-mapped");
    let cfg = setup(&d, "  peers:\n    - uid: 0\n      scopes: [core]\n");
    let s = serve(&d, &cfg);
    let meta = std::fs::symlink_metadata(&s.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    let mut c = Client::connect(&s.socket);
    assert_eq!(c.initialize()["result"]["protocolVersion"], "2025-11-25");
    let who = whoami(&mut c);
    let pid = std::process::id();
    assert_eq!(who["identity"], format!("unix:uid=0(root),pid={pid}"));
    assert_eq!(who["scopes"], json!(["core"]));
    // A tool outside the granted scope is refused by the gate, not hidden by the transport.
    let r = c.call(2, "get_uptime");
    assert_eq!(r["result"]["isError"], false, "{r}");
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    let audit = s.audit_lines();
    assert!(
        audit
            .iter()
            .any(|r| r["event"] == "auth_success" && r["client"]["transport"] == "unix"),
        "{audit:?}"
    );
}

#[test]
fn an_unmapped_peer_is_refused_and_audited_and_a_group_rule_admits_nobody() {
    let d = TempDir::new("unix-unmapped");
    let cfg = setup(
        &d,
        "  mode: \"0660\"\n  group: nogroup\n  peers:\n    - group: nogroup\n      scopes: [core]\n",
    );
    let s = serve(&d, &cfg);
    let meta = std::fs::symlink_metadata(&s.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660);
    // Root is not in nogroup: refused before any byte is read.
    let mut c = Client::connect(&s.socket);
    let _ = c.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}));
    assert!(c.recv().is_none(), "the refused peer got an answer");
    std::thread::sleep(Duration::from_millis(200));
    let refused: Vec<Value> = s
        .audit_lines()
        .into_iter()
        .filter(|r| r["event"] == "auth_failure")
        .collect();
    // `serve`'s readiness probe and this connection, both root.
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[1]["client"]["peer_uid"], "0");
    assert_eq!(refused[1]["client"]["transport"], "unix");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no unix.peers rule")
    );

    // nobody (primary group nogroup) through `sysgate connect`, run as nobody.
    let mut relay = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
        .args(["connect", "--socket", s.socket.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = relay.stdin.take().unwrap();
    for m in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "n", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}),
    ] {
        writeln!(input, "{m}").unwrap();
    }
    drop(input);
    let out = relay.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let who = &lines[1]["result"]["structuredContent"];
    assert!(
        who["identity"]
            .as_str()
            .unwrap()
            .starts_with("unix:uid=65534(nobody),pid="),
        "{who}"
    );
    assert_eq!(who["scopes"], json!(["core"]));
}

#[test]
fn the_socket_path_rules() {
    // A stale socket (nobody listening) is replaced.
    let d = TempDir::new("unix-stale");
    let cfg = setup(&d, "  peers:\n    - uid: 0\n      scopes: [core]\n");
    drop(UnixListener::bind(d.path("s.sock")).unwrap());
    let s = serve(&d, &cfg);
    let mut c = Client::connect(&s.socket);
    c.initialize();
    // A second server on the same path refuses to take over the live socket.
    let second = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by a running server"), "{err}");
    // The first still serves.
    assert_eq!(whoami(&mut c)["scopes"], json!(["core"]));
    drop(s);

    // A regular file at the path is never replaced.
    let d = TempDir::new("unix-file");
    let cfg = setup(&d, "  peers:\n    - uid: 0\n      scopes: [core]\n");
    std::fs::write(d.path("s.sock"), "precious").unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a socket; refusing to replace it")
    );
    assert_eq!(
        std::fs::read_to_string(d.path("s.sock")).unwrap(),
        "precious"
    );

    // A directory others can write is refused.
    let d = TempDir::new("unix-worldwritable");
    let cfg = setup(&d, "  peers:\n    - uid: 0\n      scopes: [core]\n");
    std::fs::set_permissions(d.path(""), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("writable by group or others"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!d.path("s.sock").exists());
}

#[test]
fn config_refuses_what_cannot_be_safe() {
    // (unix section, what check-config says)
    let cases = [
        ("", "unix.peers: no rule"),
        (
            "  mode: \"0666\"\n  peers:\n    - uid: 0\n      scopes: [core]\n",
            "unix.mode",
        ),
        (
            "  mode: \"0660\"\n  peers:\n    - uid: 0\n      scopes: [core]\n",
            "name that group in unix.group",
        ),
        (
            "  peers:\n    - uid: 0\n      user: root\n      scopes: [core]\n",
            "exactly one of uid, user, gid, group",
        ),
        (
            "  peers:\n    - user: no-such-user-here\n      scopes: [core]\n",
            "no entry `no-such-user-here`",
        ),
        (
            "  peers:\n    - uid: 0\n      scopes: [nonsense]\n",
            "unknown scope `nonsense`",
        ),
        (
            "  max_connections: 0\n  peers:\n    - uid: 0\n      scopes: [core]\n",
            "unix.max_connections: 0 is out of range",
        ),
        (
            "  max_connections: \"5\"\n  peers:\n    - uid: 0\n      scopes: [core]\n",
            "quoted string",
        ),
    ];
    for (unix, want) in cases {
        let d = TempDir::new("unix-config");
        let cfg = setup(&d, unix);
        let (code, _, err) = common::run(&["check-config", "--config", cfg.to_str().unwrap()]);
        assert_ne!(code, 0, "{unix}");
        assert!(err.contains(want), "{unix}: {err}");
    }
}

#[test]
fn the_connection_cap_and_the_idle_timeout_hold() {
    let d = TempDir::new("unix-cap");
    let cfg = setup(
        &d,
        "  max_connections: 2\n  idle_timeout_secs: 1\n  peers:\n    - uid: 0\n      scopes: [core]\n",
    );
    let s = serve(&d, &cfg);
    let mut a = Client::connect(&s.socket);
    let mut b = Client::connect(&s.socket);
    a.initialize();
    b.initialize();
    // The third is closed at once, and audited.
    let mut c = Client::connect(&s.socket);
    let _ = c.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "ping"}));
    assert!(c.recv().is_none());
    // The idle timeout closes a silent connection, which frees its slot.
    let t = Instant::now();
    assert!(a.recv().is_none(), "an idle connection was left open");
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(b.recv().is_none());
    std::thread::sleep(Duration::from_millis(100));
    let mut e = Client::connect(&s.socket);
    e.initialize();
    assert_eq!(whoami(&mut e)["scopes"], json!(["core"]));
    let reasons: Vec<String> = s
        .audit_lines()
        .iter()
        .filter(|r| r["event"] == "auth_failure")
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["unix.max_connections (2) reached"]);
}

#[test]
fn a_peer_that_stops_reading_is_cut_off_and_others_are_still_served() {
    let d = TempDir::new("unix-slow");
    let cfg = setup(
        &d,
        "  write_timeout_secs: 1\n  peers:\n    - uid: 0\n      scopes: [core]\n",
    );
    let s = serve(&d, &cfg);
    let mut slow = Client::connect(&s.socket);
    slow.initialize();
    // Ask for big answers and never read them: the socket buffer fills, the server's write
    // times out, and it closes the connection instead of buffering.
    let sender = {
        let mut w = slow.w.try_clone().unwrap();
        std::thread::spawn(move || {
            for id in 10..2000u64 {
                let m = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "get_processes", "arguments": {"limit": 500}}});
                if writeln!(w, "{m}").is_err() {
                    return id;
                }
            }
            2000
        })
    };
    std::thread::sleep(Duration::from_secs(4));
    let mut other = Client::connect(&s.socket);
    other.initialize();
    let t = Instant::now();
    assert_eq!(whoami(&mut other)["scopes"], json!(["core"]));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let stopped_at = sender.join().unwrap();
    assert!(
        stopped_at < 2000,
        "the stalled peer's connection was never closed"
    );
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{}/status", s.child.id()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kb < 64 * 1024, "VmHWM {rss_kb} kB");
}

#[test]
fn socket_activation_serves_the_passed_socket() {
    let d = TempDir::new("unix-activation");
    let cfg = setup(&d, "  peers:\n    - uid: 0\n      scopes: [core]\n");
    let path = d.path("activated.sock");
    // systemd's own helper: listens on PATH, then runs sysgate with the socket as fd 3 and
    // LISTEN_FDS/LISTEN_PID set, as a socket unit would.
    let mut child = Command::new("systemd-socket-activate")
        .args(["-l", path.to_str().unwrap(), bin(), "serve", "--config"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (package systemd) is needed for this test");
    let end = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < end,
            "systemd-socket-activate made no socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = Client::connect(&path);
    assert_eq!(c.initialize()["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(whoami(&mut c)["scopes"], json!(["core"]));
    // It served the passed socket and did not create the configured path.
    assert!(!d.path("s.sock").exists());
    let _ = child.kill();
    let _ = child.wait();
}

//! Helpers shared by the integration tests: a scratch directory ([`TempDir`], from `tempdir.rs`,
//! which the benchmarks share), config files with exact modes, and a line-based JSON-RPC client
//! over the real binary's stdio (every read has a timeout so a hang fails the test instead of
//! blocking it).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared by test binaries that each use part of it; tests stop at the first surprise"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary they test, signal it with kill(1), and run the host \
              programs they check it against (common::host)"
)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

pub mod audit;
pub mod child;
pub mod host;
pub mod in_process;
pub mod schema;
mod tempdir;
pub use tempdir::TempDir;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sysgate")
}

/// When the tests run as root, configs must opt in to running as root.
pub fn root_prefix() -> &'static str {
    if euid_is_root() {
        "allow_root: true\n"
    } else {
        ""
    }
}

pub fn euid_is_root() -> bool {
    // /proc/self/status "Uid:" line: real, effective, saved, fs.
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

/// Write `yaml` (with the root opt-in prepended when needed) to `path` with `mode`.
pub fn write_config(path: &Path, yaml: &str, mode: u32) {
    std::fs::write(path, format!("{}{yaml}", root_prefix())).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Run the binary to completion; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env_remove("SYSGATE_LOG_LEVEL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `sysgate serve` of config `yaml` (mode 0600, in a scratch directory named for `tag`),
/// initialized; the directory goes when the caller drops it.
pub fn serve(tag: &str, yaml: &str) -> (TempDir, Client) {
    let d = TempDir::new(tag);
    let p = d.path("c.yaml");
    write_config(&p, yaml, 0o600);
    let c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    (d, c)
}

/// A running `sysgate serve` with a JSON-RPC line client.
pub struct Client {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: i64,
}

impl Client {
    pub fn spawn(args: &[&str]) -> Client {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        Client::spawn_command(cmd)
    }

    /// Spawn `cmd` (which must end up running the binary, e.g. under `unshare`).
    pub fn spawn_command(mut cmd: Command) -> Client {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Client {
            child,
            stdin,
            lines: rx,
            next_id: 1,
        }
    }

    /// Spawn and complete the legacy handshake.
    pub fn initialized(args: &[&str]) -> Client {
        Client::handshake(Client::spawn(args))
    }

    /// [`Client::spawn_command`] and complete the legacy handshake.
    pub fn initialized_command(cmd: Command) -> Client {
        Client::handshake(Client::spawn_command(cmd))
    }

    fn handshake(mut c: Client) -> Client {
        let r = c.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}));
        assert_eq!(r["result"]["protocolVersion"], "2025-11-25", "{r}");
        c.notify("notifications/initialized", json!({}));
        c
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        self.send_raw(&line);
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and wait for the response with its id (other messages are skipped).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(&json!(id), Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no answer to {method} (id {id})"))
    }

    pub fn call(&mut self, tool: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": args}))
    }

    pub fn recv(&mut self, timeout: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
        )
    }

    pub fn wait_for(&mut self, id: &Value, timeout: Duration) -> Option<Value> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let left = end.checked_duration_since(std::time::Instant::now())?;
            let msg = self.recv(left)?;
            if msg.get("id") == Some(id) {
                return Some(msg);
            }
        }
    }

    /// Send `sig` (as kill(1) spells it, e.g. `-HUP`) to the server; kill must succeed.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill {sig} {}", self.child.id());
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

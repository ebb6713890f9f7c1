//! Helpers shared by the benchmarks in `examples/`, each of which includes this file with
//! `#[path = "common/mod.rs"] mod common;` (a directory without `main.rs` is not an example of
//! its own): the scratch directory ([`TempDir`], shared with the tests), a config file the
//! binary accepts, fields of `/proc/PID/status`, a blocking line client over the server's stdio,
//! and the summaries of a set of timings.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared by benchmarks that each use part of it; a benchmark stops at the first surprise"
)]

use std::fmt::Display;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

#[path = "../../tests/common/tempdir.rs"]
mod tempdir;
pub use tempdir::TempDir;

/// The value of field `key` in `/proc/{pid}/status` (`pid` a number or `self`), trimmed.
pub fn status_field(pid: impl Display, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The number of a `/proc/{pid}/status` field counted in kB (`VmRSS`, `VmHWM`, ...).
pub fn status_kb(pid: impl Display, key: &str) -> Option<u64> {
    status_field(pid, key)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's effective uid (`u32::MAX` if /proc cannot say).
pub fn euid() -> u32 {
    status_field("self", "Uid")
        .and_then(|v| v.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Writes `dir/name` with `body`, owned by us and mode 0600 as the binary demands, preceded by
/// the root opt-in (`allow_root: true`) when running as root; returns its path.
pub fn write_config(dir: &TempDir, name: &str, body: &str) -> PathBuf {
    let path = dir.path(name);
    let root = if euid() == 0 {
        "allow_root: true\n"
    } else {
        ""
    };
    std::fs::write(&path, format!("{root}{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The `initialize` parameters every benchmark sends, naming itself `client`.
pub fn initialize_params(client: &str) -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {},
           "clientInfo": {"name": client, "version": "1"}})
}

/// Starts `cmd` with stdin and stdout piped and stderr discarded.
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", cmd.get_program().display()))
}

/// One server process with a blocking line client (no reader thread, so nothing but the pipe
/// sits between the measurement and the server). Each request is one write of one line.
pub struct Server {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
    /// The last line read.
    pub line: String,
    next_id: u64,
}

impl Server {
    /// Starts `cmd` (the binary and its arguments; the pipes are set here).
    pub fn spawn(cmd: &mut Command) -> Server {
        let mut child = spawn_piped(cmd);
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server {
            child,
            stdin,
            stdout,
            line: String::new(),
            next_id: 1,
        }
    }

    /// Queue one request line; returns its id.
    pub fn send(&mut self, method: &str, params: &Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Writes `v` as one line.
    pub fn write(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).unwrap();
    }

    /// Read the next line (the caller parses it outside any timed section).
    pub fn read_line(&mut self) -> &str {
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).unwrap();
        assert!(n > 0, "the server closed stdout (did it refuse to start?)");
        &self.line
    }

    /// Sends a request and returns its response, passing over lines with other ids.
    pub fn request(&mut self, method: &str, params: &Value) -> Value {
        let id = self.send(method, params);
        loop {
            let v: Value = serde_json::from_str(self.read_line()).unwrap();
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    /// `initialize` as client `client`.
    pub fn initialize(&mut self, client: &str) -> Value {
        self.request("initialize", &initialize_params(client))
    }

    pub fn notify_initialized(&mut self) {
        self.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin and waits for the server to exit.
    pub fn close(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }

    /// Kills the server and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The middle sample (the upper of the two middle ones for an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// A set of timings, sorted, summarised with nearest-rank percentiles.
pub struct Stats {
    pub sorted: Vec<Duration>,
}

impl Stats {
    pub fn new(mut samples: Vec<Duration>) -> Stats {
        samples.sort_unstable();
        Stats { sorted: samples }
    }

    /// Nearest-rank percentile.
    pub fn pct(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }

    /// `n= min= median= p90= p99= max=`.
    pub fn line(&self, unit: Unit) -> String {
        self.summary(unit, &[50.0, 90.0, 99.0])
    }

    /// `n= min= ... max=` with the given percentiles between (50 is printed as `median`).
    pub fn summary(&self, unit: Unit, percentiles: &[f64]) -> String {
        let mut s = format!("n={} min={}", self.sorted.len(), unit.fmt(self.sorted[0]));
        for &p in percentiles {
            let label = if p == 50.0 {
                "median".to_string()
            } else {
                format!("p{p}")
            };
            s.push_str(&format!(" {label}={}", unit.fmt(self.pct(p))));
        }
        s.push_str(&format!(
            " max={}",
            unit.fmt(self.sorted[self.sorted.len() - 1])
        ));
        s
    }
}

#[derive(Clone, Copy)]
pub enum Unit {
    Micros,
    Millis,
}

impl Unit {
    pub fn fmt(self, d: Duration) -> String {
        match self {
            Unit::Micros => format!("{:.1} µs", d.as_secs_f64() * 1e6),
            Unit::Millis => format!("{:.3} ms", d.as_secs_f64() * 1e3),
        }
    }
}

/// `/proc/loadavg`'s three load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

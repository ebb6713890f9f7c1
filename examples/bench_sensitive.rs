//! Round-trip time of each `sensitive` tool over the real stdio transport, with a config that
//! enables the scope, and the session's peak RSS afterwards. Build the release binary first:
//!
//! ```text
//! cargo build --release --locked
//! cargo run --release --locked --example bench_sensitive -- --bin target/release/sysgate
//! ```
//!
//! `get_open_files` is measured three ways: by this benchmark's own pid, by a path prefix
//! (`/tmp`, every process's descriptors walked) and by user (the benchmark's own).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: it reports on stdout and stops at the first surprise"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the benchmark starts the server it measures"
)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../tests/common/tempdir.rs"]
mod tempdir;
use tempdir::TempDir;

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim_start_matches(':').trim().to_string())
        })
        .unwrap_or_default()
}

struct Session {
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    id: u64,
    line: String,
}

impl Session {
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}").unwrap();
        self.stdin.flush().unwrap();
        loop {
            self.line.clear();
            assert!(
                self.stdout.read_line(&mut self.line).unwrap() > 0,
                "server exited"
            );
            let v: Value = serde_json::from_str(&self.line).unwrap();
            if v["id"] == self.id {
                return v;
            }
        }
    }
}

fn main() {
    let mut bin = PathBuf::from("target/release/sysgate");
    let mut calls = 50usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = PathBuf::from(args.next().expect("--bin PATH")),
            "--calls" => calls = args.next().expect("--calls N").parse().expect("a number"),
            _ => {
                eprintln!("bench_sensitive [--bin PATH] [--calls N]");
                std::process::exit(2);
            }
        }
    }
    let dir = TempDir::new("bench-sensitive");
    let cfg = dir.path("config.yaml");
    let root = status_field(std::process::id(), "Uid")
        .split_whitespace()
        .nth(1)
        .is_some_and(|e| e == "0");
    let prefix = if root { "allow_root: true\n" } else { "" };
    std::fs::write(
        &cfg,
        format!("{prefix}scopes:\n  sensitive: {{enabled: true}}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut s = Session {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        id: 0,
        line: String::new(),
    };
    s.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
    );
    writeln!(
        s.stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    let uid = status_field(std::process::id(), "Uid")
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .to_string();
    let user = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.as_str())).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| "root".into());
    let cases = [
        ("get_user_accounts", json!({})),
        ("get_sudo_config", json!({})),
        ("get_ssh_config", json!({})),
        ("get_open_files", json!({"pid": std::process::id()})),
        ("get_open_files", json!({"path_prefix": "/tmp"})),
        ("get_open_files", json!({"user": user})),
    ];
    println!("# sensitive tools over stdio ({calls} calls each after 5 warm-up calls)");
    println!("| tool | arguments | median | p95 | answer bytes |\n|---|---|---|---|---|");
    for (tool, a) in &cases {
        let params = json!({"name": tool, "arguments": a});
        for _ in 0..5 {
            s.request("tools/call", params.clone());
        }
        let mut samples: Vec<Duration> = Vec::new();
        let mut error = String::new();
        for _ in 0..calls {
            let t = Instant::now();
            let r = s.request("tools/call", params.clone());
            samples.push(t.elapsed());
            assert!(r["result"].is_object(), "{tool}: {r}");
            if r["result"]["isError"] == true {
                error = r["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
            }
        }
        samples.sort();
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "| `{tool}` | `{a}` | {:.2} ms | {:.2} ms | {}{} |",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.95).as_secs_f64() * 1e3,
            s.line.len(),
            if error.is_empty() {
                String::new()
            } else {
                format!(" (error: {error})")
            }
        );
    }
    let pid = child.id();
    println!(
        "\nsession after these calls: VmHWM {}, VmRSS {}",
        status_field(pid, "VmHWM"),
        status_field(pid, "VmRSS")
    );
    let _ = child.kill();
    let _ = child.wait();
}

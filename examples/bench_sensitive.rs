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

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "common/mod.rs"]
mod common;
use common::{Server, TempDir, status_field};

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
    let cfg = common::write_config(
        &dir,
        "config.yaml",
        "scopes:\n  sensitive: {enabled: true}\n",
    );
    let mut s = Server::spawn(Command::new(&bin).arg("--config").arg(&cfg));
    s.initialize("bench");
    s.notify_initialized();
    let uid = status_field("self", "Uid")
        .unwrap_or_default()
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
            s.request("tools/call", &params);
        }
        let mut samples: Vec<Duration> = Vec::new();
        let mut error = String::new();
        for _ in 0..calls {
            let t = Instant::now();
            let r = s.request("tools/call", &params);
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
    let pid = s.pid();
    println!(
        "\nsession after these calls: VmHWM {}, VmRSS {}",
        status_field(pid, "VmHWM").unwrap_or_default(),
        status_field(pid, "VmRSS").unwrap_or_default()
    );
    s.kill();
}

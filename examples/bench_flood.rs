//! Floods a real `sysgate serve` with slow `tools/call` requests, each followed at once by its
//! `notifications/cancelled`, and records the server's memory as it goes: a cancelled call must
//! release what it holds at once, so resident memory stays flat however long the flood lasts.
//!
//! ```text
//! cargo build --release --locked
//! cargo run --release --locked --example bench_flood -- --bin target/release/sysgate --seconds 30
//! ```
//!
//! The server runs with `resources.timeouts.medium: 600000` so that no deadline cleans up for it.
//! Every call is `get_processes` with `sample_ms: 2000` and a 64-character `name` filter. Each
//! interval prints the pairs sent so far and the server's VmRSS and VmHWM (peak) in kB.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: it reports on stdout and stops at the first surprise"
)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "common/mod.rs"]
mod common;
use common::TempDir;

/// A `/proc/{pid}/status` field in kB, 0 if it cannot be read.
fn status_kb(pid: u32, key: &str) -> u64 {
    common::status_kb(pid, key).unwrap_or(0)
}

fn main() {
    let mut bin = PathBuf::from("target/release/sysgate");
    let mut seconds = 30u64;
    let mut interval = 3u64;
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next().unwrap() {
        use lexopt::prelude::*;
        match arg {
            Long("bin") => bin = PathBuf::from(p.value().unwrap()),
            Long("seconds") => seconds = p.value().unwrap().parse().unwrap(),
            Long("interval") => interval = p.value().unwrap().parse().unwrap(),
            _ => panic!("usage: bench_flood [--bin PATH] [--seconds N] [--interval N]"),
        }
    }
    let dir = TempDir::new("flood");
    let cfg = common::write_config(
        &dir,
        "config.yaml",
        "resources:\n  timeouts:\n    medium: 600000\n",
    );

    #[expect(
        clippy::disallowed_methods,
        reason = "the benchmark starts the server it measures"
    )]
    let mut child = common::spawn_piped(Command::new(&bin).arg("--config").arg(&cfg));
    let pid = child.id();
    let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
    let stdout = child.stdout.take().unwrap();
    // Drain answers (busy errors, tools/list) so the server never blocks on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut answers = 0u64;
        for line in BufReader::new(stdout).lines() {
            if line.is_err() {
                break;
            }
            answers += 1;
        }
        answers
    });
    let line = |w: &mut std::io::BufWriter<_>, v: serde_json::Value| {
        let mut b = serde_json::to_vec(&v).unwrap();
        b.push(b'\n');
        w.write_all(&b).unwrap();
    };
    line(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": common::initialize_params("bench_flood")}),
    );
    line(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    println!("| elapsed s | pairs sent | VmRSS kB | VmHWM kB |");
    println!("|---|---|---|---|");
    println!(
        "| 0 | 0 | {} | {} |",
        status_kb(pid, "VmRSS"),
        status_kb(pid, "VmHWM")
    );
    let name = "a".repeat(64);
    let start = Instant::now();
    let mut next_report = Duration::from_secs(interval);
    let mut id: u64 = 1;
    while start.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..100 {
            line(
                &mut stdin,
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "get_processes", "arguments": {"sample_ms": 2000, "name": name}}}),
            );
            line(
                &mut stdin,
                json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id}}),
            );
            id += 1;
        }
        stdin.flush().unwrap();
        if start.elapsed() >= next_report {
            println!(
                "| {} | {} | {} | {} |",
                next_report.as_secs(),
                id - 1,
                status_kb(pid, "VmRSS"),
                status_kb(pid, "VmHWM")
            );
            next_report += Duration::from_secs(interval);
        }
    }
    println!(
        "| {:.0} | {} | {} | {} |",
        start.elapsed().as_secs_f64(),
        id - 1,
        status_kb(pid, "VmRSS"),
        status_kb(pid, "VmHWM")
    );
    drop(stdin);
    let _ = child.wait();
    let answers = reader.join().unwrap_or(0);
    println!("\n{answers} lines answered (initialize plus any busy refusals)");
    drop(dir);
}

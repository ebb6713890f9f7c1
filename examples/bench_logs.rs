//! Measures the file log reader over the real stdio transport: 1000-line pages of
//! `get_app_logs` on a 200,000-line log (each page continuing with the previous page's cursor),
//! the first 1000-line page of a 5 GiB sparse log with lines appended after the hole, the
//! server's peak RSS after all of it, and the peak RSS of a fresh session that calls every
//! listed tool (with `sensitive` and `logs_app` enabled). Build the release binary first, then:
//!
//! ```text
//! cargo build --release --locked
//! cargo run --release --locked --example bench_logs -- --bin target/release/sysgate
//! ```
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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use sysgate::testing::tools::parse::syslog::format_utc;

#[path = "common/mod.rs"]
mod common;
use common::{Server, TempDir, median, status_kb};

/// A session of `sysgate serve` with `config`, initialized.
fn start(bin: &Path, config: &Path) -> Server {
    let mut s = Server::spawn(Command::new(bin).arg("serve").arg("--config").arg(config));
    s.initialize("bench");
    s.notify_initialized();
    s
}

/// One `get_app_logs` page: its structured content.
fn page(s: &mut Server, args: &Value) -> Value {
    let r = s.request(
        "tools/call",
        &json!({"name": "get_app_logs", "arguments": args}),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    r["result"]["structuredContent"].clone()
}

/// The server's peak RSS in kB.
fn hwm_kib(s: &Server) -> u64 {
    status_kb(s.pid(), "VmHWM").unwrap()
}

fn main() {
    let mut bin = PathBuf::from("target/release/sysgate");
    let mut rounds = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = PathBuf::from(args.next().unwrap()),
            "--rounds" => rounds = args.next().unwrap().parse().unwrap(),
            _ => panic!("usage: bench_logs [--bin PATH] [--rounds N]"),
        }
    }
    let dir = TempDir::new("bench-logs");
    let logs = dir.path("logs");
    std::fs::create_dir(&logs).unwrap();
    let config = common::write_config(
        &dir,
        "c.yaml",
        &format!(
            "scopes:\n  sensitive: {{enabled: true}}\n  logs_app:\n    enabled: true\n    allowed_paths: ['{}/*.log']\n",
            logs.display()
        ),
    );

    // A syslog-like file: 200,000 lines of about 120 bytes.
    let big = logs.join("big.log");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    // Stamped over the last 14 hours (RFC 3339 with microseconds, as rsyslog on Debian 12).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for i in 0..200_000i64 {
        writeln!(
            w,
            "{} host app[{}]: request {i} served in {} ms from 192.0.2.{}",
            format_utc(now - (200_000 - i) / 4, (i % 1000) as u32 * 1000 + 1000),
            1000 + i % 7,
            i % 97,
            i % 250
        )
        .unwrap();
    }
    drop(w);
    // A 5 GiB sparse log with 2000 lines after the hole.
    let sparse = logs.join("sparse.log");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(5 << 30).unwrap();
    drop(f);
    let mut a = std::fs::OpenOptions::new()
        .append(true)
        .open(&sparse)
        .unwrap();
    a.write_all(b"\n").unwrap();
    for i in 0..2000 {
        writeln!(a, "sparse line {i}").unwrap();
    }
    drop(a);

    let mut s = start(&bin, &config);
    let hwm_start = hwm_kib(&s);
    let mut times = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..rounds {
        let mut args = json!({"path": big.to_str().unwrap(), "lines": 1000, "max_age_hours": 24});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let t = Instant::now();
        let v = page(&mut s, &args);
        times.push(t.elapsed());
        assert_eq!(v["returned"], 1000);
        cursor = v["next_cursor"].as_str().map(str::to_owned);
    }
    let page_median = median(times.clone());
    let page_max = times.iter().max().copied().unwrap_or_default();
    let mut sparse_times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let v = page(
            &mut s,
            &json!({"path": sparse.to_str().unwrap(), "lines": 1000}),
        );
        sparse_times.push(t.elapsed());
        assert_eq!(v["returned"], 1000);
    }
    let hwm = hwm_kib(&s);
    s.kill();

    // A fresh session that calls every listed tool once (the required argument of
    // get_auth_logs given), then the kernel log and a file with 1000-line pages.
    let mut all = start(&bin, &config);
    let list = all.request("tools/list", &json!({}));
    let names: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for name in &names {
        let args = if name == "get_auth_logs" {
            json!({"max_age_hours": 24})
        } else {
            json!({})
        };
        all.request("tools/call", &json!({"name": name, "arguments": args}));
    }
    all.request(
        "tools/call",
        &json!({"name": "get_kernel_logs", "arguments": {"lines": 1000}}),
    );
    page(
        &mut all,
        &json!({"path": big.to_str().unwrap(), "lines": 1000}),
    );
    let hwm_all = hwm_kib(&all);
    all.kill();

    println!("| measurement | result |\n|---|---|");
    println!(
        "| `get_app_logs` 1000-line page of a 200,000-line log, round trip ({rounds} pages, each continuing from the previous page's cursor; every line stamped and within the 24 h window) | median {:.2} ms, max {:.2} ms |",
        page_median.as_secs_f64() * 1e3,
        page_max.as_secs_f64() * 1e3
    );
    println!(
        "| first 1000-line page of a 5 GiB sparse log | median {:.2} ms |",
        median(sparse_times).as_secs_f64() * 1e3
    );
    println!("| server VmHWM at start → after all pages | {hwm_start} kB → {hwm} kB |");
    println!(
        "| server VmHWM of a session calling all {} listed tools, then 1000-line pages of get_kernel_logs and get_app_logs | {hwm_all} kB |",
        names.len()
    );
}

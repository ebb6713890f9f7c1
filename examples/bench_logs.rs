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

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sysgate::testing::tools::parse::syslog::format_utc;

#[path = "../tests/common/tempdir.rs"]
mod tempdir;
use tempdir::TempDir;

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: i64,
}

impl Session {
    fn start(bin: &Path, config: &Path) -> Session {
        let mut child = Command::new(bin)
            .args(["serve", "--config", config.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Session {
            child,
            stdin,
            stdout,
            id: 0,
        };
        s.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
        );
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed"
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    fn page(&mut self, args: Value) -> Value {
        let r = self.request(
            "tools/call",
            json!({"name": "get_app_logs", "arguments": args}),
        );
        assert_eq!(r["result"]["isError"], false, "{r}");
        r["result"]["structuredContent"].clone()
    }

    fn hwm_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
    let config = dir.path("c.yaml");
    let root = if std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    {
        "allow_root: true\n"
    } else {
        ""
    };
    std::fs::write(
        &config,
        format!(
            "{root}scopes:\n  sensitive: {{enabled: true}}\n  logs_app:\n    enabled: true\n    allowed_paths: ['{}/*.log']\n",
            logs.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();

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

    let mut s = Session::start(&bin, &config);
    let hwm_start = s.hwm_kib();
    let mut times = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..rounds {
        let mut args = json!({"path": big.to_str().unwrap(), "lines": 1000, "max_age_hours": 24});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let t = Instant::now();
        let v = s.page(args);
        times.push(t.elapsed());
        assert_eq!(v["returned"], 1000);
        cursor = v["next_cursor"].as_str().map(str::to_owned);
    }
    let page_median = median(times.clone());
    let page_max = times.iter().max().copied().unwrap_or_default();
    let mut sparse_times = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let v = s.page(json!({"path": sparse.to_str().unwrap(), "lines": 1000}));
        sparse_times.push(t.elapsed());
        assert_eq!(v["returned"], 1000);
    }
    let hwm = s.hwm_kib();
    let _ = s.child.kill();
    let _ = s.child.wait();

    // A fresh session that calls every listed tool once (the required argument of
    // get_auth_logs given), then the kernel log and a file with 1000-line pages.
    let mut all = Session::start(&bin, &config);
    let list = all.request("tools/list", json!({}));
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
        all.request("tools/call", json!({"name": name, "arguments": args}));
    }
    all.request(
        "tools/call",
        json!({"name": "get_kernel_logs", "arguments": {"lines": 1000}}),
    );
    all.page(json!({"path": big.to_str().unwrap(), "lines": 1000}));
    let hwm_all = all.hwm_kib();
    let _ = all.child.kill();
    let _ = all.child.wait();

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

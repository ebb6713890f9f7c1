//! Measures the package tools on this machine's dpkg database: the raw streaming parse of
//! `/var/lib/dpkg/status` in process, the whole `get_packages` result in process, and
//! `get_packages` (every package, `limit` 1000) and `get_sbom` round trips over the real stdio
//! transport, with the peak RSS (VmHWM) of that session. Build the release binary first, then:
//!
//! ```text
//! cargo build --release --locked --examples
//! target/release/examples/bench_sbom --bin target/release/sysgate
//! ```
//!
//! Target (issue 10): `get_packages` listing all dpkg packages <= 30 ms. The output caps keep at
//! most 1000 items per array by default, and `limit` is at most 1000, so on a host with more
//! packages one call is one page; the report says how many packages the call returned.
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

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sysgate::testing::tools::parse::dpkg::Status;
use sysgate::testing::tools::sbom::{Env, Query, listing};

#[path = "../tests/common/tempdir.rs"]
mod tempdir;
use tempdir::TempDir;

const STATUS: &str = "/var/lib/dpkg/status";

fn stats(mut v: Vec<Duration>) -> String {
    v.sort_unstable();
    let pct = |p: f64| v[(((p / 100.0) * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    format!(
        "n={} min={} median={} p90={} max={}",
        v.len(),
        ms(v[0]),
        ms(pct(50.0)),
        ms(pct(90.0)),
        ms(v[v.len() - 1])
    )
}

fn timed(n: usize, mut f: impl FnMut()) -> String {
    for _ in 0..n.min(10) {
        f();
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        f();
        v.push(t0.elapsed());
    }
    stats(v)
}

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let mut bin = PathBuf::from("target/release/sysgate");
    let mut calls = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = PathBuf::from(args.next().expect("--bin PATH")),
            "--calls" => calls = args.next().expect("--calls N").parse().expect("a number"),
            _ => panic!("usage: bench_sbom [--bin PATH] [--calls N]"),
        }
    }
    assert!(
        Path::new(STATUS).is_file(),
        "no dpkg database on this machine"
    );
    let size = std::fs::metadata(STATUS).unwrap().len();
    println!("# sysgate package tools benchmark");
    println!(
        "loadavg at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let mut entries = 0;
    let parse = timed(calls, || {
        let f = BufReader::with_capacity(64 * 1024, File::open(STATUS).unwrap());
        entries = Status::new(f).count();
    });
    println!("\n## raw parse of {STATUS} ({size} bytes, {entries} stanzas), in process");
    println!("{parse}");

    let check = || Ok(());
    let cut = |s: &str, max: usize| s.chars().take(max).collect();
    let env = Env {
        check: &check,
        cut: &cut,
    };
    let q = Query {
        manager: None,
        filter: String::new(),
        offset: 0,
        limit: 1000,
    };
    let mut returned = 0;
    let result = timed(calls, || {
        let v = listing(Path::new("/"), &q, &env).unwrap();
        returned = v["returned"].as_u64().unwrap();
    });
    println!("\n## get_packages result (limit 1000) built in process, {returned} packages");
    println!("{result}");

    let dir = TempDir::new("bench-sbom");
    let cfg = dir.path("config.yaml");
    let root = status_field(std::process::id(), "Uid")
        .split_whitespace()
        .nth(1)
        == Some("0");
    std::fs::write(&cfg, if root { "allow_root: true\n" } else { "" }).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut id = 0u64;
    let mut rpc = |method: &str, params: Value, line: &mut String| {
        id += 1;
        let mut msg = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )
        .unwrap();
        msg.push(b'\n');
        stdin.write_all(&msg).unwrap();
        line.clear();
        assert!(
            stdout.read_line(line).unwrap() > 0,
            "the server closed stdout"
        );
    };
    rpc(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench_sbom", "version": "1"}}),
        &mut line,
    );
    for (tool, args) in [
        ("get_packages", json!({"limit": 1000})),
        ("get_sbom", json!({})),
    ] {
        let params = json!({"name": tool, "arguments": args});
        let mut bytes = 0;
        let t = timed(calls, || {
            rpc("tools/call", params.clone(), &mut line);
            bytes = line.len();
        });
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["result"]["isError"],
            false,
            "{tool}: {}",
            &line[..line.len().min(500)]
        );
        let sc = &v["result"]["structuredContent"];
        let n = sc["returned"].as_u64().or(sc["listed"].as_u64()).unwrap();
        println!("\n## {tool} {args} round trip over stdio ({n} packages, {bytes}-byte answer)");
        println!("{t}");
    }
    println!(
        "\n## peak RSS of that session\nVmHWM {}",
        status_field(child.id(), "VmHWM")
    );
    drop(stdin);
    let _ = child.wait();
}

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
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sysgate::testing::tools::parse::dpkg::Status;
use sysgate::testing::tools::sbom::{Env, Query, listing};

#[path = "common/mod.rs"]
mod common;
use common::{Server, Stats, TempDir, Unit, status_field};

const STATUS: &str = "/var/lib/dpkg/status";

fn stats(v: Vec<Duration>) -> String {
    Stats::new(v).summary(Unit::Millis, &[50.0, 90.0])
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
    let cfg = common::write_config(&dir, "config.yaml", "");
    let mut s = Server::spawn(Command::new(&bin).arg("--config").arg(&cfg));
    s.send("initialize", &common::initialize_params("bench_sbom"));
    s.read_line();
    for (tool, args) in [
        ("get_packages", json!({"limit": 1000})),
        ("get_sbom", json!({})),
    ] {
        let params = json!({"name": tool, "arguments": args});
        let mut bytes = 0;
        // One request line written, one answer line read (not parsed): what the timing covers.
        let t = timed(calls, || {
            s.send("tools/call", &params);
            bytes = s.read_line().len();
        });
        let line = &s.line;
        let v: Value = serde_json::from_str(line).unwrap();
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
        status_field(s.pid(), "VmHWM").unwrap_or_default()
    );
    s.close();
}

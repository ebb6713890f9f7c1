//! Per-append cost of the audit log without fsync: `cargo run --release --example bench_audit`.
//! Appends a realistic `query` record 20 000 times (after a warm-up) to a file in a private temp
//! directory and prints the median, p99, mean and max of the individual append times.
#![forbid(unsafe_code)]
// A benchmark's output is its purpose.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::error::Error;
use std::time::{Duration, Instant};

#[path = "../tests/common/tempdir.rs"]
mod tempdir;
use tempdir::TempDir;

use sysgate::testing::audit::{
    AuditKey, AuditLog, AuditSettings, ClientIdentity, EventKind, Outcome, Record,
};

const WARMUP: usize = 1_000;
const N: usize = 20_000;

fn record(i: usize) -> Record {
    Record::new(EventKind::Query)
        .request_id(format!("req-{i}"))
        .tool("get_process_list")
        .params(serde_json::json!({"sort_by": "cpu", "limit": 25, "user": "[REDACTED]"}))
        .client(
            ClientIdentity::new("https")
                .ip("10.0.1.50"
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()))
                .mtls_subject("CN=teleport-proxy.example.com")
                .jwt_sub("user@example.com"),
        )
        .scopes(["core", "logs_system"])
        .result(Outcome::Success)
        .duration(Duration::from_millis(12))
        .output_bytes(2048)
        .redactions(1)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = TempDir::new("bench-audit");
    run(&dir.0)
}

fn run(dir: &std::path::Path) -> Result<(), Box<dyn Error>> {
    let key = AuditKey::from_bytes(&[0x5a; 32])?;
    let mut settings = AuditSettings::new(dir.join("audit.jsonl"), key);
    settings.fsync = false;
    let log = AuditLog::open(settings)?;
    for i in 0..WARMUP {
        log.append(record(i))?;
    }
    let mut times = Vec::with_capacity(N);
    for i in 0..N {
        let r = record(i);
        let start = Instant::now();
        log.append(r)?;
        times.push(start.elapsed());
    }
    let bytes = std::fs::metadata(dir.join("audit.jsonl"))?.len();
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = times.iter().sum::<Duration>() / u32::try_from(N)?;
    println!(
        "audit append, no fsync, {N} records of ~{} bytes: median {:.1} µs, p99 {:.1} µs, mean {:.1} µs, max {:.1} µs",
        bytes / (WARMUP + N) as u64,
        us(times[N / 2]),
        us(times[N * 99 / 100]),
        us(mean),
        us(times[N - 1]),
    );
    Ok(())
}

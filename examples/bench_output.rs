//! Timings of the output pipeline's building blocks against their targets: redacting a 1 MiB log
//! ≤ 20 ms, TOON-encoding a 500-process list ≤ 1 ms; capping is timed for information.
//!
//! Run: `cargo run --release --example bench_output` (optionally `-- RUNS`, default 31).
//! Prints the median (and min/max) of the runs; exits non-zero if a target is missed. Each timed
//! redaction includes cloning its input (the API takes the value by value), so it over-states.
#![forbid(unsafe_code)]
// A benchmark's whole job is to print its results.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sysgate::testing::output::caps::{self, Limits};
use sysgate::testing::output::redact::{RedactionSettings, Redactor};
use sysgate::testing::output::toon;

/// A small deterministic generator (xorshift64*), so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// About 1 MiB of syslog-like lines (as a JSON array of strings) with a secret every ~40 lines.
fn log_lines(total: usize) -> Vec<String> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let hosts = ["web-01", "db-primary", "cache-3", "worker-17"];
    let units = [
        "nginx", "postgres", "sshd", "systemd", "kernel", "cron", "app",
    ];
    let words = [
        "connection",
        "accepted",
        "from",
        "request",
        "completed",
        "in",
        "ms",
        "user",
        "session",
        "opened",
        "closed",
        "for",
        "GET",
        "/api/v1/items",
        "status",
        "200",
        "upstream",
        "timeout",
        "retrying",
        "worker",
        "started",
        "pid",
        "memory",
        "usage",
        "high",
        "disk",
        "ok",
    ];
    let secrets = [
        "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "login attempt password=hunter2 rejected",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "DATABASE_URL=postgres://app:s3cr3t@db-primary:5432/app",
        "config token: 8f14e45fceea167a5a36dedd4bea2543",
    ];
    let mut lines = Vec::new();
    let mut used = 0;
    let mut n = 0u64;
    loop {
        let mut line = format!(
            "2026-07-28T12:{:02}:{:02}.{:03}Z {} {}[{}]: ",
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            rng.pick(&hosts),
            rng.pick(&units),
            1000 + rng.below(30000)
        );
        if n % 40 == 17 {
            line.push_str(rng.pick(&secrets));
        } else {
            for _ in 0..(6 + rng.below(14)) {
                line.push_str(rng.pick(&words));
                line.push(' ');
            }
        }
        n += 1;
        if used + line.len() > total {
            break;
        }
        used += line.len();
        lines.push(line);
    }
    lines
}

/// A process list like `list_processes` returns: 500 objects with 14 primitive fields.
fn process_list(count: usize) -> Value {
    let mut rng = Rng(0xC0FF_EE00_0000_0500);
    let users = ["root", "www-data", "postgres", "systemd-network", "alice"];
    let states = ["S", "R", "D", "Z", "I"];
    let names = [
        "nginx",
        "postgres",
        "bash",
        "sshd",
        "python3",
        "node",
        "kworker/0:1",
    ];
    let procs: Vec<Value> = (0..count)
        .map(|i| {
            let name = rng.pick(&names);
            json!({
                "pid": 1 + i as u64 * 7,
                "ppid": rng.below(500),
                "name": name,
                "user": rng.pick(&users),
                "uid": rng.below(2000),
                "state": rng.pick(&states),
                "threads": 1 + rng.below(64),
                "cpu_percent": rng.below(10_000) as f64 / 100.0,
                "mem_percent": rng.below(10_000) as f64 / 1000.0,
                "rss_bytes": rng.below(4_000_000_000),
                "vsz_bytes": rng.below(40_000_000_000),
                "start_time": format!("2026-07-28T{:02}:{:02}:00Z", rng.below(24), rng.below(60)),
                "cmdline": format!("/usr/bin/{name} --config /etc/{name}/{name}.conf -w {}", rng.below(16)),
                "cgroup": format!("/system.slice/{name}.service"),
            })
        })
        .collect();
    json!({ "processes": procs, "total": count })
}

/// Runs `f` `runs` times and returns (median, min, max).
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration) {
    black_box(f()); // warm-up
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[runs / 2], samples[0], samples[runs - 1])
}

/// Prints one timing; `target: None` is informational. Returns whether the target was met.
fn report(
    name: &str,
    target: Option<Duration>,
    (median, min, max): (Duration, Duration, Duration),
) -> bool {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let verdict = match target {
        Some(t) if median <= t => format!("target ≤ {:.3} ms: ok", ms(t)),
        Some(t) => format!("target ≤ {:.3} ms: MISSED", ms(t)),
        None => "no target".to_owned(),
    };
    println!(
        "{name:<44} median {:>9.3} ms  (min {:.3}, max {:.3}; {verdict})",
        ms(median),
        ms(min),
        ms(max)
    );
    target.is_none_or(|t| median <= t)
}

fn main() -> ExitCode {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("RUNS must be a positive number"))
        .unwrap_or(31)
        .max(1);
    println!("bench_output: median of {runs} runs");
    let mut all_ok = true;

    let redactor = Redactor::new(&RedactionSettings::default()).expect("default settings compile");
    let lines = log_lines(1024 * 1024);
    let bytes: usize = lines.iter().map(String::len).sum();
    let as_array = Value::Array(lines.iter().cloned().map(Value::String).collect());
    let as_string = Value::String(lines.join("\n"));
    let check = redactor
        .redact(as_array.clone())
        .expect("truncate never errors");
    println!(
        "log: {} lines, {bytes} bytes; {} redactions {:?}, unscanned {:?}",
        lines.len(),
        check.report.total(),
        check.report.patterns,
        check.report.unscanned
    );
    all_ok &= report(
        "redact 1 MiB log (array of lines)",
        Some(Duration::from_millis(20)),
        time(runs, || redactor.redact(as_array.clone())),
    );
    all_ok &= report(
        "redact 1 MiB log (one string)",
        Some(Duration::from_millis(20)),
        time(runs, || redactor.redact(as_string.clone())),
    );

    let procs = process_list(500);
    let doc = toon::encode(&procs);
    println!(
        "process list: 500 × 14 fields, {} bytes as JSON, {} bytes as TOON",
        caps::json_size(&procs),
        doc.len()
    );
    all_ok &= report(
        "TOON-encode 500 processes",
        Some(Duration::from_millis(1)),
        time(runs, || toon::encode(&procs)),
    );
    all_ok &= report(
        "compact JSON of 500 processes (comparison)",
        None,
        time(runs, || serde_json::to_string(&procs)),
    );

    let tight = Limits {
        max_bytes: 64 * 1024,
        ..Limits::default()
    };
    all_ok &= report(
        "cap_and_mark 500 processes to 64 KiB",
        None,
        time(runs, || caps::cap_and_mark(&procs, &tight)),
    );
    let big_log = Value::Array(
        log_lines(2 * 1024 * 1024)
            .into_iter()
            .map(Value::String)
            .collect(),
    );
    let log_limits = Limits {
        max_array_items: usize::MAX,
        max_lines: usize::MAX,
        ..Limits::default()
    };
    all_ok &= report(
        "cap a 2 MiB log array to 1 MiB",
        None,
        time(runs, || caps::cap(&big_log, &log_limits)),
    );

    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

//! Measures sysgate against the speed targets over its real stdio transport, as an MCP client
//! sees it. Build the release binary first, then:
//!
//! ```text
//! cargo build --release --locked
//! cargo run --release --locked --example bench_stdio -- --bin target/release/sysgate
//! ```
//!
//! What it measures (results go to stdout as a Markdown-friendly report; see
//! docs/performance.md):
//! 1. process start → `initialize` response, over `--starts` fresh processes;
//! 2. warm `get_memory_info` round trips, one at a time, in one session;
//! 3. `get_processes` (`sample_ms: 0`) round trips with at least `--min-procs` processes on the
//!    host (extra `sleep` processes are started when there are fewer);
//! 4. the server's peak RSS (VmHWM) after all of the above plus `tools/list` and a 500-process
//!    `get_processes`, in the same session;
//! 5. the binary's size;
//! 6. `get_disk_io`, `get_block_devices` and `get_memory_info` with `pressure: true`, without a
//!    sample (`--proc-calls` each);
//! 7. `get_sessions_and_time` and the hooks tools with default arguments (`--proc-calls` each);
//! 8. `get_network_info` without a sample, `get_listening_ports`, `get_routes` and
//!    `get_dns_config` (`--proc-calls` each);
//! 9. `get_process` of the server's own process and of pid 1 (`--proc-calls` each);
//!
//! plus `get_uptime` throughput with 8 requests pipelined.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: it reports on stdout and stops at the first surprise"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the benchmark starts the server it measures and processes for it to list"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

#[path = "common/mod.rs"]
mod common;
use common::{Server, Stats, TempDir, Unit, euid, initialize_params, loadavg, status_field};

struct Options {
    bin: PathBuf,
    starts: usize,
    warmup: usize,
    calls: usize,
    proc_calls: usize,
    min_procs: usize,
    throughput_calls: usize,
    pipeline: usize,
}

fn options() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        bin: PathBuf::from("target/release/sysgate"),
        starts: 200,
        warmup: 2_000,
        calls: 20_000,
        proc_calls: 200,
        min_procs: 300,
        throughput_calls: 100_000,
        pipeline: 8,
    };
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Long("bin") => o.bin = PathBuf::from(p.value()?),
            Long("starts") => o.starts = p.value()?.parse()?,
            Long("warmup") => o.warmup = p.value()?.parse()?,
            Long("calls") => o.calls = p.value()?.parse()?,
            Long("proc-calls") => o.proc_calls = p.value()?.parse()?,
            Long("min-procs") => o.min_procs = p.value()?.parse()?,
            Long("throughput-calls") => o.throughput_calls = p.value()?.parse()?,
            Long("pipeline") => o.pipeline = p.value()?.parse()?,
            Long("help") => {
                println!(
                    "bench_stdio [--bin PATH] [--starts N] [--warmup N] [--calls N] [--proc-calls N] \
                     [--min-procs N] [--throughput-calls N] [--pipeline N]"
                );
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if o.starts == 0 || o.calls == 0 || o.proc_calls == 0 || o.pipeline == 0 {
        return Err("counts must be at least 1".into());
    }
    Ok(o)
}

/// Checks a `tools/call` response line: the right id and a successful result.
fn check_call(line: &str, id: u64, tool: &str) -> Value {
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["id"], json!(id), "{v}");
    assert_eq!(v["result"]["isError"], json!(false), "{tool} failed: {v}");
    v
}

fn count_processes() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

/// Extra `sleep` processes, killed on drop.
struct Sleepers(Vec<Child>);

impl Sleepers {
    /// Start `sleep` processes until /proc lists at least `n`.
    fn top_up(&mut self, n: usize) {
        let mut have = count_processes();
        while have < n {
            let c = Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawning sleep");
            self.0.push(c);
            have += 1;
        }
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The server under test, with `config` and without the log level of the environment.
fn server(bin: &Path, config: &Path) -> Server {
    Server::spawn(
        Command::new(bin)
            .arg("--config")
            .arg(config)
            .env_remove("SYSGATE_LOG_LEVEL"),
    )
}

fn bench_startup(o: &Options, cfg: &Path) -> Stats {
    // One unmeasured start so the binary is in the page cache.
    let mut s = server(&o.bin, cfg);
    s.initialize("bench_stdio");
    s.close();
    let mut samples = Vec::with_capacity(o.starts);
    for _ in 0..o.starts {
        let t0 = Instant::now();
        let mut s = server(&o.bin, cfg);
        s.send("initialize", &initialize_params("bench_stdio"));
        s.read_line();
        samples.push(t0.elapsed());
        let v: Value = serde_json::from_str(&s.line).unwrap();
        assert_eq!(v["result"]["protocolVersion"], "2025-11-25", "{v}");
        s.close();
    }
    Stats::new(samples)
}

/// `n` sequential calls of `tool`, each timed from writing the request to reading the response.
fn sequential(s: &mut Server, tool: &str, args: &Value, n: usize) -> Stats {
    let params = json!({"name": tool, "arguments": args});
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let id = s.send("tools/call", &params);
        s.read_line();
        samples.push(t0.elapsed());
        check_call(&s.line, id, tool);
    }
    Stats::new(samples)
}

/// Calls per second with `depth` requests in flight.
fn throughput(s: &mut Server, tool: &str, n: usize, depth: usize) -> f64 {
    let params = json!({"name": tool, "arguments": {}});
    let mut sent = 0;
    let mut received = 0;
    let t0 = Instant::now();
    while sent < depth.min(n) {
        s.send("tools/call", &params);
        sent += 1;
    }
    while received < n {
        let line = s.read_line();
        // Responses may come back in any order; only count successes.
        assert!(line.contains("\"isError\":false"), "{line}");
        received += 1;
        if sent < n {
            s.send("tools/call", &params);
            sent += 1;
        }
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_stdio: {e} (see --help)");
            std::process::exit(2);
        }
    };
    let scratch = TempDir::new("bench");
    let cfg = common::write_config(&scratch, "config.yaml", "");
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("# sysgate stdio benchmark");
    println!("binary: {}", o.bin.display());
    println!("cpus: {cpus}; kernel: {}; euid: {}", kernel.trim(), euid());
    println!("loadavg at start: {}", loadavg());

    // 1. Start-up.
    let st = bench_startup(&o, &cfg);
    println!("\n## 1. process start -> initialize response (target <= 5 ms median)");
    println!("{}", st.line(Unit::Millis));

    // 2-4 and throughput in one session.
    let mut s = server(&o.bin, &cfg);
    s.initialize("bench_stdio");
    s.notify_initialized();
    let list = s.request("tools/list", &json!({}));
    let tools = list["result"]["tools"].as_array().map_or(0, Vec::len);
    assert!(tools > 0, "{list}");

    sequential(&mut s, "get_memory_info", &json!({}), o.warmup);
    let mem = sequential(&mut s, "get_memory_info", &json!({}), o.calls);
    println!("\n## 2. warm get_memory_info round trip (target <= 150 µs median)");
    println!("{}", mem.line(Unit::Micros));

    let mut sleepers = Sleepers(Vec::new());
    let before = count_processes();
    sleepers.top_up(o.min_procs);
    let procs = count_processes();
    let args = json!({"sample_ms": 0});
    sequential(&mut s, "get_processes", &args, 10);
    let ps = sequential(&mut s, "get_processes", &args, o.proc_calls);
    println!("\n## 3. get_processes sample_ms=0 round trip (target <= 10 ms)");
    println!(
        "processes in /proc: {procs} ({before} on the host + {} sleep)",
        sleepers.0.len()
    );
    println!("default limit (25): {}", ps.line(Unit::Millis));

    // A full-size answer: at least 500 processes, all of them returned.
    sleepers.top_up(510);
    let procs500 = count_processes();
    let args500 = json!({"sample_ms": 0, "limit": 500});
    let ps500 = sequential(&mut s, "get_processes", &args500, o.proc_calls.min(50));
    println!(
        "limit 500 with {procs500} processes in /proc: {}",
        ps500.line(Unit::Millis)
    );
    let last: Value = serde_json::from_str(&s.line).unwrap();
    println!(
        "(last answer: {} bytes, {} processes returned)",
        s.line.len(),
        last["result"]["structuredContent"]["returned"]
    );
    drop(sleepers);

    // The disk tools and memory pressure without a sample: one pass over /proc and /sys each.
    println!("\n## 6. disk, block-device and memory-pressure reads, no sample (target <= 5 ms)");
    for (tool, args) in [
        ("get_disk_io", json!({"sample_ms": 0})),
        (
            "get_disk_io",
            json!({"sample_ms": 0, "include_unused": true}),
        ),
        ("get_block_devices", json!({})),
        ("get_block_devices", json!({"include_empty": true})),
        ("get_memory_info", json!({"pressure": true})),
    ] {
        sequential(&mut s, tool, &args, 10);
        let st = sequential(&mut s, tool, &args, o.proc_calls);
        println!("{tool} {args}: {}", st.line(Unit::Millis));
    }

    // Sessions and time, and the hooks tools, with their default arguments.
    println!("\n## 7. sessions/time and hooks tools, default arguments (target <= 5 ms)");
    for tool in [
        "get_sessions_and_time",
        "get_kernel_modules",
        "get_mounts",
        "get_cron_jobs",
        "get_systemd_units",
    ] {
        sequential(&mut s, tool, &json!({}), 10);
        let st = sequential(&mut s, tool, &json!({}), o.proc_calls);
        println!("{tool}: {}", st.line(Unit::Millis));
    }

    // The network and hooks tools: get_network_info without a sample (target <= 5 ms) and
    // get_listening_ports, a pass over every process's descriptors (target <= 20 ms).
    println!(
        "\n## 8. network and hooks tools (targets: get_network_info sample_ms=0 <= 5 ms, get_listening_ports <= 20 ms)"
    );
    println!("processes in /proc: {}", count_processes());
    for (tool, args) in [
        ("get_network_info", json!({"sample_ms": 0})),
        ("get_listening_ports", json!({})),
        ("get_routes", json!({})),
        ("get_dns_config", json!({})),
    ] {
        sequential(&mut s, tool, &args, 10);
        let st = sequential(&mut s, tool, &args, o.proc_calls);
        println!("{tool} {args}: {}", st.line(Unit::Millis));
    }

    // One process in full: about ten small /proc reads and a scan of its fd directory.
    println!("\n## 9. get_process (target <= 1 ms)");
    let server_pid = s.pid();
    for args in [json!({"pid": server_pid}), json!({"pid": 1})] {
        sequential(&mut s, "get_process", &args, 10);
        let st = sequential(&mut s, "get_process", &args, o.proc_calls);
        println!("get_process {args}: {}", st.line(Unit::Micros));
    }

    let up = sequential(&mut s, "get_uptime", &json!({}), o.warmup);
    let rate = throughput(&mut s, "get_uptime", o.throughput_calls, o.pipeline);
    println!("\n## throughput: get_uptime, {} in flight", o.pipeline);
    println!(
        "{rate:.0} calls/s over {} calls (sequential, for comparison: median {})",
        o.throughput_calls,
        Unit::Micros.fmt(up.pct(50.0))
    );

    let pid = s.pid();
    let hwm = status_field(pid, "VmHWM").unwrap_or_default();
    let rss = status_field(pid, "VmRSS").unwrap_or_default();
    let anon = status_field(pid, "RssAnon").unwrap_or_default();
    let file = status_field(pid, "RssFile").unwrap_or_default();
    let threads = status_field(pid, "Threads").unwrap_or_default();
    println!("\n## 4. peak RSS of the session (target <= 8 MB)");
    println!(
        "VmHWM {hwm}; VmRSS now {rss} (anonymous {anon}, file-backed {file}); threads {threads}\n\
         (after tools/list with {tools} tools and all of the above)"
    );
    s.close();

    let size = std::fs::metadata(&o.bin).map(|m| m.len()).unwrap_or(0);
    println!("\n## 5. binary size");
    println!(
        "{size} bytes ({:.2} MiB), {}",
        size as f64 / (1024.0 * 1024.0),
        o.bin.display()
    );
    println!("\nloadavg at end: {}", loadavg());
}

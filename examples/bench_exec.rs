//! What the sandbox costs, and what `get_journal_logs` adds to journalctl.
//!
//! ```text
//! cargo build --release --locked --examples
//! target/release/examples/bench_exec [--runs 300]
//! ```
//!
//! 1. Spawn: `/bin/true` started, captured and reaped `--runs` times each way, interleaved: a
//!    plain `std::process::Command::output()`, and `exec::run` (checked executable through
//!    /proc/self/fd, spawner thread, every sandbox step including the seccomp filter, pidfd
//!    poll, wait4). Prints the medians and the difference (budget: at most 2 ms).
//! 2. Journal: a journal of 1000 entries written with systemd-journal-remote; `get_journal_logs`
//!    with `lines: 1000` called in process (gate, handler, output-schema check) against
//!    journalctl run directly with the same arguments, output read to the end. Prints both
//!    medians and the difference (budget: at most 10 ms).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: it reports on stdout and stops at the first surprise"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the benchmark's baseline is a plain Command spawn, and it writes its journal with systemd-journal-remote"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sysgate::testing::auth::{Caller, TransportKind};
use sysgate::testing::exec::{Argv, Caps, Executable, Profile, Program, Settings, run};
use sysgate::testing::policy;
use sysgate::testing::server::{Server, call};
use sysgate::testing::tools::Cancel;

#[path = "../tests/common/tempdir.rs"]
mod tempdir;
use tempdir::TempDir;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn never() -> bool {
    false
}

fn spawn_bench(runs: usize) {
    let exe = Executable::check_for_testing("true", Path::new("/bin/true"), Profile::Reader)
        .expect("/bin/true passes the check");
    let settings = Settings::default();
    let argv = Argv::new(Program::Journalctl);
    let (mut plain, mut sandboxed) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new("/bin/true").output().unwrap();
        plain.push(t.elapsed());
        assert!(out.status.success());
        let t = Instant::now();
        let f = run::run(
            &exe,
            &argv,
            &settings,
            Instant::now() + Duration::from_secs(10),
            &never,
            Caps::default(),
        )
        .unwrap();
        sandboxed.push(t.elapsed());
        assert!(f.success(), "{f:?}");
    }
    let (p, s) = (median(plain), median(sandboxed));
    println!(
        "spawn /bin/true ({runs} runs each): plain Command {:.3} ms, sandboxed exec::run {:.3} ms, difference {:.3} ms (budget 2 ms)",
        ms(p),
        ms(s),
        ms(s.saturating_sub(p))
    );
}

const FIELDS: &str = "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,_COMM,_PID";

fn journal_bench(runs: usize) {
    let dir = TempDir::new("bench-exec");
    let journal = dir.0.join("journal");
    std::fs::create_dir(&journal).unwrap();
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let mut export = Vec::new();
    for i in 0..1000u64 {
        write!(
            export,
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             PRIORITY=6\n_SYSTEMD_UNIT=bench.service\nSYSLOG_IDENTIFIER=bench\n_PID={}\n\
             MESSAGE=benchmark entry {i:04}: a line of ordinary length, like most log lines are\n\n",
            now_us - 60_000_000 + i * 1000,
            i + 1,
            1000 + i
        )
        .unwrap();
    }
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!(
            "--output={}",
            journal.join("remote.journal").display()
        ))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-journal-remote (Debian package systemd-journal-remote)");
    child.stdin.take().unwrap().write_all(&export).unwrap();
    assert!(child.wait().unwrap().success());

    let allow_root = if sysgate::testing::sys::euid() == 0 {
        "allow_root: true\n"
    } else {
        ""
    };
    let yaml = format!(
        "{allow_root}scopes:\n  logs_system:\n    enabled: true\n    journal_directory: {}\n",
        journal.display()
    );
    let config = sysgate::testing::config::parse(&yaml, None).unwrap();
    let server: Arc<Server> = Server::new(config, None).unwrap();
    let caller = Caller::local(TransportKind::Cli);
    let args = json!({"lines": 1000, "since_minutes": 60});
    let (mut tool, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let snap = server.snapshot();
        let admitted = policy::check(
            &snap.config.scopes,
            server.registry,
            &caller,
            Some("get_journal_logs"),
            Some(&args),
        )
        .unwrap();
        let cancel = Cancel::default();
        let t = Instant::now();
        let v = call::execute(
            &server,
            &snap,
            &caller,
            &admitted,
            admitted.args(),
            &cancel,
            Instant::now() + Duration::from_secs(10),
            None,
        )
        .unwrap();
        tool.push(t.elapsed());
        assert_eq!(v["entries"].as_array().unwrap().len(), 1000);

        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 3600;
        let t = Instant::now();
        let out = Command::new("/usr/bin/journalctl")
            .args(["--no-pager", "--quiet", "--all", "--output=json", FIELDS])
            .arg(format!("--directory={}", journal.display()))
            .arg(format!("--since=@{since}"))
            .output()
            .unwrap();
        direct.push(t.elapsed());
        assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), 1000);
    }
    let (t, d) = (median(tool), median(direct));
    println!(
        "get_journal_logs lines=1000 ({runs} runs each): journalctl alone {:.3} ms, the tool {:.3} ms, difference {:.3} ms (budget 10 ms)",
        ms(d),
        ms(t),
        ms(t.saturating_sub(d))
    );
}

fn main() {
    let mut runs = 300usize;
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next().unwrap() {
        use lexopt::prelude::*;
        match arg {
            Long("runs") => runs = p.value().unwrap().parse().unwrap(),
            other => panic!("unexpected argument {other:?}"),
        }
    }
    spawn_bench(runs);
    journal_bench((runs / 10).max(10));
}

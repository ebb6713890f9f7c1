//! Every `core` tool, run on this real machine through the same gate and output-schema check a
//! session uses, with default and varied arguments. Values are checked for sanity against what
//! the kernel says independently (our own pid, a child we spawn, a CPU we keep busy).
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start processes for the tools to observe"
)]

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::child::Reaped;
use common::in_process::{
    assert_cancelled_mid_call, assert_deadline_stops_call, assert_sample_progress, call, call_with,
    f, u,
};
use serde_json::{Value, json};
use sysgate::testing::error::ToolError;
use sysgate::testing::tools::{Cancel, Registry};

const CORE_TOOLS: [&str; 14] = [
    "get_system_status",
    "get_cpu_info",
    "get_memory_info",
    "get_disk_info",
    "get_disk_io",
    "get_block_devices",
    "get_network_info",
    "get_processes",
    "get_process",
    "get_uptime",
    "get_load",
    "get_temperature",
    "get_sessions_and_time",
    "whoami",
];

fn spawn_sleep(arg0: &str) -> Reaped {
    Reaped(
        Command::new("sleep")
            .arg0(arg0)
            .arg("30")
            .env("SYSGATE_TEST_ENV_SECRET", "ENVSECRET-must-not-appear")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep"),
    )
}

/// Keeps one CPU busy until dropped.
struct Spinner(Arc<AtomicBool>, Option<thread::JoinHandle<()>>);

impl Spinner {
    fn start() -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let h = thread::spawn(move || {
            let mut x: u64 = 0;
            while !s.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        });
        // Let the scheduler give it a CPU before anyone measures.
        thread::sleep(Duration::from_millis(50));
        Spinner(stop, Some(h))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(h) = self.1.take() {
            let _ = h.join();
        }
    }
}

/// Walk a schema: every object is closed, no `type` is a list (MCP Inspector --strict warns).
fn assert_strict(schema: &Value, at: &str) {
    if let Some(t) = schema.get("type") {
        assert!(t.is_string(), "{at}: type must be a single name, got {t}");
        if t == "object" {
            assert_eq!(
                schema.get("additionalProperties"),
                Some(&Value::Bool(false)),
                "{at}: objects must set additionalProperties: false"
            );
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            assert_strict(v, &format!("{at}.{k}"));
        }
    }
    if let Some(items) = schema.get("items") {
        assert_strict(items, &format!("{at}[]"));
    }
}

#[test]
fn registry_has_the_core_tools_in_order_with_strict_schemas() {
    let r = Registry::new().unwrap();
    // The core tools, in order; the other scopes' tables follow them, held to the same rules.
    let names: Vec<&str> = r
        .iter()
        .filter(|t| t.def.scope.to_string() == "core")
        .map(|t| t.def.name)
        .collect();
    assert_eq!(names, CORE_TOOLS);
    assert!(
        r.iter()
            .skip(CORE_TOOLS.len())
            .all(|t| t.def.scope.name() != "core")
    );
    let first: Vec<&str> = r
        .iter()
        .take(CORE_TOOLS.len())
        .map(|t| t.def.name)
        .collect();
    assert_eq!(first, CORE_TOOLS);
    for t in r.iter() {
        let l = t.listing().unwrap();
        assert_strict(&l["inputSchema"], &format!("{} input", t.def.name));
        assert_strict(&l["outputSchema"], &format!("{} output", t.def.name));
        assert!(
            l["outputSchema"]["required"].is_array(),
            "{}: output lists its required fields",
            t.def.name
        );
        assert!(!t.def.title.is_empty() && !t.def.description.is_empty());
        assert_eq!(l["annotations"]["readOnlyHint"], true);
        assert_eq!(l["annotations"]["destructiveHint"], false);
        assert_eq!(l["annotations"]["openWorldHint"], false);
    }
}

/// No arguments, or only the ones a tool requires (pid 1 exists everywhere).
fn required_args(name: &str) -> Value {
    match name {
        "get_process" => json!({"pid": 1}),
        _ => json!({}),
    }
}

#[test]
fn every_tool_runs_with_default_args_and_matches_its_schema() {
    for name in CORE_TOOLS {
        call(name, required_args(name));
    }
}

#[test]
fn every_tool_refuses_unknown_arguments() {
    for name in CORE_TOOLS {
        let mut args = required_args(name);
        args["bogus"] = json!(1);
        match call_with(name, args, None, &Cancel::default(), None) {
            Err(ToolError::InvalidArgument { argument, .. }) => assert_eq!(argument, "bogus"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn bad_arguments_get_clear_errors() {
    for (name, args, arg) in [
        ("get_cpu_info", json!({"sample_ms": 10}), "sample_ms"),
        ("get_cpu_info", json!({"sample_ms": 1001}), "sample_ms"),
        ("get_cpu_info", json!({"sample_ms": "100"}), "sample_ms"),
        (
            "get_disk_info",
            json!({"include_virtual": "yes"}),
            "include_virtual",
        ),
        ("get_processes", json!({"limit": 0}), "limit"),
        ("get_processes", json!({"limit": 501}), "limit"),
        ("get_processes", json!({"limit": -1}), "limit"),
        ("get_processes", json!({"sort_by": "rss"}), "sort_by"),
        ("get_processes", json!({"sample_ms": 2001}), "sample_ms"),
        ("get_processes", json!({"user": "-rf"}), "user"),
        ("get_processes", json!({"user": "Root"}), "user"),
        ("get_processes", json!({"user": "x".repeat(33)}), "user"),
        ("get_processes", json!({"name": ""}), "name"),
        ("get_processes", json!({"name": "a\nb"}), "name"),
        ("get_processes", json!({"name": "\u{1b}[31m"}), "name"),
        ("get_processes", json!({"name": "a\u{85}b"}), "name"),
        ("get_processes", json!({"name": "x".repeat(65)}), "name"),
        // Passes the pattern, but no such user exists: the handler says so.
        (
            "get_processes",
            json!({"user": "nosuchuser_sysgate"}),
            "user",
        ),
    ] {
        match call_with(name, args.clone(), None, &Cancel::default(), None) {
            Err(ToolError::InvalidArgument { argument, rule }) => {
                assert_eq!(argument, arg, "{name} {args}: {rule}");
                assert!(!rule.is_empty());
            }
            other => panic!("{name} {args}: {other:?}"),
        }
    }
}

#[test]
fn memory_adds_up() {
    let m = call("get_memory_info", json!({}));
    let total = u(&m["total_bytes"]);
    assert!(total > 0);
    assert!(u(&m["available_bytes"]) <= total);
    assert!(u(&m["free_bytes"]) <= total);
    assert_eq!(u(&m["used_bytes"]) + u(&m["available_bytes"]), total);
    let pct = f(&m["used_percent"]);
    let expect = u(&m["used_bytes"]) as f64 * 100.0 / total as f64;
    assert!((pct - expect).abs() < 0.01, "{pct} vs {expect}");
    let swap = &m["swap"];
    assert_eq!(
        u(&swap["used_bytes"]) + u(&swap["free_bytes"]),
        u(&swap["total_bytes"])
    );
    // It is the latency benchmark tool: well inside its 100 ms budget even in a debug build.
    let t = Instant::now();
    call("get_memory_info", json!({}));
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn uptime_and_load_are_sane() {
    let up = call("get_uptime", json!({}));
    assert!(f(&up["uptime_seconds"]) > 0.0);
    let l = call("get_load", json!({}));
    assert!(u(&l["total_tasks"]) > 0);
    assert!(u(&l["runnable_tasks"]) <= u(&l["total_tasks"]));
    assert!(u(&l["logical_cpus"]) >= 1);
    let psi = std::path::Path::new("/proc/pressure/cpu").exists();
    assert_eq!(l["psi_available"], psi);
    if psi {
        assert!(l["pressure"]["cpu"]["some"]["avg10"].is_number());
        assert!(l.get("psi_reason").is_none());
    } else {
        assert!(l["psi_reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(l.get("pressure").is_none());
    }
}

#[test]
fn temperature_lists_sensors_or_says_why_not() {
    let t = call("get_temperature", json!({}));
    let sensors = t["sensors"].as_array().unwrap();
    assert_eq!(u(&t["count"]) as usize, sensors.len());
    if sensors.is_empty() {
        assert!(
            t["reason"]
                .as_str()
                .is_some_and(|r| r.contains("no readable"))
        );
    } else {
        assert!(t.get("reason").is_none());
    }
}

#[test]
fn network_shows_loopback() {
    let n = call("get_network_info", json!({}));
    let ifs = n["interfaces"].as_array().unwrap();
    assert_eq!(u(&n["count"]) as usize, ifs.len());
    let lo = ifs
        .iter()
        .find(|i| i["name"] == "lo")
        .expect("loopback listed");
    assert_eq!(lo["mtu"], 65536);
    let addrs = lo["addresses"].as_array().unwrap();
    assert!(
        addrs.iter().any(|a| a["family"] == "ipv4"
            && a["address"] == "127.0.0.1"
            && a["prefix_len"] == 8
            && a["scope"] == "host"),
        "{addrs:?}"
    );
    if std::path::Path::new("/proc/net/if_inet6").exists() {
        assert!(addrs.iter().any(|a| a["address"] == "::1"), "{addrs:?}");
    }
}

#[test]
fn disk_lists_root_and_virtual_on_request() {
    let d = call("get_disk_info", json!({}));
    let fss = d["filesystems"].as_array().unwrap();
    let root = fss
        .iter()
        .find(|f| f["mount_point"] == "/")
        .expect("/ listed");
    assert!(u(&root["total_bytes"]) > 0);
    assert!(u(&root["used_bytes"]) + u(&root["available_bytes"]) <= u(&root["total_bytes"]));
    assert!(
        fss.iter()
            .all(|f| f["fstype"] != "proc" && f["fstype"] != "sysfs")
    );
    let all = call("get_disk_info", json!({"include_virtual": true}));
    let allfs = all["filesystems"].as_array().unwrap();
    assert_eq!(all["skipped_virtual"], 0);
    assert!(allfs.len() > fss.len());
    assert!(
        allfs
            .iter()
            .any(|f| f["mount_point"] == "/proc" && f["fstype"] == "proc")
    );
    // Mount points are unique: an over-mounted point appears once.
    let mut points: Vec<&str> = allfs
        .iter()
        .map(|f| f["mount_point"].as_str().unwrap())
        .collect();
    let n = points.len();
    points.sort_unstable();
    points.dedup();
    assert_eq!(points.len(), n);
}

#[test]
fn system_status_matches_the_kernel() {
    let s = call("get_system_status", json!({}));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(s["hostname"], host.trim());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(s["kernel"], kernel.trim());
    assert!(!s["os"]["pretty_name"].as_str().unwrap().is_empty());
    assert!(u(&s["cpu"]["sample_ms"]) >= 100);
    assert!(u(&s["memory"]["total_bytes"]) > 0);
    let fss = s["filesystems"].as_array().unwrap();
    assert!(!fss.is_empty() && fss.len() <= 5);
    let pcts: Vec<f64> = fss.iter().map(|x| f(&x["use_percent"])).collect();
    assert!(pcts.windows(2).all(|w| w[0] >= w[1]), "{pcts:?}");
}

#[test]
fn busy_cpu_shows_in_cpu_info_and_processes() {
    let _spin = Spinner::start();
    let c = call("get_cpu_info", json!({"sample_ms": 300}));
    assert_eq!(c["sample_ms"], 300);
    let per: Vec<f64> = c["per_cpu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f(&p["usage_percent"]))
        .collect();
    assert_eq!(per.len() as u64, u(&c["logical_cpus"]));
    // One of the CPUs is kept fully busy: together at least most of one CPU.
    let n = per.len() as f64;
    assert!(f(&c["usage_percent"]) * n >= 60.0, "{c}");
    assert!(per.iter().sum::<f64>() >= 60.0, "{per:?}");
    // The same spinning thread makes this test process busy when sampled (the machine is
    // shared, so only a clear share of one CPU is asserted, not all of it).
    let p = call(
        "get_processes",
        json!({"name": "core_tools", "sample_ms": 300, "limit": 500}),
    );
    let me = p["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| u(&x["pid"]) == u64::from(std::process::id()))
        .expect("this test process is listed");
    assert!(f(&me["cpu_percent"]) >= 20.0, "{me}");
    assert_eq!(p["cpu_mode"], "sampled");
}

#[test]
fn processes_sort_and_limit() {
    for (sort_by, limit) in [("cpu", 25), ("memory", 10), ("pid", 500), ("name", 7)] {
        let v = call("get_processes", json!({"sort_by": sort_by, "limit": limit}));
        let ps = v["processes"].as_array().unwrap();
        assert!(ps.len() <= limit, "{sort_by}");
        assert_eq!(u(&v["returned"]) as usize, ps.len());
        assert!(u(&v["matched"]) >= u(&v["returned"]));
        assert!(u(&v["total_processes"]) >= u(&v["matched"]));
        assert_eq!(v["sort_by"], sort_by);
        assert_eq!(v["cpu_mode"], "lifetime_average");
        assert!(!ps.is_empty());
        for w in ps.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let ok = match sort_by {
                "cpu" => f(&a["cpu_percent"]) >= f(&b["cpu_percent"]),
                "memory" => u(&a["rss_bytes"]) >= u(&b["rss_bytes"]),
                "pid" => u(&a["pid"]) < u(&b["pid"]),
                _ => {
                    a["name"].as_str().unwrap().to_ascii_lowercase()
                        <= b["name"].as_str().unwrap().to_ascii_lowercase()
                }
            };
            assert!(ok, "{sort_by}: {} before {}", a, b);
        }
    }
    // pid 1 is the lowest pid there is.
    let v = call("get_processes", json!({"sort_by": "pid", "limit": 1}));
    assert_eq!(v["processes"][0]["pid"], 1);
    // Over the whole list, the leaders are non-zero: many kernel threads have 0 RSS and 0 CPU,
    // so order alone would not tell ascending from descending. The list is cut at `limit`.
    for (sort_by, field) in [("memory", "rss_bytes"), ("cpu", "cpu_percent")] {
        let v = call("get_processes", json!({"sort_by": sort_by, "limit": 500}));
        let ps = v["processes"].as_array().unwrap();
        assert!(f(&ps[0][field]) > 0.0, "{sort_by}: {}", ps[0]);
        assert!(f(&ps[ps.len() - 1][field]) <= f(&ps[0][field]));
        let few = call("get_processes", json!({"sort_by": sort_by, "limit": 3}));
        assert_eq!(few["processes"].as_array().unwrap().len(), 3);
        assert_eq!(few["returned"], 3);
    }
}

#[test]
fn processes_find_this_process_and_filter_by_user() {
    let me = u64::from(std::process::id());
    let v = call("get_processes", json!({"name": "CORE_TOOLS", "limit": 500}));
    let ps = v["processes"].as_array().unwrap();
    let mine = ps.iter().find(|p| u(&p["pid"]) == me).expect("listed");
    assert!(
        mine["name"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("core_tools")
    );
    assert!(u(&mine["threads"]) >= 1);
    assert!(u(&mine["rss_bytes"]) > 0);
    assert_eq!(mine["kernel_thread"], false);
    assert_eq!(
        u(&mine["ppid"]),
        u64::from(std::os::unix::process::parent_id())
    );
    let exe = std::env::current_exe().unwrap();
    assert!(
        mine["cmdline"]
            .as_str()
            .unwrap()
            .starts_with(exe.to_str().unwrap()),
        "{mine}"
    );
    // Started within the last hour (tests do not run that long), in unix seconds.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = mine["start_time"].as_i64().unwrap();
    assert!(start <= now + 2 && start > now - 3600, "{start} vs {now}");
    // Every match contains the filter; something that matches nothing gives an empty list.
    assert!(ps.iter().all(|p| {
        p["name"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("core_tools")
    }));
    let none = call("get_processes", json!({"name": "no-such-process-xyz"}));
    assert_eq!(none["matched"], 0);
    assert_eq!(none["processes"], json!([]));

    // Our uid's user name, from /etc/passwd.
    let uid = u64::from(sysgate::testing::sys::euid());
    let name = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .expect("our uid has a passwd entry");
    let v = call("get_processes", json!({"user": name, "limit": 500}));
    let ps = v["processes"].as_array().unwrap();
    assert!(ps.iter().any(|p| u(&p["pid"]) == me));
    assert!(ps.iter().all(|p| u(&p["uid"]) == uid && p["user"] == name));
}

#[test]
fn child_cmdline_is_shown_cut_and_without_environment() {
    let short = spawn_sleep("sleep-SECRETMARK");
    let long_arg0 = format!("LONGMARK{}", "x".repeat(3000));
    let long = spawn_sleep(&long_arg0);
    // Give exec a moment so /proc shows the new image.
    thread::sleep(Duration::from_millis(100));
    let v = call("get_processes", json!({"name": "sleep", "limit": 500}));
    let ps = v["processes"].as_array().unwrap();
    let find = |pid: u32| {
        ps.iter()
            .find(|p| u(&p["pid"]) == u64::from(pid))
            .unwrap_or_else(|| panic!("child {pid} listed in {v}"))
    };
    let s = find(short.0.id());
    assert_eq!(s["name"], "sleep");
    assert_eq!(s["cmdline"], "sleep-SECRETMARK 30");
    assert_eq!(s["cmdline_truncated"], false);
    assert_eq!(u(&s["ppid"]), u64::from(std::process::id()));
    let l = find(long.0.id());
    let cmd = l["cmdline"].as_str().unwrap();
    assert_eq!(cmd.chars().count(), 1024);
    assert!(long_arg0.starts_with(cmd));
    assert_eq!(l["cmdline_truncated"], true);
    // Environments are never read: the child's secret is nowhere in a full listing.
    let all = call("get_processes", json!({"limit": 500, "sort_by": "pid"}));
    let text = all.to_string();
    assert!(text.contains("SECRETMARK"));
    assert!(!text.contains("ENVSECRET"));
}

#[test]
fn processes_exiting_mid_scan_are_skipped() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    // Churn: short-lived children appear and vanish while we scan.
    let churn = thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            if let Ok(mut c) = Command::new("true").spawn() {
                let _ = c.wait();
            }
        }
    });
    let t = Instant::now();
    let mut calls = 0;
    while t.elapsed() < Duration::from_millis(800) {
        let v = call("get_processes", json!({"limit": 500, "sort_by": "pid"}));
        assert!(u(&v["returned"]) > 0);
        calls += 1;
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    assert!(calls >= 2);
}

#[test]
fn sampling_reports_progress_and_stops_on_cancel_or_deadline() {
    let events = Mutex::new(Vec::new());
    let sink = |done: f64, total: Option<f64>, msg: &str| {
        events.lock().unwrap().push((done, total, msg.to_string()));
    };
    call_with(
        "get_processes",
        json!({"sample_ms": 300, "limit": 1}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    let ev = events.lock().unwrap().clone();
    assert_sample_progress(&ev, 300);
    // Any sample is reported; no sample, no wait, nothing to report.
    events.lock().unwrap().clear();
    call_with(
        "get_processes",
        json!({"sample_ms": 50, "limit": 1}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    assert_eq!(events.lock().unwrap().len(), 2);
    events.lock().unwrap().clear();
    call_with(
        "get_processes",
        json!({"sample_ms": 0, "limit": 1}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    assert!(events.lock().unwrap().is_empty());

    // Cancelled mid-sample: the call ends promptly instead of sleeping out its 2 s.
    assert_cancelled_mid_call("get_processes", json!({"sample_ms": 2000}));

    // A deadline shorter than the sample stops it the same way.
    assert_deadline_stops_call(
        "get_cpu_info",
        json!({"sample_ms": 1000}),
        Duration::from_millis(700),
    );
}

#[test]
fn query_subcommand_runs_tools_through_the_binary() {
    let dir = common::TempDir::new("core-query");
    let cfg = dir.path("c.yaml");
    common::write_config(&cfg, "", 0o600);
    let cfg = cfg.to_str().unwrap();
    let marker = spawn_sleep("sleep-BINMARK");
    thread::sleep(Duration::from_millis(100));
    let out = common::host::succeed(Command::new(env!("CARGO_BIN_EXE_sysgate")).args([
        "query",
        "get_processes",
        "--args",
        r#"{"name":"sleep","limit":500}"#,
        "--config",
        cfg,
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["isError"], false);
    let ps = v["structuredContent"]["processes"].as_array().unwrap();
    assert!(
        ps.iter()
            .any(|p| u(&p["pid"]) == u64::from(marker.0.id()) && p["cmdline"] == "sleep-BINMARK 30")
    );
    // The text block renders the same data, fenced as untrusted (command lines are outside text).
    let text = v["content"][0]["text"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("Untrusted data from get_processes"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("<untrusted-data nonce=\""),
        "{}",
        lines[1]
    );
    assert!(lines[lines.len() - 1].starts_with("</untrusted-data nonce=\""));
    let inner: Value = serde_json::from_str(&lines[2..lines.len() - 1].join("\n")).unwrap();
    assert_eq!(inner, v["structuredContent"]);

    let out = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args([
            "query",
            "get_processes",
            "--args",
            r#"{"limit":0}"#,
            "--config",
            cfg,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["isError"], true);
    assert!(
        v["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`limit`: must be between 1 and 500")
    );
}

//! `get_process`, the context fields, `state` filter and summary of `get_processes`, and the
//! summary of `get_system_status`, on processes this test starts: values compared with `ps -o`
//! and with `/proc` read here, results validated against the published output schemas, and the
//! display order of fields visible in the text block.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the processes they inspect, and ps and kill to check them"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers set up and read the host for the tests, which stop at the first surprise"
)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::child::Reaped as Kid;
use common::in_process::{call, call_with, f, u};
use common::schema::{assert_fits, listed_output_schemas, ok_result};
use serde_json::{Value, json};
use sysgate::testing::error::ToolError;
use sysgate::testing::tools::Cancel;
use sysgate::testing::tools::schema::Schema;

/// The `stat` fields of `pid`, split after the name (field 3, the state, is index 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// Waits until `pid`'s state letter is `state` (true) or `timeout` passes (false).
fn wait_state(pid: u32, state: &str, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if stat_fields(pid).is_some_and(|f| f[0] == state) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Waits until `pid` has execed into `comm` (the name in `stat`).
fn wait_comm(pid: u32, comm: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{pid} did not become {comm}");
}

/// `ps -o KEY= -p PID` in UTC, trimmed.
fn ps(pid: u32, key: &str) -> String {
    let out = Command::new("ps")
        .args(["-o", &format!("{key}="), "-p", &pid.to_string()])
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .expect("ps runs");
    assert!(out.status.success(), "ps -o {key} -p {pid}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `[[dd-]hh:]mm:ss` (ps's `time`) as seconds.
fn ps_seconds(t: &str) -> f64 {
    let (days, rest) = t
        .split_once('-')
        .map_or((0.0, t), |(d, r)| (d.parse().unwrap(), r));
    let parts: Vec<f64> = rest.split(':').map(|p| p.parse().unwrap()).collect();
    days * 86_400.0 + parts.iter().fold(0.0, |acc, p| acc * 60.0 + p)
}

/// `Wed Dec  2 00:27:15 2026` (ps's `lstart` in UTC) as `2026-12-02T00:27:15Z`.
fn lstart_rfc3339(s: &str) -> String {
    let f: Vec<&str> = s.split_whitespace().collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == f[1])
    .unwrap()
        + 1;
    format!(
        "{}-{month:02}-{:02}T{}Z",
        f[4],
        f[2].parse::<u32>().unwrap(),
        f[3]
    )
}

/// Seconds between two RFC 3339 UTC times of the same day-or-so (enough for "within 2 s").
fn rfc3339_secs(s: &str) -> i64 {
    let (date, time) = s.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from the civil date (Hinnant's days_from_civil), independent of the server's code.
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

fn euid() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

/// The cgroup path as `/proc/PID/cgroup` gives it: the v2 line, or systemd's v1 line where the v2
/// one is only "/" or missing, or the first line.
fn cgroup_of(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = |pred: &dyn Fn(&str, &str) -> bool| {
        text.lines().find_map(|l| {
            let mut p = l.splitn(3, ':');
            let (id, ctl, path) = (p.next()?, p.next()?, p.next()?);
            pred(id, ctl).then(|| path.to_owned())
        })
    };
    let v2 = path(&|id, ctl| id == "0" && ctl.is_empty());
    let systemd = path(&|_, ctl| ctl.split(',').any(|c| c == "name=systemd"));
    match (v2, systemd) {
        (Some(v), Some(s)) if v == "/" => s,
        (Some(v), _) => v,
        (None, Some(s)) => s,
        (None, None) => path(&|_, _| true).unwrap(),
    }
}

fn err(name: &str, args: Value) -> String {
    match call_with(name, args.clone(), None, &Cancel::default(), None) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{name} {args}: expected an error, got {v}"),
    }
}

#[test]
fn get_process_of_our_child_matches_ps_and_proc() {
    // Nice 7 (so nice and priority are not the defaults), a secret only in the environment.
    let secret = format!("sysgate-env-secret-{}", std::process::id());
    let kid = Kid::spawn(
        Command::new("nice")
            .args(["-n", "7", "sleep", "30"])
            .env("SYSGATE_TEST_SECRET", &secret),
    );
    let pid = kid.pid();
    wait_comm(pid, "sleep");
    let p = call("get_process", json!({"pid": pid}));

    assert_eq!(u(&p["pid"]), u64::from(pid));
    assert_eq!(u(&p["ppid"]), u64::from(std::process::id()));
    assert_eq!(p["name"], "sleep");
    assert_eq!(p["cmdline"], "sleep 30");
    assert_eq!(p["cmdline_truncated"], false);
    assert_eq!(u(&p["uid"]), euid());
    assert_eq!(p["kernel_thread"], false);
    assert_eq!(ps(pid, "pid").parse::<u64>().unwrap(), u64::from(pid));
    assert_eq!(
        p["nice"].as_i64().unwrap(),
        ps(pid, "ni").parse::<i64>().unwrap()
    );
    assert_eq!(p["nice"], 7);
    // procps shows 39 minus the kernel's priority.
    assert_eq!(
        39 - p["priority"].as_i64().unwrap(),
        ps(pid, "pri").parse::<i64>().unwrap()
    );
    assert!(
        (f(&p["cpu_time_seconds"]) - ps_seconds(&ps(pid, "time"))).abs() <= 1.0,
        "{p}"
    );
    assert_eq!(p["tty"], ps(pid, "tty"));
    let stat = ps(pid, "stat");
    assert_eq!(p["state"].as_str().unwrap(), &stat[..1]);
    let lstart = lstart_rfc3339(&ps(pid, "lstart"));
    let start = p["start_time_utc"].as_str().unwrap();
    assert!(
        (rfc3339_secs(start) - rfc3339_secs(&lstart)).abs() <= 2,
        "{start} vs ps {lstart}"
    );
    assert!((rfc3339_secs(start) - p["start_time"].as_i64().unwrap()).abs() <= 1);
    // Seconds after boot: stat's starttime in ticks; the boot time plus that is the start time.
    let ticks: f64 = stat_fields(pid).unwrap()[19].parse().unwrap();
    let hz: f64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    assert!(
        (f(&p["start_after_boot_seconds"]) - ticks / hz).abs() < 0.02,
        "{p}"
    );

    // /proc, read here.
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64;
    assert_eq!(u(&p["open_fds"]), fds);
    assert!(p.get("open_fds_reason").is_none());
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    for line in io.lines() {
        let (k, v) = line.split_once(':').unwrap();
        // A sleeping process does no I/O between the two reads.
        assert_eq!(u(&p["io"][k]), v.trim().parse::<u64>().unwrap(), "{k}");
    }
    assert_eq!(p["cgroup"], cgroup_of(pid));

    // The environment is never read: the secret is nowhere, in the result or its text block.
    assert!(!p.to_string().contains(&secret));
    let dir = common::TempDir::new("proc-bin");
    let cfg = dir.path("c.yaml");
    common::write_config(&cfg, "", 0o600);
    let mut c = common::Client::initialized(&["serve", "--config", cfg.to_str().unwrap()]);
    for format in ["json", "toon"] {
        let r = c.call("get_process", json!({"pid": pid, "format": format}));
        assert_eq!(r["result"]["isError"], false, "{r}");
        assert!(!r.to_string().contains(&secret), "{r}");
        assert!(!r.to_string().contains("SYSGATE_TEST_SECRET"), "{r}");
    }
    // The secret is really there to be found, in the environment the kernel holds.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(String::from_utf8_lossy(&environ).contains(&secret));
}

#[test]
fn get_process_refuses_bad_pids_and_threads() {
    // A pid that cannot exist: the kernel hands out pids below pid_max.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let e = err("get_process", json!({"pid": pid_max.min(4_194_304)}));
    assert!(e.contains("no process"), "{e}");
    for bad in [
        json!({}),
        json!({"pid": 0}),
        json!({"pid": -1}),
        json!({"pid": 4_194_305}),
        json!({"pid": "1"}),
        json!({"pid": 1, "env": true}),
    ] {
        let e = err("get_process", bad.clone());
        assert!(e.contains("invalid argument"), "{bad}: {e}");
    }
    // A thread id answers in /proc but is not a process: the error names the process.
    let worker = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(2)));
    let me = std::process::id();
    let tid = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|t| *t != me)
        .expect("a second thread");
    let e = err("get_process", json!({"pid": tid}));
    assert!(e.contains(&format!("thread of process {me}")), "{e}");
    worker.join().unwrap();
}

#[test]
fn get_process_of_processes_that_exit_is_whole_or_an_error() {
    // Short-lived processes, each asked about while another thread reaps it: a full record
    // (valid against the schema, checked by `call_with`) or an error saying it is gone; never
    // part of one.
    let (mut whole, mut gone) = (0, 0);
    for _ in 0..40 {
        let mut child = Command::new("sh")
            .args(["-c", "exit 0"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let reaper = std::thread::spawn(move || child.wait());
        let r = call_with(
            "get_process",
            json!({"pid": pid}),
            None,
            &Cancel::default(),
            None,
        );
        reaper.join().unwrap().unwrap();
        match r {
            Ok(p) => {
                assert_eq!(u(&p["pid"]), u64::from(pid));
                whole += 1;
            }
            Err(ToolError::InvalidArgument { rule, .. }) => {
                assert!(rule.contains("no process"), "{rule}");
                gone += 1;
            }
            Err(ToolError::Failed(m)) => {
                assert!(m.contains("exited while it was being read"), "{m}");
                gone += 1;
            }
            Err(e) => panic!("{e}"),
        }
        // Once reaped it is gone for sure.
        let e = err("get_process", json!({"pid": pid}));
        assert!(e.contains("no process"), "{e}");
    }
    assert_eq!(whole + gone, 40);
}

/// A zombie: `sh` starts `sleep 0` in the background and then becomes `sleep 30`, which never
/// waits, so the exited `sleep 0` stays a zombie child of it until the test kills the parent.
fn zombie_maker() -> (Kid, u32) {
    let parent = Kid::spawn(Command::new("sh").args(["-c", "sleep 0 & exec sleep 30"]));
    let ppid = parent.pid();
    wait_comm(ppid, "sleep");
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let zombie = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| stat_fields(*pid).is_some_and(|f| f[0] == "Z" && f[1] == ppid.to_string()));
        if let Some(z) = zombie {
            return (parent, z);
        }
        assert!(Instant::now() < end, "no zombie appeared under {ppid}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn state_filter_and_summary_agree_with_the_list() {
    let (parent, zombie) = zombie_maker();
    let ppid = parent.pid();
    let stopped = Kid::spawn(Command::new("sleep").arg("30"));
    wait_comm(stopped.pid(), "sleep");
    let status = Command::new("kill")
        .args(["-STOP", &stopped.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_state(stopped.pid(), "T", Duration::from_secs(5)));

    for (state, letter, ours) in [("zombie", "Z", zombie), ("stopped", "T", stopped.pid())] {
        let r = call(
            "get_processes",
            json!({"state": state, "limit": 500, "sort_by": "pid"}),
        );
        let list = r["processes"].as_array().unwrap();
        assert!(list.iter().all(|p| p["state"] == letter), "{state}: {r}");
        assert!(
            list.iter().any(|p| u(&p["pid"]) == u64::from(ours)),
            "{state}: {r}"
        );
        // One scan: the filter's matches are exactly the summary's count for that state.
        let key = state.replace('-', "_");
        assert_eq!(u(&r["matched"]), u(&r["summary"]["by_state"][&key]), "{r}");
    }
    // The zombie itself, in full: a zombie has no command line.
    let z = call("get_process", json!({"pid": zombie}));
    assert_eq!(
        (z["state"].as_str(), z["cmdline"].as_str()),
        (Some("Z"), Some(""))
    );
    assert_eq!(u(&z["ppid"]), u64::from(ppid));

    let r = call("get_processes", json!({"limit": 1}));
    let s = &r["summary"];
    let sum: u64 = s["by_state"].as_object().unwrap().values().map(u).sum();
    assert_eq!(sum, u(&r["total_processes"]), "{s}");
    assert!(
        u(&s["by_state"]["zombie"]) >= 1 && u(&s["by_state"]["stopped"]) >= 1,
        "{s}"
    );
    let parent_of = |s: &Value| {
        s["zombie_parents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| u(&p["ppid"]) == u64::from(ppid))
            .cloned()
            .unwrap_or_else(|| panic!("{ppid} not among the zombie parents: {s}"))
    };
    let p = parent_of(s);
    assert_eq!((p["name"].as_str(), u(&p["zombies"])), (Some("sleep"), 1));
    // The same summary in get_system_status (its schema checked by `call`).
    let st = call("get_system_status", json!({}));
    assert_eq!(u(&parent_of(&st["processes"])["zombies"]), 1);
    assert!(u(&st["processes"]["by_state"]["stopped"]) >= 1);
    drop(stopped);
    drop(parent);
}

#[test]
fn context_fields_in_the_list_match_ps() {
    let kid = Kid::spawn(Command::new("nice").args(["-n", "3", "sleep", "30"]));
    let pid = kid.pid();
    wait_comm(pid, "sleep");
    let r = call("get_processes", json!({"name": "sleep", "limit": 500}));
    let p = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| u(&p["pid"]) == u64::from(pid))
        .unwrap_or_else(|| panic!("{pid} not listed: {r}"));
    assert_eq!(p["nice"], 3);
    assert_eq!(
        p["nice"].as_i64().unwrap(),
        ps(pid, "ni").parse::<i64>().unwrap()
    );
    assert_eq!(p["tty"], ps(pid, "tty"));
    // Start times in the list are unix seconds; ps's lstart (UTC) agrees within 2 s.
    let lstart = rfc3339_secs(&lstart_rfc3339(&ps(pid, "lstart")));
    assert!(
        (p["start_time"].as_i64().unwrap() - lstart).abs() <= 2,
        "{p}"
    );
    assert!((f(&p["cpu_time_seconds"]) - ps_seconds(&ps(pid, "time"))).abs() <= 1.0);
    // The per-process context that costs a read each, or memory in a 500-row answer, is only
    // in get_process.
    for key in [
        "cgroup",
        "open_fds",
        "io",
        "systemd_unit",
        "container_id",
        "priority",
        "start_time_utc",
    ] {
        assert!(p.get(key).is_none(), "{key} in the list");
    }
}

#[test]
fn through_the_binary_schemas_and_field_order() {
    let kid = Kid::spawn(Command::new("sleep").arg("30"));
    wait_comm(kid.pid(), "sleep");
    let (_dir, mut c) = common::serve("proc-order", "");
    let schemas = listed_output_schemas(&mut c);
    let pid = kid.pid();
    for (name, args) in [
        ("get_process", json!({"pid": pid})),
        ("get_process", json!({"pid": 1})),
        ("get_process", json!({"pid": pid, "format": "toon"})),
        (
            "get_processes",
            json!({"state": "sleeping", "format": "toon", "limit": 3}),
        ),
        ("get_processes", json!({"limit": 3})),
        ("get_processes", json!({"state": "other"})),
        ("get_system_status", json!({})),
    ] {
        let r = c.call(name, args.clone());
        let res = ok_result(&r, &schemas[name], &format!("{name} {args}"));
        let text = res["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("Untrusted data from "), "{text}");
        let inner: Vec<&str> = text.lines().skip(2).collect();
        let inner = &inner[..inner.len() - 1];
        match (name, args.get("format").is_some()) {
            // TOON: `pid` is the first line, `cmdline` the last.
            ("get_process", true) => {
                assert!(inner[0].starts_with(&format!("pid: {pid}")), "{text}");
                assert!(inner.last().unwrap().starts_with("cmdline: "), "{text}");
            }
            // A TOON table: identity columns first, the command line last.
            ("get_processes", true) => {
                let header = inner
                    .iter()
                    .find(|l| l.starts_with("processes[3]{"))
                    .unwrap();
                assert!(
                    header.starts_with("processes[3]{pid,ppid,name,user,uid,state,"),
                    "{header}"
                );
                assert!(header.ends_with(",cmdline_truncated,cmdline}:"), "{header}");
            }
            // JSON: the same order, and still exactly the structured content.
            ("get_process", false) => {
                assert!(
                    inner[0].starts_with(&format!(
                        "{{\"pid\":{},\"ppid\":",
                        u(&res["structuredContent"]["pid"])
                    )),
                    "{text}"
                );
                assert!(
                    inner[0].ends_with("\"cmdline\":\"sleep 30\"}") || args["pid"] == 1,
                    "{text}"
                );
                let back: Value = serde_json::from_str(inner[0]).unwrap();
                assert_eq!(back, res["structuredContent"]);
            }
            ("get_processes", false) => {
                let empty = res["structuredContent"]["processes"] == json!([]);
                assert!(
                    empty || inner[0].contains("\"processes\":[{\"pid\":"),
                    "{text}"
                );
                let back: Value = serde_json::from_str(inner[0]).unwrap();
                assert_eq!(back, res["structuredContent"]);
            }
            _ => {}
        }
    }
}

#[test]
fn another_users_process_gives_reasons_not_numbers() {
    // pid 1 belongs to root; the server runs as someone else (nobody, through setpriv, when the
    // test runs as root), so /proc/1/fd and /proc/1/io are closed to it.
    let root_owned = std::fs::read_to_string("/proc/1/status")
        .unwrap()
        .lines()
        .any(|l| {
            l.strip_prefix("Uid:")
                .is_some_and(|u| u.split_whitespace().nth(1) == Some("0"))
        });
    assert!(root_owned, "pid 1 is not root's here");
    let args = ["query", "get_process", "--args", r#"{"pid": 1}"#];
    let out = if euid() == 0 {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                common::bin(),
            ])
            .args(args)
            .output()
            .expect("setpriv runs")
    } else {
        Command::new(common::bin()).args(args).output().unwrap()
    };
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["isError"], false, "{r}");
    let p = &r["structuredContent"];
    for (value, reason) in [("open_fds", "open_fds_reason"), ("io", "io_reason")] {
        assert!(p.get(value).is_none(), "{p}");
        let why = p[reason]
            .as_str()
            .unwrap_or_else(|| panic!("no {reason}: {p}"));
        assert!(
            why.starts_with("permission denied reading /proc/1/"),
            "{why}"
        );
    }
    // What anyone may read is still there.
    assert_eq!(u(&p["pid"]), 1);
    assert_eq!(p["cgroup"], cgroup_of(1));
    let registry = sysgate::testing::tools::Registry::new().unwrap();
    let tool = registry.get("get_process").unwrap();
    assert_fits(
        &Schema::compile(&tool.output_json()).unwrap(),
        p,
        "get_process",
    );
}

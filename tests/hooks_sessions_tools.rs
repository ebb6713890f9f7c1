//! `get_sessions_and_time` and the hooks tools (`get_kernel_modules`, `get_mounts`,
//! `get_cron_jobs`, `get_systemd_units`) on this machine, compared with independent sources:
//! `who` on utmp files made by `utmpdump -r`, `/proc` files decoded here, `lsmod`, `findmnt -J`,
//! `run-parts --test` and `systemctl list-unit-files` (which reads unit files without a running
//! systemd); and every tool through the real binary against its published outputSchema.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests run utmpdump, who, lsmod, findmnt, run-parts and systemctl to compare with"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the tests stop at the first surprise"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use common::in_process::{call, u};
use common::schema::{listed_output_schemas, ok_result};
use serde_json::{Value, json};
use sysgate::testing::tools::parse::utmp;

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// -- utmp --------------------------------------------------------------------------------------

/// `utmpdump`'s text form: type, pid, id, user, line, host, address, time.
const UTMP_TEXT: &str = "\
[2] [00000] [~~  ] [reboot  ] [~           ] [6.1.0-13-amd64      ] [0.0.0.0        ] [2026-11-30T09:58:00,000000+00:00]
[7] [04242] [ts/0] [alice   ] [pts/0       ] [192.0.2.7           ] [192.0.2.7      ] [2026-11-30T10:00:00,250000+00:00]
[8] [04000] [ts/1] [        ] [pts/1       ] [                    ] [0.0.0.0        ] [2026-11-30T10:01:00,000000+00:00]
[7] [00777] [tty1] [bob     ] [tty1        ] [                    ] [0.0.0.0        ] [2026-11-30T10:02:03,000000+00:00]
[7] [01234] [ts/2] [a_very_long_user_name_of_32_char] [pts/2       ] [host.example.org    ] [0.0.0.0        ] [2026-12-01T23:59:59,999999+00:00]
";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `who FILE` as (user, line, "Mon D HH:MM", host).
fn who(file: &std::path::Path) -> Vec<(String, String, String, String)> {
    run("who", &[file.to_str().unwrap()])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // LC_ALL=C: `user line Mon D HH:MM (host)`.
            let host = f
                .get(5)
                .map(|h| h.trim_matches(['(', ')']).to_string())
                .unwrap_or_default();
            (
                f[0].to_string(),
                f[1].to_string(),
                format!("{} {} {}", f[2], f[3], f[4]),
                host,
            )
        })
        .collect()
}

fn ours(bytes: &[u8]) -> (Vec<(String, String, String, String)>, utmp::Utmp) {
    let u = utmp::parse_utmp(bytes, now());
    let rows = u
        .sessions
        .iter()
        .map(|s| {
            let (secs, _) = s.login.expect("a believable login time");
            let days = secs.div_euclid(86_400);
            let rem = secs.rem_euclid(86_400);
            // The date `who` prints, from the seconds, with the civil-from-days arithmetic.
            let (_, m, d) = civil(days);
            (
                s.user.clone(),
                s.line.clone(),
                format!(
                    "{} {d} {:02}:{:02}",
                    MONTHS[m as usize - 1],
                    rem / 3600,
                    rem % 3600 / 60
                ),
                s.host.clone(),
            )
        })
        .collect();
    (rows, u)
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[test]
fn utmp_parser_agrees_with_who_on_files_made_by_utmpdump() {
    let dir = common::TempDir::new("utmp");
    let file = dir.path("utmp");
    let mut child = Command::new("utmpdump")
        .args(["-r", "-o", file.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("utmpdump (util-linux) is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(UTMP_TEXT.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len(), 5 * utmp::RECORD_BYTES);

    let (rows, u) = ours(&bytes);
    assert_eq!(rows, who(&file));
    assert_eq!(rows.len(), 3);
    assert_eq!(u.other_records, 2);
    // utmpdump's pids, microseconds and the 32-character name without a NUL come through.
    assert_eq!(u.sessions[0].pid, 4242);
    assert_eq!(u.sessions[0].login.unwrap().1, 250_000);
    assert_eq!(u.sessions[2].user.len(), 32);

    // A truncated copy: `who` and we both use the whole records only.
    let cut = &bytes[..bytes.len() - 100];
    let trunc = dir.path("utmp-truncated");
    std::fs::write(&trunc, cut).unwrap();
    let (rows, u) = ours(cut);
    assert_eq!(rows, who(&trunc));
    assert_eq!(rows.len(), 2);
    assert_eq!(u.trailing_bytes, utmp::RECORD_BYTES - 100);

    // Zero-filled and garbage files: no logins for either.
    for (name, junk) in [
        ("zeros", vec![0u8; 3 * utmp::RECORD_BYTES]),
        (
            "garbage",
            (0..3 * utmp::RECORD_BYTES)
                .map(|i| (i * 131 % 256) as u8 | 0x40)
                .collect(),
        ),
    ] {
        let p = dir.path(name);
        std::fs::write(&p, &junk).unwrap();
        let (rows, _) = ours(&junk);
        assert!(rows.is_empty(), "{name}");
        assert!(who(&p).is_empty(), "{name}");
    }
}

// -- sessions and time on this host -----------------------------------------------------------------

#[test]
fn sessions_and_time_match_the_kernel() {
    let v = call("get_sessions_and_time", json!({}));

    // Logins: `who` reads the same utmp file when there is one.
    let utmp_file = ["/run/utmp", "/var/run/utmp"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    match utmp_file {
        Some(p) => {
            let theirs: BTreeSet<(String, String)> = who(std::path::Path::new(p))
                .into_iter()
                .map(|(user, line, _, _)| (user, line))
                .collect();
            let mine: BTreeSet<(String, String)> = v["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["user"].as_str().unwrap().to_string(),
                        s["line"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(mine, theirs);
        }
        None => {
            assert_eq!(v["count"], 0);
            assert!(
                v["sessions_reason"]
                    .as_str()
                    .unwrap()
                    .contains("no utmp file"),
                "{v}"
            );
        }
    }

    // Taint: decoded here from the kernel's documented letters, bit by bit.
    const LETTERS: &str = "PFSRMBUDAWCIOELKXTNJ";
    let mask: u64 = std::fs::read_to_string("/proc/sys/kernel/tainted")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(u(&v["taint"]["mask"]), mask);
    let want: Vec<String> = (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| LETTERS.chars().nth(b).map(String::from).unwrap_or_default())
        .collect();
    let got: Vec<String> = v["taint"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["letter"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);

    // File handles: the maximum is fixed; the allocated count moves but stays below it.
    let nr: Vec<u64> = std::fs::read_to_string("/proc/sys/fs/file-nr")
        .unwrap()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let fh = &v["file_handles"];
    assert_eq!(u(&fh["max"]), nr[2]);
    assert!(u(&fh["allocated"]) > 0 && u(&fh["allocated"]) <= nr[2]);

    // The clock: synced exactly when UNSYNC is clear and the state is not an error.
    let c = &v["clock"];
    let status: Vec<&str> = c["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        c["synced"].as_bool().unwrap(),
        !status.contains(&"UNSYNC") && c["state"] != "error",
        "{c}"
    );
    assert!(c["estimated_error_us"].as_i64().unwrap() <= c["max_error_us"].as_i64().unwrap());
    // timedatectl asks systemd-timedated, which reads the same adjtimex state.
    if let Ok(out) = Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        && out.status.success()
    {
        let theirs = String::from_utf8_lossy(&out.stdout).trim() == "yes";
        assert_eq!(c["synced"].as_bool().unwrap(), theirs);
    }

    // Reboot required: the file's existence, and its package list.
    let flag = std::path::Path::new("/run/reboot-required").exists();
    assert_eq!(v["reboot_required"], flag);
    match std::fs::read_to_string("/run/reboot-required.pkgs") {
        Ok(text) => {
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            assert_eq!(v["reboot_packages"].get(0).and_then(Value::as_str), first);
        }
        Err(_) => assert!(v.get("reboot_packages").is_none()),
    }
}

// -- hooks on this host ------------------------------------------------------------------------------

#[test]
fn kernel_modules_match_proc_modules_and_lsmod() {
    let v = call("get_kernel_modules", json!({}));
    let Ok(text) = std::fs::read_to_string("/proc/modules") else {
        assert_eq!(v["count"], 0);
        assert!(
            v["reason"].as_str().unwrap().contains("/proc/modules"),
            "{v}"
        );
        return;
    };
    let theirs: BTreeMap<String, u64> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[1].parse().unwrap())
        })
        .collect();
    let mine: BTreeMap<String, u64> = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), u(&m["size_bytes"])))
        .collect();
    assert_eq!(mine, theirs);
    if have("lsmod") {
        let lsmod: BTreeSet<String> = run("lsmod", &[])
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        assert_eq!(mine.keys().cloned().collect::<BTreeSet<_>>(), lsmod);
    }
}

#[test]
fn mounts_match_findmnt() {
    let v = call("get_mounts", json!({}));
    let fm: Value = serde_json::from_str(&run(
        "findmnt",
        &[
            "-J",
            "-l",
            "-o",
            "ID,PARENT,TARGET,FSTYPE,VFS-OPTIONS,MAJ:MIN,PROPAGATION,FSROOT",
        ],
    ))
    .unwrap();
    let theirs: BTreeMap<u64, &Value> = fm["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (u(&m["id"]), m))
        .collect();
    let mine = v["mounts"].as_array().unwrap();
    assert_eq!(mine.len(), theirs.len());
    for m in mine {
        let t = theirs[&u(&m["mount_id"])];
        assert_eq!(m["parent_id"], t["parent"], "{m} {t}");
        assert_eq!(m["target"], t["target"], "{m} {t}");
        assert_eq!(m["fstype"], t["fstype"], "{m} {t}");
        assert_eq!(m["options"], t["vfs-options"], "{m} {t}");
        assert_eq!(m["device"], t["maj:min"], "{m} {t}");
        assert_eq!(m["root"], t["fsroot"], "{m} {t}");
        // findmnt names the propagation: private (no tags), shared, slave (master:N), ...
        let tags: Vec<&str> = m["propagation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let p = t["propagation"].as_str().unwrap();
        assert_eq!(tags.is_empty(), p == "private", "{m} {t}");
        assert_eq!(
            tags.iter().any(|t| t.starts_with("shared:")),
            p.contains("shared")
        );
        assert_eq!(
            tags.iter().any(|t| t.starts_with("master:")),
            p.contains("slave")
        );
    }
    // The filter keeps exactly the mounts of that type.
    let ext4 = call("get_mounts", json!({"fstype": "proc"}));
    let want = mine.iter().filter(|m| m["fstype"] == "proc").count();
    assert_eq!(u(&ext4["count"]), want as u64);
}

/// `systemctl list-unit-files` as name -> state, when systemctl is installed (it reads the unit
/// files itself and needs no running systemd).
fn systemctl_unit_files(extra: &[&str]) -> Option<BTreeMap<String, String>> {
    if !have("systemctl") {
        return None;
    }
    let mut args = vec!["list-unit-files", "--no-pager", "--no-legend"];
    args.extend_from_slice(extra);
    Some(
        run("systemctl", &args)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_string(), f.next()?.to_string()))
            })
            .collect(),
    )
}

#[test]
fn systemd_units_match_systemctl_list_unit_files() {
    let v = call("get_systemd_units", json!({"include_static": true}));
    assert!(v["runtime_state"].is_null());
    let reason = v["runtime_reason"].as_str().unwrap();
    if std::path::Path::new("/run/systemd/system").is_dir() {
        assert!(reason.contains("not read in this build"), "{reason}");
    } else {
        let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap();
        assert_eq!(
            reason,
            format!("systemd is not running (PID 1 is {})", pid1.trim())
        );
    }
    let mine: BTreeMap<String, String> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_string(),
                u["enablement"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let Some(theirs) = systemctl_unit_files(&[]) else {
        eprintln!("systemctl is not installed: unit states not compared");
        return;
    };
    // systemctl also lists generated and transient units, which live outside the directories
    // this tool reads; compare the units both know.
    let both: Vec<&String> = mine.keys().filter(|k| theirs.contains_key(*k)).collect();
    assert!(
        both.len() * 10 >= theirs.len() * 9,
        "{} of {}",
        both.len(),
        theirs.len()
    );
    for name in both {
        assert_eq!(mine[name], theirs[name], "{name}");
    }
    // Filters; by default the static units are counted, not listed.
    let timers = call(
        "get_systemd_units",
        json!({"type": "timer", "include_static": true}),
    );
    let want = mine.keys().filter(|k| k.ends_with(".timer")).count();
    assert_eq!(u(&timers["count"]), want as u64);
    let default = call("get_systemd_units", json!({}));
    let statics = mine.values().filter(|s| *s == "static").count();
    assert_eq!(u(&default["static_not_listed"]), statics as u64);
    assert_eq!(u(&default["count"]), (mine.len() - statics) as u64);
}

#[test]
fn cron_jobs_match_run_parts_and_systemctl() {
    let v = call("get_cron_jobs", json!({}));
    let jobs = v["jobs"].as_array().unwrap();
    // run-parts --test lists exactly the scripts it would run.
    for (dir, schedule) in [
        ("/etc/cron.hourly", "hourly"),
        ("/etc/cron.daily", "daily"),
        ("/etc/cron.weekly", "weekly"),
        ("/etc/cron.monthly", "monthly"),
    ] {
        if !std::path::Path::new(dir).is_dir() {
            continue;
        }
        let theirs: Vec<String> = run("run-parts", &["--test", dir])
            .lines()
            .map(String::from)
            .collect();
        let mine: Vec<String> = jobs
            .iter()
            .filter(|j| j["source"] == "run-parts" && j["schedule"] == schedule)
            .map(|j| j["command"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(mine, theirs, "{dir}");
    }
    // Every timer systemctl knows, with the same enablement.
    if let Some(timers) = systemctl_unit_files(&["--type=timer"]) {
        let mine: BTreeMap<String, bool> = jobs
            .iter()
            .filter(|j| j["source"] == "timer")
            .map(|j| {
                let name = j["file"].as_str().unwrap().rsplit('/').next().unwrap();
                (name.to_string(), j["enabled"].as_bool().unwrap())
            })
            .collect();
        for (name, state) in &timers {
            assert_eq!(
                mine.get(name).copied(),
                Some(state == "enabled" || state == "enabled-runtime"),
                "{name} {state}"
            );
        }
    }
    // Each job line of /etc/crontab and /etc/cron.d is there with its line number.
    let mut files = vec![std::path::PathBuf::from("/etc/crontab")];
    if let Ok(rd) = std::fs::read_dir("/etc/cron.d") {
        files.extend(rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
            p.is_file()
                && !p.is_symlink()
                && !p.file_name().unwrap().to_string_lossy().starts_with('.')
        }));
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let want: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                let t = l.trim_start();
                t.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@')
            })
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let got: Vec<u64> = jobs
            .iter()
            .filter(|j| j["file"] == f.to_str().unwrap())
            .map(|j| u(&j["line"]))
            .collect();
        assert_eq!(got, want, "{}", f.display());
    }
}

// -- through the real binary ---------------------------------------------------------------------

#[test]
fn new_tools_through_the_binary_against_their_published_schemas() {
    let (_dir, mut c) = common::serve("hooks-bin", "");
    let schemas = listed_output_schemas(&mut c);
    for (name, args) in [
        ("get_sessions_and_time", json!({})),
        ("get_sessions_and_time", json!({"format": "toon"})),
        ("get_kernel_modules", json!({})),
        ("get_mounts", json!({})),
        ("get_mounts", json!({"fstype": "ext4", "format": "toon"})),
        ("get_cron_jobs", json!({})),
        ("get_cron_jobs", json!({"format": "toon"})),
        ("get_systemd_units", json!({})),
        (
            "get_systemd_units",
            json!({"type": "service", "enablement": "enabled", "format": "toon"}),
        ),
    ] {
        let r = c.call(name, args.clone());
        ok_result(&r, &schemas[name], &format!("{name} {args}"));
    }
    // Hostile arguments are refused by the gate, naming the argument.
    for (name, args, arg) in [
        ("get_mounts", json!({"fstype": "ext4; rm -rf /"}), "fstype"),
        (
            "get_mounts",
            json!({"fstype": "x".repeat(10_000)}),
            "fstype",
        ),
        ("get_systemd_units", json!({"type": "../etc"}), "type"),
        ("get_cron_jobs", json!({"user": "root"}), "user"),
    ] {
        let r = c.call(name, args.clone());
        let text = r.to_string();
        assert!(
            r["result"]["isError"] == true || r.get("error").is_some(),
            "{name} {args}: {r}"
        );
        assert!(text.contains(arg), "{name}: {text}");
    }
}

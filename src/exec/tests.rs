#![forbid(unsafe_code)]
//! The sandbox proven on real children: programs of the base system (dash, env, cat, head,
//! ionice, unshare, perl, which Debian marks essential) checked with the same checker as the
//! table's programs and run through the same `run`, under each profile.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::testdir::TempDir;

fn exe(path: &str, profile: Profile) -> Executable {
    Executable::check_for_testing("test-program", Path::new(path), profile)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn never() -> bool {
    false
}

fn run_in(profile: Profile, path: &str, args: &[&str], within: Duration) -> Finished {
    run::run(
        &exe(path, profile),
        &Argv::raw_for_tests(args),
        &Settings::default(),
        Instant::now() + within,
        &never,
        Caps::default(),
    )
    .unwrap()
}

fn sh(profile: Profile, script: &str) -> Finished {
    run_in(
        profile,
        "/bin/dash",
        &["-c", script],
        Duration::from_secs(10),
    )
}

fn stdout(f: &Finished) -> String {
    String::from_utf8_lossy(&f.stdout).into_owned()
}

const BOTH: [Profile; 2] = [Profile::Reader, Profile::Networked];

#[test]
fn the_table_is_indexed_in_program_order() {
    for (i, r) in program::table().iter().enumerate() {
        assert_eq!(r.program, Program::ALL[i]);
        assert_eq!(r.program as usize, i);
    }
    assert!(program::listing().contains("journalctl"));
}

#[test]
fn the_environment_is_exactly_the_fixed_one() {
    for p in BOTH {
        let f = run_in(p, "/usr/bin/env", &[], Duration::from_secs(10));
        assert!(f.success(), "{f:?}");
        let mut got: Vec<&str> = std::str::from_utf8(&f.stdout).unwrap().lines().collect();
        got.sort_unstable();
        let mut want: Vec<String> = run::CHILD_ENV
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        want.sort_unstable();
        assert_eq!(got, want, "{p:?}");
    }
}

#[test]
fn nice_io_priority_and_rlimits_are_in_effect() {
    // /proc/self is cat's own entry: cat inherits everything from the sandboxed shell.
    let f = sh(
        Profile::Reader,
        "cat /proc/self/stat; cat /proc/self/limits; ionice; echo ppid=$PPID",
    );
    assert!(f.success(), "{f:?}");
    let out = stdout(&f);
    let stat = out.lines().next().unwrap();
    let after_comm: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    // Fields 3.. of proc_pid_stat(5): nice is field 19.
    assert_eq!(after_comm[19 - 3], "10", "{stat}");
    let limit = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .split_whitespace()
            .rev()
            .skip(1)
            .take(2)
            .collect::<Vec<_>>()
    };
    assert_eq!(limit("Max cpu time"), ["30", "30"], "{out}");
    assert_eq!(limit("Max file size"), ["1048576", "1048576"], "{out}");
    assert_eq!(limit("Max core file size"), ["0", "0"], "{out}");
    assert_eq!(
        limit("Max address space"),
        ["2147483648", "2147483648"],
        "{out}"
    );
    assert!(out.lines().any(|l| l == "idle"), "ionice: {out}");

    // The other class, and a networked program: no address-space limit there.
    let exe = exe("/bin/dash", Profile::Networked);
    let settings = Settings {
        nice_level: 19,
        io_priority: IoPriority::BestEffort,
        journal_directory: None,
    };
    let f = run::run(
        &exe,
        &Argv::raw_for_tests(&["-c", "cat /proc/self/stat; cat /proc/self/limits; ionice"]),
        &settings,
        Instant::now() + Duration::from_secs(10),
        &never,
        Caps::default(),
    )
    .unwrap();
    let out = stdout(&f);
    let stat = out.lines().next().unwrap();
    let after_comm: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(after_comm[19 - 3], "19", "{stat}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Max address space") && l.contains("unlimited")),
        "{out}"
    );
    assert!(out.contains("best-effort: prio 7"), "{out}");
}

#[test]
fn the_child_leads_its_own_process_group_with_stdin_from_dev_null() {
    let f = sh(
        Profile::Reader,
        "cat /proc/self/stat; readlink /proc/self/fd/0; cat",
    );
    assert!(f.success(), "{f:?}");
    let out = stdout(&f);
    let mut lines = out.lines();
    let stat = lines.next().unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    // ppid (field 4) is the shell, and the process group (field 5) is the shell's too.
    assert_eq!(fields[1], fields[2], "{stat}");
    assert_eq!(fields[2], f.record.pid.to_string(), "{stat}");
    assert_eq!(lines.next(), Some("/dev/null"));
    assert_eq!(lines.next(), None, "cat read nothing from stdin");
}

#[test]
fn a_forbidden_system_call_is_refused_while_the_program_still_works() {
    let dir = TempDir::new("exec-forbidden");
    let target = dir.join("made-by-child");
    let script = format!(
        "mkdir {} 2>&1; echo rc=$?; cat /proc/self/comm",
        target.display()
    );
    let f = sh(Profile::Reader, &script);
    let out = stdout(&f);
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(out.lines().any(|l| l == "cat"), "{out}");
    assert!(!target.exists());
    // Under the deny-list, namespaces are refused even to root; ordinary work goes on.
    let f = run_in(
        Profile::Networked,
        "/usr/bin/unshare",
        &["--net", "/bin/true"],
        Duration::from_secs(10),
    );
    assert_eq!(f.record.exit_code, Some(1), "{f:?}");
    assert!(
        String::from_utf8_lossy(&f.stderr).contains("Operation not permitted"),
        "{f:?}"
    );
    let f = sh(
        Profile::Networked,
        "mkdir -p /proc/none 2>/dev/null; echo ok",
    );
    assert_eq!(stdout(&f), "ok\n");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn ptrace_is_refused_and_clone3_is_enosys_in_both_profiles() {
    // perl's syscall() makes raw system calls: 101 is ptrace, 435 clone3 (x86-64 numbers).
    let script = r#"$r = syscall(101, 0, 0, 0, 0); print "ptrace $r ", $!+0, "\n";
        $r = syscall(435, 0, 0); print "clone3 $r ", $!+0, "\n";"#;
    for p in BOTH {
        let f = run_in(p, "/usr/bin/perl", &["-e", script], Duration::from_secs(10));
        assert!(f.success(), "{p:?} {f:?}");
        assert_eq!(
            stdout(&f),
            format!("ptrace -1 {}\nclone3 -1 {}\n", libc::EPERM, libc::ENOSYS),
            "{p:?}"
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_x32_abi_is_killed() {
    // getpid (39) through the x32 ABI (bit 30): SIGSYS before the print.
    for p in BOTH {
        let f = run_in(
            p,
            "/usr/bin/perl",
            &["-e", r#"syscall(0x40000000 + 39); print "alive\n";"#],
            Duration::from_secs(10),
        );
        assert_eq!(f.record.signal, Some(libc::SIGSYS), "{p:?} {f:?}");
        assert_eq!(f.record.exit_code, None);
        assert!(f.stdout.is_empty(), "{p:?}");
    }
}

#[test]
fn no_inherited_descriptor_survives() {
    let dir = TempDir::new("exec-fds");
    let file = std::fs::File::create(dir.join("open-in-parent")).unwrap();
    crate::sys::child::make_inheritable(file.as_fd()).unwrap();
    use std::os::fd::AsRawFd;
    let n = file.as_raw_fd();
    for p in BOTH {
        // ls lists the shell's descriptors (its own open directory is in its own table).
        let f = sh(p, "ls /proc/$$/fd");
        assert!(f.success(), "{f:?}");
        let fds: Vec<String> = stdout(&f).lines().map(String::from).collect();
        assert_eq!(fds, ["0", "1", "2"], "{p:?}: fd {n} was open in the parent");
    }
    drop(file);
}

fn is_gone(pid: &str) -> bool {
    // A killed orphan is reparented to init; until init reaps it, it is a zombie ("Z"), which
    // runs nothing and holds nothing.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')),
    }
}

#[test]
fn a_deadline_kills_the_child_and_its_grandchildren() {
    let started = Instant::now();
    let f = run_in(
        Profile::Reader,
        "/bin/dash",
        &["-c", "sleep 30 & echo $!; sleep 30"],
        Duration::from_millis(300),
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(f.stopped, Some(Stopped::Deadline));
    assert_eq!(f.record.signal, Some(libc::SIGKILL));
    assert_eq!(f.record.stopped, Some("deadline"));
    let grandchild = stdout(&f).trim().to_string();
    assert!(!grandchild.is_empty(), "{f:?}");
    assert!(is_gone(&f.record.pid.to_string()));
    // killpg is synchronous for SIGKILL delivery; allow the kernel a moment to finish the exit.
    let until = Instant::now() + Duration::from_secs(2);
    while !is_gone(&grandchild) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(is_gone(&grandchild), "grandchild {grandchild} survived");
}

#[test]
fn what_a_child_leaves_running_when_it_exits_is_killed_too() {
    let started = Instant::now();
    // The background sleep holds stdout open: without the group kill this would take 30 s.
    let f = sh(Profile::Reader, "sleep 30 & echo $!");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(f.success(), "{f:?}");
    let grandchild = stdout(&f).trim().to_string();
    let until = Instant::now() + Duration::from_secs(2);
    while !is_gone(&grandchild) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(is_gone(&grandchild), "grandchild {grandchild} survived");
}

#[test]
fn cancellation_kills_the_child() {
    let flag = AtomicBool::new(false);
    let cancelled = || flag.load(Ordering::Acquire);
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::Release);
        });
        let ctx = CallContext::new(Settings::default());
        let r = ctx.run_executable(
            &exe("/bin/dash", Profile::Reader),
            &Argv::raw_for_tests(&["-c", "sleep 30"]),
            Instant::now() + Duration::from_secs(20),
            &cancelled,
            Caps::default(),
        );
        assert_eq!(r.unwrap_err(), crate::error::ToolError::Cancelled);
        let children = ctx.children();
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].stopped, Some("cancelled"));
    });
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn vm_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn an_output_flood_is_capped_and_drained_without_memory_growth() {
    let caps = Caps {
        stdout: 1 << 20,
        stderr: 4096,
        stdout_lines: None,
    };
    let before = vm_rss_kib();
    let f = run::run(
        &exe("/usr/bin/head", Profile::Reader),
        &Argv::raw_for_tests(&["-c", "268435456", "/dev/zero"]),
        &Settings::default(),
        Instant::now() + Duration::from_secs(20),
        &never,
        caps,
    )
    .unwrap();
    let after = vm_rss_kib();
    assert!(f.success(), "{f:?}");
    assert_eq!(f.stdout.len(), 1 << 20);
    assert!(f.stdout_truncated && !f.stderr_truncated);
    assert_eq!(f.record.stdout_bytes, 256 << 20, "all of it was read");
    assert!(f.record.truncated);
    // 256 MiB went through; the parent kept 1 MiB of it. Other tests run in this process at
    // the same time, hence the wide margin, still far below what keeping the flood would cost.
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "RSS {before} -> {after} KiB"
    );
    assert!(f.record.max_rss_kib > 0, "{:?}", f.record);
}

#[test]
fn a_line_limit_stops_an_endless_writer_after_that_many_lines() {
    let f = run::run(
        &exe("/usr/bin/yes", Profile::Reader),
        &Argv::raw_for_tests(&["line"]),
        &Settings::default(),
        Instant::now() + Duration::from_secs(10),
        &never,
        Caps {
            stdout_lines: Some(3),
            ..Caps::default()
        },
    )
    .unwrap();
    assert!(f.line_limit_reached && f.stopped.is_none(), "{f:?}");
    assert_eq!(stdout(&f), "line\nline\nline\n");
    assert_eq!(f.record.stopped, Some("line_limit"));
}

#[test]
fn a_non_zero_exit_is_reported_with_stderr() {
    let f = sh(Profile::Reader, "echo 'no such unit' >&2; exit 3");
    assert!(!f.success());
    assert_eq!(f.record.exit_code, Some(3));
    assert_eq!(f.record.signal, None);
    assert_eq!(f.stderr_line(), "no such unit");
}

#[test]
fn missing_symlinked_foreign_and_writable_programs_are_refused() {
    let dir = TempDir::new("exec-check");
    let check = |p: &Path| Executable::check_for_testing("x", p, Profile::Reader).unwrap_err();
    assert!(
        check(&dir.join("absent")).contains("No such file"),
        "{}",
        check(&dir.join("absent"))
    );
    let copy = dir.join("prog");
    std::fs::copy("/bin/true", &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o775)).unwrap();
    let e = check(&copy);
    assert!(
        e.contains("has mode 0775 (writable by group or others)"),
        "{e}"
    );
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o757)).unwrap();
    assert!(check(&copy).contains("0757"));
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(check(&copy).contains("not executable"));
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink("/bin/true", &link).unwrap();
    assert!(check(&link).contains("is a symbolic link"));
    assert!(check(dir.path()).contains("not a regular file"));
    if crate::sys::euid() == 0 {
        std::os::unix::fs::chown(&copy, Some(1000), None).unwrap();
        assert!(check(&copy).contains("owned by uid 1000 (required: root)"));
        std::os::unix::fs::chown(&copy, Some(0), None).unwrap();
        assert!(Executable::check_for_testing("x", &copy, Profile::Reader).is_ok());
    }
    // A table program that is not installed answers with a clear error naming where it looked.
    if Program::Rpm
        .candidates()
        .iter()
        .all(|c| !Path::new(c).exists())
    {
        let e = Program::Rpm.find().unwrap_err().to_string();
        assert!(e.contains("rpm is not installed"), "{e}");
        assert!(e.contains("/usr/bin/rpm"), "{e}");
    }
}

#[test]
fn the_checked_file_runs_even_if_its_path_is_replaced_after_the_check() {
    if crate::sys::euid() != 0 {
        return; // the copy must be root-owned to pass the check
    }
    let dir = TempDir::new("exec-swap");
    let path = dir.join("prog");
    std::fs::copy("/bin/true", &path).unwrap();
    let checked = exe(path.to_str().unwrap(), Profile::Reader);
    // Swap a different program in under the same name.
    let other = dir.join("other");
    std::fs::copy("/bin/false", &other).unwrap();
    std::fs::rename(&other, &path).unwrap();
    let f = run::run(
        &checked,
        &Argv::new(Program::Journalctl),
        &Settings::default(),
        Instant::now() + Duration::from_secs(10),
        &never,
        Caps::default(),
    )
    .unwrap();
    assert_eq!(f.record.exit_code, Some(0), "ran the swapped-in /bin/false");
}

#[test]
fn argv_puts_operands_after_double_dash_and_values_inside_their_option() {
    let unit = UnitName::parse("unit", "nginx.service").unwrap();
    let a = Argv::new(Program::Systemctl)
        .flag("status")
        .opt("--lines", &unit)
        .opt_num("--since", -5)
        .operand(&unit)
        .operand(&unit);
    assert_eq!(
        a.args(),
        [
            "status",
            "--lines=nginx.service",
            "--since=-5",
            "--",
            "nginx.service",
            "nginx.service"
        ]
    );
    let pkg = PackageName::parse("package", "procps").unwrap();
    let ps = Argv::new(Program::Ps).flag("-o").operand(&pkg);
    assert_eq!(ps.args(), ["-o", "procps"]);
}

#[test]
fn spawning_from_many_threads_at_once_works() {
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let f = run_in(Profile::Reader, "/bin/true", &[], Duration::from_secs(10));
                assert!(f.success(), "{f:?}");
            });
        }
    });
    let _ = std::io::stderr().flush();
}

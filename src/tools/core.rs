#![forbid(unsafe_code)]
//! Scope `core`: host status read natively from `/proc` and `/sys`. No process is started here.
//! This file holds the tool table and the helpers the handlers share; each handler lives in a
//! submodule with its schemas beside it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::procfs;
use super::{Annotations, Ctx, Impact, ToolDef};
use crate::error::ToolError;
use crate::scope::Scope;

mod blockdev;
mod cpu;
mod disk;
mod diskio;
mod load;
mod memory;
mod network;
mod process;
mod processes;
mod sessions;
mod status;
mod temperature;

const NO_ARGS: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Low: the 100 ms sample overlaps a statfs pass capped at 600 ms, inside 1 s.
        name: "get_system_status",
        title: "System status",
        description: "One-call overview of this host: hostname, OS, kernel, uptime, load averages, CPU usage (sampled over 100 ms), memory use, the five fullest filesystems, and processes counted by state with the parents of zombies.",
        scope: Scope::Core,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: status::OUTPUT,
        handler: status::handler,
    },
    ToolDef {
        // Medium: `sample_ms` may be up to 1000 ms, more than the 1 s of Low leaves.
        name: "get_cpu_info",
        title: "CPU information",
        description: "CPU model, vendor, physical cores and logical CPUs, frequencies in MHz where the kernel reports them, and usage in percent overall and per CPU, measured over `sample_ms`.",
        scope: Scope::Core,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: cpu::INPUT,
        output_schema: cpu::OUTPUT,
        handler: cpu::handler,
    },
    ToolDef {
        // Low: `sample_ms` may be up to 500 ms, more than Minimal's 100 ms deadline; without
        // arguments, one read of /proc/meminfo (the latency benchmark tool).
        name: "get_memory_info",
        title: "Memory information",
        description: "Physical memory and swap from /proc/meminfo: total, free, available, buffers, cache, used and used percent (used means total minus available); dirty and writeback, slab and hugepages. With `pressure: true` also swap-in/out, page-fault and OOM-kill counters from /proc/vmstat and the cgroup v2 memory pressure (PSI) of the host; with `sample_ms` above 0 also their per-second rates measured over `sample_ms`.",
        scope: Scope::Core,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: memory::INPUT,
        output_schema: memory::OUTPUT,
        handler: memory::handler,
    },
    ToolDef {
        // Medium: each hung mount may cost its 500 ms statfs timeout before it is marked stuck.
        name: "get_disk_info",
        title: "Disks and filesystems",
        description: "Mounted filesystems with device, type, read-only flag, size, used, available, use percent and inodes. Pseudo and memory-backed filesystems (proc, sysfs, cgroup, tmpfs, devtmpfs, squashfs images, ...) are left out unless `include_virtual` is true. A filesystem that does not answer within 500 ms (a dead network mount) is reported with an `error` instead of sizes.",
        scope: Scope::Core,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: disk::INPUT,
        output_schema: disk::OUTPUT,
        handler: disk::handler,
    },
    ToolDef {
        // Medium: `sample_ms` up to 2000 ms, more than the 1 s of Low leaves.
        name: "get_disk_io",
        title: "Disk I/O",
        description: "Per block device I/O from /proc/diskstats: cumulative counters since boot, and (when `sample_ms` is above 0) reads and writes per second, bytes per second, average wait per read and write, average queue size and percent busy measured over `sample_ms`, as iostat -x computes them. Devices that never did I/O are left out unless `include_unused` is true.",
        scope: Scope::Core,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: diskio::INPUT,
        output_schema: diskio::OUTPUT,
        handler: diskio::handler,
    },
    ToolDef {
        // Low: a dozen sysfs reads per device.
        name: "get_block_devices",
        title: "Block devices",
        description: "Block devices from /sys/class/block: type (disk, partition, dm, md, loop), size, rotational, read-only, model and serial where exposed, partitions, holders and slaves, device-mapper names and the LVM volume group and volume, md RAID level, state, degraded count and members, a loop device's backing file, and the mount points each device backs. Devices of size 0 are left out unless `include_empty` is true.",
        scope: Scope::Core,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: blockdev::INPUT,
        output_schema: blockdev::OUTPUT,
        handler: blockdev::handler,
    },
    ToolDef {
        // Medium: `sample_ms` up to 2000 ms, more than the 1 s of Low leaves; without it, a
        // few sysfs reads per interface (up to 512) and five small /proc files.
        name: "get_network_info",
        title: "Network interfaces",
        description: "Network interfaces with state, MTU, MAC address, link speed, IPv4 and IPv6 addresses, and receive/transmit byte, packet, error and drop counters from /proc/net/dev; with `sample_ms` above 0 also their per-second rates measured over `sample_ms` (an interface that appears, vanishes or has a counter reset mid-sample gets a reason instead). Also the IPv4 (main table) and IPv6 default routes with gateway, interface and metric, and socket counts per protocol from /proc/net/sockstat and sockstat6 (TCP in use, orphaned, time-wait, allocated, memory; UDP, RAW, FRAG).",
        scope: Scope::Core,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: network::INPUT,
        output_schema: network::OUTPUT,
        handler: network::handler,
    },
    ToolDef {
        // Medium: `sample_ms` up to 2000 ms plus two scans of /proc.
        name: "get_processes",
        title: "Processes",
        description: "Running processes, sorted by CPU, memory, pid or name, optionally filtered by user, by a substring of the process name and by state. Each has nice, tty and cumulative CPU time as well; priority, the RFC 3339 start time, cgroup, systemd unit, container, open descriptors and I/O of one process are in get_process. CPU percent is of one CPU: the lifetime average when `sample_ms` is 0, else measured over `sample_ms`. A summary counts every process by state and names the parents of zombies. Command lines are cut at 1024 characters; environments are never read.",
        scope: Scope::Core,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: processes::INPUT,
        output_schema: processes::OUTPUT,
        handler: processes::handler,
    },
    ToolDef {
        // Minimal: about ten small /proc reads and one directory scan (capped) for one pid.
        name: "get_process",
        title: "Process details",
        description: "Everything safe about one process: what get_processes lists (user, state, nice, priority, tty, CPU time and percent, memory, start time as unix seconds, RFC 3339 and seconds after boot, command line), plus its cgroup path, the systemd unit, user unit and slice it names, the container id and runtime where the cgroup shows one (Docker, Podman, containerd, CRI-O, Kubernetes), the open descriptor count and the I/O counters of /proc/PID/io. What another user's process does not show (descriptors, I/O) is left out, with a reason. The environment is never read. A pid that does not exist, or exits while it is read, is an error.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: process::INPUT,
        output_schema: process::OUTPUT,
        handler: process::handler,
    },
    ToolDef {
        name: "get_uptime",
        title: "Uptime",
        description: "Time since boot, in seconds and as text, and the boot time. `idle_seconds` is the idle time summed over all CPUs, as /proc/uptime reports it, so it can exceed the uptime.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: r#"{
            "type": "object", "additionalProperties": false,
            "required": ["uptime_seconds", "idle_seconds", "boot_time_unix", "uptime_human"],
            "properties": {
                "uptime_seconds": {"type": "number", "minimum": 0},
                "idle_seconds": {"type": "number", "minimum": 0, "description": "idle time summed over all CPUs (up to uptime_seconds times the number of CPUs)"},
                "boot_time_unix": {"type": "integer"},
                "uptime_human": {"type": "string", "x-sysgate-server-text": true}
            }
        }"#,
        handler: get_uptime,
    },
    ToolDef {
        // Minimal: four small /proc files.
        name: "get_load",
        title: "Load and pressure",
        description: "Load averages over 1, 5 and 15 minutes, runnable and total tasks, the last pid, and pressure stall information (PSI) for CPU, memory and I/O when the kernel provides it.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: load::OUTPUT,
        handler: load::handler,
    },
    ToolDef {
        // Low: hwmon reads can go out to slow buses (I2C, ACPI) and take milliseconds each.
        name: "get_temperature",
        title: "Temperatures",
        description: "Temperature sensors from hwmon and thermal zones in degrees Celsius, with their critical and maximum thresholds where known. An empty list with a `reason` when the host exposes none (usual in virtual machines).",
        scope: Scope::Core,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: temperature::OUTPUT,
        handler: temperature::handler,
    },
    ToolDef {
        // Minimal: one utmp file (streamed, capped), one syscall and three small files.
        name: "get_sessions_and_time",
        title: "Sessions and time",
        description: "Logged-in users from utmp (/run/utmp, else /var/run/utmp; parsed natively: user, terminal, remote host, login time, pid), the kernel clock's synchronisation state from adjtimex(2) (synced, offset, estimated and maximum error, status flags), the kernel taint flags from /proc/sys/kernel/tainted, file handles from /proc/sys/fs/file-nr, and whether a reboot is required (/run/reboot-required and the packages in /run/reboot-required.pkgs). No program is started.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: sessions::OUTPUT,
        handler: sessions::handler,
    },
    ToolDef {
        name: "whoami",
        title: "Who am I",
        description: "The caller's identity as this server sees it, the scopes it holds and the tools it may call.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: r#"{
            "type": "object", "additionalProperties": false,
            "required": ["transport", "identity", "scopes", "tools"],
            "properties": {
                "transport": {"type": "string", "x-sysgate-server-text": true},
                "identity": {"type": "string", "x-sysgate-server-text": true},
                "uid": {"type": "integer", "minimum": 0},
                "scopes": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true}},
                "tools": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true}}
            }
        }"#,
        handler: whoami,
    },
];

/// Largest `/proc`, `/sys` or `/etc` file we read whole. The ones we read are far smaller; the cap
/// only keeps a surprise (a huge /etc/passwd, a broken driver) from growing memory without bound.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Read a text file under `/proc`, `/sys` or `/etc`, mapping failures to a caller-facing message.
pub(crate) fn read(path: &str) -> Result<String, ToolError> {
    read_path(Path::new(path))
        .map_err(|e| ToolError::Unavailable(format!("cannot read {path}: {e}")))
}

/// Read a whole (capped) file as text; invalid UTF-8 is replaced, not an error.
fn read_path(path: &Path) -> io::Result<String> {
    let mut buf = Vec::new();
    read_into(path, &mut buf, MAX_FILE_BYTES)?;
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Read at most `max` bytes of `path` into `buf` (cleared first), reusing its allocation.
fn read_into(path: &Path, buf: &mut Vec<u8>, max: u64) -> io::Result<()> {
    buf.clear();
    File::open(path)?.take(max).read_to_end(buf)?;
    Ok(())
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Two decimals are plenty for percentages and loads; non-finite values (which JSON cannot
/// carry and the output schema would reject) become 0.
fn round2(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        0.0
    }
}

/// A result struct as `structuredContent`.
fn to_value<T: Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

/// "3d 4h 5m" style rendering of a duration in seconds.
pub(crate) fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {}s", s % 60)
    }
}

/// Seconds since boot from `/proc/uptime`.
fn uptime_seconds() -> Result<f64, ToolError> {
    let text = read("/proc/uptime")?;
    procfs::parse_uptime(&text)
        .map(|(up, _)| up)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/uptime".into()))
}

/// Boot time in unix seconds: `btime` of /proc/stat, else now minus `uptime`.
fn boot_time(uptime: f64) -> Result<f64, ToolError> {
    Ok(cpu::read_proc_stat()?
        .btime
        .map(|b| b as f64)
        .unwrap_or_else(|| now_unix() - uptime))
}

/// The users of /etc/passwd as (name, uid), only for naming users: without the file, users are
/// shown by uid.
fn passwd_users() -> Vec<(String, u32)> {
    read_path(Path::new("/etc/passwd"))
        .map(|t| procfs::parse_passwd(&t))
        .unwrap_or_default()
}

fn get_uptime(_ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let text = read("/proc/uptime")?;
    let (up, idle) = procfs::parse_uptime(&text)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/uptime".into()))?;
    Ok(json!({
        "uptime_seconds": up,
        "idle_seconds": idle.max(0.0),
        "boot_time_unix": (now_unix() - up).round() as i64,
        "uptime_human": human_duration(up),
    }))
}

fn whoami(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let who = &ctx.who;
    let tools = (who.visible_tools)();
    let mut v = json!({
        "transport": who.transport,
        "identity": who.identity,
        "scopes": who.scopes.names(),
        "tools": tools,
    });
    if let Some(uid) = who.uid {
        v["uid"] = json!(uid);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_durations() {
        assert_eq!(round2(12.3456), 12.35);
        assert_eq!(round2(f64::NAN), 0.0);
        assert_eq!(round2(f64::INFINITY), 0.0);
        assert_eq!(human_duration(59.0), "0m 59s");
        assert_eq!(
            human_duration(3.0 * 86_400.0 + 4.0 * 3600.0 + 5.0 * 60.0),
            "3d 4h 5m"
        );
        assert_eq!(human_duration(-1.0), "0m 0s");
    }

    #[test]
    fn reads_are_capped_and_lossy() {
        let dir = crate::testdir::TempDir::new("read");
        let f = dir.join("bytes");
        std::fs::write(&f, b"ok\xffok").unwrap();
        assert_eq!(read_path(&f).unwrap(), "ok\u{fffd}ok");
        let mut buf = vec![1, 2, 3];
        read_into(&f, &mut buf, 2).unwrap();
        assert_eq!(buf, b"ok");
        assert!(read(dir.join("missing").to_str().unwrap()).is_err());
    }
}

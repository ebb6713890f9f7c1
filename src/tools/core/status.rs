#![forbid(unsafe_code)]
//! `get_system_status`: the one-call overview. The CPU sample and the filesystem sizes are
//! taken at the same time, so the whole call costs about the 100 ms sample.

use std::cmp::Ordering;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::processes::{self, summary_schema};
use super::{cpu, disk, load, memory, read, read_path, round2, to_value};
use super::{human_duration, now_unix, uptime_seconds};
use crate::error::ToolError;
use crate::output::redact::Redactor;
use crate::tools::Ctx;
use crate::tools::procfs::{self, OsRelease, sysfs_label};

pub const OUTPUT: &str = concat!(
    r#"{
    "type": "object", "additionalProperties": false,
    "required": ["hostname", "os", "kernel", "architecture", "uptime_seconds", "uptime_human",
                 "boot_time_unix", "load", "tasks", "cpu", "memory", "filesystems",
                 "filesystems_not_measured", "processes"],
    "properties": {
        "hostname": {"type": "string"},
        "os": {
            "type": "object", "additionalProperties": false,
            "required": ["pretty_name"],
            "properties": {
                "pretty_name": {"type": "string"},
                "name": {"type": "string"},
                "id": {"type": "string"},
                "version_id": {"type": "string"},
                "version": {"type": "string"}
            }
        },
        "kernel": {"type": "string"},
        "architecture": {"type": "string"},
        "uptime_seconds": {"type": "number", "minimum": 0},
        "uptime_human": {"type": "string", "x-sysgate-server-text": true},
        "boot_time_unix": {"type": "integer"},
        "load": {
            "type": "object", "additionalProperties": false,
            "required": ["load_1", "load_5", "load_15"],
            "properties": {
                "load_1": {"type": "number", "minimum": 0},
                "load_5": {"type": "number", "minimum": 0},
                "load_15": {"type": "number", "minimum": 0}
            }
        },
        "tasks": {
            "type": "object", "additionalProperties": false,
            "required": ["total", "runnable"],
            "properties": {
                "total": {"type": "integer", "minimum": 0},
                "runnable": {"type": "integer", "minimum": 0}
            }
        },
        "cpu": {
            "type": "object", "additionalProperties": false,
            "required": ["usage_percent", "logical_cpus", "sample_ms"],
            "properties": {
                "usage_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "logical_cpus": {"type": "integer", "minimum": 1},
                "sample_ms": {"type": "integer", "minimum": 0}
            }
        },
        "memory": {
            "type": "object", "additionalProperties": false,
            "required": ["total_bytes", "used_bytes", "available_bytes", "used_percent",
                         "swap_total_bytes", "swap_used_bytes", "swap_used_percent"],
            "properties": {
                "total_bytes": {"type": "integer", "minimum": 0},
                "used_bytes": {"type": "integer", "minimum": 0},
                "available_bytes": {"type": "integer", "minimum": 0},
                "used_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "swap_total_bytes": {"type": "integer", "minimum": 0},
                "swap_used_bytes": {"type": "integer", "minimum": 0},
                "swap_used_percent": {"type": "number", "minimum": 0, "maximum": 100}
            }
        },
        "filesystems": {"type": "array", "maxItems": 5,
            "description": "the fullest real filesystems, by use percent",
            "items": {
                "type": "object", "additionalProperties": false,
                "required": ["mount_point", "device", "fstype", "total_bytes", "used_bytes",
                             "available_bytes", "use_percent"],
                "properties": {
                    "mount_point": {"type": "string"},
                    "device": {"type": "string"},
                    "fstype": {"type": "string"},
                    "total_bytes": {"type": "integer", "minimum": 0},
                    "used_bytes": {"type": "integer", "minimum": 0},
                    "available_bytes": {"type": "integer", "minimum": 0},
                    "use_percent": {"type": "number", "minimum": 0, "maximum": 100}
                }
            }
        },
        "filesystems_not_measured": {"type": "integer", "minimum": 0,
            "description": "real filesystems whose size could not be read in time (see get_disk_info)"},
        "processes": "#,
    summary_schema!(),
    r#"
    }
}"#
);

/// The CPU sample length.
const SAMPLE: Duration = Duration::from_millis(100);
/// Filesystem sizes must be in by then (relative to the start), and each statfs gets this long;
/// together with the sample this keeps the call well inside the 1 s deadline of `Impact::Low`.
const FS_BUDGET: Duration = Duration::from_millis(600);
const FS_PER_CALL: Duration = Duration::from_millis(300);
const TOP_FILESYSTEMS: usize = 5;

#[derive(Serialize)]
struct Status {
    hostname: String,
    os: Os,
    kernel: String,
    architecture: &'static str,
    uptime_seconds: f64,
    uptime_human: String,
    boot_time_unix: i64,
    load: Load,
    tasks: Tasks,
    cpu: Cpu,
    memory: Memory,
    filesystems: Vec<Fs>,
    filesystems_not_measured: usize,
    processes: processes::Summary,
}

#[derive(Serialize)]
struct Os {
    pretty_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Serialize)]
struct Load {
    load_1: f64,
    load_5: f64,
    load_15: f64,
}

#[derive(Serialize)]
struct Tasks {
    total: u64,
    runnable: u64,
}

#[derive(Serialize)]
struct Cpu {
    usage_percent: f64,
    logical_cpus: u64,
    sample_ms: u64,
}

#[derive(Serialize)]
struct Memory {
    total_bytes: u64,
    used_bytes: u64,
    available_bytes: u64,
    used_percent: f64,
    swap_total_bytes: u64,
    swap_used_bytes: u64,
    swap_used_percent: f64,
}

#[derive(Serialize, Debug)]
struct Fs {
    mount_point: String,
    device: String,
    fstype: String,
    total_bytes: u64,
    used_bytes: u64,
    available_bytes: u64,
    use_percent: f64,
}

fn os_release(redactor: &Redactor) -> OsRelease {
    // os-release(5): /etc first, then the vendor copy. Values are cut without splitting a
    // secret (see `Redactor::cut`).
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| read_path(Path::new(p)).ok())
        .map(|t| procfs::parse_os_release_with(&t, &|v, max| redactor.cut(v, max).0))
        .unwrap_or_default()
}

fn os(redactor: &Redactor) -> Os {
    let r = os_release(redactor);
    let pretty_name = r.pretty_name.clone().unwrap_or_else(|| {
        match (&r.name, &r.version) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            (Some(n), None) => n.clone(),
            // os-release(5) says to assume "Linux" when nothing is set.
            _ => "Linux".to_string(),
        }
    });
    Os {
        pretty_name,
        name: r.name,
        id: r.id,
        version_id: r.version_id,
        version: r.version,
    }
}

fn kernel_text(path: &str) -> String {
    read(path)
        .ok()
        .and_then(|t| sysfs_label(&t))
        .unwrap_or_else(|| "unknown".into())
}

/// The fullest measured filesystems, most used first (ties by mount point, for a stable order).
fn fullest(fss: Vec<disk::Filesystem>) -> (Vec<Fs>, usize) {
    let mut not_measured = 0;
    let mut measured: Vec<Fs> = fss
        .into_iter()
        .filter_map(|f| {
            let (Some(total), Some(used), Some(avail), Some(pct)) = (
                f.total_bytes,
                f.used_bytes,
                f.available_bytes,
                f.use_percent,
            ) else {
                not_measured += 1;
                return None;
            };
            Some(Fs {
                mount_point: f.mount_point,
                device: f.device,
                fstype: f.fstype,
                total_bytes: total,
                used_bytes: used,
                available_bytes: avail,
                use_percent: pct,
            })
        })
        .collect();
    measured.sort_by(|a, b| {
        b.use_percent
            .partial_cmp(&a.use_percent)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.mount_point.cmp(&b.mount_point))
    });
    measured.truncate(TOP_FILESYSTEMS);
    (measured, not_measured)
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    ctx.progress(
        0.0,
        Some(2.0),
        &format!(
            "sampling CPU for {} ms and measuring filesystems",
            SAMPLE.as_millis()
        ),
    );
    let first = cpu::read_proc_stat()?;
    let start = Instant::now();
    let fs_end = (start + FS_BUDGET).min(ctx.deadline);
    let (fss, _, _) = disk::collect(ctx, false, FS_PER_CALL, fs_end)?;
    // Inside the sample's wait, which it shortens (a few hundred small reads).
    let summary = processes::summary(ctx)?;
    if let Some(rest) = SAMPLE.checked_sub(start.elapsed()) {
        ctx.sleep(rest)?;
    }
    let second = cpu::read_proc_stat()?;
    ctx.progress(1.0, Some(2.0), "reading status");
    let sample_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let usage = procfs::cpu_usage(&first.total, &second.total);

    let (filesystems, filesystems_not_measured) = fullest(fss);
    let l = procfs::parse_loadavg(&read("/proc/loadavg")?)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/loadavg".into()))?;
    let m = memory::read_meminfo()?;
    let up = uptime_seconds()?;
    let boot = second
        .btime
        .and_then(|b| i64::try_from(b).ok())
        .unwrap_or_else(|| (now_unix() - up).round() as i64);
    to_value(&Status {
        hostname: kernel_text("/proc/sys/kernel/hostname"),
        os: os(ctx.redactor),
        kernel: kernel_text("/proc/sys/kernel/osrelease"),
        architecture: std::env::consts::ARCH,
        uptime_seconds: round2(up),
        uptime_human: human_duration(up),
        boot_time_unix: boot,
        load: Load {
            load_1: round2(l.one),
            load_5: round2(l.five),
            load_15: round2(l.fifteen),
        },
        tasks: Tasks {
            total: l.total,
            runnable: l.runnable,
        },
        cpu: Cpu {
            usage_percent: round2(usage.busy),
            logical_cpus: load::online_cpus(),
            sample_ms,
        },
        memory: Memory {
            total_bytes: m.total,
            used_bytes: m.used(),
            available_bytes: m.available(),
            used_percent: round2(m.used_percent()),
            swap_total_bytes: m.swap_total,
            swap_used_bytes: m.swap_used(),
            swap_used_percent: round2(m.swap_used_percent()),
        },
        filesystems,
        filesystems_not_measured,
        processes: summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::procfs::parse_mountinfo;

    #[test]
    fn fullest_five_most_used_first() {
        let mounts: Vec<_> = (0..8)
            .map(|i| {
                parse_mountinfo(format!("1 1 0:1 / /m{i} rw - ext4 /dev/x{i} rw\n").as_bytes())
                    .remove(0)
            })
            .collect();
        let stats = |used: u64| {
            disk::Outcome::Stats(crate::sys::FsStats {
                total_bytes: 100,
                free_bytes: 100 - used,
                avail_bytes: 100 - used,
                total_inodes: 0,
                free_inodes: 0,
            })
        };
        let outcomes = [
            stats(10),
            disk::Outcome::TimedOut,
            stats(90),
            stats(50),
            stats(90),
            stats(0),
            stats(70),
            disk::Outcome::Failed("EACCES".into()),
        ];
        let fss = mounts
            .iter()
            .zip(&outcomes)
            .map(|(m, o)| disk::describe(m, o, crate::output::Settings::default().redactor()))
            .collect();
        let (top, not_measured) = fullest(fss);
        let order: Vec<&str> = top.iter().map(|f| f.mount_point.as_str()).collect();
        // Ties (two at 90%) break by mount point; unmeasured ones are counted, not ranked.
        assert_eq!(order, ["/m2", "/m4", "/m6", "/m3", "/m0"]);
        assert_eq!(not_measured, 2);
        assert_eq!(top[0].use_percent, 90.0);
    }
}

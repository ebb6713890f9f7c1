#![forbid(unsafe_code)]
//! `get_cpu_info`: `/proc/cpuinfo`, cpufreq and topology in sysfs, and usage measured as the
//! difference of two `/proc/stat` samples `sample_ms` apart.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::procfs::{self, ProcStat, parse_khz_as_mhz};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "sample_ms": {"type": "integer", "minimum": 50, "maximum": 1000, "default": 100,
            "description": "how long to measure usage, in milliseconds"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["model", "vendor", "architecture", "logical_cpus", "physical_cores", "sockets",
                 "usage_percent", "user_percent", "system_percent", "iowait_percent",
                 "steal_percent", "idle_percent", "sample_ms", "per_cpu"],
    "properties": {
        "model": {"type": "string"},
        "vendor": {"type": "string"},
        "architecture": {"type": "string"},
        "logical_cpus": {"type": "integer", "minimum": 1},
        "physical_cores": {"type": "integer", "minimum": 1},
        "sockets": {"type": "integer", "minimum": 1},
        "frequency_mhz": {
            "type": "object", "additionalProperties": false,
            "description": "current is the average over CPUs; min and max are hardware limits",
            "properties": {
                "current": {"type": "number", "minimum": 0},
                "min": {"type": "number", "minimum": 0},
                "max": {"type": "number", "minimum": 0}
            }
        },
        "usage_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "user_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "system_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "iowait_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "steal_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "idle_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "sample_ms": {"type": "integer", "minimum": 0},
        "per_cpu": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["cpu", "usage_percent"],
            "properties": {
                "cpu": {"type": "integer", "minimum": 0},
                "usage_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "mhz": {"type": "number", "minimum": 0}
            }
        }}
    }
}"#;

const DEFAULT_SAMPLE_MS: u64 = 100;

#[derive(Serialize)]
struct Cpu {
    model: String,
    vendor: String,
    architecture: &'static str,
    logical_cpus: usize,
    physical_cores: usize,
    sockets: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_mhz: Option<Frequency>,
    usage_percent: f64,
    user_percent: f64,
    system_percent: f64,
    iowait_percent: f64,
    steal_percent: f64,
    idle_percent: f64,
    sample_ms: u64,
    per_cpu: Vec<PerCpu>,
}

#[derive(Serialize, Default)]
struct Frequency {
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
}

#[derive(Serialize)]
struct PerCpu {
    cpu: u32,
    usage_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mhz: Option<f64>,
}

pub(super) fn read_proc_stat() -> Result<ProcStat, ToolError> {
    procfs::parse_proc_stat(&read("/proc/stat")?)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/stat (no cpu line)".into()))
}

/// Two `/proc/stat` samples `d` apart (the wait ends early, with an error, on cancellation).
pub(super) fn sample(ctx: &Ctx<'_>, d: Duration) -> Result<(ProcStat, ProcStat), ToolError> {
    let first = read_proc_stat()?;
    ctx.sleep(d)?;
    Ok((first, read_proc_stat()?))
}

fn cpufreq(cpu: u32, file: &str) -> Option<f64> {
    read(&format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/{file}"))
        .ok()
        .and_then(|t| parse_khz_as_mhz(&t))
}

/// (sockets, cores) from sysfs topology, for architectures whose cpuinfo does not say.
fn sysfs_topology(cpus: &[u32]) -> Option<(usize, usize)> {
    let mut pairs = BTreeSet::new();
    for c in cpus {
        let get = |f: &str| {
            read(&format!("/sys/devices/system/cpu/cpu{c}/topology/{f}"))
                .ok()
                .map(|t| t.trim().to_string())
        };
        pairs.insert((get("physical_package_id")?, get("core_id")?));
    }
    let sockets: BTreeSet<&String> = pairs.iter().map(|(p, _)| p).collect();
    (!pairs.is_empty()).then_some((sockets.len(), pairs.len()))
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let sample_ms = args
        .get("sample_ms")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_SAMPLE_MS);
    ctx.progress(0.0, Some(2.0), &format!("sampling CPU for {sample_ms} ms"));
    let (before, after) = sample(ctx, Duration::from_millis(sample_ms))?;
    ctx.progress(1.0, Some(2.0), "reading CPU information");
    let redactor = ctx.redactor;
    let info = procfs::parse_cpuinfo_with(&read("/proc/cpuinfo").unwrap_or_default(), &|v, max| {
        redactor.cut(v, max).0
    });
    let cpus: Vec<u32> = after.per_cpu.iter().map(|(n, _)| *n).collect();
    let logical = if info.logical > 0 {
        info.logical
    } else {
        cpus.len().max(1)
    };
    let (sockets, cores) = match (info.sockets, info.cores) {
        (Some(s), Some(c)) => (s, c),
        _ => sysfs_topology(&cpus).unwrap_or((1, logical)),
    };

    let mut per_cpu = Vec::with_capacity(after.per_cpu.len());
    let mut freq = Frequency::default();
    let mut mhz_sum = 0.0;
    let mut mhz_n = 0u32;
    for (n, later) in &after.per_cpu {
        ctx.check()?;
        // A CPU that came online between the samples has no earlier sample: measure it from zero
        // rather than invent a number.
        let earlier = before
            .per_cpu
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, t)| *t)
            .unwrap_or_default();
        let usage = procfs::cpu_usage(&earlier, later);
        let mhz = cpufreq(*n, "scaling_cur_freq")
            .or_else(|| info.mhz.iter().find(|(p, _)| p == n).map(|(_, m)| *m));
        if let Some(m) = mhz {
            mhz_sum += m;
            mhz_n += 1;
        }
        if let Some(lo) = cpufreq(*n, "cpuinfo_min_freq") {
            freq.min = Some(freq.min.map_or(lo, |v: f64| v.min(lo)));
        }
        if let Some(hi) = cpufreq(*n, "cpuinfo_max_freq") {
            freq.max = Some(freq.max.map_or(hi, |v: f64| v.max(hi)));
        }
        per_cpu.push(PerCpu {
            cpu: *n,
            usage_percent: round2(usage.busy),
            mhz: mhz.map(round2),
        });
    }
    if mhz_n > 0 {
        freq.current = Some(round2(mhz_sum / f64::from(mhz_n)));
    }
    let total = procfs::cpu_usage(&before.total, &after.total);
    to_value(&Cpu {
        model: info.model.unwrap_or_else(|| "unknown".into()),
        vendor: info.vendor.unwrap_or_else(|| "unknown".into()),
        architecture: std::env::consts::ARCH,
        logical_cpus: logical,
        physical_cores: cores.max(1),
        sockets: sockets.max(1),
        frequency_mhz: (freq.current.is_some() || freq.min.is_some() || freq.max.is_some())
            .then_some(freq),
        usage_percent: round2(total.busy),
        user_percent: round2(total.user),
        system_percent: round2(total.system),
        iowait_percent: round2(total.iowait),
        steal_percent: round2(total.steal),
        idle_percent: round2(total.idle),
        sample_ms,
        per_cpu,
    })
}

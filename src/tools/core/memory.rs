#![forbid(unsafe_code)]
//! `get_memory_info`: `/proc/meminfo`; with `pressure` (or a sample) also the counters of
//! `/proc/vmstat` and the host's cgroup v2 memory pressure, and with `sample_ms` the rates of
//! two `/proc/vmstat` samples. Without arguments it stays one read (it is the latency benchmark).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read_into, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::vmstat::{self, VmStat};
use crate::tools::procfs::{self, MemInfo, PsiLine};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "pressure": {"type": "boolean", "default": false,
            "description": "also read /proc/vmstat (swap-in/out, page-fault and OOM-kill counters) and the cgroup v2 memory pressure; implied by sample_ms above 0"},
        "sample_ms": {"type": "integer", "minimum": 0, "maximum": 500, "default": 0,
            "description": "measure swap and page-fault rates over this many milliseconds; 0 (the default) gives no rates"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["total_bytes", "free_bytes", "available_bytes", "buffers_bytes", "cached_bytes",
                 "shared_bytes", "used_bytes", "used_percent", "swap", "dirty_bytes",
                 "writeback_bytes", "slab", "sample_ms"],
    "properties": {
        "total_bytes": {"type": "integer", "minimum": 0},
        "free_bytes": {"type": "integer", "minimum": 0},
        "available_bytes": {"type": "integer", "minimum": 0,
            "description": "MemAvailable, or free + buffers + cache on kernels before 3.14"},
        "buffers_bytes": {"type": "integer", "minimum": 0},
        "cached_bytes": {"type": "integer", "minimum": 0,
            "description": "page cache plus reclaimable slab, as free(1) counts it"},
        "shared_bytes": {"type": "integer", "minimum": 0},
        "used_bytes": {"type": "integer", "minimum": 0, "description": "total minus available"},
        "used_percent": {"type": "number", "minimum": 0, "maximum": 100},
        "swap": {
            "type": "object", "additionalProperties": false,
            "required": ["total_bytes", "free_bytes", "used_bytes", "used_percent"],
            "properties": {
                "total_bytes": {"type": "integer", "minimum": 0},
                "free_bytes": {"type": "integer", "minimum": 0},
                "used_bytes": {"type": "integer", "minimum": 0},
                "used_percent": {"type": "number", "minimum": 0, "maximum": 100}
            }
        },
        "dirty_bytes": {"type": "integer", "minimum": 0, "description": "waiting to be written back"},
        "writeback_bytes": {"type": "integer", "minimum": 0, "description": "being written back now"},
        "slab": {
            "type": "object", "additionalProperties": false,
            "required": ["reclaimable_bytes", "unreclaimable_bytes"],
            "properties": {
                "reclaimable_bytes": {"type": "integer", "minimum": 0},
                "unreclaimable_bytes": {"type": "integer", "minimum": 0}
            }
        },
        "hugepages": {
            "type": "object", "additionalProperties": false,
            "description": "the hugetlbfs pool in pages of page_size_bytes; absent when the kernel has none",
            "required": ["total", "free", "reserved", "surplus", "page_size_bytes"],
            "properties": {
                "total": {"type": "integer", "minimum": 0},
                "free": {"type": "integer", "minimum": 0},
                "reserved": {"type": "integer", "minimum": 0},
                "surplus": {"type": "integer", "minimum": 0},
                "page_size_bytes": {"type": "integer", "minimum": 0}
            }
        },
        "paging": {
            "type": "object", "additionalProperties": false,
            "description": "cumulative counters since boot from /proc/vmstat (with pressure or sample_ms); a counter the kernel lacks is absent",
            "properties": {
                "swap_in_pages": {"type": "integer", "minimum": 0},
                "swap_out_pages": {"type": "integer", "minimum": 0},
                "page_faults": {"type": "integer", "minimum": 0},
                "major_page_faults": {"type": "integer", "minimum": 0}
            }
        },
        "oom_kills": {"type": "integer", "minimum": 0, "description": "processes the OOM killer killed since boot"},
        "oom_kills_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why oom_kills is absent"},
        "sample_ms": {"type": "integer", "minimum": 0},
        "rates": {
            "type": "object", "additionalProperties": false,
            "description": "measured over elapsed_ms between two /proc/vmstat samples",
            "required": ["elapsed_ms", "swap_in_pages_per_sec", "swap_out_pages_per_sec",
                         "page_faults_per_sec", "major_page_faults_per_sec"],
            "properties": {
                "elapsed_ms": {"type": "number", "minimum": 0},
                "swap_in_pages_per_sec": {"type": "number", "minimum": 0},
                "swap_out_pages_per_sec": {"type": "number", "minimum": 0},
                "page_faults_per_sec": {"type": "number", "minimum": 0},
                "major_page_faults_per_sec": {"type": "number", "minimum": 0}
            }
        },
        "rates_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why rates is absent"},
        "pressure": {
            "type": "object", "additionalProperties": false,
            "description": "cgroup v2 memory pressure (PSI) of the root cgroup: the share of time tasks stalled on memory",
            "required": ["source"],
            "properties": {
                "source": {"type": "string", "x-sysgate-server-text": true},
                "some": {"type": "object", "additionalProperties": false,
                    "required": ["avg10", "avg60", "avg300", "total_us"],
                    "properties": {
                        "avg10": {"type": "number", "minimum": 0, "maximum": 100},
                        "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                        "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                        "total_us": {"type": "integer", "minimum": 0}
                    }},
                "full": {"type": "object", "additionalProperties": false,
                    "required": ["avg10", "avg60", "avg300", "total_us"],
                    "properties": {
                        "avg10": {"type": "number", "minimum": 0, "maximum": 100},
                        "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                        "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                        "total_us": {"type": "integer", "minimum": 0}
                    }}
            }
        },
        "pressure_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why pressure is absent"}
    }
}"#;

#[derive(Serialize)]
struct Memory {
    total_bytes: u64,
    free_bytes: u64,
    available_bytes: u64,
    buffers_bytes: u64,
    cached_bytes: u64,
    shared_bytes: u64,
    used_bytes: u64,
    used_percent: f64,
    swap: Swap,
    dirty_bytes: u64,
    writeback_bytes: u64,
    slab: Slab,
    #[serde(skip_serializing_if = "Option::is_none")]
    hugepages: Option<HugePages>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oom_kills: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oom_kills_reason: Option<String>,
    sample_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates: Option<Rates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pressure: Option<Pressure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pressure_reason: Option<String>,
}

#[derive(Serialize)]
struct Swap {
    total_bytes: u64,
    free_bytes: u64,
    used_bytes: u64,
    used_percent: f64,
}

#[derive(Serialize)]
struct Slab {
    reclaimable_bytes: u64,
    unreclaimable_bytes: u64,
}

#[derive(Serialize)]
struct HugePages {
    total: u64,
    free: u64,
    reserved: u64,
    surplus: u64,
    page_size_bytes: u64,
}

#[derive(Serialize)]
struct Paging {
    #[serde(skip_serializing_if = "Option::is_none")]
    swap_in_pages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    swap_out_pages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_faults: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    major_page_faults: Option<u64>,
}

#[derive(Serialize)]
struct Rates {
    elapsed_ms: f64,
    swap_in_pages_per_sec: f64,
    swap_out_pages_per_sec: f64,
    page_faults_per_sec: f64,
    major_page_faults_per_sec: f64,
}

#[derive(Serialize)]
struct Pressure {
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    some: Option<Psi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full: Option<Psi>,
}

#[derive(Serialize)]
struct Psi {
    avg10: f64,
    avg60: f64,
    avg300: f64,
    total_us: u64,
}

impl Psi {
    fn new(l: PsiLine) -> Psi {
        let pct = |x: f64| round2(x.clamp(0.0, 100.0));
        Psi {
            avg10: pct(l.avg10),
            avg60: pct(l.avg60),
            avg300: pct(l.avg300),
            total_us: l.total_us,
        }
    }
}

/// `/proc/meminfo`, parsed.
pub(super) fn read_meminfo() -> Result<MemInfo, ToolError> {
    let text = read_sized("/proc/meminfo", 8 * 1024)
        .map_err(|e| ToolError::Unavailable(format!("cannot read /proc/meminfo: {e}")))?;
    procfs::parse_meminfo(&text)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/meminfo (no MemTotal line)".into()))
}

/// Read a small `/proc` or `/sys` file in as few `read` calls as it allows. An empty `Vec`
/// makes `read_to_end` start with a 32-byte probe and double from there, and `/proc/vmstat`
/// recomputes every counter on each `read`: nine reads instead of two cost more than the rest
/// of the call.
fn read_sized(path: &str, capacity: usize) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(capacity);
    read_into(std::path::Path::new(path), &mut buf, MAX_SMALL_FILE)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The files read here are a few KiB; the cap bounds a surprise.
const MAX_SMALL_FILE: u64 = 1024 * 1024;

fn read_vmstat() -> Result<VmStat, String> {
    read_sized("/proc/vmstat", 16 * 1024)
        .map(|t| vmstat::parse_vmstat(&t))
        .map_err(|e| format!("cannot read /proc/vmstat: {e}"))
}

/// The root cgroup's `memory.pressure`: at `/sys/fs/cgroup` on a cgroup v2 host, under
/// `unified/` on a hybrid (v1 + v2) one.
const PRESSURE_FILES: [&str; 2] = [
    "/sys/fs/cgroup/memory.pressure",
    "/sys/fs/cgroup/unified/memory.pressure",
];

fn read_pressure() -> Result<Pressure, String> {
    // Start with the file that worked last time: on a hybrid host the first one never exists,
    // and a failed open costs as much as a read.
    static LAST: AtomicUsize = AtomicUsize::new(0);
    let first = LAST.load(Ordering::Relaxed) % PRESSURE_FILES.len();
    for i in (0..PRESSURE_FILES.len()).map(|k| (first + k) % PRESSURE_FILES.len()) {
        let source = PRESSURE_FILES[i];
        if let Ok(text) = read_sized(source, 512) {
            LAST.store(i, Ordering::Relaxed);
            return procfs::parse_pressure(&text)
                .map(|p| Pressure {
                    source,
                    some: p.some.map(Psi::new),
                    full: p.full.map(Psi::new),
                })
                .ok_or_else(|| format!("{source} has no some/full line this server can read"));
        }
    }
    // Say which of the two is missing: cgroup v2 itself, or PSI in it.
    let v2 = [
        "/sys/fs/cgroup/cgroup.controllers",
        "/sys/fs/cgroup/unified/cgroup.controllers",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists());
    Err(if v2 {
        "cgroup v2 is mounted but its root has no memory.pressure (a kernel without PSI, or booted with psi=0)".into()
    } else {
        "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified".into()
    })
}

fn sample_ms(args: &Map<String, Value>) -> Result<u64, ToolError> {
    match args.get("sample_ms") {
        None => Ok(0),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 500)
            .ok_or_else(|| ToolError::InvalidArgument {
                argument: "sample_ms".into(),
                rule: "must be between 0 and 500".into(),
            }),
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let sample_ms = sample_ms(args)?;
    // /proc/vmstat and the cgroup file more than double the cost of the call (the kernel sums
    // every counter over every CPU on each read), so they are read only when asked for.
    let wanted = sample_ms > 0
        || args
            .get("pressure")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let mut p = PressureFields::default();
    if wanted {
        p = pressure_fields(ctx, sample_ms)?;
    }
    let m = read_meminfo()?;
    to_value(&Memory {
        total_bytes: m.total,
        free_bytes: m.free.min(m.total),
        available_bytes: m.available(),
        buffers_bytes: m.buffers,
        cached_bytes: m.cached.saturating_add(m.sreclaimable),
        shared_bytes: m.shmem,
        used_bytes: m.used(),
        used_percent: round2(m.used_percent()),
        swap: Swap {
            total_bytes: m.swap_total,
            free_bytes: m.swap_free,
            used_bytes: m.swap_used(),
            used_percent: round2(m.swap_used_percent()),
        },
        dirty_bytes: m.dirty,
        writeback_bytes: m.writeback,
        slab: Slab {
            reclaimable_bytes: m.sreclaimable,
            unreclaimable_bytes: m.sunreclaim,
        },
        hugepages: m.hugepages.map(|h| HugePages {
            total: h.total,
            free: h.free,
            reserved: h.reserved,
            surplus: h.surplus,
            page_size_bytes: h.page_size,
        }),
        paging: p.paging,
        oom_kills: p.oom_kills,
        oom_kills_reason: p.oom_kills_reason,
        sample_ms,
        rates: p.rates,
        rates_reason: p.rates_reason,
        pressure: p.pressure,
        pressure_reason: p.pressure_reason,
    })
}

/// What `pressure: true` (or a sample) adds.
#[derive(Default)]
struct PressureFields {
    paging: Option<Paging>,
    oom_kills: Option<u64>,
    oom_kills_reason: Option<String>,
    rates: Option<Rates>,
    rates_reason: Option<String>,
    pressure: Option<Pressure>,
    pressure_reason: Option<String>,
}

fn pressure_fields(ctx: &Ctx<'_>, sample_ms: u64) -> Result<PressureFields, ToolError> {
    let first = read_vmstat();
    let (vm, rates, rates_reason) = if sample_ms == 0 {
        let reason = "sample_ms is 0: only cumulative counters since boot; rates need a sample (sample_ms > 0)";
        (first, None, Some(reason.to_string()))
    } else {
        let t0 = Instant::now();
        ctx.progress(
            0.0,
            Some(2.0),
            &format!("sampling /proc/vmstat for {sample_ms} ms"),
        );
        ctx.sleep(Duration::from_millis(sample_ms))?;
        let second = read_vmstat();
        let secs = t0.elapsed().as_secs_f64();
        ctx.progress(1.0, Some(2.0), "computing rates");
        let rated = match (&first, &second) {
            (Ok(a), Ok(b)) => vmstat::vm_rates(a, b, secs)
                .map(|r| Rates {
                    elapsed_ms: (secs * 1e6).round() / 1e3,
                    swap_in_pages_per_sec: round2(r.swap_in_pages_per_sec),
                    swap_out_pages_per_sec: round2(r.swap_out_pages_per_sec),
                    page_faults_per_sec: round2(r.page_faults_per_sec),
                    major_page_faults_per_sec: round2(r.major_page_faults_per_sec),
                })
                .map_err(str::to_string),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let (rates, reason) = match rated {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        (second, rates, reason)
    };
    let v = vm.as_ref().ok();
    let oom_kills_reason = match &vm {
        Err(e) => Some(e.clone()),
        Ok(v) if v.oom_kill.is_none() => {
            Some("/proc/vmstat has no oom_kill line (kernels before 4.13)".into())
        }
        Ok(_) => None,
    };
    let (pressure, pressure_reason) = match read_pressure() {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    Ok(PressureFields {
        paging: v.map(|v| Paging {
            swap_in_pages: v.pswpin,
            swap_out_pages: v.pswpout,
            page_faults: v.pgfault,
            major_page_faults: v.pgmajfault,
        }),
        oom_kills: v.and_then(|v| v.oom_kill),
        oom_kills_reason,
        rates,
        rates_reason,
        pressure,
        pressure_reason,
    })
}

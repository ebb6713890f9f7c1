#![forbid(unsafe_code)]
//! `get_memory_info`: one read of `/proc/meminfo`, no sampling (it is the latency benchmark).

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::procfs::{self, MemInfo};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["total_bytes", "free_bytes", "available_bytes", "buffers_bytes", "cached_bytes",
                 "shared_bytes", "used_bytes", "used_percent", "swap"],
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
        }
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
}

#[derive(Serialize)]
struct Swap {
    total_bytes: u64,
    free_bytes: u64,
    used_bytes: u64,
    used_percent: f64,
}

/// `/proc/meminfo`, parsed.
pub(super) fn read_meminfo() -> Result<MemInfo, ToolError> {
    procfs::parse_meminfo(&read("/proc/meminfo")?)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/meminfo (no MemTotal line)".into()))
}

pub fn handler(_ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
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
    })
}

#![forbid(unsafe_code)]
//! Scope `core`: host status read natively from `/proc` and `/sys`. No process is started here.

use std::fs;

use serde_json::{Map, Value, json};

use super::procfs;
use super::{Annotations, Ctx, Impact, ToolDef};
use crate::error::ToolError;
use crate::policy::{self, Scope};

const NO_ARGS: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        name: "get_uptime",
        title: "Uptime",
        description: "Time since boot, in seconds and as text, and the boot time.",
        scope: Scope::Core,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: r#"{
            "type": "object", "additionalProperties": false,
            "required": ["uptime_seconds", "idle_seconds", "boot_time_unix", "uptime_human"],
            "properties": {
                "uptime_seconds": {"type": "number", "minimum": 0},
                "idle_seconds": {"type": "number", "minimum": 0},
                "boot_time_unix": {"type": "integer"},
                "uptime_human": {"type": "string"}
            }
        }"#,
        handler: get_uptime,
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
                "transport": {"type": "string"},
                "identity": {"type": "string"},
                "uid": {"type": "integer", "minimum": 0},
                "scopes": {"type": "array", "items": {"type": "string"}},
                "tools": {"type": "array", "items": {"type": "string"}}
            }
        }"#,
        handler: whoami,
    },
];

/// Read a file under `/proc` or `/sys`, mapping failures to a caller-facing message.
pub(crate) fn read(path: &str) -> Result<String, ToolError> {
    fs::read_to_string(path).map_err(|e| ToolError::Unavailable(format!("cannot read {path}: {e}")))
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
    let tools: Vec<&str> = ctx
        .registry
        .iter()
        .filter(|t| policy::visible(ctx.config, ctx.caller, t))
        .map(|t| t.def.name)
        .collect();
    let mut v = json!({
        "transport": ctx.caller.transport.name(),
        "identity": ctx.caller.identity,
        "scopes": policy::effective_scopes(ctx.config, ctx.caller).names(),
        "tools": tools,
    });
    if let Some(uid) = ctx.caller.uid {
        v["uid"] = json!(uid);
    }
    Ok(v)
}

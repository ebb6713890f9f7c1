#![forbid(unsafe_code)]
//! `get_auth_logs`: the authentication log, through the shared backward reader. `max_age_hours`
//! is required and at most 24: the input schema says so, and the gate enforces it before this
//! handler runs.

use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::logfile;

pub const INPUT: &str = concat!(
    r#"{"type": "object", "additionalProperties": false, "required": ["max_age_hours"], "properties": {
    "max_age_hours": {"type": "integer", "minimum": 1, "maximum": 24, "description": "only lines from the last this many hours (required)"},
    "#,
    crate::log_page_properties!(),
    "}}"
);

pub const OUTPUT: &str = crate::log_page_output!("");

/// Where distributions put the authentication log, in the order tried.
pub const PATHS: [&str; 2] = ["/var/log/auth.log", "/var/log/secure"];

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    logfile::system_log_page(ctx, "get_auth_logs", &PATHS, "authentication log", args)
}

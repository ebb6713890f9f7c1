#![forbid(unsafe_code)]
//! `get_syslog`: the syslog file, through the shared backward reader.

use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::logfile;

pub const INPUT: &str = concat!(
    r#"{"type": "object", "additionalProperties": false, "properties": {
    "max_age_hours": {"type": "integer", "minimum": 1, "maximum": 24, "description": "only lines from the last this many hours (default 24)"},
    "#,
    crate::log_page_properties!(),
    "}}"
);

pub const OUTPUT: &str = crate::log_page_output!("");

/// Where distributions put the syslog file, in the order tried.
pub const PATHS: [&str; 2] = ["/var/log/syslog", "/var/log/messages"];

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    logfile::system_log_page(ctx, "get_syslog", &PATHS, "syslog", args)
}

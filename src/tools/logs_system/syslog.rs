#![forbid(unsafe_code)]
//! `get_syslog`: the syslog file, through the shared backward reader.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::logfile::{self, LogFile, PageArgs, first_existing};

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
    let path = first_existing(&PATHS, "syslog")?;
    let log = LogFile {
        tool: "get_syslog",
        path: Path::new(path),
        open: &logfile::open_nofollow,
    };
    logfile::page_in(ctx, &log, &PageArgs::from(args))
}

#![forbid(unsafe_code)]
//! Logs go to stderr only (stdout belongs to MCP on stdio), one line each, with a level filter.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Deserialize;

/// Log verbosity on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "error" => LogLevel::Error,
            "warn" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            _ => return None,
        })
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

fn emit(level: LogLevel, tag: &str, msg: &str) {
    if level as u8 <= LEVEL.load(Ordering::Relaxed) {
        // One write per line so concurrent threads do not interleave within a line.
        let line = format!("sysgate: {tag}: {msg}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

pub fn error(msg: &str) {
    emit(LogLevel::Error, "error", msg);
}

pub fn warn(msg: &str) {
    emit(LogLevel::Warn, "WARNING", msg);
}

pub fn info(msg: &str) {
    emit(LogLevel::Info, "info", msg);
}

pub fn debug(msg: &str) {
    emit(LogLevel::Debug, "debug", msg);
}

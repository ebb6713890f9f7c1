#![forbid(unsafe_code)]
//! The server's own settings: what a connection may send, and the worker pool with its
//! per-impact-class deadlines. `config` reads them from the file; the server enforces them.

use std::time::Duration;

use crate::scope::Impact;

/// Hard limits on what a connection may send.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest accepted JSON-RPC message, in bytes (one line on stdio).
    pub max_message_bytes: usize,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: usize,
    /// Most `tools/call` requests one connection may have running or queued at once.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1024 * 1024,
            max_json_depth: 64,
            max_in_flight: 64,
        }
    }
}

/// Worker pool sizing and per-impact-class deadlines.
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// Worker threads that run tool handlers; also the most calls running at once.
    pub max_concurrent_queries: usize,
    pub timeout_minimal: Duration,
    pub timeout_low: Duration,
    pub timeout_medium: Duration,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            max_concurrent_queries: 5,
            timeout_minimal: Duration::from_millis(100),
            timeout_low: Duration::from_millis(1000),
            timeout_medium: Duration::from_millis(5000),
        }
    }
}

impl Resources {
    pub fn deadline_for(&self, impact: Impact) -> Duration {
        match impact {
            Impact::Minimal => self.timeout_minimal,
            Impact::Low => self.timeout_low,
            Impact::Medium => self.timeout_medium,
        }
    }

    /// The longest deadline of any class.
    pub fn longest_deadline(&self) -> Duration {
        self.timeout_minimal
            .max(self.timeout_low)
            .max(self.timeout_medium)
    }
}

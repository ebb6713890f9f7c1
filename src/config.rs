#![forbid(unsafe_code)]
//! Typed configuration. Today only the built-in safe defaults exist; the YAML file, its integrity
//! checks and reload arrive with the config work. Every field here is enforced somewhere.

use std::time::Duration;

use crate::policy::{Scope, ScopeSet};
use crate::tools::Impact;

/// Hard limits on what a connection may send.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
}

/// Which scopes exist on this server, and which a stdio caller holds.
#[derive(Debug, Clone)]
pub struct Scopes {
    pub enabled: ScopeSet,
    /// Scopes granted to stdio callers (intersected with `enabled`).
    pub stdio: ScopeSet,
}

impl Default for Scopes {
    fn default() -> Self {
        // DESIGN's defaults: the read-only scopes are on, everything that can change the host or
        // reveal secrets is off until an operator turns it on.
        let enabled: ScopeSet = [
            Scope::Core,
            Scope::LogsSystem,
            Scope::Hooks,
            Scope::Sbom,
            Scope::ContainerRead,
        ]
        .into_iter()
        .collect();
        Scopes {
            enabled,
            stdio: enabled,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub limits: Limits,
    pub resources: Resources,
    pub scopes: Scopes,
}

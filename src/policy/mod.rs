#![forbid(unsafe_code)]
//! The policy gate: scopes, enablement and argument validation, decided in one place before any
//! handler runs. Later layers (rate limits, targets, approvals) plug in here.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::auth::{Caller, TransportKind};
use crate::config::Config;
use crate::error::ToolError;
use crate::tools::Tool;

pub use crate::scope::{Scope, ScopeSet};

/// Which scopes exist on this server, and which a stdio caller holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: ScopeSet,
    /// Scopes granted to stdio callers (always within `enabled`).
    pub stdio: ScopeSet,
    /// Tools refused by name even when their scope is enabled.
    pub denied_tools: BTreeSet<String>,
}

/// DESIGN's defaults: the read-only scopes (exactly the `readonly` meta-scope) are on; everything
/// that can change the host or reveal secrets is off until an operator turns it on.
pub fn default_enabled() -> ScopeSet {
    ScopeSet::readonly()
}

impl Default for Settings {
    fn default() -> Self {
        let enabled = default_enabled();
        Settings {
            enabled,
            stdio: enabled,
            denied_tools: BTreeSet::new(),
        }
    }
}

/// The scopes `caller` holds under `config`. Local callers (stdio, the CLI) take theirs from the
/// config in force, so a reload that narrows `stdio.scopes` applies to running sessions too.
pub fn effective_scopes(config: &Config, caller: &Caller) -> ScopeSet {
    let granted = match caller.transport {
        TransportKind::Stdio | TransportKind::Cli => config.scopes.stdio,
    };
    granted
        .intersect(caller.scopes)
        .intersect(config.scopes.enabled)
}

/// Whether `caller` may see `tool` at all (used by `tools/list` and `whoami`).
pub fn visible(config: &Config, caller: &Caller, tool: &Tool) -> bool {
    effective_scopes(config, caller).contains(tool.def.scope)
        && !config.scopes.denied_tools.contains(tool.def.name)
}

/// The gate: decide whether `caller` may run `tool` with `args`. Returns the validated arguments.
/// Order matters for the message: a disabled tool says so before a malformed argument does.
pub fn check(
    config: &Config,
    caller: &Caller,
    tool: &Tool,
    args: Option<&Value>,
) -> Result<Map<String, Value>, ToolError> {
    let scope = tool.def.scope;
    if !config.scopes.enabled.contains(scope) {
        return Err(ToolError::Denied(format!(
            "tool `{}` belongs to scope `{scope}`, which is disabled on this server; an operator must enable it in the config",
            tool.def.name
        )));
    }
    if config.scopes.denied_tools.contains(tool.def.name) {
        return Err(ToolError::Denied(format!(
            "tool `{}` is denied by this server's configuration (queries.deny)",
            tool.def.name
        )));
    }
    let held = effective_scopes(config, caller);
    if !held.contains(scope) {
        return Err(ToolError::Denied(format!(
            "tool `{}` needs scope `{scope}`, which this caller does not hold (granted: {})",
            tool.def.name,
            held.names().join(", ")
        )));
    }
    let args = match args {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ToolError::InvalidArgument {
                argument: "arguments".into(),
                rule: "must be a JSON object".into(),
            });
        }
    };
    tool.input.validate_args(&args)?;
    Ok(args)
}

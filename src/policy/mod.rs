#![forbid(unsafe_code)]
//! The policy gate: tool lookup, scopes, enablement, parameter requirements and argument
//! validation, decided in one place before any handler runs. Later layers (rate limits, targets, approvals) plug in here.
//!
//! [`check`] returns [`Admitted`] or a [`Denial`]. `Admitted` has no public constructor: the call
//! lifecycle (`server::call`) takes nothing else, so nothing reaches a handler without passing here.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::auth::{Caller, TransportKind};
use crate::error::{ToolError, echo};
use crate::tools::schema::Unmet;
use crate::tools::{Registry, Tool};

pub use crate::scope::ScopeSet;

/// Which scopes exist on this server, and which a stdio caller or a Unix socket peer holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: ScopeSet,
    /// Scopes granted to stdio callers (always within `enabled`).
    pub stdio: ScopeSet,
    /// Tools refused by name even when their scope is enabled.
    pub denied_tools: BTreeSet<String>,
    /// Which Unix socket peers may connect, and with what scopes (`unix.peers`).
    pub unix_peers: Vec<PeerRule>,
}

/// Who a peer rule matches: a user id, or a group id (the peer's primary or supplementary group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMatch {
    Uid(u32),
    Gid(u32),
}

/// One `unix.peers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRule {
    pub matches: PeerMatch,
    pub scopes: ScopeSet,
}

/// The scopes the peer rules grant a Unix socket peer (the union of every rule that matches it),
/// or `None` when no rule matches: such a peer is refused at connect.
pub fn unix_grant(settings: &Settings, uid: u32, gids: &[u32]) -> Option<ScopeSet> {
    settings
        .unix_peers
        .iter()
        .filter(|r| match r.matches {
            PeerMatch::Uid(u) => u == uid,
            PeerMatch::Gid(g) => gids.contains(&g),
        })
        .map(|r| r.scopes)
        .reduce(ScopeSet::union)
}

impl Default for Settings {
    fn default() -> Self {
        let enabled = ScopeSet::default_enabled();
        Settings {
            enabled,
            stdio: enabled,
            denied_tools: BTreeSet::new(),
            unix_peers: Vec::new(),
        }
    }
}

/// The scopes `caller` holds under `settings`. Local callers (stdio, the CLI) take theirs from the
/// config in force, so a reload that narrows `stdio.scopes` applies to running sessions too.
pub fn effective_scopes(settings: &Settings, caller: &Caller) -> ScopeSet {
    let granted = match caller.transport {
        TransportKind::Stdio | TransportKind::Cli => settings.stdio,
        TransportKind::Unix => match caller.uid {
            Some(uid) => unix_grant(settings, uid, &caller.gids).unwrap_or(ScopeSet::EMPTY),
            None => ScopeSet::EMPTY,
        },
    };
    granted.intersect(caller.scopes).intersect(settings.enabled)
}

/// The one tool every caller may always list and call, whatever the scopes and `queries.deny`
/// say: the server's instructions tell agents to call it first, and it only describes the
/// caller's own access. The config refuses to name it in `queries.deny`.
pub const ALWAYS_CALLABLE: &str = "whoami";

/// Whether `caller` may see `tool` at all (used by `tools/list` and `whoami`).
pub fn visible(settings: &Settings, caller: &Caller, tool: &Tool) -> bool {
    tool.def.name == ALWAYS_CALLABLE
        || effective_scopes(settings, caller).contains(tool.def.scope)
            && !settings.denied_tools.contains(tool.def.name)
}

/// A call the gate let through: the tool, its validated arguments and the scopes the caller held
/// when it was decided. Only [`check`] makes one.
#[derive(Debug)]
pub struct Admitted {
    tool: &'static Tool,
    args: Map<String, Value>,
    scopes: ScopeSet,
}

impl Admitted {
    pub fn tool(&self) -> &'static Tool {
        self.tool
    }

    /// The arguments, validated against the tool's input schema.
    pub fn args(&self) -> &Map<String, Value> {
        &self.args
    }

    pub fn scopes(&self) -> ScopeSet {
        self.scopes
    }
}

/// Why the gate refused a call. [`Denial::code`] is stable (the audit log records it);
/// [`Denial::error`] is the message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// `tools/call` without a `name` string.
    MissingName,
    /// No tool of that name (the name as echoed: at most 64 characters).
    UnknownTool { name: String },
    /// The tool's scope is not enabled on this server.
    ScopeDisabled { tool: &'static Tool },
    /// The tool is refused by name (`queries.deny`).
    ToolDenied { tool: &'static Tool },
    /// The caller does not hold the tool's scope.
    ScopeNotHeld { tool: &'static Tool, held: ScopeSet },
    /// The arguments miss a parameter requirement of the tool's input schema (a top-level
    /// `required` argument, or none of the `anyOf` alternatives), checked before the other rules.
    RequirementUnmet { tool: &'static Tool, unmet: Unmet },
    /// The arguments are not an object, or break the input schema.
    InvalidArguments {
        tool: &'static Tool,
        error: ToolError,
    },
}

impl Denial {
    /// A stable name for the audit log and for tests.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::MissingName => "missing_name",
            Denial::UnknownTool { .. } => "unknown_tool",
            Denial::ScopeDisabled { .. } => "scope_disabled",
            Denial::ToolDenied { .. } => "tool_denied",
            Denial::ScopeNotHeld { .. } => "scope_not_held",
            Denial::RequirementUnmet { .. } => "requirement_unmet",
            Denial::InvalidArguments { .. } => "invalid_arguments",
        }
    }

    /// The tool the call named, when it exists.
    pub fn tool(&self) -> Option<&'static Tool> {
        match self {
            Denial::MissingName | Denial::UnknownTool { .. } => None,
            Denial::ScopeDisabled { tool }
            | Denial::ToolDenied { tool }
            | Denial::ScopeNotHeld { tool, .. }
            | Denial::RequirementUnmet { tool, .. }
            | Denial::InvalidArguments { tool, .. } => Some(tool),
        }
    }

    /// Whether the request itself was malformed (JSON-RPC invalid params) rather than a tool call
    /// that was refused (a tool result with `isError`).
    pub fn is_protocol_error(&self) -> bool {
        matches!(self, Denial::MissingName | Denial::UnknownTool { .. })
    }

    /// What the caller is told: it names what to change.
    pub fn error(&self) -> ToolError {
        match self {
            Denial::MissingName => ToolError::InvalidArgument {
                argument: "name".into(),
                rule: "`name` (a string) is required".into(),
            },
            Denial::UnknownTool { name } => ToolError::Failed(format!("unknown tool: {name}")),
            Denial::ScopeDisabled { tool } => ToolError::Denied(format!(
                "tool `{}` belongs to scope `{}`, which is disabled on this server; an operator must enable it in the config",
                tool.def.name, tool.def.scope
            )),
            Denial::ToolDenied { tool } => ToolError::Denied(format!(
                "tool `{}` is denied by this server's configuration (queries.deny)",
                tool.def.name
            )),
            Denial::ScopeNotHeld { tool, held } => ToolError::Denied(format!(
                "tool `{}` needs scope `{}`, which this caller does not hold (granted: {})",
                tool.def.name,
                tool.def.scope,
                held.names().join(", ")
            )),
            Denial::RequirementUnmet {
                unmet: Unmet::Required(name),
                ..
            } => ToolError::InvalidArgument {
                argument: name.clone(),
                rule: "is required".into(),
            },
            Denial::RequirementUnmet {
                tool,
                unmet: Unmet::OneOf(list),
            } => ToolError::Denied(format!(
                "{} needs {list} (it never lists everything at once)",
                tool.def.name
            )),
            Denial::InvalidArguments { error, .. } => error.clone(),
        }
    }

    /// The message of a protocol-level denial, as the JSON-RPC error says it.
    pub fn protocol_message(&self) -> String {
        match self {
            Denial::MissingName => "`name` (a string) is required".into(),
            other => other.error().to_string(),
        }
    }
}

impl From<Denial> for ToolError {
    fn from(d: Denial) -> ToolError {
        d.error()
    }
}

/// The gate: decide whether `caller` may run the tool `name` with `args`. Order matters for the
/// message: an unknown tool says so first, a disabled tool says so before a malformed argument.
pub fn check(
    settings: &Settings,
    registry: &'static Registry,
    caller: &Caller,
    name: Option<&str>,
    args: Option<&Value>,
) -> Result<Admitted, Denial> {
    let name = name.ok_or(Denial::MissingName)?;
    let tool = registry.get(name).ok_or_else(|| Denial::UnknownTool {
        name: echo(name, 64),
    })?;
    let scope = tool.def.scope;
    let always = tool.def.name == ALWAYS_CALLABLE;
    if !always && !settings.enabled.contains(scope) {
        return Err(Denial::ScopeDisabled { tool });
    }
    if !always && settings.denied_tools.contains(tool.def.name) {
        return Err(Denial::ToolDenied { tool });
    }
    let held = effective_scopes(settings, caller);
    if !always && !held.contains(scope) {
        return Err(Denial::ScopeNotHeld { tool, held });
    }
    let invalid = |error| Denial::InvalidArguments { tool, error };
    let mut args = match args {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(invalid(ToolError::InvalidArgument {
                argument: "arguments".into(),
                rule: "must be a JSON object".into(),
            }));
        }
    };
    // A definition whose schemas do not compile is refused, never run unchecked.
    let compiled = tool.compiled().map_err(|e| {
        invalid(ToolError::Failed(format!(
            "internal error: this tool is unavailable ({e})"
        )))
    })?;
    // Parameter requirements first, so that `{}` to a tool that demands a filter is refused as
    // exactly that.
    compiled
        .input
        .requirements(&args)
        .map_err(|unmet| Denial::RequirementUnmet { tool, unmet })?;
    compiled.input.validate_args(&args).map_err(invalid)?;
    // `5.0` is an integer to JSON Schema: the handler gets it as one.
    compiled.input.canonicalize_integers(&mut args);
    Ok(Admitted {
        tool,
        args,
        scopes: held,
    })
}

#[cfg(test)]
mod tests;

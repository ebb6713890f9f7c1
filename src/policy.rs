#![forbid(unsafe_code)]
//! The policy gate: scopes, enablement and argument validation, decided in one place before any
//! handler runs. Later layers (rate limits, targets, approvals) plug in here.

use std::fmt;

use serde_json::{Map, Value};

use crate::auth::{Caller, TransportKind};
use crate::config::Config;
use crate::error::ToolError;
use crate::tools::Tool;

/// A permission bucket; every tool belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Core,
    LogsSystem,
    LogsApp,
    Hooks,
    Sbom,
    Sensitive,
    ContainerRead,
    ContainerWrite,
    ContainerAdmin,
    NetworkDiag,
    FileRead,
    SystemAdmin,
}

impl Scope {
    pub const ALL: [Scope; 12] = [
        Scope::Core,
        Scope::LogsSystem,
        Scope::LogsApp,
        Scope::Hooks,
        Scope::Sbom,
        Scope::Sensitive,
        Scope::ContainerRead,
        Scope::ContainerWrite,
        Scope::ContainerAdmin,
        Scope::NetworkDiag,
        Scope::FileRead,
        Scope::SystemAdmin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Core => "core",
            Scope::LogsSystem => "logs_system",
            Scope::LogsApp => "logs_app",
            Scope::Hooks => "hooks",
            Scope::Sbom => "sbom",
            Scope::Sensitive => "sensitive",
            Scope::ContainerRead => "container:read",
            Scope::ContainerWrite => "container:write",
            Scope::ContainerAdmin => "container:admin",
            Scope::NetworkDiag => "network:diag",
            Scope::FileRead => "file:read",
            Scope::SystemAdmin => "system:admin",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of scopes. Parsing understands the meta-scopes `readonly` and `admin`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u16);

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    pub fn all() -> Self {
        Scope::ALL.iter().copied().collect()
    }

    /// The `readonly` meta-scope.
    pub fn readonly() -> Self {
        [
            Scope::Core,
            Scope::LogsSystem,
            Scope::Hooks,
            Scope::Sbom,
            Scope::ContainerRead,
        ]
        .into_iter()
        .collect()
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn insert(&mut self, s: Scope) {
        self.0 |= s.bit();
    }

    pub fn remove(&mut self, s: Scope) {
        self.0 &= !s.bit();
    }

    pub fn intersect(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    pub fn difference(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::name).collect()
    }

    /// Parse one scope or meta-scope name.
    pub fn parse_name(name: &str) -> Option<ScopeSet> {
        match name {
            "readonly" => Some(Self::readonly()),
            "admin" => Some(Self::all()),
            _ => Scope::ALL
                .iter()
                .find(|s| s.name() == name)
                .map(|s| std::iter::once(*s).collect()),
        }
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
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
    let mut args = match args {
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
    tool.input.canonicalize_integers(&mut args);
    Ok(args)
}

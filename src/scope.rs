#![forbid(unsafe_code)]
//! Permission scopes and impact classes: the vocabulary the gate, the tool table, the config and
//! (later) tokens share. A leaf: it imports nothing from the crate.

use std::fmt;

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

    /// The scopes the built-in defaults enable: the read-only scopes (exactly the `readonly`
    /// meta-scope); everything that can change the host or reveal secrets is off until an
    /// operator turns it on.
    pub fn default_enabled() -> Self {
        Self::readonly()
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

/// How heavy a tool is; decides its deadline (and, later, its concurrency class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    Minimal,
    Low,
    Medium,
}

impl Impact {
    pub fn name(self) -> &'static str {
        match self {
            Impact::Minimal => "minimal",
            Impact::Low => "low",
            Impact::Medium => "medium",
        }
    }
}

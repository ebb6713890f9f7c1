#![forbid(unsafe_code)]
//! Who is calling. Each transport builds a `Caller` from what it can prove (the OS for stdio,
//! peer credentials for the Unix socket, certificate and token for HTTPS).

pub mod jwt;
pub mod keys;
pub mod replay;
pub mod settings;

pub use settings::{JwtSettings, KeySource, Settings};

use crate::scope::ScopeSet;

/// How the caller reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Stdio,
    /// The operator's one-shot `sysgate query`.
    Cli,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Cli => "cli",
        }
    }
}

/// An authenticated caller and what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub transport: TransportKind,
    /// A stable, printable identity used for audit and rate limiting.
    pub identity: String,
    /// The OS user behind the caller, where the transport knows it.
    pub uid: Option<u32>,
    /// The most this caller's credentials can grant; the gate intersects it with the config in
    /// force (see `policy::effective_scopes`).
    pub scopes: ScopeSet,
}

impl Caller {
    /// A local caller that reached us through a channel the OS controls (stdio, the CLI): whoever
    /// could spawn us is who we run as.
    pub fn local(transport: TransportKind) -> Self {
        let scopes = ScopeSet::all();
        let uid = crate::sys::uid();
        Caller {
            transport,
            identity: format!("{}:uid={uid}", transport.name()),
            uid: Some(uid),
            scopes,
        }
    }
}

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
    /// A connection to the Unix socket; the kernel names the peer (`SO_PEERCRED`).
    Unix,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Cli => "cli",
            TransportKind::Unix => "unix",
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
    /// The groups of a Unix socket peer (its primary group first, then the supplementary
    /// groups `/etc/group` lists for its user name), which the peer rules match; empty otherwise.
    pub gids: Vec<u32>,
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
            gids: Vec::new(),
        }
    }

    /// A Unix socket peer as the kernel reported it. Its scopes are decided at every call by the
    /// peer rules in force (`policy::effective_scopes`), so a reload applies to open connections.
    pub fn unix_peer(uid: u32, pid: i32, gids: Vec<u32>, name: Option<&str>) -> Self {
        let who = match name {
            Some(n) => format!("unix:uid={uid}({n})"),
            None => format!("unix:uid={uid}"),
        };
        Caller {
            transport: TransportKind::Unix,
            identity: format!("{who},pid={pid}"),
            uid: Some(uid),
            scopes: ScopeSet::all(),
            gids,
        }
    }
}

//! sysgate: an MCP server that gives AI agents read-mostly access to a Linux host, never a shell.
//!
//! Data flows one way:
//! `transport` (frames bytes, attaches the caller) → `protocol` (JSON-RPC + MCP lifecycle) →
//! `policy` (the gate) → `server::pool` (bounded workers, deadlines, cancellation) →
//! `tools` (handlers) → `output` (rendering) → back out through the transport.
//!
//! `unsafe` is denied crate-wide (see `Cargo.toml`); `sys` is the one module allowed it, and every
//! other module forbids it outright.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod codec;
pub mod config;
pub mod error;
pub mod log;
pub mod output;
pub mod policy;
pub mod protocol;
pub mod scope;
pub mod secfile;
pub mod server;
pub mod sync;
#[allow(unsafe_code)]
pub mod sys;
pub mod tools;
pub mod transport;

/// The version string reported in `serverInfo`, `--version` and the audit log.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

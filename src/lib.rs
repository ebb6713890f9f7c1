//! sysgate: an MCP server that gives AI agents read-mostly access to a Linux host, never a shell.
//!
//! # The flow
//!
//! `transport` (frames bytes, attaches the caller) → `protocol` (JSON-RPC + MCP lifecycle) →
//! `server::Server::gate` (audits what `policy::check` decides: an `Admitted` call or a
//! `Denial`) → `server::call` (the one call lifecycle: queue on `server::pool`, deadline on
//! `server::timer`, run the `tools` handler, render through `output`, write the `audit` records,
//! answer exactly once, cancellable) → back out through the transport. `sysgate query` (in `cli`)
//! enters at the gate and takes the same lifecycle. Reloadable state (config, audit log,
//! redactor) is one `server::Snapshot`; a call keeps the snapshot it started with.
//!
//! # Import rules (checked by `scripts/check-imports.sh` over `src/`)
//!
//! - Leaves import nothing from the crate: `error`, `scope`, `codec`, `sync`, `log`, `sys`,
//!   `secfile`.
//! - Subsystems (`audit`, `output`, `auth`, `tools`, `policy`) import leaves and each other
//!   without a cycle, and never a composition module; each owns its `Settings`.
//! - Composition, bottom-up: `config` (reads the file, aggregates the subsystems' settings) <
//!   `server` < `protocol` < `transport` < `cli`; each imports only those below it. Only
//!   `server` and `cli` import `config`. Handlers get a `tools::Ctx` (no config, no registry).
//! - The top-level modules form an acyclic graph.
//! - `unsafe` is denied crate-wide (see `Cargo.toml`); `sys` is the one module allowed it, and
//!   every other file forbids it outright. Only `exec` (not yet written) may start processes:
//!   `clippy.toml` disallows `std::process::Command::new` everywhere else.

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
#[allow(unsafe_code, reason = "sys is the one module with unsafe code")]
pub mod sys;
#[cfg(test)]
pub(crate) mod testdir;
pub mod tools;
pub mod transport;

/// The version string reported in `serverInfo`, `--version` and the audit log.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

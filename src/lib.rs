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

// The only public items are the hidden `testing` re-exports and `main`; their documentation
// links into the `pub(crate)` modules, which `cargo doc --document-private-items` documents.
#![allow(
    rustdoc::private_intra_doc_links,
    reason = "every module is pub(crate); the few public re-exports link into them"
)]

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod cli;
pub(crate) mod codec;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod log;
pub(crate) mod output;
pub(crate) mod policy;
pub(crate) mod protocol;
pub(crate) mod scope;
pub(crate) mod secfile;
pub(crate) mod server;
pub(crate) mod sync;
#[allow(unsafe_code, reason = "sys is the one module with unsafe code")]
pub(crate) mod sys;
#[cfg(test)]
pub(crate) mod testdir;
pub(crate) mod tools;
pub(crate) mod transport;

/// The version string reported in `serverInfo`, `--version` and the audit log.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use cli::main;

/// What the integration tests (`tests/`), the fuzz targets (`fuzz/`, a separate crate), the
/// benchmarks (`examples/`) and the doctests reach inside the crate for, and nothing else.
///
/// **Not a stable API**: hidden from the documentation, it changes whenever the code it mirrors
/// does. Every module of the crate is `pub(crate)`; this is the one path out. Its submodules
/// mirror the crate's layout (`sysgate::testing::output::toon` is `crate::output::toon`), so a
/// test that needs one more item adds it here under the same path.
#[doc(hidden)]
pub mod testing {
    /// From `crate::audit`.
    pub mod audit {
        pub use crate::audit::{
            AuditKey, AuditLog, AuditSettings, ClientIdentity, EventKind, Outcome, Record,
            SecretSource, SyslogSettings, SyslogTransport, verify,
        };
    }
    /// From `crate::auth`.
    pub mod auth {
        pub use crate::auth::{Caller, TransportKind};
    }
    /// From `crate::config`.
    pub mod config {
        pub use crate::config::{Config, parse, summary};
    }
    /// From `crate::error`.
    pub mod error {
        pub use crate::error::ToolError;
    }
    /// From `crate::output`.
    pub mod output {
        /// From `crate::output::caps`.
        pub mod caps {
            pub use crate::output::caps::{Limits, cap, cap_and_mark, json_size};
        }
        /// From `crate::output::fence`.
        pub mod fence {
            pub use crate::output::fence::Fence;
        }
        /// From `crate::output::order`: the TOON reference test writes its JSON in this order.
        pub mod order {
            pub use crate::output::order::Ordered;
        }
        /// From `crate::output::redact`.
        pub mod redact {
            pub use crate::output::redact::{RedactionSettings, Redactor, default_patterns};
        }
        /// From `crate::output::toon`.
        pub mod toon {
            pub use crate::output::toon::{encode, encode_into};
        }
    }
    /// From `crate::policy`.
    pub mod policy {
        pub use crate::policy::check;
    }
    /// From `crate::protocol`.
    pub mod protocol {
        /// From `crate::protocol::jsonrpc`.
        pub mod jsonrpc {
            pub use crate::protocol::jsonrpc::parse;
        }
        /// From `crate::protocol::session`.
        pub mod session {
            pub use crate::protocol::session::{Session, Sink};
        }
    }
    /// From `crate::server`.
    pub mod server {
        pub use crate::server::Server;
        /// From `crate::server::call`.
        pub mod call {
            pub use crate::server::call::execute;
        }
    }
    /// From `crate::sys`.
    pub mod sys {
        pub use crate::sys::euid;
    }
    /// From `crate::tools`.
    pub mod tools {
        pub use crate::tools::{Cancel, ProgressFn, Registry};
        /// From `crate::tools::schema`: the disk and memory tool tests validate against it.
        pub mod schema {
            pub use crate::tools::schema::Schema;
        }
        /// From `crate::tools::parse`: the pure parsers the diskstats, vmstat and sysblock fuzz
        /// targets feed.
        pub mod parse {
            pub use crate::tools::parse::{cgroup, diskstats, pidio, sysblock, vmstat};
        }
        /// From `crate::tools::procfs`: the pure parsers the `procfs` fuzz target feeds.
        pub mod procfs {
            pub use crate::tools::procfs::{
                cpu_usage, hwmon_temp_index, is_valid_ifname, is_virtual_fs, numbered_entry,
                parse_cmdline, parse_cpuinfo, parse_if_inet6, parse_khz_as_mhz, parse_loadavg,
                parse_meminfo, parse_millidegrees, parse_mountinfo, parse_net_dev,
                parse_os_release, parse_passwd, parse_pid_stat, parse_pressure, parse_proc_stat,
                parse_status_uids, parse_uptime, state_name, sysfs_label, unescape_octal,
            };
        }
    }
}

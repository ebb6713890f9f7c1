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
//! - Subsystems (`audit`, `output`, `exec`, `auth`, `tools`, `policy`) import leaves and each
//!   other without a cycle, and never a composition module; each owns its `Settings`. `exec`
//!   imports leaves only.
//! - Composition, bottom-up: `config` (reads the file, aggregates the subsystems' settings) <
//!   `server` < `protocol` < `transport` < `cli`; each imports only those below it. Only
//!   `server` and `cli` import `config`. Handlers get a `tools::Ctx` (no config, no registry).
//! - The top-level modules form an acyclic graph.
//! - `unsafe` is denied crate-wide (see `Cargo.toml`); `sys` is the one module allowed it, and
//!   every other file forbids it outright. Only `exec` starts processes, through the one
//!   `pre_exec` installer `sys::child::install`: `clippy.toml` disallows
//!   `std::process::Command::new` everywhere else.

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
pub(crate) mod exec;
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
        /// From `crate::auth::jwt`: the token fuzz target and the JWT benchmark.
        pub mod jwt {
            pub use crate::auth::jwt::{
                MAX_TOKEN_BYTES, MintRequest, Policy, Rejection, Verified, mint_hs256, parse_ttl,
                verify,
            };
        }
        /// From `crate::auth::keys`.
        pub mod keys {
            pub use crate::auth::keys::{Algorithm, Key, KeySet};
        }
        /// From `crate::auth::replay`.
        pub mod replay {
            pub use crate::auth::replay::{ReplayCache, ReplayError};
        }
    }
    /// From `crate::codec`.
    pub mod codec {
        pub use crate::codec::{base64url, unbase64, unbase64url};
    }
    /// From `crate::config`.
    pub mod config {
        pub use crate::config::{Config, parse, summary};
    }
    /// From `crate::error`.
    pub mod error {
        pub use crate::error::ToolError;
    }
    /// From `crate::exec`: the sandbox benchmark runs a checked program, the fuzz targets feed
    /// the cursor parser, and the argument types are the API the program-running tools use.
    pub mod exec {
        pub use crate::exec::{
            AbsPath, ArgValue, Argv, CallContext, Caps, ChildRecord, Executable, Finished,
            IoPriority, JournalCursor, PackageName, Profile, Program, Settings, Stopped, UnitName,
            UserName, program, run,
        };
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
        /// From `crate::tools::parse`: the pure parsers the diskstats, journal, vmstat and
        /// sysblock fuzz targets feed.
        pub mod parse {
            pub use crate::tools::parse::{cgroup, diskstats, journal, pidio, sysblock, vmstat};
            /// The sessions and hooks parsers (utmp, crontab, unit file, modules fuzz targets).
            pub use crate::tools::parse::{crontab, kernel, modules, unit_file, utmp};
            /// The kernel log record and syslog stamp parsers (`kmsg`, `syslog` fuzz targets).
            pub use crate::tools::parse::{kmsg, syslog};
            /// The network parsers (routes, sockstat, socket tables, resolv.conf) the
            /// `netroute`, `sockstat`, `netsock` and `resolv` fuzz targets feed.
            pub use crate::tools::parse::{netroute, netsock, resolv, sockstat};
            // The sensitive tools' parsers (fuzz targets `accounts`, `sudoers`, `sshd_config`).
            pub use crate::tools::parse::{accounts, fdinfo, sshd_config, sudoers};
            // The package database parsers (dpkg, apk and rpm fuzz targets).
            pub use crate::tools::parse::{apk, dpkg, package, rpm, stanza};
        }
        /// From `crate::tools::logfile`: one page of a fixture log file as the file log tools
        /// return it (tests cannot put fixtures at /var/log/syslog), and the cursor codec (the
        /// `log_cursor` fuzz target).
        pub mod logfile {
            pub use crate::tools::logfile::{cursor, page_of_path};
        }
        /// From `crate::tools::sensitive`: the sshd and sudo readers on fixture files, for the
        /// comparisons with `sshd -T` and `visudo -c`.
        pub mod sensitive {
            pub use crate::tools::sensitive::{read_ssh_config, read_sudo_config};
        }
        /// From `crate::tools::sbom`: the package tools on fixture trees (tests/sbom_tools.rs).
        pub mod sbom {
            pub use crate::tools::sbom::{Env, Query, document, listing, purl, read};
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

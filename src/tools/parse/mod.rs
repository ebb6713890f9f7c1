#![forbid(unsafe_code)]
//! Pure parsers of host text, one file per source format, each with fixture tests beside it and
//! a fuzz target under `fuzz/`. No I/O here: the handlers read, these only interpret.

pub mod accounts;
pub mod counters;
pub mod diskstats;
pub mod fdinfo;
pub mod journal;
pub mod kmsg;
pub mod sshd_config;
pub mod sudoers;
pub mod sysblock;
pub mod syslog;
pub mod vmstat;

#![forbid(unsafe_code)]
//! Pure parsers of host text, one file per source format, each with fixture tests beside it and
//! a fuzz target under `fuzz/`. No I/O here: the handlers read, these only interpret.

pub mod cgroup;
pub mod counters;
pub mod diskstats;
pub mod pidio;
pub mod sysblock;
pub mod vmstat;

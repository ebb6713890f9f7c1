#![forbid(unsafe_code)]
//! Pure parsers of host text, one file per source format, each with fixture tests beside it and
//! a fuzz target under `fuzz/`. No I/O here: the handlers read, these only interpret.

pub mod counters;
pub mod crontab;
pub mod diskstats;
pub mod kernel;
pub mod modules;
pub mod sysblock;
pub mod unit_file;
pub mod utmp;
pub mod vmstat;

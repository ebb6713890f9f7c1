#![forbid(unsafe_code)]
//! Pure parsers of host text, one file per source format, each with fixture tests beside it and
//! a fuzz target under `fuzz/`. No I/O here: the handlers read, these only interpret. The package
//! database parsers (`dpkg`, `apk`, `rpm`) take a `BufRead` the handler opened, so that they can
//! stream a large file; they never open anything themselves.

pub mod accounts;
pub mod apk;
pub mod cgroup;
pub mod counters;
pub mod crontab;
pub mod diskstats;
pub mod dpkg;
pub mod fdinfo;
pub mod journal;
pub mod kernel;
pub mod kmsg;
pub mod modules;
pub mod netroute;
pub mod netsock;
pub mod package;
pub mod pidio;
pub mod resolv;
pub mod rpm;
pub mod sockstat;
pub mod sshd_config;
pub mod stanza;
pub mod sudoers;
pub mod sysblock;
pub mod syslog;
pub mod unit_file;
pub mod utmp;
pub mod vmstat;

#![forbid(unsafe_code)]
//! `get_listening_ports`: the socket tables of each network namespace, read once through one
//! member process (`/proc/PID/net/...`), joined to the processes that hold each socket through
//! the `socket:[INODE]` links in `/proc/PID/fd`. Socket inodes are unique across namespaces, so
//! one pass over every process's descriptors serves every namespace. The namespaces read are
//! our own and those of processes that hold a socket (a namespace where no process holds one
//! has only kernel-owned sockets, and those are not listed).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::netfs::{for_each_line, read_small, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::netsock::{
    self, InetSocket, TCP_LISTEN, UDP_UNCONNECTED, UnixSocket, net_ns_inode, socket_inode,
};
use crate::tools::procfs;

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "protocol": {"type": "string", "enum": ["all", "tcp", "udp", "unix"], "default": "all",
            "description": "tcp and udp include their IPv6 tables"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 2000, "default": 500,
            "description": "most sockets returned"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["sockets", "count", "total", "more_not_listed", "namespaces", "processes_scanned", "processes_unreadable"],
    "properties": {
        "sockets": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["protocol", "inode", "netns", "processes"],
            "properties": {
                "protocol": {"type": "string", "enum": ["tcp", "tcp6", "udp", "udp6", "unix"]},
                "address": {"type": "string", "x-sysgate-server-text": true, "description": "local address (TCP and UDP)"},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "path": {"type": "string", "description": "unix socket path; an abstract name starts with @"},
                "type": {"type": "string", "enum": ["stream", "dgram", "seqpacket", "other"], "description": "unix socket type"},
                "uid": {"type": "integer", "minimum": 0, "description": "the socket's owner (TCP and UDP tables)"},
                "inode": {"type": "integer", "minimum": 0},
                "netns": {"type": "integer", "minimum": 0, "description": "inode of the network namespace"},
                "processes": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["pid"],
                    "properties": {
                        "pid": {"type": "integer", "minimum": 1},
                        "name": {"type": "string"},
                        "user": {"type": "string", "description": "effective user name, or the uid when /etc/passwd has no entry"}
                    }
                }},
                "processes_not_listed": {"type": "integer", "minimum": 1}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many sockets are in `sockets`"},
        "total": {"type": "integer", "minimum": 0, "description": "matching sockets before the limit"},
        "more_not_listed": {"type": "boolean"},
        "namespaces": {"type": "integer", "minimum": 0, "description": "network namespaces whose tables were read"},
        "processes_scanned": {"type": "integer", "minimum": 0},
        "processes_unreadable": {"type": "integer", "minimum": 0,
            "description": "processes whose descriptors or namespace could not be read: their sockets are listed without them"},
        "owners_reason": {"type": "string", "x-sysgate-server-text": true},
        "errors": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
            "description": "tables or namespaces that could not be read"}
    }
}"#;

/// Most network namespaces read (each costs a read of every table).
const MAX_NAMESPACES: usize = 256;
/// Most `(inode, pid)` links kept from the descriptor pass (16 bytes each).
const MAX_LINKS: usize = 1 << 18;
/// Most lines read from one table.
const MAX_TABLE_LINES: usize = 1 << 21;
/// Most owning processes listed per socket (a pre-forked server shares one socket).
const MAX_OWNERS: usize = 16;
/// Members of a namespace kept as readers, in case the first exits before its turn.
const READERS_PER_NS: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Proto {
    Tcp,
    Tcp6,
    Udp,
    Udp6,
    Unix,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Tcp6 => "tcp6",
            Proto::Udp => "udp",
            Proto::Udp6 => "udp6",
            Proto::Unix => "unix",
        }
    }
}

/// One socket found, before the join.
struct Found {
    proto: Proto,
    netns: u64,
    inet: Option<InetSocket>,
    unix: Option<UnixSocket>,
    inode: u64,
}

impl Found {
    fn key(&self) -> (Proto, u16, Option<IpAddr>, Option<&str>, u64, u64) {
        (
            self.proto,
            self.inet.map(|s| s.local_port).unwrap_or(0),
            self.inet.map(|s| s.local),
            self.unix.as_ref().and_then(|u| u.path.as_deref()),
            self.netns,
            self.inode,
        )
    }
}

#[derive(Serialize)]
struct Listening {
    sockets: Vec<Map<String, Value>>,
    count: usize,
    total: usize,
    more_not_listed: bool,
    namespaces: usize,
    processes_scanned: usize,
    processes_unreadable: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    owners_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
}

/// What one pass over `/proc/PID` found: socket links, namespace members, and counts.
#[derive(Default)]
pub(crate) struct ProcessScan {
    /// `(socket inode, pid)`, sorted.
    pub links: Vec<(u64, u32)>,
    /// Network namespace inode → a few member pids that hold sockets.
    pub namespaces: BTreeMap<u64, Vec<u32>>,
    pub scanned: usize,
    /// Processes whose `fd` directory we may not read.
    pub unreadable: usize,
    /// More links existed than [`MAX_LINKS`].
    pub links_cut: bool,
}

/// Every process's socket descriptors and network namespace. A process that exits mid-scan is
/// skipped; one whose descriptors we may not read is counted in `unreadable`.
pub(crate) fn scan_processes(ctx: &Ctx<'_>) -> Result<ProcessScan, ToolError> {
    let rd = fs::read_dir("/proc")
        .map_err(|e| ToolError::Unavailable(format!("cannot list /proc: {e}")))?;
    let mut scan = ProcessScan::default();
    for (i, e) in rd.enumerate() {
        if i % 64 == 0 {
            ctx.check()?;
        }
        let Ok(e) = e else { continue };
        let Some(pid) = e.file_name().to_str().and_then(procfs::pid_of_name) else {
            continue;
        };
        scan.scanned += 1;
        let fds = match fs::read_dir(format!("/proc/{pid}/fd")) {
            Ok(d) => d,
            Err(e) if gone(&e) => {
                scan.scanned -= 1;
                continue;
            }
            Err(_) => {
                scan.unreadable += 1;
                continue;
            }
        };
        let had = scan.links.len();
        for fd in fds {
            let Ok(fd) = fd else { continue };
            // A descriptor closed between the listing and the readlink is simply not there.
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(inode) = socket_inode(target.as_os_str().as_encoded_bytes()) {
                if scan.links.len() == MAX_LINKS {
                    scan.links_cut = true;
                    break;
                }
                scan.links.push((inode, pid));
            }
        }
        // Only a process that holds a socket can lead to a namespace's sockets (kernel
        // threads and most daemons hold none: one readlink saved each).
        if scan.links.len() == had {
            continue;
        }
        if let Ok(l) = fs::read_link(format!("/proc/{pid}/ns/net"))
            && let Some(ns) = net_ns_inode(l.as_os_str().as_encoded_bytes())
        {
            let members = scan.namespaces.entry(ns).or_default();
            if members.len() < READERS_PER_NS {
                members.push(pid);
            }
        }
    }
    scan.links.sort_unstable();
    scan.links.dedup();
    Ok(scan)
}

/// The process went away (or was never there) between the listing and the read.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// The pids holding socket `inode`.
fn owners(links: &[(u64, u32)], inode: u64) -> &[(u64, u32)] {
    let start = links.partition_point(|(i, _)| *i < inode);
    let end = links.partition_point(|(i, _)| *i <= inode);
    &links[start..end]
}

fn tables(protocol: &str) -> &'static [(Proto, &'static str)] {
    const ALL: &[(Proto, &str)] = &[
        (Proto::Tcp, "tcp"),
        (Proto::Tcp6, "tcp6"),
        (Proto::Udp, "udp"),
        (Proto::Udp6, "udp6"),
        (Proto::Unix, "unix"),
    ];
    match protocol {
        "tcp" => &ALL[0..2],
        "udp" => &ALL[2..4],
        "unix" => &ALL[4..5],
        _ => ALL,
    }
}

/// Read the wanted tables of one namespace through `pid`. `Ok(false)` when the process went
/// away before its first table was read (the caller tries another member).
fn read_namespace(
    ctx: &Ctx<'_>,
    pid: u32,
    netns: u64,
    protocol: &str,
    found: &mut Vec<Found>,
    errors: &mut Vec<String>,
) -> Result<bool, ToolError> {
    for (i, (proto, file)) in tables(protocol).iter().enumerate() {
        let path = format!("/proc/{pid}/net/{file}");
        let proto = *proto;
        let r = for_each_line(ctx, Path::new(&path), MAX_TABLE_LINES, |line| {
            if proto == Proto::Unix {
                if let Some(u) = netsock::parse_unix_line(line).filter(|u| u.listening) {
                    found.push(Found {
                        proto,
                        netns,
                        inode: u.inode,
                        inet: None,
                        unix: Some(u),
                    });
                }
                return;
            }
            let Some(s) = netsock::parse_inet_line(line) else {
                return;
            };
            let wanted = match proto {
                Proto::Tcp | Proto::Tcp6 => s.state == TCP_LISTEN,
                _ => s.state == UDP_UNCONNECTED,
            };
            if wanted {
                found.push(Found {
                    proto,
                    netns,
                    inode: s.inode,
                    inet: Some(s),
                    unix: None,
                });
            }
        })?;
        match r {
            Ok(()) => {}
            Err(e) if i == 0 && gone(&e) && !Path::new(&format!("/proc/{pid}")).exists() => {
                return Ok(false);
            }
            // No tcp6/udp6 with IPv6 disabled: nothing to list, not an error.
            Err(e) if e.kind() == io::ErrorKind::NotFound && file.ends_with('6') => {}
            Err(e) => errors.push(format!("namespace {netns}: cannot read {path}: {e}")),
        }
    }
    Ok(true)
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let protocol = args
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("all");
    let limit = args
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(500)
        .clamp(1, 2000) as usize;

    let mut scan = scan_processes(ctx)?;
    let mut errors = Vec::new();
    // Our own namespace even when no process's link could be read.
    if let Ok(l) = fs::read_link("/proc/self/ns/net")
        && let Some(ns) = net_ns_inode(l.as_os_str().as_encoded_bytes())
    {
        scan.namespaces
            .entry(ns)
            .or_default()
            .push(std::process::id());
    }
    if scan.namespaces.len() > MAX_NAMESPACES {
        errors.push(format!(
            "{} more network namespaces were not read (at most {MAX_NAMESPACES})",
            scan.namespaces.len() - MAX_NAMESPACES
        ));
    }
    let mut found = Vec::new();
    let mut namespaces = 0;
    for (ns, members) in scan.namespaces.iter().take(MAX_NAMESPACES) {
        ctx.check()?;
        let mut read = false;
        for pid in members {
            if read_namespace(ctx, *pid, *ns, protocol, &mut found, &mut errors)? {
                read = true;
                break;
            }
        }
        if read {
            namespaces += 1;
        } else {
            errors.push(format!(
                "namespace {ns}: every process in it exited before its tables were read"
            ));
        }
    }
    found.sort_by(|a, b| a.key().cmp(&b.key()));
    // The same socket seen through two readers of one namespace is one socket.
    found.dedup_by(|a, b| a.inode == b.inode && a.proto == b.proto && a.netns == b.netns);

    let users = read_small(Path::new("/etc/passwd"), 4 << 20, false)
        .map(|t| procfs::parse_passwd(&t))
        .unwrap_or_default();
    let total = found.len();
    let mut sockets = Vec::with_capacity(total.min(limit));
    for f in found.iter().take(limit) {
        ctx.check()?;
        sockets.push(row(f, owners(&scan.links, f.inode), &users));
    }
    let mut reasons = Vec::new();
    if scan.unreadable > 0 {
        reasons.push(format!(
            "the descriptors of {} processes could not be read (other users' processes need root or CAP_SYS_PTRACE): sockets they hold are listed without them",
            scan.unreadable
        ));
    }
    if scan.links_cut {
        reasons.push(format!(
            "more than {MAX_LINKS} socket descriptors: owners past that are not listed"
        ));
    }
    to_value(&Listening {
        count: sockets.len(),
        more_not_listed: total > sockets.len(),
        sockets,
        total,
        namespaces,
        processes_scanned: scan.scanned,
        processes_unreadable: scan.unreadable,
        owners_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        errors,
    })
}

fn row(f: &Found, owners: &[(u64, u32)], users: &[(String, u32)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("protocol".into(), f.proto.name().into());
    if let Some(s) = &f.inet {
        m.insert("address".into(), s.local.to_string().into());
        m.insert("port".into(), s.local_port.into());
    }
    if let Some(u) = &f.unix {
        if let Some(p) = &u.path {
            m.insert("path".into(), p.clone().into());
        }
        m.insert("type".into(), u.type_name().into());
    }
    if let Some(s) = &f.inet {
        m.insert("uid".into(), s.uid.into());
    }
    m.insert("inode".into(), f.inode.into());
    m.insert("netns".into(), f.netns.into());
    let procs: Vec<Value> = owners
        .iter()
        .take(MAX_OWNERS)
        .map(|(_, pid)| Value::Object(process(*pid, users)))
        .collect();
    m.insert("processes".into(), procs.into());
    if owners.len() > MAX_OWNERS {
        m.insert(
            "processes_not_listed".into(),
            (owners.len() - MAX_OWNERS).into(),
        );
    }
    m
}

/// Pid, name and user of an owner; name and user are left out when the process exited since.
fn process(pid: u32, users: &[(String, u32)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("pid".into(), pid.into());
    if let Ok(comm) = read_small(Path::new(&format!("/proc/{pid}/comm")), 64, true) {
        m.insert("name".into(), comm.trim_end_matches('\n').into());
    }
    let euid = read_small(Path::new(&format!("/proc/{pid}/status")), 16 << 10, true)
        .ok()
        .and_then(|t| procfs::parse_status_uids(t.as_bytes()))
        .map(|(_, effective)| effective);
    if let Some(uid) = euid {
        m.insert("user".into(), procfs::user_name(users, uid).into());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_by_inode() {
        let links = [(5, 10), (7, 11), (7, 12), (9, 1)];
        assert_eq!(owners(&links, 7), &[(7, 11), (7, 12)]);
        assert!(owners(&links, 6).is_empty());
        assert!(owners(&links, 100).is_empty());
        assert!(owners(&[], 1).is_empty());
    }

    #[test]
    fn protocol_filters() {
        let names = |p| -> Vec<&str> { tables(p).iter().map(|(_, f)| *f).collect() };
        assert_eq!(names("tcp"), ["tcp", "tcp6"]);
        assert_eq!(names("udp"), ["udp", "udp6"]);
        assert_eq!(names("unix"), ["unix"]);
        assert_eq!(names("all").len(), 5);
    }
}

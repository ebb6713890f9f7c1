#![forbid(unsafe_code)]
//! Scope `hooks`: how this host is wired, read natively from `/proc` and `/etc`. No process is
//! started here. This file holds the tool table; each handler lives in a submodule with its
//! schemas beside it, and `netfs` holds the reads they share.

use super::{Annotations, Impact, ToolDef};
use crate::scope::Scope;

mod dns;
mod netfs;
mod ports;
mod routes;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Low: two small /proc files (a full routing table is capped).
        name: "get_routes",
        title: "Routing tables",
        description: "The IPv4 main routing table from /proc/net/route and the IPv6 routes of every table from /proc/net/ipv6_route: destination and prefix length, gateway, interface, metric, route type and flags by name, lowest metric first within a destination. Read natively; no program is run.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: routes::INPUT,
        output_schema: routes::OUTPUT,
        handler: routes::handler,
    },
    ToolDef {
        // Low: one pass over /proc/PID/fd and one read of the socket tables per network
        // namespace (20 ms on a small host).
        name: "get_listening_ports",
        title: "Listening ports",
        description: "Listening TCP sockets, bound unconnected UDP sockets and listening unix sockets from /proc/net/{tcp,tcp6,udp,udp6,unix}, read once per network namespace, each with its owning processes (pid, name, user) found through the socket inode in /proc/PID/fd. Processes whose descriptors cannot be read are counted with a reason, never guessed. Read natively; no program is run.",
        scope: Scope::Hooks,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: ports::INPUT,
        output_schema: ports::OUTPUT,
        handler: ports::handler,
    },
    ToolDef {
        // Minimal: three small files.
        name: "get_dns_config",
        title: "DNS configuration",
        description: "The resolver configuration: nameservers (the first three are the ones glibc uses), search domains and options from /etc/resolv.conf (and where it links to), the `hosts:` line of /etc/nsswitch.conf, and whether systemd-resolved is in use (resolv.conf links into /run/systemd/resolve or names its 127.0.0.53 stub), with its upstream servers from /run/systemd/resolve/resolv.conf. Lines of another shape are counted by line number, never echoed.",
        scope: Scope::Hooks,
        impact: Impact::Minimal,
        annotations: Annotations::READ_LOCAL,
        input_schema: NO_ARGS,
        output_schema: dns::OUTPUT,
        handler: dns::handler,
    },
];

const NO_ARGS: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

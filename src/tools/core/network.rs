#![forbid(unsafe_code)]
//! `get_network_info`: interfaces and counters from `/proc/net/dev`, link details from
//! `/sys/class/net`, IPv6 addresses from `/proc/net/if_inet6`, IPv4 addresses from getifaddrs.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, read_path, to_value};
use crate::error::ToolError;
use crate::sys;
use crate::tools::Ctx;
use crate::tools::procfs::{self, sysfs_label};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["interfaces", "count", "more_not_listed"],
    "properties": {
        "interfaces": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "state", "addresses", "rx_bytes", "rx_packets", "rx_errors",
                         "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"],
            "properties": {
                "name": {"type": "string"},
                "state": {"type": "string", "description": "operstate: up, down, unknown, dormant, lowerlayerdown, ..."},
                "mtu": {"type": "integer", "minimum": 0},
                "mac": {"type": "string"},
                "speed_mbps": {"type": "integer", "minimum": 1},
                "addresses": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["family", "address", "prefix_len", "scope"],
                    "properties": {
                        "family": {"type": "string", "enum": ["ipv4", "ipv6"]},
                        "address": {"type": "string"},
                        "prefix_len": {"type": "integer", "minimum": 0, "maximum": 128},
                        "scope": {"type": "string", "enum": ["global", "host", "link", "site", "other"]}
                    }
                }},
                "rx_bytes": {"type": "integer", "minimum": 0},
                "rx_packets": {"type": "integer", "minimum": 0},
                "rx_errors": {"type": "integer", "minimum": 0},
                "rx_dropped": {"type": "integer", "minimum": 0},
                "tx_bytes": {"type": "integer", "minimum": 0},
                "tx_packets": {"type": "integer", "minimum": 0},
                "tx_errors": {"type": "integer", "minimum": 0},
                "tx_dropped": {"type": "integer", "minimum": 0}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many interfaces are in `interfaces`"},
        "more_not_listed": {"type": "boolean", "description": "more interfaces exist than were listed"},
        "address_errors": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
            "description": "address sources that could not be read"}
    }
}"#;

/// Most interfaces listed (container hosts can have thousands of veths).
const MAX_INTERFACES: usize = 512;

#[derive(Serialize)]
struct Network {
    interfaces: Vec<Interface>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    address_errors: Vec<String>,
}

#[derive(Serialize)]
struct Interface {
    name: String,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtu: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed_mbps: Option<u64>,
    addresses: Vec<Address>,
    rx_bytes: u64,
    rx_packets: u64,
    rx_errors: u64,
    rx_dropped: u64,
    tx_bytes: u64,
    tx_packets: u64,
    tx_errors: u64,
    tx_dropped: u64,
}

#[derive(Serialize, Debug, PartialEq)]
struct Address {
    family: &'static str,
    address: String,
    prefix_len: u8,
    scope: &'static str,
}

/// The scope an IPv4 address would have, named like the IPv6 scopes.
fn ipv4_scope(a: Ipv4Addr) -> &'static str {
    if a.is_loopback() {
        "host"
    } else if a.is_link_local() {
        "link"
    } else {
        "global"
    }
}

fn sysfs(name: &str, attr: &str) -> Option<String> {
    // `name` passed procfs::is_valid_ifname, so it cannot climb out of /sys/class/net.
    read_path(&Path::new("/sys/class/net").join(name).join(attr))
        .ok()
        .and_then(|t| sysfs_label(&t))
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let devs = procfs::parse_net_dev(&read("/proc/net/dev")?);
    let mut address_errors = Vec::new();
    let v4 = match sys::ipv4_addresses() {
        Ok(v) => v,
        Err(e) => {
            address_errors.push(format!("IPv4 addresses (getifaddrs): {e}"));
            Vec::new()
        }
    };
    // No if_inet6 means IPv6 is disabled: no addresses, not an error.
    let v6 = read("/proc/net/if_inet6")
        .map(|t| procfs::parse_if_inet6(&t))
        .unwrap_or_default();
    let truncated = devs.len() > MAX_INTERFACES;
    let mut interfaces = Vec::new();
    for d in devs.into_iter().take(MAX_INTERFACES) {
        ctx.check()?;
        let mut addresses: Vec<Address> = v4
            .iter()
            .filter(|a| a.interface == d.name)
            .map(|a| Address {
                family: "ipv4",
                address: a.address.to_string(),
                prefix_len: a.prefix_len.min(32),
                scope: ipv4_scope(a.address),
            })
            .collect();
        addresses.extend(
            v6.iter()
                .filter(|a| a.interface == d.name)
                .map(|a| Address {
                    family: "ipv6",
                    address: a.address.to_string(),
                    prefix_len: a.prefix_len,
                    scope: a.scope,
                }),
        );
        interfaces.push(Interface {
            state: sysfs(&d.name, "operstate").unwrap_or_else(|| "unknown".into()),
            mtu: sysfs(&d.name, "mtu").and_then(|t| t.parse().ok()),
            mac: sysfs(&d.name, "address"),
            // Virtual and down links answer EINVAL or -1: no speed to report.
            speed_mbps: sysfs(&d.name, "speed")
                .and_then(|t| t.parse::<i64>().ok())
                .and_then(|s| u64::try_from(s).ok())
                .filter(|s| *s > 0),
            addresses,
            rx_bytes: d.rx_bytes,
            rx_packets: d.rx_packets,
            rx_errors: d.rx_errors,
            rx_dropped: d.rx_dropped,
            tx_bytes: d.tx_bytes,
            tx_packets: d.tx_packets,
            tx_errors: d.tx_errors,
            tx_dropped: d.tx_dropped,
            name: d.name,
        });
    }
    to_value(&Network {
        count: interfaces.len(),
        interfaces,
        more_not_listed: truncated,
        address_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_scopes() {
        assert_eq!(ipv4_scope(Ipv4Addr::LOCALHOST), "host");
        assert_eq!(ipv4_scope(Ipv4Addr::new(127, 8, 0, 1)), "host");
        assert_eq!(ipv4_scope(Ipv4Addr::new(169, 254, 1, 1)), "link");
        assert_eq!(ipv4_scope(Ipv4Addr::new(10, 0, 0, 1)), "global");
    }
}

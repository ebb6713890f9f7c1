#![forbid(unsafe_code)]
//! `get_network_info`: interfaces and counters from `/proc/net/dev` (and, with `sample_ms`, their
//! rates from two reads), link details from `/sys/class/net`, IPv6 addresses from
//! `/proc/net/if_inet6`, IPv4 addresses from getifaddrs, the default routes from
//! `/proc/net/route` and `/proc/net/ipv6_route`, socket counts from `/proc/net/sockstat{,6}`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, read_path, round2, to_value};
use crate::error::ToolError;
use crate::sys;
use crate::tools::Ctx;
use crate::tools::parse::counters::{counter_delta, per_second};
use crate::tools::parse::{netroute, sockstat};
use crate::tools::procfs::{self, NetDev, sysfs_label};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "sample_ms": {"type": "integer", "minimum": 0, "maximum": 2000, "default": 0,
            "description": "how long to measure per-interface rates, in milliseconds; 0 gives the cumulative counters only"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["sample_ms", "interfaces", "count", "more_not_listed", "default_routes", "sockstat"],
    "properties": {
        "sample_ms": {"type": "integer", "minimum": 0},
        "elapsed_ms": {"type": "number", "minimum": 0,
            "description": "the measured time between the two /proc/net/dev samples the rates are over"},
        "rates_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why no interface has rates"},
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
                "tx_dropped": {"type": "integer", "minimum": 0},
                "rx_bytes_per_sec": {"type": "number", "minimum": 0},
                "rx_packets_per_sec": {"type": "number", "minimum": 0},
                "rx_errors_per_sec": {"type": "number", "minimum": 0},
                "rx_dropped_per_sec": {"type": "number", "minimum": 0},
                "tx_bytes_per_sec": {"type": "number", "minimum": 0},
                "tx_packets_per_sec": {"type": "number", "minimum": 0},
                "tx_errors_per_sec": {"type": "number", "minimum": 0},
                "tx_dropped_per_sec": {"type": "number", "minimum": 0},
                "rates_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why this interface has no rates"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many interfaces are in `interfaces`"},
        "more_not_listed": {"type": "boolean", "description": "more interfaces exist than were listed"},
        "vanished": {"type": "array", "description": "interfaces that went away during the sample",
            "items": {"type": "string"}},
        "address_errors": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
            "description": "address sources that could not be read"},
        "default_routes": {"type": "array", "description": "default routes of the main IPv4 table and of IPv6, lowest metric (the one in use) first per family",
            "items": {
                "type": "object", "additionalProperties": false,
                "required": ["family", "interface", "metric"],
                "properties": {
                    "family": {"type": "string", "enum": ["ipv4", "ipv6"]},
                    "gateway": {"type": "string", "x-sysgate-server-text": true, "description": "absent for a route on the link"},
                    "interface": {"type": "string"},
                    "metric": {"type": "integer", "minimum": 0}
                }
            }},
        "route_errors": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
            "description": "route tables that could not be read"},
        "sockets_used": {"type": "integer", "minimum": 0, "description": "sockets of all kinds in use (/proc/net/sockstat)"},
        "sockstat": {"type": "array",
            "description": "socket counts per protocol from /proc/net/sockstat and sockstat6; a count the kernel does not report for a protocol is absent",
            "items": {
                "type": "object", "additionalProperties": false, "required": ["protocol"],
                "properties": {
                    "protocol": {"type": "string", "enum": ["tcp", "udp", "udplite", "raw", "frag", "mptcp", "tcp6", "udp6", "udplite6", "raw6", "frag6"]},
                    "in_use": {"type": "integer", "minimum": 0},
                    "orphan": {"type": "integer", "minimum": 0, "description": "TCP sockets no longer attached to a process"},
                    "time_wait": {"type": "integer", "minimum": 0},
                    "allocated": {"type": "integer", "minimum": 0, "description": "TCP sockets allocated, in any state"},
                    "mem_pages": {"type": "integer", "minimum": 0, "description": "buffer memory in pages"},
                    "memory_bytes": {"type": "integer", "minimum": 0, "description": "reassembly memory in bytes"}
                }
            }},
        "sockstat_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why socket counts are missing"}
    }
}"#;

/// Most interfaces listed (container hosts can have thousands of veths).
const MAX_INTERFACES: usize = 512;
const MAX_SAMPLE_MS: u64 = 2000;

#[derive(Serialize)]
struct Network {
    sample_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates_reason: Option<&'static str>,
    interfaces: Vec<Interface>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vanished: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    address_errors: Vec<String>,
    default_routes: Vec<DefaultRoute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    route_errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sockets_used: Option<u64>,
    sockstat: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sockstat_reason: Option<String>,
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
    #[serde(flatten)]
    rates: Option<Rates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates_reason: Option<&'static str>,
}

/// Per-second counter rates over the sample, rounded to two decimals.
#[derive(Serialize, Debug, PartialEq)]
struct Rates {
    rx_bytes_per_sec: f64,
    rx_packets_per_sec: f64,
    rx_errors_per_sec: f64,
    rx_dropped_per_sec: f64,
    tx_bytes_per_sec: f64,
    tx_packets_per_sec: f64,
    tx_errors_per_sec: f64,
    tx_dropped_per_sec: f64,
}

#[derive(Serialize, Debug, PartialEq)]
struct DefaultRoute {
    family: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<String>,
    interface: String,
    metric: u32,
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

/// One read of `/proc/net/dev`, with each interface's index (to tell a re-created interface
/// from the same one) when the sample needs it.
struct Sample {
    devs: Vec<NetDev>,
    ifindex: Vec<Option<u64>>,
}

fn sample(ctx: &Ctx<'_>, with_index: bool) -> Result<Sample, ToolError> {
    let devs = procfs::parse_net_dev(&read("/proc/net/dev")?);
    let mut ifindex = Vec::new();
    if with_index {
        for d in &devs {
            ctx.check()?;
            ifindex.push(sysfs(&d.name, "ifindex").and_then(|t| t.parse().ok()));
        }
    }
    Ok(Sample { devs, ifindex })
}

fn sample_ms(args: &Map<String, Value>) -> Result<u64, ToolError> {
    match args.get("sample_ms") {
        None => Ok(0),
        Some(v) => {
            v.as_u64()
                .filter(|n| *n <= MAX_SAMPLE_MS)
                .ok_or_else(|| ToolError::InvalidArgument {
                    argument: "sample_ms".into(),
                    rule: format!("must be between 0 and {MAX_SAMPLE_MS}"),
                })
        }
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let sample_ms = sample_ms(args)?;
    let (earlier, later, secs) = if sample_ms == 0 {
        (None, sample(ctx, false)?, None)
    } else {
        let first = sample(ctx, true)?;
        let t0 = Instant::now();
        ctx.progress(
            0.0,
            Some(2.0),
            &format!("sampling network counters for {sample_ms} ms"),
        );
        ctx.sleep(Duration::from_millis(sample_ms))?;
        let second = sample(ctx, true)?;
        let secs = t0.elapsed().as_secs_f64();
        ctx.progress(1.0, Some(2.0), "computing rates");
        (Some(first), second, Some(secs))
    };
    let rated = rate_all(earlier.as_ref().zip(secs), &later);

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
    let truncated = later.devs.len() > MAX_INTERFACES;
    let mut interfaces = Vec::new();
    for (d, (rates, rates_reason)) in later
        .devs
        .into_iter()
        .zip(rated.per_interface)
        .take(MAX_INTERFACES)
    {
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
            rates,
            rates_reason,
            name: d.name,
        });
    }

    let (default_routes, route_errors) = default_routes();
    let (sockets_used, sockstat, sockstat_reason) = socket_counts();
    to_value(&Network {
        sample_ms,
        elapsed_ms: secs.map(|s| (s * 1e6).round() / 1e3),
        rates_reason: (sample_ms == 0).then_some(
            "sample_ms is 0: only cumulative counters since boot; rates need a sample (sample_ms > 0)",
        ),
        count: interfaces.len(),
        interfaces,
        more_not_listed: truncated,
        vanished: rated.vanished,
        address_errors,
        default_routes,
        route_errors,
        sockets_used,
        sockstat,
        sockstat_reason,
    })
}

/// Rates for each interface of the later sample (in its order), and the interfaces that went
/// away between the samples.
struct Rated {
    per_interface: Vec<(Option<Rates>, Option<&'static str>)>,
    vanished: Vec<String>,
}

/// Interfaces are matched by name and index. One that appeared, was re-created (another
/// index) or had a counter go back by more than a 32-bit wrap explains gets a reason instead
/// of rates: never a negative or made-up rate.
fn rate_all(earlier: Option<(&Sample, f64)>, later: &Sample) -> Rated {
    let Some((before, secs)) = earlier else {
        return Rated {
            per_interface: later.devs.iter().map(|_| (None, None)).collect(),
            vanished: Vec::new(),
        };
    };
    let index_of = |s: &Sample, i: usize| s.ifindex.get(i).copied().flatten();
    let by_name: BTreeMap<&str, usize> = before
        .devs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let per_interface = later
        .devs
        .iter()
        .enumerate()
        .map(|(i, d)| match by_name.get(d.name.as_str()) {
            None => (None, Some("the interface appeared during the sample")),
            Some(&j) if index_of(before, j) != index_of(later, i) => (
                None,
                Some("the interface was re-created during the sample (its index changed)"),
            ),
            Some(&j) => match rates(&before.devs[j], d, secs) {
                Some(r) => (Some(r), None),
                None => (
                    None,
                    Some("a counter went back during the sample (the interface or its driver reset it)"),
                ),
            },
        })
        .collect();
    let now: BTreeSet<&str> = later.devs.iter().map(|d| d.name.as_str()).collect();
    Rated {
        per_interface,
        vanished: before
            .devs
            .iter()
            .filter(|d| !now.contains(d.name.as_str()))
            .map(|d| d.name.clone())
            .collect(),
    }
}

fn rates(a: &NetDev, b: &NetDev, secs: f64) -> Option<Rates> {
    let r = |x: u64, y: u64| -> Option<f64> { per_second(counter_delta(x, y)?, secs).map(round2) };
    Some(Rates {
        rx_bytes_per_sec: r(a.rx_bytes, b.rx_bytes)?,
        rx_packets_per_sec: r(a.rx_packets, b.rx_packets)?,
        rx_errors_per_sec: r(a.rx_errors, b.rx_errors)?,
        rx_dropped_per_sec: r(a.rx_dropped, b.rx_dropped)?,
        tx_bytes_per_sec: r(a.tx_bytes, b.tx_bytes)?,
        tx_packets_per_sec: r(a.tx_packets, b.tx_packets)?,
        tx_errors_per_sec: r(a.tx_errors, b.tx_errors)?,
        tx_dropped_per_sec: r(a.tx_dropped, b.tx_dropped)?,
    })
}

/// The default routes of `/proc/net/route` and `/proc/net/ipv6_route`, and the files that
/// could not be read (a missing ipv6_route means IPv6 is off: no routes, not an error).
fn default_routes() -> (Vec<DefaultRoute>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut add = |family: &'static str, routes: &netroute::Routes| {
        out.extend(
            netroute::default_routes(&routes.routes)
                .into_iter()
                .map(|r| DefaultRoute {
                    family,
                    gateway: r.gateway.map(|g| g.to_string()),
                    interface: r.interface.clone(),
                    metric: r.metric,
                }),
        );
    };
    match read("/proc/net/route") {
        Ok(t) => add("ipv4", &netroute::parse_route(&t)),
        Err(e) => errors.push(e.to_string()),
    }
    if Path::new("/proc/net/ipv6_route").exists() {
        match read("/proc/net/ipv6_route") {
            Ok(t) => add("ipv6", &netroute::parse_ipv6_route(&t)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (out, errors)
}

/// Our names for the kernel's sockstat keys.
fn count_name(key: &str) -> &'static str {
    match key {
        "inuse" => "in_use",
        "orphan" => "orphan",
        "tw" => "time_wait",
        "alloc" => "allocated",
        "mem" => "mem_pages",
        _ => "memory_bytes",
    }
}

/// `sockets_used`, one object per protocol, and why counts are missing.
fn socket_counts() -> (Option<u64>, Vec<Map<String, Value>>, Option<String>) {
    let mut counts = Vec::new();
    let mut reason = None;
    match read("/proc/net/sockstat") {
        Ok(t) => sockstat::parse_sockstat(&t, &mut counts),
        Err(e) => reason = Some(e.to_string()),
    }
    // Without IPv6 there is no sockstat6, and nothing to count.
    if let Ok(t) = read("/proc/net/sockstat6") {
        sockstat::parse_sockstat(&t, &mut counts);
    }
    let (used, protocols) = used_and_protocols(&counts);
    (used, protocols, reason)
}

fn used_and_protocols(counts: &[sockstat::Count]) -> (Option<u64>, Vec<Map<String, Value>>) {
    let used = counts
        .iter()
        .find(|c| c.protocol == "sockets")
        .map(|c| c.value);
    let mut protocols = Vec::new();
    for (proto, _) in sockstat::KNOWN.iter().filter(|(p, _)| *p != "sockets") {
        let mut m = Map::new();
        for c in counts.iter().filter(|c| c.protocol == *proto) {
            m.insert(count_name(c.key).into(), Value::from(c.value));
        }
        if !m.is_empty() {
            let mut row = Map::new();
            row.insert("protocol".into(), Value::from(proto.to_ascii_lowercase()));
            row.extend(m);
            protocols.push(row);
        }
    }
    (used, protocols)
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

    fn dev_line(name: &str, rx_bytes: u64, rx_packets: u64, tx_bytes: u64) -> String {
        format!("{name}: {rx_bytes} {rx_packets} 0 0 0 0 0 0 {tx_bytes} 3 0 0 0 0 0 0\n")
    }

    fn sample_of(text: &str, index: &[u64]) -> Sample {
        Sample {
            devs: procfs::parse_net_dev(text),
            ifindex: index.iter().map(|i| Some(*i)).collect(),
        }
    }

    #[test]
    fn interfaces_that_come_go_reset_or_wrap_mid_sample_get_reasons_not_rates() {
        let top = u64::from(u32::MAX);
        // eth0 grows; eth1 goes away; eth2's 32-bit rx_bytes wraps; eth3 is reset; veth9
        // appears; br0 is re-created under the same name (another index).
        let first = sample_of(
            &format!(
                "{}{}{}{}{}",
                dev_line("eth0", 1000, 10, 500),
                dev_line("eth1", 1, 1, 1),
                dev_line("eth2", top - 99, 10, 0),
                dev_line("eth3", 1 << 40, 10, 0),
                dev_line("br0", 5, 1, 0)
            ),
            &[2, 3, 4, 5, 6],
        );
        let later = sample_of(
            &format!(
                "{}{}{}{}{}",
                dev_line("eth0", 3000, 30, 500),
                dev_line("eth2", 100, 12, 0),
                dev_line("eth3", 10, 1, 0),
                dev_line("veth9", 7, 1, 0),
                dev_line("br0", 9, 2, 0)
            ),
            &[2, 4, 5, 7, 8],
        );
        let r = rate_all(Some((&first, 2.0)), &later);
        assert_eq!(r.vanished, ["eth1"]);
        let eth0 = r.per_interface[0].0.as_ref().unwrap();
        assert_eq!(
            (eth0.rx_bytes_per_sec, eth0.rx_packets_per_sec),
            (1000.0, 10.0)
        );
        assert_eq!((eth0.tx_bytes_per_sec, eth0.tx_errors_per_sec), (0.0, 0.0));
        let eth2 = r.per_interface[1].0.as_ref().unwrap();
        assert_eq!(eth2.rx_bytes_per_sec, 100.0);
        for (i, why) in [(2, "went back"), (3, "appeared"), (4, "re-created")] {
            let (rates, reason) = &r.per_interface[i];
            assert!(rates.is_none(), "{i}");
            assert!(reason.unwrap().contains(why), "{i}: {reason:?}");
        }
        // Without a sample: no rates and no per-interface reason (the top-level one says why).
        let none = rate_all(None, &later);
        assert!(
            none.per_interface
                .iter()
                .all(|(r, w)| r.is_none() && w.is_none())
        );
        assert!(none.vanished.is_empty());
        // A zero interval gives no rate at all rather than an infinite one.
        let zero = rate_all(Some((&first, 0.0)), &later);
        assert!(zero.per_interface[0].0.is_none());
    }

    #[test]
    fn socket_rows_from_counts() {
        let mut c = Vec::new();
        sockstat::parse_sockstat(
            "sockets: used 23\nTCP: inuse 4 orphan 1 tw 7 alloc 9 mem 95\nFRAG: inuse 0 memory 0\n",
            &mut c,
        );
        sockstat::parse_sockstat("TCP6: inuse 5\n", &mut c);
        let (used, rows) = used_and_protocols(&c);
        assert_eq!(used, Some(23));
        let v = Value::from(rows.into_iter().map(Value::Object).collect::<Vec<_>>());
        assert_eq!(
            v,
            serde_json::json!([
                {"protocol": "tcp", "in_use": 4, "orphan": 1, "time_wait": 7, "allocated": 9, "mem_pages": 95},
                {"protocol": "frag", "in_use": 0, "memory_bytes": 0},
                {"protocol": "tcp6", "in_use": 5}
            ])
        );
    }
}

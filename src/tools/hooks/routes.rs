#![forbid(unsafe_code)]
//! `get_routes`: the IPv4 main table from `/proc/net/route` and every IPv6 table from
//! `/proc/net/ipv6_route` (the kernel prints all of them there, the local table included).

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::netfs::{read_small, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::netroute::{self, Route};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "family": {"type": "string", "enum": ["all", "ipv4", "ipv6"], "default": "all",
            "description": "which routes to list"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000,
            "description": "most routes returned"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["routes", "count", "total", "more_not_listed"],
    "properties": {
        "routes": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["family", "destination", "prefix_len", "interface", "metric", "type", "flags"],
            "properties": {
                "family": {"type": "string", "enum": ["ipv4", "ipv6"]},
                "destination": {"type": "string", "x-sysgate-server-text": true},
                "prefix_len": {"type": "integer", "minimum": 0, "maximum": 128},
                "gateway": {"type": "string", "x-sysgate-server-text": true, "description": "absent for a route on the link"},
                "interface": {"type": "string"},
                "metric": {"type": "integer", "minimum": 0},
                "type": {"type": "string", "enum": ["unicast", "local", "multicast", "anycast", "unreachable"],
                    "description": "as far as the file tells: unreachable for a reject route, local and anycast from IPv6 flags"},
                "flags": {"type": "array", "items": {"type": "string", "enum": ["up","gateway","host","reinstate","dynamic","modified","mtu","window","irtt","reject","default","allonlink","addrconf","prefix_rt","anycast","nonexthop","expires","routeinfo","cache","flow","policy","pcpu","local"]}},
                "source": {"type": "string", "x-sysgate-server-text": true,
                    "description": "IPv6 source prefix of a source-specific route (ip's `from`)"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many routes are in `routes`"},
        "total": {"type": "integer", "minimum": 0, "description": "routes of the chosen families before the limit"},
        "more_not_listed": {"type": "boolean"},
        "errors": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true},
            "description": "route tables that could not be read"}
    }
}"#;

/// Largest route file read: a full Internet table (about a million IPv4 routes) is about
/// 128 MB of text, more than this call should read; the parsers cap what they keep.
const MAX_ROUTE_FILE: u64 = 16 * 1024 * 1024;

#[derive(Serialize)]
struct Routes {
    routes: Vec<Map<String, Value>>,
    count: usize,
    total: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let family = args.get("family").and_then(Value::as_str).unwrap_or("all");
    let limit = args
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .clamp(1, 10_000) as usize;
    let mut errors = Vec::new();
    let mut all = Vec::new();
    let mut more = false;
    let mut load = |path: &str, parse: fn(&str) -> netroute::Routes, optional: bool| {
        match read_small(Path::new(path), MAX_ROUTE_FILE, false) {
            Ok(text) => {
                let r = parse(&text);
                more |= r.more;
                all.extend(r.routes);
            }
            // No ipv6_route: IPv6 is disabled, so there are no IPv6 routes.
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("cannot read {path}: {e}")),
        }
    };
    if family != "ipv6" {
        load("/proc/net/route", netroute::parse_route, false);
    }
    ctx.check()?;
    if family != "ipv4" {
        load("/proc/net/ipv6_route", netroute::parse_ipv6_route, true);
    }
    if all.is_empty() && !errors.is_empty() {
        return Err(ToolError::Unavailable(errors.join("; ")));
    }
    sort(&mut all);
    let total = all.len();
    let routes: Vec<Map<String, Value>> = all.iter().take(limit).map(row).collect();
    to_value(&Routes {
        count: routes.len(),
        more_not_listed: more || total > routes.len(),
        routes,
        total,
        errors,
    })
}

/// IPv4 first, then by destination, prefix and metric: the order `ip route` reads in.
fn sort(routes: &mut [Route]) {
    routes.sort_by(|a, b| {
        (
            a.is_ipv6(),
            a.destination,
            a.prefix_len,
            a.metric,
            &a.interface,
        )
            .cmp(&(
                b.is_ipv6(),
                b.destination,
                b.prefix_len,
                b.metric,
                &b.interface,
            ))
    });
}

fn row(r: &Route) -> Map<String, Value> {
    let mut m = Map::new();
    let family = if r.is_ipv6() { "ipv6" } else { "ipv4" };
    m.insert("family".into(), family.into());
    m.insert("destination".into(), r.destination.to_string().into());
    m.insert("prefix_len".into(), r.prefix_len.into());
    if let Some(g) = r.gateway {
        m.insert("gateway".into(), g.to_string().into());
    }
    m.insert("interface".into(), r.interface.clone().into());
    m.insert("metric".into(), r.metric.into());
    m.insert("type".into(), r.kind().into());
    m.insert("flags".into(), r.flag_names().into());
    if let Some((src, len)) = r.source {
        m.insert("source".into(), format!("{}/{len}", IpAddr::V6(src)).into());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    #[test]
    fn rows_are_sorted_and_valid() {
        let mut v4 = netroute::parse_route(
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
             eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
             eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
        )
        .routes;
        let v6 = netroute::parse_ipv6_route(
            "20010db8000000000000000000000000 20 20010db8000000000000000000000000 30 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0\n",
        )
        .routes;
        v4.extend(v6);
        sort(&mut v4);
        let rows: Vec<Value> = v4.iter().map(|r| Value::Object(row(r))).collect();
        assert_eq!(rows[0]["destination"], "0.0.0.0");
        if cfg!(target_endian = "little") {
            assert_eq!(rows[0]["gateway"], "10.0.0.1");
            assert_eq!(rows[1]["destination"], "10.0.2.0");
        }
        assert_eq!(rows[1]["prefix_len"], 24);
        assert_eq!(rows[2]["source"], "2001:db8::/48");
        let out: Value = serde_json::from_str(OUTPUT).unwrap();
        // The schema's enum is the parser's list of names.
        let flags = &out["properties"]["routes"]["items"]["properties"]["flags"]["items"]["enum"];
        assert_eq!(flags, &serde_json::json!(netroute::FLAG_NAMES));
        let schema = Schema::compile(&out).unwrap();
        let v =
            serde_json::json!({"routes": rows, "count": 3, "total": 3, "more_not_listed": false});
        schema.validate(&v).unwrap();
    }
}

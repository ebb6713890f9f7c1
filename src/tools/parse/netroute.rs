#![forbid(unsafe_code)]
//! `/proc/net/route` (the IPv4 main table) and `/proc/net/ipv6_route` (every IPv6 table), shared
//! by `get_routes` and the default routes of `get_network_info`. Malformed lines are skipped,
//! never guessed at; the kernel's own placeholder IPv6 entry (the "null entry") is left out, as
//! `ip -6 route` leaves it out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::tools::procfs::is_valid_ifname;

/// Most routes kept from one file: a full BGP table has about a million, more than any answer
/// can carry; the caller reports that the list was cut.
pub const MAX_ROUTES: usize = 65_536;

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpAddr,
    pub prefix_len: u8,
    /// `None` for a route on the link (no gateway).
    pub gateway: Option<IpAddr>,
    pub interface: String,
    pub metric: u32,
    /// The kernel's `RTF_*` bits as read.
    pub flags: u32,
    /// IPv6 only: the source prefix of a source-specific route (`from`), when not `::/0`.
    pub source: Option<(Ipv6Addr, u8)>,
}

impl Route {
    pub fn is_ipv6(&self) -> bool {
        self.destination.is_ipv6()
    }

    pub fn is_default(&self) -> bool {
        self.prefix_len == 0 && self.source.is_none()
    }

    pub fn is_reject(&self) -> bool {
        self.flags & RTF_REJECT != 0
    }

    /// The names of the `RTF_*` bits set (IPv4 and IPv6 share the low ones), in bit order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let table = if self.is_ipv6() { FLAGS_V6 } else { FLAGS_V4 };
        table
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The route type as `ip route` names it, as far as the file tells it.
    pub fn kind(&self) -> &'static str {
        if self.is_reject() {
            "unreachable"
        } else if self.is_ipv6() && self.flags & RTF_LOCAL != 0 {
            "local"
        } else if self.is_ipv6() && self.flags & RTF_ANYCAST != 0 {
            "anycast"
        } else if matches!(self.destination, IpAddr::V6(a) if a.is_multicast()) {
            "multicast"
        } else {
            "unicast"
        }
    }
}

const RTF_REJECT: u32 = 0x0200;
const RTF_ANYCAST: u32 = 0x0010_0000;
const RTF_NONEXTHOP: u32 = 0x0020_0000;
const RTF_LOCAL: u32 = 0x8000_0000;

/// `include/uapi/linux/route.h`.
const FLAGS_V4: &[(u32, &str)] = &[
    (0x0001, "up"),
    (0x0002, "gateway"),
    (0x0004, "host"),
    (0x0008, "reinstate"),
    (0x0010, "dynamic"),
    (0x0020, "modified"),
    (0x0040, "mtu"),
    (0x0080, "window"),
    (0x0100, "irtt"),
    (RTF_REJECT, "reject"),
];

/// `include/uapi/linux/ipv6_route.h` (plus the shared low bits).
const FLAGS_V6: &[(u32, &str)] = &[
    (0x0001, "up"),
    (0x0002, "gateway"),
    (0x0004, "host"),
    (RTF_REJECT, "reject"),
    (0x0001_0000, "default"),
    (0x0002_0000, "allonlink"),
    (0x0004_0000, "addrconf"),
    (0x0008_0000, "prefix_rt"),
    (RTF_ANYCAST, "anycast"),
    (RTF_NONEXTHOP, "nonexthop"),
    (0x0040_0000, "expires"),
    (0x0080_0000, "routeinfo"),
    (0x0100_0000, "cache"),
    (0x0200_0000, "flow"),
    (0x0400_0000, "policy"),
    (0x4000_0000, "pcpu"),
    (RTF_LOCAL, "local"),
];

/// Every flag name either table can give, for the output schema's enum.
pub const FLAG_NAMES: &[&str] = &[
    "up",
    "gateway",
    "host",
    "reinstate",
    "dynamic",
    "modified",
    "mtu",
    "window",
    "irtt",
    "reject",
    "default",
    "allonlink",
    "addrconf",
    "prefix_rt",
    "anycast",
    "nonexthop",
    "expires",
    "routeinfo",
    "cache",
    "flow",
    "policy",
    "pcpu",
    "local",
];

/// A file's routes, and whether more lines were there than [`MAX_ROUTES`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Routes {
    pub routes: Vec<Route>,
    pub more: bool,
}

/// `/proc/net/route`: a header line, then tab-separated `Iface Destination Gateway Flags RefCnt
/// Use Metric Mask MTU Window IRTT`. Addresses are the in-memory (network order) bytes printed
/// as a native-endian `%08X`, so they are turned back with the native byte order: on the usual
/// little-endian host `010200C0` is 192.0.2.1.
pub fn parse_route(text: &str) -> Routes {
    let mut out = Routes::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 8 || !is_valid_ifname(f[0]) {
            continue;
        }
        let (Some(dst), Some(gw), Some(flags), Some(metric), Some(mask)) = (
            hex_u32(f[1]),
            hex_u32(f[2]),
            // Flags are printed as %04X.
            (1..=8)
                .contains(&f[3].len())
                .then(|| u32::from_str_radix(f[3], 16).ok())
                .flatten(),
            f[6].parse::<u32>().ok(),
            hex_u32(f[7]),
        ) else {
            continue;
        };
        let mask = u32::from_be_bytes(mask.to_ne_bytes());
        // A netmask is contiguous ones; anything else is not a line the kernel writes.
        if mask.leading_ones() != mask.count_ones() {
            continue;
        }
        if out.routes.len() == MAX_ROUTES {
            out.more = true;
            break;
        }
        let gateway = Ipv4Addr::from(gw.to_ne_bytes());
        out.routes.push(Route {
            destination: IpAddr::V4(Ipv4Addr::from(dst.to_ne_bytes())),
            prefix_len: mask.count_ones() as u8,
            gateway: (!gateway.is_unspecified()).then_some(IpAddr::V4(gateway)),
            interface: f[0].to_string(),
            metric,
            flags,
            source: None,
        });
    }
    out
}

/// `/proc/net/ipv6_route`: `dest plen src plen nexthop metric refcnt use flags iface`, space
/// separated, addresses as 32 hex digits in network order, numbers in hex.
pub fn parse_ipv6_route(text: &str) -> Routes {
    let mut out = Routes::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() != 10 || !is_valid_ifname(f[9]) {
            continue;
        }
        let (Some(dst), Some(plen), Some(src), Some(src_plen), Some(nh), Some(metric), Some(flags)) = (
            hex_v6(f[0]),
            hex_plen(f[1]),
            hex_v6(f[2]),
            hex_plen(f[3]),
            hex_v6(f[4]),
            hex_u32(f[5]),
            hex_u32(f[8]),
        ) else {
            continue;
        };
        // The kernel's null entry (`ip6_null_entry`): an unreachable ::/0 on lo with the
        // largest metric, there in every table before any route is added.
        if plen == 0
            && dst.is_unspecified()
            && metric == u32::MAX
            && f[9] == "lo"
            && flags & (RTF_REJECT | RTF_NONEXTHOP) == RTF_REJECT | RTF_NONEXTHOP
        {
            continue;
        }
        if out.routes.len() == MAX_ROUTES {
            out.more = true;
            break;
        }
        out.routes.push(Route {
            destination: IpAddr::V6(dst),
            prefix_len: plen,
            gateway: (!nh.is_unspecified()).then_some(IpAddr::V6(nh)),
            interface: f[9].to_string(),
            metric,
            flags,
            source: (src_plen != 0 || !src.is_unspecified()).then_some((src, src_plen)),
        });
    }
    out
}

/// The default routes in `routes` that carry traffic (not unreachable), lowest metric first:
/// the first is the one the kernel uses when nothing more specific matches.
pub fn default_routes(routes: &[Route]) -> Vec<&Route> {
    let mut d: Vec<&Route> = routes
        .iter()
        .filter(|r| r.is_default() && !r.is_reject() && r.flags & RTF_LOCAL == 0)
        .collect();
    d.sort_by_key(|r| r.metric);
    d
}

fn hex_u32(s: &str) -> Option<u32> {
    (s.len() == 8).then(|| u32::from_str_radix(s, 16).ok())?
}

fn hex_plen(s: &str) -> Option<u8> {
    (s.len() == 2)
        .then(|| u8::from_str_radix(s, 16).ok())?
        .filter(|p| *p <= 128)
}

fn hex_v6(s: &str) -> Option<Ipv6Addr> {
    (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(s, 16).ok().map(Ipv6Addr::from))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In-memory bytes printed as a native-endian `%08X`, as the kernel does.
    fn kernel_hex(a: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_ne_bytes(a.octets()))
    }

    #[test]
    fn ipv4_table() {
        let gw = kernel_hex(Ipv4Addr::new(192, 0, 2, 1));
        let net = kernel_hex(Ipv4Addr::new(192, 0, 2, 0));
        let mask = kernel_hex(Ipv4Addr::new(255, 255, 255, 0));
        let host = kernel_hex(Ipv4Addr::new(10, 1, 2, 3));
        let all = kernel_hex(Ipv4Addr::new(255, 255, 255, 255));
        let bad_mask = kernel_hex(Ipv4Addr::new(255, 0, 255, 0));
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t00000000\t{gw}\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
             eth0\t{net}\t00000000\t0001\t0\t0\t0\t{mask}\t0\t0\t0\n\
             eth1\t{host}\t00000000\t0205\t0\t0\t7\t{all}\t0\t0\t0\n\
             eth2\t{net}\t00000000\t0001\t0\t0\t0\t{bad_mask}\t0\t0\t0\n\
             eth/x\t{net}\t00000000\t0001\t0\t0\t0\t{mask}\t0\t0\t0\n\
             eth3\tZZ\t00000000\t0001\t0\t0\t0\t{mask}\t0\t0\t0\n\
             eth4\t{net}\t00000000\t0001\t0\t0\t-1\t{mask}\t0\t0\t0\n\
             eth5\t{net}\t00000000\n"
        );
        let r = parse_route(&text);
        assert!(!r.more);
        assert_eq!(r.routes.len(), 3, "{:?}", r.routes);
        let d = &r.routes[0];
        assert!(d.is_default());
        assert_eq!(d.gateway, Some("192.0.2.1".parse().unwrap()));
        assert_eq!((d.metric, d.interface.as_str()), (100, "eth0"));
        assert_eq!(d.flag_names(), ["up", "gateway"]);
        assert_eq!(d.kind(), "unicast");
        let n = &r.routes[1];
        assert_eq!(
            (n.destination, n.prefix_len, n.gateway),
            ("192.0.2.0".parse().unwrap(), 24, None)
        );
        let h = &r.routes[2];
        assert_eq!(h.prefix_len, 32);
        assert_eq!(h.flag_names(), ["up", "host", "reject"]);
        assert_eq!(h.kind(), "unreachable");
        assert_eq!(default_routes(&r.routes), [d]);
    }

    #[test]
    fn ipv6_table_skips_the_null_entry_and_names_flags() {
        let text = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000064 00000002 00000000 00450003     eth1
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0
20010db8000000000000000000000000 20 20010db8000000000000000000000000 30 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000000 81 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
0000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200
";
        let r = parse_ipv6_route(text);
        let kinds: Vec<&str> = r.routes.iter().map(Route::kind).collect();
        assert_eq!(
            kinds,
            [
                "unicast",
                "unicast",
                "unicast",
                "local",
                "multicast",
                "unicast"
            ]
        );
        let d = &r.routes[1];
        assert_eq!(d.gateway, Some("fd00::1".parse().unwrap()));
        assert_eq!(d.metric, 1024);
        assert_eq!(
            r.routes[2].flag_names(),
            ["up", "gateway", "default", "addrconf", "expires"]
        );
        assert_eq!(r.routes[3].flag_names(), ["up", "nonexthop", "local"]);
        assert_eq!(
            r.routes[5].source,
            Some(("2001:db8::".parse().unwrap(), 48))
        );
        assert!(!r.routes[5].is_default());
        // Lowest metric first.
        let defaults = default_routes(&r.routes);
        let metrics: Vec<u32> = defaults.iter().map(|r| r.metric).collect();
        assert_eq!(metrics, [100, 1024]);
    }

    #[test]
    fn hostile_and_huge_input() {
        for text in ["", "\n\n", "eth0", "\u{0}\u{ffff}", "x x x x x x x x x x"] {
            assert!(parse_route(text).routes.is_empty());
            assert!(parse_ipv6_route(text).routes.is_empty());
        }
        let line = "eth0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n";
        let r = parse_route(&line.repeat(MAX_ROUTES + 1));
        assert!(r.more);
        assert_eq!(r.routes.len(), MAX_ROUTES);
    }
}

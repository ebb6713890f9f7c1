//! `get_network_info` (rates, default routes, sockstat) and the hooks tools `get_routes`,
//! `get_listening_ports` and `get_dns_config`, run on this machine in process (gate, handler,
//! output-schema check) and through the real binary. Values are compared with independent
//! sources: the test's own reads of `/proc/net/dev` and `/proc/net/sockstat`, `ip -j route`,
//! `ss`, sockets the test opens itself, and (as root) a network namespace the test builds with
//! known routes, a known listener and its own resolv.conf (`ip netns exec` bind-mounts
//! `/etc/netns/NAME/resolv.conf` over `/etc/resolv.conf`).
#![expect(
    clippy::disallowed_methods,
    reason = "the tests run ip, ss and the binary to set up and check the host"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers set up and read the host for the tests, which stop at the first surprise"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use common::euid_is_root as is_root;
use common::host::{host_lock, output as run};
use common::in_process::{
    assert_cancelled_mid_call, assert_sample_progress, call, call_with, f, u,
};
use common::schema::{listed_output_schemas, ok_result};
use serde_json::{Value, json};
use sysgate::testing::error::ToolError;
use sysgate::testing::tools::Cancel;

/// `/proc/net/dev` read here without the server's parser: name → the 16 counters.
fn net_dev() -> BTreeMap<String, Vec<u64>> {
    std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| {
            let (name, rest) = l.split_once(':').unwrap();
            let v = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            (name.trim().to_string(), v)
        })
        .collect()
}

/// Receive and transmit fields of /proc/net/dev by our names.
const FIELDS: [(&str, usize); 8] = [
    ("rx_bytes", 0),
    ("rx_packets", 1),
    ("rx_errors", 2),
    ("rx_dropped", 3),
    ("tx_bytes", 8),
    ("tx_packets", 9),
    ("tx_errors", 10),
    ("tx_dropped", 11),
];

/// Send `bytes` over a loopback TCP connection and wait until all of it was received.
fn loopback_traffic(bytes: usize) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let reader = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < bytes {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got += n;
        }
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(&vec![7u8; bytes]).unwrap();
    reader.join().unwrap();
}

// -- get_network_info ---------------------------------------------------------------------------

#[test]
fn network_rates_match_two_reads_of_proc_net_dev_with_loopback_traffic() {
    let _host = host_lock();
    const SENT: usize = 1 << 20;
    let events = Mutex::new(Vec::new());
    // The first progress message comes right after the first sample: 1 MiB over loopback
    // then lands inside the sample.
    let sink = |done: f64, total: Option<f64>, msg: &str| {
        events.lock().unwrap().push((done, total, msg.to_string()));
        if done == 0.0 {
            loopback_traffic(SENT);
        }
    };
    let before = net_dev();
    let v = call_with(
        "get_network_info",
        json!({"sample_ms": 300}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    let after = net_dev();
    let ev = events.lock().unwrap().clone();
    assert_sample_progress(&ev, 300);
    assert_eq!(v["sample_ms"], 300);
    assert!(v.get("rates_reason").is_none());
    let secs = f(&v["elapsed_ms"]) / 1000.0;
    assert!((0.3..3.0).contains(&secs), "{secs}");

    for i in v["interfaces"].as_array().unwrap() {
        let name = i["name"].as_str().unwrap();
        let (Some(b), Some(a)) = (before.get(name), after.get(name)) else {
            // Only an interface that came or went around the call may be missing from ours.
            assert!(i["rates_reason"].is_string(), "{i}");
            continue;
        };
        if i.get("rx_bytes_per_sec").is_none() {
            assert!(i["rates_reason"].is_string(), "{i}");
            continue;
        }
        for (key, idx) in FIELDS {
            // Cumulative: read between our two reads.
            let got = u(&i[key]);
            assert!(b[idx] <= got && got <= a[idx], "{name} {key}");
            // The rate's delta is at most ours (the tool's window lies inside ours).
            let rate = f(&i[format!("{key}_per_sec").as_str()]);
            assert!(rate >= 0.0, "{name} {key}");
            let ours = (a[idx] - b[idx]) as f64;
            assert!(
                rate * secs <= ours * 1.005 + 1.0,
                "{name} {key}: {} > {ours}",
                rate * secs
            );
        }
    }
    // All of the 1 MiB crossed lo inside the sample: in both directions' byte counts.
    let lo = v["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lo")
        .expect("lo is listed");
    for key in ["rx_bytes_per_sec", "tx_bytes_per_sec"] {
        let moved = f(&lo[key]) * secs;
        assert!(moved >= SENT as f64 * 0.999, "{key}: {moved}");
    }
    assert!(f(&lo["rx_packets_per_sec"]) * secs >= 2.0);
}

#[test]
fn network_without_a_sample_is_counters_only() {
    let before = net_dev();
    let v = call("get_network_info", json!({"sample_ms": 0}));
    let after = net_dev();
    assert!(
        v["rates_reason"]
            .as_str()
            .unwrap()
            .contains("sample_ms is 0")
    );
    assert!(v.get("elapsed_ms").is_none());
    // No arguments is the same: the default sample is 0.
    let d = call("get_network_info", json!({}));
    assert_eq!(d["sample_ms"], 0);
    for i in v["interfaces"].as_array().unwrap() {
        assert!(i.get("rx_bytes_per_sec").is_none(), "{i}");
        assert!(i.get("rates_reason").is_none(), "{i}");
        let name = i["name"].as_str().unwrap();
        if let (Some(b), Some(a)) = (before.get(name), after.get(name)) {
            for (key, idx) in FIELDS {
                let got = u(&i[key]);
                assert!(b[idx] <= got && got <= a[idx], "{name} {key}");
            }
        }
    }
}

#[test]
fn network_arguments_and_cancellation() {
    for args in [
        json!({"sample_ms": 2001}),
        json!({"sample_ms": -1}),
        json!({"sample_ms": "100"}),
    ] {
        match call_with(
            "get_network_info",
            args.clone(),
            None,
            &Cancel::default(),
            None,
        ) {
            Err(ToolError::InvalidArgument { argument, .. }) => assert_eq!(argument, "sample_ms"),
            other => panic!("{args}: {other:?}"),
        }
    }
    assert_cancelled_mid_call("get_network_info", json!({"sample_ms": 2000}));
}

/// `ip -j route show ...` as (destination with prefix, gateway, device, metric) tuples.
fn ip_routes(args: &[&str], v6: bool) -> BTreeSet<(String, Option<String>, String, u64)> {
    let out = run("ip", args).expect("ip runs (iproute2)");
    let list: Value = serde_json::from_str(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let dst = r["dst"].as_str().unwrap();
            let dst = match dst {
                "default" if v6 => "::/0".to_string(),
                "default" => "0.0.0.0/0".to_string(),
                d if d.contains('/') => d.to_string(),
                d if v6 => format!("{d}/128"),
                d => format!("{d}/32"),
            };
            (
                dst,
                r["gateway"].as_str().map(str::to_string),
                r["dev"].as_str().unwrap().to_string(),
                r["metric"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn our_routes(routes: &Value, family: &str) -> BTreeSet<(String, Option<String>, String, u64)> {
    routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["family"] == family)
        .map(|r| {
            (
                format!("{}/{}", r["destination"].as_str().unwrap(), r["prefix_len"]),
                r["gateway"].as_str().map(str::to_string),
                r["interface"].as_str().unwrap().to_string(),
                u(&r["metric"]),
            )
        })
        .collect()
}

#[test]
fn default_routes_match_ip_route() {
    let v = call("get_network_info", json!({}));
    let defaults = &v["default_routes"];
    let ours = |family: &str| -> BTreeSet<(Option<String>, String, u64)> {
        defaults
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["family"] == family)
            .map(|r| {
                (
                    r["gateway"].as_str().map(str::to_string),
                    r["interface"].as_str().unwrap().to_string(),
                    u(&r["metric"]),
                )
            })
            .collect()
    };
    let ip = |args: &[&str], v6| -> BTreeSet<(Option<String>, String, u64)> {
        ip_routes(args, v6)
            .into_iter()
            .map(|(_, g, d, m)| (g, d, m))
            .collect()
    };
    assert_eq!(ours("ipv4"), ip(&["-j", "route", "show", "default"], false));
    // /proc/net/ipv6_route holds every table: the main table's defaults are among ours.
    let main6 = ip(&["-j", "-6", "route", "show", "default"], true);
    assert!(
        ours("ipv6").is_superset(&main6),
        "{:?} vs {main6:?}",
        ours("ipv6")
    );
    // Lowest metric first per family.
    for family in ["ipv4", "ipv6"] {
        let metrics: Vec<u64> = defaults
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["family"] == family)
            .map(|r| u(&r["metric"]))
            .collect();
        assert!(metrics.windows(2).all(|w| w[0] <= w[1]), "{metrics:?}");
    }
}

/// `/proc/net/sockstat{,6}` read here: (protocol lower-cased, our key) → value.
fn sockstat_file() -> BTreeMap<(String, String), u64> {
    let mut m = BTreeMap::new();
    for file in ["/proc/net/sockstat", "/proc/net/sockstat6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            let (proto, rest) = line.split_once(':').unwrap();
            let words: Vec<&str> = rest.split_whitespace().collect();
            for kv in words.chunks(2) {
                let key = match kv[0] {
                    "inuse" => "in_use",
                    "tw" => "time_wait",
                    "alloc" => "allocated",
                    "mem" => "mem_pages",
                    "memory" => "memory_bytes",
                    other => other,
                };
                m.insert(
                    (proto.to_ascii_lowercase(), key.to_string()),
                    kv[1].parse().unwrap(),
                );
            }
        }
    }
    m
}

#[test]
fn sockstat_matches_the_file() {
    let _host = host_lock();
    // Other processes open and close sockets: compare on a call the file did not change around.
    for attempt in 0.. {
        // Buffer memory (mem_pages) moves with any traffic: compared by presence only. `used`
        // counts every socket of the namespace (netlink and unix ones too, which any process
        // opens, this call's own getifaddrs socket included): compared within the range.
        let counts = |m: BTreeMap<(String, String), u64>| -> BTreeMap<(String, String), u64> {
            m.into_iter()
                .filter(|((_, k), _)| k != "mem_pages" && k != "used")
                .collect()
        };
        let used_of =
            |m: &BTreeMap<(String, String), u64>| m[&("sockets".to_string(), "used".to_string())];
        let file_before = sockstat_file();
        let v = call("get_network_info", json!({}));
        let file_after = sockstat_file();
        let (b_used, a_used) = (used_of(&file_before), used_of(&file_after));
        let (before, after) = (counts(file_before), counts(file_after));
        if before != after {
            assert!(attempt < 20, "sockstat never held still");
            thread::sleep(Duration::from_millis(50));
            continue;
        }
        let used = u(&v["sockets_used"]);
        assert!(
            (b_used.min(a_used).saturating_sub(4)..=b_used.max(a_used) + 4).contains(&used),
            "{used} vs {b_used}..{a_used}"
        );
        let mut ours = BTreeMap::new();
        let mut mem = BTreeSet::new();
        for row in v["sockstat"].as_array().unwrap() {
            let proto = row["protocol"].as_str().unwrap().to_string();
            for (k, val) in row.as_object().unwrap() {
                if k == "mem_pages" {
                    u(val);
                    mem.insert(proto.clone());
                } else if k != "protocol" {
                    ours.insert((proto.clone(), k.clone()), u(val));
                }
            }
        }
        // Every count of the file that the tool knows (all of them on current kernels).
        let known: BTreeMap<_, _> = before
            .into_iter()
            .filter(|((p, _), _)| p != "mptcp" || ours.keys().any(|(q, _)| q == "mptcp"))
            .collect();
        assert_eq!(ours, known);
        let file_mem: BTreeSet<String> = sockstat_file()
            .into_keys()
            .filter(|(_, k)| k == "mem_pages")
            .map(|(p, _)| p)
            .collect();
        assert_eq!(mem, file_mem);
        assert!(ours.contains_key(&("tcp".into(), "time_wait".into())));
        break;
    }
}

// -- get_routes ---------------------------------------------------------------------------------

#[test]
fn routes_match_ip_route() {
    let v = call("get_routes", json!({}));
    let routes = &v["routes"];
    assert_eq!(u(&v["count"]) as usize, routes.as_array().unwrap().len());
    assert_eq!(
        our_routes(routes, "ipv4"),
        ip_routes(&["-j", "route", "show", "table", "main"], false)
    );
    // IPv6: /proc/net/ipv6_route has every table; ip shows the same with `table all`.
    assert_eq!(
        our_routes(routes, "ipv6"),
        ip_routes(&["-j", "-6", "route", "show", "table", "all"], true)
    );
    // Types agree with ip's where it names one.
    let ip6: Value =
        serde_json::from_str(&run("ip", &["-j", "-6", "route", "show", "table", "all"]).unwrap())
            .unwrap();
    for r in ip6.as_array().unwrap() {
        let Some(kind) = r["type"].as_str() else {
            continue;
        };
        let dst = r["dst"].as_str().unwrap();
        let (addr, len) = dst.split_once('/').unwrap_or((dst, "128"));
        let ours = routes
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["destination"] == addr && o["prefix_len"] == len.parse::<u64>().unwrap())
            .unwrap_or_else(|| panic!("{dst}"));
        assert_eq!(ours["type"], kind, "{dst}");
    }
    // Filters and the limit.
    let v4 = call("get_routes", json!({"family": "ipv4", "limit": 1}));
    assert!(v4["routes"].as_array().unwrap().len() <= 1);
    assert_eq!(u(&v4["total"]) as usize, our_routes(routes, "ipv4").len());
    assert_eq!(v4["more_not_listed"], u(&v4["total"]) > 1);
    for args in [
        json!({"limit": 0}),
        json!({"family": "ipx"}),
        json!({"limit": 10001}),
    ] {
        assert!(
            matches!(
                call_with("get_routes", args.clone(), None, &Cancel::default(), None),
                Err(ToolError::InvalidArgument { .. })
            ),
            "{args}"
        );
    }
}

// -- get_listening_ports ------------------------------------------------------------------------

fn own_netns() -> u64 {
    let l = std::fs::read_link("/proc/self/ns/net").unwrap();
    let s = l.to_str().unwrap();
    s.trim_start_matches("net:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

/// Local ports of `ss -H -l{t,u}np` in this namespace.
fn ss_ports(flag: &str) -> BTreeSet<u16> {
    run("ss", &["-H", flag])
        .expect("ss runs (iproute2)")
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            local.rsplit_once(':')?.1.parse().ok()
        })
        .collect()
}

fn tool_ports(v: &Value, protos: &[&str], netns: u64) -> BTreeSet<u16> {
    v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| protos.contains(&s["protocol"].as_str().unwrap()) && u(&s["netns"]) == netns)
        .map(|s| u(&s["port"]) as u16)
        .collect()
}

#[test]
fn listening_ports_find_our_sockets_and_agree_with_ss() {
    let _host = host_lock();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp6 = TcpListener::bind("[::1]:0").ok();
    let dir = common::TempDir::new("ports");
    let unix_path = dir.path("listen.sock");
    let unix = std::os::unix::net::UnixListener::bind(&unix_path).unwrap();
    let (tport, uport) = (
        tcp.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    let me = std::process::id();
    let netns = own_netns();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();

    let v = call("get_listening_ports", json!({"limit": 2000}));
    assert_eq!(
        u(&v["count"]) as usize,
        v["sockets"].as_array().unwrap().len()
    );
    assert!(u(&v["namespaces"]) >= 1);
    assert!(u(&v["processes_scanned"]) >= 1);
    if is_root() {
        assert_eq!(v["processes_unreadable"], 0, "{}", v["owners_reason"]);
    }
    let find = |proto: &str, port: u16| -> &Value {
        v["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["protocol"] == proto && s["port"] == port && u(&s["netns"]) == netns)
            .unwrap_or_else(|| panic!("{proto} {port} not listed: {v}"))
    };
    let mut ours = vec![find("tcp", tport), find("udp", uport)];
    if let Some(l) = &tcp6 {
        ours.push(find("tcp6", l.local_addr().unwrap().port()));
    }
    let path = unix_path.to_str().unwrap();
    ours.push(
        v["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["protocol"] == "unix" && s["path"] == path)
            .unwrap_or_else(|| panic!("{path} not listed")),
    );
    for s in &ours {
        let procs = s["processes"].as_array().unwrap();
        let p = procs
            .iter()
            .find(|p| u(&p["pid"]) == u64::from(me))
            .unwrap_or_else(|| panic!("our pid is not an owner of {s}"));
        assert_eq!(p["name"], comm.trim_end());
        assert!(p["user"].is_string());
    }
    assert_eq!(ours[0]["address"], "127.0.0.1");
    assert_eq!(ours.last().unwrap()["type"], "stream");

    // The protocol filter.
    let t = call(
        "get_listening_ports",
        json!({"protocol": "tcp", "limit": 2000}),
    );
    assert!(
        t["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["protocol"] == "tcp" || s["protocol"] == "tcp6")
    );
    let lim = call("get_listening_ports", json!({"limit": 1}));
    assert_eq!(lim["count"], 1);
    assert_eq!(lim["more_not_listed"], u(&lim["total"]) > 1);

    // The same ports as ss, on a call the set did not change around (other processes on the
    // host open and close sockets).
    for (flag, protos) in [
        ("-ltn", &["tcp", "tcp6"][..]),
        ("-lun", &["udp", "udp6"][..]),
    ] {
        for attempt in 0.. {
            let before = ss_ports(flag);
            let v = call("get_listening_ports", json!({"limit": 2000}));
            let after = ss_ports(flag);
            if before != after {
                assert!(attempt < 20, "{flag}: the socket list never held still");
                continue;
            }
            assert_eq!(tool_ports(&v, protos, netns), before, "{flag}");
            break;
        }
    }
    // And ss -p names our process as the owner of our TCP port.
    let ssp = run("ss", &["-H", "-ltnp"]).unwrap();
    assert!(
        ssp.lines()
            .any(|l| l.contains(&format!(":{tport} ")) && l.contains(&format!("pid={me},"))),
        "{ssp}"
    );
    drop((tcp, udp, tcp6, unix));
}

#[test]
fn listening_ports_arguments() {
    for args in [
        json!({"protocol": "sctp"}),
        json!({"limit": 0}),
        json!({"limit": 2001}),
        json!({"extra": 1}),
    ] {
        assert!(
            matches!(
                call_with(
                    "get_listening_ports",
                    args.clone(),
                    None,
                    &Cancel::default(),
                    None
                ),
                Err(ToolError::InvalidArgument { .. })
            ),
            "{args}"
        );
    }
}

// -- get_dns_config -----------------------------------------------------------------------------

#[test]
fn dns_config_matches_resolv_conf() {
    let v = call("get_dns_config", json!({}));
    let Ok(text) = std::fs::read_to_string("/etc/resolv.conf") else {
        assert!(v["resolv_conf_error"].is_string());
        return;
    };
    let servers: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .collect();
    let ours: Vec<String> = v["resolv_conf"]["nameservers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| match n["zone"].as_str() {
            Some(z) => format!("{}%{z}", n["address"].as_str().unwrap()),
            None => n["address"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(ours, servers);
    let link = std::fs::symlink_metadata("/etc/resolv.conf")
        .unwrap()
        .file_type()
        .is_symlink();
    assert_eq!(v.get("resolv_conf_link").is_some(), link);
    if let Ok(ns) = std::fs::read_to_string("/etc/nsswitch.conf")
        && let Some(line) = ns
            .lines()
            .map(str::trim_start)
            .rfind(|l| l.starts_with("hosts:"))
    {
        let want: Vec<&str> = line["hosts:".len()..]
            .split('#')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        let got: Vec<&str> = v["nsswitch_hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        // (Bracketed actions with spaces inside are one item for us, several words here.)
        if !line.contains("[") {
            assert_eq!(got, want);
        }
    }
}

// -- the real binary in a network namespace the test builds -------------------------------------

/// A network namespace with a veth pair, known IPv4 and IPv6 routes and its own
/// resolv.conf; deleted (with its /etc/netns directory) on drop.
struct Netns {
    name: String,
    etc: std::path::PathBuf,
    listener: Option<Child>,
}

impl Netns {
    fn new() -> Result<Netns, String> {
        let name = format!("sysgate-t{}", std::process::id());
        run("ip", &["netns", "add", &name])?;
        let etc = std::path::PathBuf::from(format!("/etc/netns/{name}"));
        let ns = Netns {
            name: name.clone(),
            etc,
            listener: None,
        };
        let ipn = |args: &[&str]| -> Result<String, String> {
            let mut a = vec!["-n", name.as_str()];
            a.extend_from_slice(args);
            run("ip", &a)
        };
        ipn(&["link", "set", "lo", "up"])?;
        // A veth pair (both ends here): kernels without the dummy module still have veth.
        ipn(&[
            "link", "add", "sgdummy0", "type", "veth", "peer", "name", "sgpeer0",
        ])?;
        ipn(&["addr", "add", "198.51.100.2/24", "dev", "sgdummy0"])?;
        ipn(&[
            "-6",
            "addr",
            "add",
            "2001:db8:5::2/64",
            "dev",
            "sgdummy0",
            "nodad",
        ])?;
        ipn(&["link", "set", "sgdummy0", "up"])?;
        ipn(&["link", "set", "sgpeer0", "up"])?;
        ipn(&[
            "route",
            "add",
            "default",
            "via",
            "198.51.100.1",
            "dev",
            "sgdummy0",
            "metric",
            "7",
        ])?;
        ipn(&[
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "198.51.100.9",
            "metric",
            "5",
        ])?;
        ipn(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:5::1",
            "dev",
            "sgdummy0",
            "metric",
            "9",
        ])?;
        std::fs::create_dir_all(&ns.etc).map_err(|e| e.to_string())?;
        std::fs::write(
            ns.etc.join("resolv.conf"),
            "# test\nnameserver 127.0.0.53\nnameserver $(id)\nsearch corp.example\noptions ndots:3 edns0\n",
        )
        .map_err(|e| e.to_string())?;
        Ok(ns)
    }

    fn sysgate(&self, config: &str, tool: &str, args: Value) -> Value {
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                &self.name,
                common::bin(),
                "query",
                tool,
                "--config",
                config,
                "--args",
                &args.to_string(),
            ],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["isError"], false, "{v}");
        v["structuredContent"].clone()
    }

    fn inode(&self) -> u64 {
        std::fs::metadata(format!("/run/netns/{}", self.name))
            .unwrap()
            .ino()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.listener.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.etc);
        // /etc/netns itself too, when we made it (remove_dir leaves a non-empty one alone).
        let _ = std::fs::remove_dir("/etc/netns");
        let _ = run("ip", &["netns", "delete", &self.name]);
    }
}

#[test]
fn the_binary_in_a_namespace_we_built() {
    let _host = host_lock();
    if !is_root() {
        eprintln!("skipping the network namespace part: not root");
        return;
    }
    let mut ns = match Netns::new() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipping the network namespace part: {e}");
            return;
        }
    };
    let dir = common::TempDir::new("netns");
    let config = dir.path("c.yaml");
    common::write_config(&config, "", 0o600);
    let config = config.to_str().unwrap();

    // Routes: exactly ip's, and the defaults we set.
    let r = ns.sysgate(config, "get_routes", json!({}));
    let ipn = |v6: bool, table: &str| {
        let mut a = vec!["-n", ns.name.as_str(), "-j"];
        if v6 {
            a.push("-6");
        }
        a.extend_from_slice(&["route", "show", "table", table]);
        ip_routes(&a, v6)
    };
    let v4 = our_routes(&r["routes"], "ipv4");
    assert_eq!(v4, ipn(false, "main"));
    assert!(v4.contains(&(
        "203.0.113.0/24".into(),
        Some("198.51.100.9".into()),
        "sgdummy0".into(),
        5
    )));
    assert_eq!(our_routes(&r["routes"], "ipv6"), ipn(true, "all"));
    let n = ns.sysgate(config, "get_network_info", json!({"sample_ms": 0}));
    let defaults: Vec<(String, String, String, u64)> = n["default_routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["family"].as_str().unwrap().into(),
                d["gateway"].as_str().unwrap().into(),
                d["interface"].as_str().unwrap().into(),
                u(&d["metric"]),
            )
        })
        .collect();
    assert_eq!(
        defaults,
        [
            ("ipv4".into(), "198.51.100.1".into(), "sgdummy0".into(), 7),
            ("ipv6".into(), "2001:db8:5::1".into(), "sgdummy0".into(), 9)
        ]
    );
    let names: Vec<&str> = n["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut names = names;
    names.sort_unstable();
    assert_eq!(names, ["lo", "sgdummy0", "sgpeer0"]);

    // DNS: the namespace's own resolv.conf, the stub detected, the hostile line counted.
    let d = ns.sysgate(config, "get_dns_config", json!({}));
    let rc = &d["resolv_conf"];
    assert_eq!(
        rc["nameservers"],
        json!([{"address": "127.0.0.53", "in_use": true}])
    );
    assert_eq!(rc["search"], json!(["corp.example"]));
    assert_eq!(rc["options"], json!(["ndots:3", "edns0"]));
    assert_eq!(rc["ignored_lines"][0]["line"], 3);
    assert!(!d.to_string().contains("$(id)"));
    assert_eq!(d["systemd_resolved"]["in_use"], true);
    assert_eq!(d["systemd_resolved"]["detected_by"], "stub_address");
    let upstream = std::path::Path::new("/run/systemd/resolve/resolv.conf").exists();
    assert_eq!(
        d["systemd_resolved"]["upstream"].is_object(),
        upstream,
        "{d}"
    );
    assert_eq!(
        d["systemd_resolved"]["upstream_error"].is_string(),
        !upstream,
        "{d}"
    );

    // A listener inside the namespace, found from the host's namespace with its netns inode
    // and its process (read through that namespace's own tables).
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c"])
        .arg(
            "import socket,sys,time\ns=socket.socket()\ns.bind(('198.51.100.2',0))\ns.listen()\n\
             print(s.getsockname()[1],flush=True)\ntime.sleep(60)",
        )
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipping the namespace listener: no python3");
        return;
    };
    let mut line = String::new();
    let mut out = child.stdout.take().unwrap();
    let mut b = [0u8; 1];
    while out.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {
        line.push(b[0] as char);
    }
    let pid = child.id();
    ns.listener = Some(child);
    let port: u64 = line.trim().parse().expect("the listener's port");
    let v = call(
        "get_listening_ports",
        json!({"protocol": "tcp", "limit": 2000}),
    );
    let s = v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["port"] == port && s["address"] == "198.51.100.2")
        .unwrap_or_else(|| panic!("the namespace's listener is not listed: {v}"));
    assert_eq!(u(&s["netns"]), ns.inode());
    assert!(
        s["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| u(&p["pid"]) == u64::from(pid)),
        "{s}"
    );
}

#[test]
fn every_new_tool_through_the_binary_matches_its_listed_schema() {
    let (_dir, mut c) = common::serve("net-schema", "");
    let schemas = listed_output_schemas(&mut c);
    for (name, args) in [
        ("get_network_info", json!({})),
        (
            "get_network_info",
            json!({"sample_ms": 50, "format": "toon"}),
        ),
        ("get_routes", json!({})),
        ("get_listening_ports", json!({})),
        (
            "get_listening_ports",
            json!({"protocol": "unix", "limit": 5}),
        ),
        ("get_dns_config", json!({})),
    ] {
        let r = c.call(name, args.clone());
        ok_result(&r, &schemas[name], &format!("{name} {args}"));
    }
}

#[test]
fn listening_ports_as_another_user_count_unreadable_owners_instead_of_guessing() {
    let _host = host_lock();
    let have_runuser = Command::new("runuser").arg("--help").output().is_ok();
    if !is_root() || !have_runuser {
        eprintln!("skipping: needs root and runuser");
        return;
    }
    // The binary and its config where the other user can reach them.
    let dir = common::TempDir::traversable("ports-nobody");
    let bin = dir.path("sysgate");
    std::fs::copy(common::bin(), &bin).unwrap();
    let config = dir.path("c.yaml");
    std::fs::write(&config, "").unwrap();
    // Readable by the owner and the other user's group only, as the config rules want.
    let gid: u32 = run("id", &["-g", "nobody"])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::os::unix::fs::chown(&config, None, Some(gid)).unwrap();
    for (p, mode) in [(&bin, 0o755), (&config, 0o640)] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let out = run(
        "runuser",
        &[
            "-u",
            "nobody",
            "--",
            bin.to_str().unwrap(),
            "query",
            "get_listening_ports",
            "--config",
            config.to_str().unwrap(),
            "--args",
            r#"{"protocol": "tcp", "limit": 2000}"#,
        ],
    )
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let v = &v["structuredContent"];
    // Our (root's) socket is listed from the table, without an owner it could not see.
    let s = v["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["port"] == port && s["address"] == "127.0.0.1")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(s["processes"], json!([]));
    assert_eq!(s["uid"], 0);
    assert!(u(&v["processes_unreadable"]) >= 1, "{v}");
    assert!(
        v["owners_reason"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{v}"
    );
    drop(tcp);
}

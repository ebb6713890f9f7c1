//! Arbitrary bytes as lines of `/proc/net/{tcp,udp}{,6}` and `/proc/net/unix`, and as
//! `/proc/PID/fd` and `ns/net` link targets. Property: no panic; both endpoints of a socket are
//! of one family; a unix path never holds a line break; a link gives an inode only for the
//! exact `socket:[DIGITS]` / `net:[DIGITS]` shape, which prints back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::netsock::{
    net_ns_inode, parse_inet_line, parse_unix_line, socket_inode,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        if let Some(s) = parse_inet_line(line) {
            assert_eq!(s.local.is_ipv4(), s.remote.is_ipv4());
        }
        if let Some(u) = parse_unix_line(line) {
            assert!(
                u.path
                    .as_deref()
                    .is_none_or(|p| !p.is_empty() && !p.contains('\n'))
            );
            assert!(!u.type_name().is_empty());
        }
    }
    if let Some(i) = socket_inode(data) {
        assert_eq!(format!("socket:[{i}]").as_bytes(), data);
    }
    if let Some(i) = net_ns_inode(data) {
        assert_eq!(format!("net:[{i}]").as_bytes(), data);
    }
});

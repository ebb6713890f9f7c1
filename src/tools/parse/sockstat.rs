#![forbid(unsafe_code)]
//! `/proc/net/sockstat` and `/proc/net/sockstat6`: socket counts per protocol, one line each,
//! `PROTO: key value key value ...`. Only the protocols and keys below are kept, so a hostile
//! or future file cannot grow the answer; a repeated key keeps its first value.

/// The protocols we report and the keys each may carry, as the kernel names them
/// (`net/ipv4/proc.c`, `net/ipv6/proc.c`). `mem` is in pages, FRAG `memory` in bytes.
pub const KNOWN: &[(&str, &[&str])] = &[
    ("sockets", &["used"]),
    ("TCP", &["inuse", "orphan", "tw", "alloc", "mem"]),
    ("UDP", &["inuse", "mem"]),
    ("UDPLITE", &["inuse"]),
    ("RAW", &["inuse"]),
    ("FRAG", &["inuse", "memory"]),
    ("MPTCP", &["inuse"]),
    ("TCP6", &["inuse"]),
    ("UDP6", &["inuse"]),
    ("UDPLITE6", &["inuse"]),
    ("RAW6", &["inuse"]),
    ("FRAG6", &["inuse", "memory"]),
];

/// One count: protocol and key from [`KNOWN`], and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub protocol: &'static str,
    pub key: &'static str,
    pub value: u64,
}

/// Append the known counts of `text` (sockstat or sockstat6) to `out`, skipping any already
/// there.
pub fn parse_sockstat(text: &str, out: &mut Vec<Count>) {
    for line in text.lines() {
        let Some((proto, rest)) = line.split_once(':') else {
            continue;
        };
        let Some((protocol, keys)) = KNOWN.iter().find(|(p, _)| *p == proto.trim()) else {
            continue;
        };
        let mut it = rest.split_ascii_whitespace();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            let (Some(key), Ok(value)) = (keys.iter().find(|n| **n == k), v.parse::<u64>()) else {
                continue;
            };
            if !out.iter().any(|c| c.protocol == *protocol && c.key == *key) {
                out.push(Count {
                    protocol,
                    key,
                    value,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &[Count], p: &str, k: &str) -> Option<u64> {
        c.iter()
            .find(|c| c.protocol == p && c.key == k)
            .map(|c| c.value)
    }

    #[test]
    fn both_files() {
        let mut c = Vec::new();
        parse_sockstat(
            "sockets: used 23\nTCP: inuse 4 orphan 1 tw 7 alloc 9 mem 95\nUDP: inuse 2 mem 3\n\
             UDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n",
            &mut c,
        );
        parse_sockstat(
            "TCP6: inuse 5\nUDP6: inuse 6\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 1 memory 512\n",
            &mut c,
        );
        assert_eq!(get(&c, "sockets", "used"), Some(23));
        assert_eq!(get(&c, "TCP", "tw"), Some(7));
        assert_eq!(get(&c, "TCP", "mem"), Some(95));
        assert_eq!(get(&c, "UDP", "mem"), Some(3));
        assert_eq!(get(&c, "TCP6", "inuse"), Some(5));
        assert_eq!(get(&c, "FRAG6", "memory"), Some(512));
        assert_eq!(c.len(), 18);
    }

    #[test]
    fn hostile_lines() {
        let mut c = Vec::new();
        parse_sockstat(
            "TCP: inuse -1 orphan x tw 3 alloc\nTCP: inuse 9 bogus 4 tw 5\nEVIL: inuse 1\n\
             no colon here\nTCP:\nUDP: mem 18446744073709551616 inuse 18446744073709551615\n",
            &mut c,
        );
        // The first value of a key wins; unknown keys, protocols and numbers are skipped.
        assert_eq!(get(&c, "TCP", "tw"), Some(3));
        assert_eq!(get(&c, "TCP", "inuse"), Some(9));
        assert_eq!(get(&c, "TCP", "alloc"), None);
        assert_eq!(get(&c, "UDP", "mem"), None);
        assert_eq!(get(&c, "UDP", "inuse"), Some(u64::MAX));
        assert!(c.iter().all(|c| c.protocol != "EVIL"));
        let mut again = c.clone();
        parse_sockstat(&"TCP: inuse 1\n".repeat(10_000), &mut again);
        assert_eq!(again, c);
    }
}

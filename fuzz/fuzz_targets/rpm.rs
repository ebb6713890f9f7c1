//! Arbitrary bytes as rpm -qa --queryformat output, through the streaming parser. Property: no panic; every
//! installed package has a valid name, version and architecture, and free text no longer than a
//! kept line; line numbers never go back; reading through a tiny buffer gives the same entries
//! as reading from memory (the stream does not depend on where reads split the input).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::package::{Entry, is_arch, is_name, is_version};
use sysgate::testing::tools::parse::stanza::MAX_LINE;
use sysgate::testing::tools::parse::rpm::{Query, parse_query};

fuzz_target!(|data: &[u8]| {
    let all = parse_query(data);
    let mut last = 0;
    for e in &all {
        let line = match e {
            Entry::Installed(p) => {
                assert!(is_name(p.name.as_bytes()), "{p:?}");
                assert!(is_version(p.version.as_bytes()), "{p:?}");
                assert!(is_arch(p.arch.as_bytes()), "{p:?}");
                for t in [&p.maintainer, &p.summary].into_iter().flatten() {
                    assert!(!t.is_empty() && t.chars().count() <= MAX_LINE, "{p:?}");
                }
                p.line
            }
            Entry::Other { name, .. } => {
                assert!(name.as_ref().is_none_or(|n| is_name(n.as_bytes())));
                last
            }
            Entry::Skipped(p) => {
                assert!(!p.reason.is_empty());
                p.line
            }
        };
        assert!(line >= last, "{line} < {last}");
        last = line;
    }
    let chunked: Vec<Entry> = Query::new(BufReader::with_capacity(7, data))
        .map(|e| e.expect("reading memory cannot fail"))
        .collect();
    assert_eq!(chunked, all);
});

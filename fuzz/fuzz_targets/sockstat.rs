//! Arbitrary bytes as `/proc/net/sockstat` (and sockstat6 after it). Property: no panic; every
//! count is of a known protocol and key, and no (protocol, key) is there twice, however many
//! lines repeat them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::sockstat::{KNOWN, parse_sockstat};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_at(text.floor_char_boundary(text.len() / 2));
    let mut counts = Vec::new();
    parse_sockstat(a, &mut counts);
    parse_sockstat(b, &mut counts);
    let most: usize = KNOWN.iter().map(|(_, keys)| keys.len()).sum();
    assert!(counts.len() <= most);
    for (i, c) in counts.iter().enumerate() {
        let (_, keys) = KNOWN.iter().find(|(p, _)| *p == c.protocol).unwrap();
        assert!(keys.contains(&c.key));
        assert!(
            counts[..i]
                .iter()
                .all(|o| (o.protocol, o.key) != (c.protocol, c.key))
        );
    }
});

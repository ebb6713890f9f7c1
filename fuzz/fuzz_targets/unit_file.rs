//! Arbitrary text as a systemd unit file. Property: no panic; caps hold; every assignment has a
//! section, a key of the allowed characters and a bounded value; lookups agree with the entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::unit_file::{MAX_ENTRIES, MAX_VALUE, parse_unit_file};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let u = parse_unit_file(&text);
    assert!(u.entries.len() <= MAX_ENTRIES);
    for e in &u.entries {
        assert!(!e.section.is_empty() && !e.key.is_empty());
        assert!(
            e.key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        );
        assert!(e.value.len() <= MAX_VALUE);
        // The last assignment of a key is what `get` returns.
        let last = u
            .entries
            .iter()
            .rev()
            .find(|x| x.section == e.section && x.key == e.key)
            .map(|x| x.value.as_str());
        assert_eq!(u.get(&e.section, &e.key), last);
        for w in u.list(&e.section, &e.key) {
            assert!(!w.is_empty() && !w.contains(|c: char| c.is_ascii_whitespace()));
        }
    }
});

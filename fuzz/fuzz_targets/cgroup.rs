//! Arbitrary bytes as `/proc/PID/cgroup`. Property: no panic; a parsed path is absolute, within
//! the length cap and taken from the input; every name derived from it (unit, user unit, slice,
//! container id) is a component of that path, and a container id is 64 lowercase hex digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::cgroup::{MAX_PATH_BYTES, parse_cgroup};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(c) = parse_cgroup(&text) else { return };
    assert!(c.path.starts_with('/') && c.path.len() <= MAX_PATH_BYTES);
    assert!(text.contains(c.path.as_str()));
    let components: Vec<&str> = c.path.split('/').collect();
    for name in [&c.unit, &c.user_unit, &c.slice].into_iter().flatten() {
        assert!(
            components.contains(&name.as_str()),
            "{name} not in {}",
            c.path
        );
    }
    if let Some(unit) = &c.unit {
        assert!(unit.ends_with(".service") || unit.ends_with(".scope"));
    }
    if let Some((_, id)) = &c.container {
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert!(c.path.contains(id.as_str()));
    }
});

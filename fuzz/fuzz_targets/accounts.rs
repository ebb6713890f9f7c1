//! Arbitrary bytes as /etc/passwd, /etc/group, /etc/login.defs and /proc/PID/fdinfo through
//! their parsers. Property: no panic; names are non-empty and hold no `:`, whitespace or control
//! character; at most MAX_ENTRIES entries; an fdinfo access mode exists for every flag value
//! except the unused 3.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::accounts::{
    MAX_ENTRIES, parse_group, parse_passwd, parse_uid_range,
};
use sysgate::testing::tools::parse::fdinfo::{access_mode, parse_fdinfo};

fn name_ok(n: &str) -> bool {
    !n.is_empty() && !n.contains(':') && !n.chars().any(|c| c.is_whitespace() || c.is_control())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let users = parse_passwd(&text);
    assert!(users.len() <= MAX_ENTRIES);
    for u in &users {
        assert!(name_ok(&u.name), "{u:?}");
        assert!(!u.gecos.contains(':') && !u.home.contains(':') && !u.shell.contains(':'));
    }
    let groups = parse_group(&text);
    assert!(groups.len() <= MAX_ENTRIES);
    for g in &groups {
        assert!(name_ok(&g.name));
        assert!(g.members.iter().all(|m| name_ok(m)));
    }
    let _ = parse_uid_range(&text);
    if let Some(i) = parse_fdinfo(&text) {
        assert_eq!(access_mode(i.flags).is_some(), i.flags & 3 != 3);
    }
});

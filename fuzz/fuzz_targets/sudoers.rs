//! Arbitrary bytes as a sudoers file through the parser. Property: no panic; every item and
//! problem carries a line number within the file; no list is empty and none is longer than its
//! cap; an include names a path; a rule has users, hosts and at least one non-empty command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::sudoers::{MAX_ITEMS, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    let p = parse(&text);
    let within = |line: usize| (1..=lines).contains(&line);
    for i in &p.includes {
        assert!(within(i.line) && !i.path.is_empty());
    }
    for r in &p.rules {
        assert!(within(r.line));
        assert!(!r.users.is_empty() && r.users.len() <= MAX_ITEMS);
        assert!(!r.hosts.is_empty() && r.hosts.len() <= MAX_ITEMS);
        assert!(!r.commands.is_empty() && r.commands.len() <= MAX_ITEMS);
        assert!(r.commands.iter().all(|c| !c.command.is_empty()));
    }
    for d in &p.defaults {
        assert!(within(d.line) && !d.settings.is_empty());
    }
    for a in &p.aliases {
        assert!(within(a.line) && !a.members.is_empty() && !a.name.is_empty());
    }
    for pr in &p.problems {
        assert!(within(pr.line) && !pr.message.is_empty());
    }
});

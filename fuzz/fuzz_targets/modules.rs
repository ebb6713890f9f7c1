//! Arbitrary text as /proc/modules. Property: no panic; caps hold; every module and user name is
//! a valid module name; states are the known words; taint letters are upper-case; lines that
//! were kept plus lines that were refused never exceed the non-blank lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::modules::{
    MAX_MODULES, MAX_USED_BY, is_module_name, parse_modules,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (mods, bad, more) = parse_modules(&text);
    assert!(mods.len() <= MAX_MODULES);
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(mods.len() + bad <= lines);
    assert!(!more || mods.len() == MAX_MODULES);
    for m in &mods {
        assert!(is_module_name(&m.name));
        assert!(m.used_by.len() <= MAX_USED_BY);
        assert!(m.used_by.iter().all(|u| is_module_name(u)));
        assert!(["live", "loading", "unloading", "unknown"].contains(&m.state));
        assert!(m.taint.iter().all(char::is_ascii_uppercase));
    }
});

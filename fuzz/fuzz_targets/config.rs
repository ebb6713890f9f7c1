//! Arbitrary text as a config file: YAML parsing, typed decoding and validation.
//! Property: no panic; every outcome is a `Config` or a list of problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match sysgate::testing::config::parse(text, None) {
        Ok(c) => {
            std::hint::black_box(sysgate::testing::config::summary(&c));
        }
        Err(problems) => assert!(!problems.is_empty(), "an error must name a problem"),
    }
});

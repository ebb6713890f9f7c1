//! Arbitrary bytes as one `read(2)` of `/dev/kmsg`, through the record parser. Property: no
//! panic; a record's priority is a syslog priority, its message and dictionary stay within
//! their caps, and its level and facility have names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::kmsg::{
    LEVELS, MAX_DICT, MAX_MESSAGE_BYTES, facility_name, level_name, parse_record,
};

fuzz_target!(|data: &[u8]| {
    let Some(r) = parse_record(data) else {
        return;
    };
    assert!(r.pri <= 191);
    assert!(r.level() < 8 && LEVELS.contains(&level_name(r.level())));
    assert_ne!(facility_name(r.facility()), "unknown");
    // Each byte kept becomes at most three (U+FFFD) in the text.
    assert!(r.message.len() <= MAX_MESSAGE_BYTES * 3);
    assert!(!r.message.contains('\n'));
    assert!(r.dict.len() <= MAX_DICT);
    for (k, v) in &r.dict {
        assert!(!k.is_empty() && k.len() <= 64 * 3 && v.len() <= 256 * 3);
    }
});

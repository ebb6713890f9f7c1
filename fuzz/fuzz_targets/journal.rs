//! Arbitrary bytes as lines of `journalctl --output=json`, through the entry parser. Property:
//! no panic; a parsed entry's cursor passes the cursor check again, its priority is 0..=7, and
//! its message is valid UTF-8 (it is a `String`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::exec::JournalCursor;
use sysgate::testing::tools::parse::journal::{parse_entry, priority_name};

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(e) = parse_entry(line) {
            let again = JournalCursor::parse("c", &e.cursor.to_string()).expect("cursor re-checks");
            assert_eq!(again, e.cursor);
            if let Some(p) = e.priority {
                assert!(p <= 7);
                assert!(!priority_name(p).is_empty());
            }
        }
    }
});

//! Arbitrary text as a caller's journal cursor. Property: no panic; an accepted cursor is
//! exactly what was given, at most `MAX` bytes, never starts with `-`, and holds only the
//! characters of the journal's cursor syntax (so it is safe inside `--cursor=`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::exec::{ArgValue, JournalCursor};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = JournalCursor::parse("cursor", &text) {
        assert_eq!(c.as_arg(), text);
        assert!(text.len() <= JournalCursor::MAX);
        assert!(!text.starts_with('-'));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'=' || b == b';')
        );
    }
});

//! Arbitrary text as a log cursor, through the decoder. Property: no panic; nothing but a
//! cursor this process tagged is accepted, and one that is accepted encodes back to the same
//! text (so there is exactly one text per cursor).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::logfile::cursor::{Cursor, MAX_TEXT};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Cursor::decode(&text) {
        Ok(c) => {
            assert!(text.len() <= MAX_TEXT);
            assert_eq!(c.encode(), text);
        }
        Err(e) => assert!(!e.rule().is_empty()),
    }
    // A cursor made here always decodes to itself.
    if let Ok(c) = Cursor::decode(&text) {
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
    }
});

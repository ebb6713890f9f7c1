//! Any JSON document through the TOON encoder: it must not panic, and the document it writes has
//! no trailing whitespace on any line and no trailing newline (the format forbids both).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sysgate::testing::output::toon;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let doc = toon::encode(&value);
    assert!(!doc.ends_with('\n'), "trailing newline: {doc:?}");
    for line in doc.split('\n') {
        assert!(
            !line.ends_with([' ', '\t']),
            "trailing whitespace in {line:?}"
        );
    }
});

//! Arbitrary bytes as `/proc/PID/io`. Property: no panic; a parsed record only when every counter
//! is in the input (a truncated file gives nothing, never zeros), and each value is one the text
//! holds for its key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::pidio::parse_pid_io;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Some(io) = parse_pid_io(&text) else {
        return;
    };
    for (key, value) in [
        ("rchar", io.rchar),
        ("wchar", io.wchar),
        ("syscr", io.syscr),
        ("syscw", io.syscw),
        ("read_bytes", io.read_bytes),
        ("write_bytes", io.write_bytes),
        ("cancelled_write_bytes", io.cancelled_write_bytes),
    ] {
        let found = text.lines().any(|l| {
            l.split_once(':')
                .is_some_and(|(k, v)| k == key && v.trim().parse::<u64>() == Ok(value))
        });
        assert!(found, "{key} = {value} is not in the input");
    }
});

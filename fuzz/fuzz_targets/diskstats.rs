//! Arbitrary bytes as `/proc/diskstats`, split into two samples, through the parser and the
//! iostat arithmetic. Property: no panic; names are valid and unique; a rate is finite and never
//! negative, and `%util` stays within 0..=100 (wrapped or reset counters give a reason instead).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::diskstats::{MAX_DEVICES, disk_rates, parse_diskstats};
use sysgate::testing::tools::parse::sysblock::BlockName;

#[path = "common/samples.rs"]
mod samples;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the interval, including 0 (an empty one).
    let input = samples::Samples::new(data);
    let (a, b) = input.halves();
    let (a, b) = (parse_diskstats(a), parse_diskstats(b));
    for list in [&a, &b] {
        assert!(list.len() <= MAX_DEVICES);
        for (i, d) in list.iter().enumerate() {
            assert_eq!(BlockName::new(d.name.as_str()).as_ref(), Some(&d.name));
            assert!(list[..i].iter().all(|o| o.name != d.name));
        }
    }
    for later in &b {
        let Some(earlier) = a.iter().find(|d| d.name == later.name) else {
            continue;
        };
        if let Ok(r) = disk_rates(earlier, later, input.secs) {
            for x in [
                r.reads_per_sec,
                r.writes_per_sec,
                r.read_merged_per_sec,
                r.write_merged_per_sec,
                r.read_bytes_per_sec,
                r.write_bytes_per_sec,
                r.read_await_ms,
                r.write_await_ms,
                r.queue_size,
                r.util_percent,
            ] {
                assert!(x.is_finite() && x >= 0.0, "{r:?}");
            }
            assert!(r.util_percent <= 100.0);
        }
    }
});

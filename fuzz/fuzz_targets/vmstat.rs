//! Arbitrary bytes as `/proc/vmstat`, split into two samples, through the parser and the rates.
//! Property: no panic; rates are finite and never negative (a counter that went back gives a
//! reason instead).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::vmstat::{parse_vmstat, vm_rates};

fuzz_target!(|data: &[u8]| {
    let (secs, rest) = match data.split_first() {
        Some((b, rest)) => (f64::from(*b) / 16.0, rest),
        None => (0.0, data),
    };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    let (a, b) = text.split_at(text.floor_char_boundary(text.len() / 2));
    let (a, b) = (parse_vmstat(a), parse_vmstat(b));
    if let Ok(r) = vm_rates(&a, &b, secs) {
        for x in [
            r.swap_in_pages_per_sec,
            r.swap_out_pages_per_sec,
            r.page_faults_per_sec,
            r.major_page_faults_per_sec,
        ] {
            assert!(x.is_finite() && x >= 0.0, "{r:?}");
        }
    }
    std::hint::black_box(parse_vmstat(text));
});

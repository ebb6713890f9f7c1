//! Arbitrary bytes as `/proc/vmstat`, split into two samples, through the parser and the rates.
//! Property: no panic; rates are finite and never negative (a counter that went back gives a
//! reason instead).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::vmstat::{parse_vmstat, vm_rates};

#[path = "common/samples.rs"]
mod samples;

fuzz_target!(|data: &[u8]| {
    let input = samples::Samples::new(data);
    let (a, b) = input.halves();
    let (a, b) = (parse_vmstat(a), parse_vmstat(b));
    if let Ok(r) = vm_rates(&a, &b, input.secs) {
        for x in [
            r.swap_in_pages_per_sec,
            r.swap_out_pages_per_sec,
            r.page_faults_per_sec,
            r.major_page_faults_per_sec,
        ] {
            assert!(x.is_finite() && x >= 0.0, "{r:?}");
        }
    }
    std::hint::black_box(parse_vmstat(&input.text));
});

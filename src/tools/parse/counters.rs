#![forbid(unsafe_code)]
//! Deltas of kernel counters between two samples, shared by the sampled parsers (`diskstats`,
//! `vmstat`). A counter that went down either wrapped (32-bit fields on some kernels and
//! architectures, or a 64-bit one near its top) or was reset (the device was re-created between
//! the samples). Wrap is only assumed when it explains a small step; anything else is `None`,
//! so a caller reports a reason instead of a huge or negative rate.

/// `later - earlier` for a counter that only grows, allowing one wrap of a 32-bit or 64-bit
/// field. `None` when the counter went back by more than a wrap explains (a reset).
pub fn counter_delta(earlier: u64, later: u64) -> Option<u64> {
    if later >= earlier {
        return Some(later - earlier);
    }
    const U32_SPAN: u64 = 1 << 32;
    if earlier < U32_SPAN {
        // Both fit in 32 bits: a 32-bit field that wrapped, if the step is below half its range.
        let d = U32_SPAN - earlier + later;
        return (d < U32_SPAN / 2).then_some(d);
    }
    let d = later.wrapping_sub(earlier);
    (d < 1 << 63).then_some(d)
}

/// `delta / secs`, or `None` when the interval is not positive and finite.
pub fn per_second(delta: u64, secs: f64) -> Option<f64> {
    (secs.is_finite() && secs > 0.0).then(|| delta as f64 / secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_wraps_and_resets() {
        assert_eq!(counter_delta(5, 9), Some(4));
        assert_eq!(counter_delta(7, 7), Some(0));
        // A 32-bit field wrapped: 10 steps to the top and 5 past it.
        assert_eq!(counter_delta(u64::from(u32::MAX) - 9, 5), Some(15));
        // A 64-bit field wrapped.
        assert_eq!(counter_delta(u64::MAX - 1, 3), Some(5));
        // Went back a long way: a reset, not a wrap.
        assert_eq!(counter_delta(1_000, 10), None);
        assert_eq!(counter_delta(1 << 40, 10), None);
        assert_eq!(counter_delta(u64::from(u32::MAX), 0), Some(1));
    }

    #[test]
    fn rates_need_a_real_interval() {
        assert_eq!(per_second(10, 2.0), Some(5.0));
        assert_eq!(per_second(10, 0.0), None);
        assert_eq!(per_second(10, -1.0), None);
        assert_eq!(per_second(10, f64::NAN), None);
    }
}

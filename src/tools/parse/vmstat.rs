#![forbid(unsafe_code)]
//! `/proc/vmstat`: `name value` lines. We keep the swap, page-fault and OOM-kill counters and
//! turn two samples into per-second rates.

use super::counters::{counter_delta, per_second};

/// The counters we use; `None` where the kernel does not have the line (`oom_kill` came in
/// 4.13; `pswpin`/`pswpout` need swap support).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmStat {
    pub pswpin: Option<u64>,
    pub pswpout: Option<u64>,
    pub pgfault: Option<u64>,
    pub pgmajfault: Option<u64>,
    pub oom_kill: Option<u64>,
}

/// Lines that are not `name number` are skipped; a name seen twice keeps its first value.
pub fn parse_vmstat(text: &str) -> VmStat {
    let mut v = VmStat::default();
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(key), Some(val), None) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let slot = match key {
            "pswpin" => &mut v.pswpin,
            "pswpout" => &mut v.pswpout,
            "pgfault" => &mut v.pgfault,
            "pgmajfault" => &mut v.pgmajfault,
            "oom_kill" => &mut v.oom_kill,
            _ => continue,
        };
        if slot.is_none() {
            *slot = val.parse().ok();
        }
    }
    v
}

/// Per-second rates over a sample (pages for swap, faults for faults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmRates {
    pub swap_in_pages_per_sec: f64,
    pub swap_out_pages_per_sec: f64,
    pub page_faults_per_sec: f64,
    pub major_page_faults_per_sec: f64,
}

/// Rates of `b` against `a`, `secs` apart; a reason instead when a counter is missing, went
/// back (beyond a wrap) or the interval is empty.
pub fn vm_rates(a: &VmStat, b: &VmStat, secs: f64) -> Result<VmRates, &'static str> {
    let rate = |x: Option<u64>, y: Option<u64>| -> Result<f64, &'static str> {
        let (Some(x), Some(y)) = (x, y) else {
            return Err("/proc/vmstat lacks the swap or page-fault counters");
        };
        let d = counter_delta(x, y).ok_or("a /proc/vmstat counter went back during the sample")?;
        per_second(d, secs).ok_or("the sample interval was empty")
    };
    Ok(VmRates {
        swap_in_pages_per_sec: rate(a.pswpin, b.pswpin)?,
        swap_out_pages_per_sec: rate(a.pswpout, b.pswpout)?,
        page_faults_per_sec: rate(a.pgfault, b.pgfault)?,
        major_page_faults_per_sec: rate(a.pgmajfault, b.pgmajfault)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "nr_free_pages 3000000\npswpin 10\npswpout 20\npgfault 61901685\npgmajfault 15092\noom_kill 2\nunrelated 5\n";

    #[test]
    fn parses_the_counters() {
        let v = parse_vmstat(SAMPLE);
        assert_eq!(v.pswpin, Some(10));
        assert_eq!(v.pswpout, Some(20));
        assert_eq!(v.pgfault, Some(61_901_685));
        assert_eq!(v.pgmajfault, Some(15_092));
        assert_eq!(v.oom_kill, Some(2));
    }

    #[test]
    fn hostile_and_old_kernels() {
        let v = parse_vmstat(
            "oom_kill\npgfault -1\npgmajfault 99999999999999999999999\npswpin 1 2\npswpout 3\npswpout 9\n",
        );
        assert_eq!(v.oom_kill, None);
        assert_eq!(v.pgfault, None);
        assert_eq!(v.pgmajfault, None);
        assert_eq!(v.pswpin, None);
        assert_eq!(v.pswpout, Some(3));
        assert_eq!(parse_vmstat(""), VmStat::default());
        assert_eq!(parse_vmstat("\u{0}\u{ff}garbage"), VmStat::default());
    }

    #[test]
    fn rates_wraps_and_resets() {
        let a = parse_vmstat(SAMPLE);
        let mut b = a;
        b.pgfault = Some(61_901_685 + 500);
        b.pswpout = Some(24);
        let r = vm_rates(&a, &b, 0.5).unwrap();
        assert_eq!(r.page_faults_per_sec, 1000.0);
        assert_eq!(r.swap_out_pages_per_sec, 8.0);
        assert_eq!(r.swap_in_pages_per_sec, 0.0);
        // A 32-bit counter that wrapped.
        let (mut c, mut d) = (a, a);
        c.pgmajfault = Some(u64::from(u32::MAX));
        d.pgmajfault = Some(1);
        assert_eq!(
            vm_rates(&c, &d, 1.0).unwrap().major_page_faults_per_sec,
            2.0
        );
        // Went back: a reason, not a negative rate.
        d.pgfault = Some(1);
        assert!(vm_rates(&a, &d, 1.0).unwrap_err().contains("went back"));
        assert!(
            vm_rates(&a, &VmStat::default(), 1.0)
                .unwrap_err()
                .contains("lacks")
        );
        assert!(vm_rates(&a, &a, 0.0).unwrap_err().contains("empty"));
    }
}

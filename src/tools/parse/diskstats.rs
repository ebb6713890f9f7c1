#![forbid(unsafe_code)]
//! `/proc/diskstats` (see the kernel's `Documentation/admin-guide/iostats.rst`) and the
//! iostat-style rates of two samples of it.
//!
//! A line: `major minor name` and then 11 (before 4.18), 15 (4.18+) or 17 (5.5+) counters. The
//! old 4-counter partition lines (before 2.6.25) are skipped: they lack the fields a rate needs.

use super::counters::{counter_delta, per_second};
use super::sysblock::BlockName;

/// The most lines kept: far above any real host, so hostile input cannot grow memory unbounded.
pub const MAX_DEVICES: usize = 8192;

/// Sectors in `/proc/diskstats` are always 512 bytes, whatever the device's block size.
pub const SECTOR_BYTES: u64 = 512;

/// One device's cumulative counters since boot (or since the device appeared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStat {
    pub major: u32,
    pub minor: u32,
    pub name: BlockName,
    pub reads: u64,
    pub reads_merged: u64,
    pub sectors_read: u64,
    pub read_ms: u64,
    pub writes: u64,
    pub writes_merged: u64,
    pub sectors_written: u64,
    pub write_ms: u64,
    /// I/Os in flight now: a gauge, not a counter.
    pub in_flight: u64,
    /// Time the device had I/O in flight (what `%util` is made of).
    pub io_ms: u64,
    /// In-flight time weighted by the number of I/Os (what the average queue size is made of).
    pub weighted_io_ms: u64,
}

impl DiskStat {
    pub fn read_bytes(&self) -> u64 {
        self.sectors_read.saturating_mul(SECTOR_BYTES)
    }

    pub fn written_bytes(&self) -> u64 {
        self.sectors_written.saturating_mul(SECTOR_BYTES)
    }

    /// Never any I/O: an unused loop or ram device.
    pub fn is_unused(&self) -> bool {
        self.reads == 0 && self.writes == 0 && self.in_flight == 0
    }
}

/// Every well-formed line, in file order; a name seen twice keeps its first line.
pub fn parse_diskstats(text: &str) -> Vec<DiskStat> {
    let mut out: Vec<DiskStat> = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_DEVICES {
            break;
        }
        if let Some(d) = parse_line(line)
            && !out.iter().any(|o| o.name == d.name)
        {
            out.push(d);
        }
    }
    out
}

fn parse_line(line: &str) -> Option<DiskStat> {
    let mut it = line.split_ascii_whitespace();
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let name = BlockName::new(it.next()?)?;
    let mut n = [0u64; 11];
    for slot in &mut n {
        *slot = it.next()?.parse().ok()?;
    }
    // Later kernels add discard and flush counters; they must still be numbers.
    if !it.all(|f| f.parse::<u64>().is_ok()) {
        return None;
    }
    Some(DiskStat {
        major,
        minor,
        name,
        reads: n[0],
        reads_merged: n[1],
        sectors_read: n[2],
        read_ms: n[3],
        writes: n[4],
        writes_merged: n[5],
        sectors_written: n[6],
        write_ms: n[7],
        in_flight: n[8],
        io_ms: n[9],
        weighted_io_ms: n[10],
    })
}

/// iostat `-x` figures of one device over a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskRates {
    pub reads_per_sec: f64,
    pub writes_per_sec: f64,
    pub read_merged_per_sec: f64,
    pub write_merged_per_sec: f64,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    /// Average time a read took, queue included (iostat `r_await`); 0 when none completed.
    pub read_await_ms: f64,
    /// The same for writes (`w_await`).
    pub write_await_ms: f64,
    /// Average in-flight requests (`aqu-sz`).
    pub queue_size: f64,
    /// Share of the interval with I/O in flight (`%util`), 0 to 100.
    pub util_percent: f64,
}

/// Why a device has no rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRates {
    /// A counter went back further than a wrap explains: the device was reset or re-created.
    Reset,
    /// The interval was not a positive, finite time.
    NoInterval,
}

impl NoRates {
    pub fn reason(self) -> &'static str {
        match self {
            NoRates::Reset => {
                "its counters went back during the sample (the device was reset or re-created)"
            }
            NoRates::NoInterval => "the sample interval was empty",
        }
    }
}

/// Rates of `b` against `a` (the same device, `secs` seconds apart). Counters that wrapped are
/// counted across the wrap; a reset gives `NoRates::Reset`, never a negative number.
pub fn disk_rates(a: &DiskStat, b: &DiskStat, secs: f64) -> Result<DiskRates, NoRates> {
    if !(secs.is_finite() && secs > 0.0) {
        return Err(NoRates::NoInterval);
    }
    let d = |x: u64, y: u64| counter_delta(x, y).ok_or(NoRates::Reset);
    let reads = d(a.reads, b.reads)?;
    let writes = d(a.writes, b.writes)?;
    let rmerged = d(a.reads_merged, b.reads_merged)?;
    let wmerged = d(a.writes_merged, b.writes_merged)?;
    let rsect = d(a.sectors_read, b.sectors_read)?;
    let wsect = d(a.sectors_written, b.sectors_written)?;
    let rms = d(a.read_ms, b.read_ms)?;
    let wms = d(a.write_ms, b.write_ms)?;
    let io_ms = d(a.io_ms, b.io_ms)?;
    let weighted = d(a.weighted_io_ms, b.weighted_io_ms)?;
    let rate = |delta: u64| per_second(delta, secs).unwrap_or(0.0);
    let avg = |ms: u64, n: u64| if n == 0 { 0.0 } else { ms as f64 / n as f64 };
    let interval_ms = secs * 1000.0;
    Ok(DiskRates {
        reads_per_sec: rate(reads),
        writes_per_sec: rate(writes),
        read_merged_per_sec: rate(rmerged),
        write_merged_per_sec: rate(wmerged),
        read_bytes_per_sec: rate(rsect.saturating_mul(SECTOR_BYTES)),
        write_bytes_per_sec: rate(wsect.saturating_mul(SECTOR_BYTES)),
        read_await_ms: avg(rms, reads),
        write_await_ms: avg(wms, writes),
        queue_size: weighted as f64 / interval_ms,
        // io_ms is sampled at jiffy granularity, so it can exceed the interval by a tick.
        util_percent: (io_ms as f64 * 100.0 / interval_ms).clamp(0.0, 100.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL_6: &str = "\
   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 189993 6620 9367850 642303 62674 98568 63038000 1427514 0 128316 2147795 33242 74 39135896 70101 3404 7875
 254       1 vda1 1000 10 80000 900 500 5 4000 700 1 1500 1600
";

    #[test]
    fn parses_current_and_older_layouts() {
        let v = parse_diskstats(KERNEL_6);
        assert_eq!(v.len(), 3);
        assert!(v[0].is_unused());
        let vda = &v[1];
        assert_eq!((vda.major, vda.minor, vda.name.as_str()), (254, 0, "vda"));
        assert_eq!(vda.reads, 189_993);
        assert_eq!(vda.sectors_written, 63_038_000);
        assert_eq!(vda.weighted_io_ms, 2_147_795);
        assert_eq!(vda.read_bytes(), 9_367_850 * 512);
        // An 11-counter line (before 4.18) parses too.
        assert_eq!(v[2].in_flight, 1);
        assert!(!v[2].is_unused());
    }

    #[test]
    fn hostile_lines_are_skipped() {
        let text = "\
8 0 sda 1 2 3
8 1 sdb 1 2 3 4 5 6 7 8 9 10 x
8 2 sdc 1 2 3 4 5 6 7 8 9 10 99999999999999999999999
8 3 ../etc 1 2 3 4 5 6 7 8 9 10 11
8 4 sdd 1 2 3 4 5 6 7 8 9 10 11 bogus
-1 0 sde 1 2 3 4 5 6 7 8 9 10 11
\u{1b}[31m 0 x 1 2 3 4 5 6 7 8 9 10 11

8 5 sdf 1 2 3 4 5 6 7 8 9 10 11
8 5 sdf 9 9 9 9 9 9 9 9 9 9 9
8 6 sdg 18446744073709551615 2 3 4 5 6 7 8 9 10 11";
        let v = parse_diskstats(text);
        let names: Vec<&str> = v.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["sdf", "sdg"]);
        // The first of two lines for one name wins.
        assert_eq!(v[0].reads, 1);
        assert_eq!(v[1].reads, u64::MAX);
        assert!(parse_diskstats("").is_empty());
    }

    fn stat(reads: u64, sectors: u64, read_ms: u64, io_ms: u64, weighted: u64) -> DiskStat {
        DiskStat {
            major: 8,
            minor: 0,
            name: BlockName::new("sda").unwrap(),
            reads,
            reads_merged: 0,
            sectors_read: sectors,
            read_ms,
            writes: 0,
            writes_merged: 0,
            sectors_written: 0,
            write_ms: 0,
            in_flight: 0,
            io_ms,
            weighted_io_ms: weighted,
        }
    }

    #[test]
    fn rates_are_iostat_arithmetic() {
        let a = stat(100, 1000, 50, 200, 300);
        let b = stat(300, 5000, 250, 700, 1300);
        let r = disk_rates(&a, &b, 2.0).unwrap();
        assert_eq!(r.reads_per_sec, 100.0);
        assert_eq!(r.read_bytes_per_sec, 4000.0 * 512.0 / 2.0);
        assert_eq!(r.read_await_ms, 1.0);
        assert_eq!(r.write_await_ms, 0.0);
        assert_eq!(r.queue_size, 0.5);
        assert_eq!(r.util_percent, 25.0);
        // More busy time than the interval (jiffy rounding) stays at 100 %.
        let c = stat(300, 5000, 250, 5000, 1300);
        assert_eq!(disk_rates(&a, &c, 2.0).unwrap().util_percent, 100.0);
    }

    #[test]
    fn wrapped_counters_count_across_the_wrap() {
        // 32-bit millisecond fields wrap on older kernels.
        let top = u64::from(u32::MAX);
        let a = stat(u64::MAX - 4, 10, top - 99, top - 9, 0);
        let b = stat(5, 20, 100, 10, 0);
        let r = disk_rates(&a, &b, 1.0).unwrap();
        assert_eq!(r.reads_per_sec, 10.0);
        assert_eq!(r.read_await_ms, 20.0);
        assert_eq!(r.util_percent, 2.0);
    }

    #[test]
    fn resets_and_empty_intervals_have_no_rates() {
        let a = stat(5000, 10, 10, 10, 10);
        let b = stat(3, 10, 10, 10, 10);
        assert_eq!(disk_rates(&a, &b, 1.0), Err(NoRates::Reset));
        assert_eq!(disk_rates(&a, &a, 0.0), Err(NoRates::NoInterval));
        assert_eq!(disk_rates(&a, &a, f64::NAN), Err(NoRates::NoInterval));
        assert!(!NoRates::Reset.reason().is_empty());
    }
}

#![forbid(unsafe_code)]
//! Pure parsers of `/proc`, `/sys` and `/etc` text. No I/O here: every function takes the text and
//! returns typed data, so each is tested on fixture text (including hostile and truncated input).
//! Parsers never panic: malformed lines are skipped, a file without what we need gives `None`.

use std::net::Ipv6Addr;

/// `/proc/uptime`: seconds since boot and aggregate idle seconds.
pub fn parse_uptime(text: &str) -> Option<(f64, f64)> {
    let mut it = text.split_ascii_whitespace();
    let up = it
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)?;
    let idle = it
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0);
    Some((up, idle))
}

/// A finite, non-negative float, or `None`.
fn parse_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

// ---------------------------------------------------------------------------------------------
// /etc/os-release

/// The fields of `os-release(5)` we report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub pretty_name: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub version: Option<String>,
}

/// Longest value we keep from os-release; the file is trusted-ish but its size is not ours.
const OS_RELEASE_MAX_VALUE: usize = 256;

/// `os-release(5)`: shell-style `KEY=value` lines, values optionally single- or double-quoted.
/// Lines that do not parse (unterminated quotes, no `=`) are skipped, never guessed at.
pub fn parse_os_release(text: &str) -> OsRelease {
    parse_os_release_with(text, &|v, max| v.chars().take(max).collect())
}

/// [`parse_os_release`] with the cut of each value to `OS_RELEASE_MAX_VALUE` characters done by
/// `cut(value, max)` (the tool passes a cut that does not split a secret).
pub fn parse_os_release_with(text: &str, cut: &dyn Fn(&str, usize) -> String) -> OsRelease {
    let mut r = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let Some(value) = shell_unquote(raw.trim()) else {
            continue;
        };
        let value = cut(&value, OS_RELEASE_MAX_VALUE);
        let slot = match key.trim() {
            "PRETTY_NAME" => &mut r.pretty_name,
            "NAME" => &mut r.name,
            "ID" => &mut r.id,
            "VERSION_ID" => &mut r.version_id,
            "VERSION" => &mut r.version,
            _ => continue,
        };
        *slot = Some(value);
    }
    r
}

/// The subset of shell quoting os-release allows: `"..."` with `\"`, `\\`, `\$`, `` \` `` escapes,
/// `'...'` literal, or a bare word. `None` for an unterminated quote.
fn shell_unquote(raw: &str) -> Option<String> {
    let mut chars = raw.chars();
    match chars.next() {
        None => Some(String::new()),
        Some('"') => {
            let mut out = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(out),
                    '\\' => match chars.next()? {
                        e @ ('"' | '\\' | '$' | '`') => out.push(e),
                        // The shell keeps a backslash before any other character inside "".
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    },
                    c => out.push(c),
                }
            }
            None
        }
        Some('\'') => {
            let rest = chars.as_str();
            rest.find('\'').map(|end| rest[..end].to_string())
        }
        Some(_) => Some(raw.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// /proc/loadavg and /proc/pressure/*

/// `/proc/loadavg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
    pub runnable: u64,
    pub total: u64,
    pub last_pid: u64,
}

/// `/proc/loadavg`: `0.31 0.26 0.11 4/100 10288`.
pub fn parse_loadavg(text: &str) -> Option<LoadAvg> {
    let mut it = text.split_ascii_whitespace();
    let one = parse_f64(it.next()?)?;
    let five = parse_f64(it.next()?)?;
    let fifteen = parse_f64(it.next()?)?;
    let (runnable, total) = it.next()?.split_once('/')?;
    Some(LoadAvg {
        one,
        five,
        fifteen,
        runnable: runnable.parse().ok()?,
        total: total.parse().ok()?,
        last_pid: it.next()?.parse().ok()?,
    })
}

/// One line of a pressure stall information file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

/// `/proc/pressure/{cpu,memory,io}`: the `some` and (where the kernel has it) `full` lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pressure {
    pub some: Option<PsiLine>,
    pub full: Option<PsiLine>,
}

/// `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (and a `full` line). `None` when neither
/// line parses.
pub fn parse_pressure(text: &str) -> Option<Pressure> {
    let mut p = Pressure {
        some: None,
        full: None,
    };
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let slot = match it.next() {
            Some("some") => &mut p.some,
            Some("full") => &mut p.full,
            _ => continue,
        };
        let (mut a10, mut a60, mut a300, mut total) = (None, None, None, None);
        for kv in it {
            match kv.split_once('=') {
                Some(("avg10", v)) => a10 = parse_f64(v),
                Some(("avg60", v)) => a60 = parse_f64(v),
                Some(("avg300", v)) => a300 = parse_f64(v),
                Some(("total", v)) => total = v.parse().ok(),
                _ => {}
            }
        }
        if let (Some(avg10), Some(avg60), Some(avg300), Some(total_us)) = (a10, a60, a300, total) {
            *slot = Some(PsiLine {
                avg10,
                avg60,
                avg300,
                total_us,
            });
        }
    }
    (p.some.is_some() || p.full.is_some()).then_some(p)
}

// ---------------------------------------------------------------------------------------------
// /proc/meminfo

/// The `/proc/meminfo` fields we use, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    /// Absent before Linux 3.14.
    pub available: Option<u64>,
    pub buffers: u64,
    pub cached: u64,
    pub shmem: u64,
    pub sreclaimable: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub sunreclaim: u64,
    /// Huge page counts (pages, not bytes) and the page size; `None` without hugetlbfs.
    pub hugepages: Option<HugePages>,
}

/// The `HugePages_*` lines of `/proc/meminfo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HugePages {
    pub total: u64,
    pub free: u64,
    pub reserved: u64,
    pub surplus: u64,
    pub page_size: u64,
}

impl MemInfo {
    /// `MemAvailable`, or the pre-3.14 estimate free + buffers + page cache.
    pub fn available(&self) -> u64 {
        self.available
            .unwrap_or_else(|| {
                self.free
                    .saturating_add(self.buffers)
                    .saturating_add(self.cached)
            })
            .min(self.total)
    }

    /// Memory in use: total minus available (what `free` from procps 4 reports as "used").
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available())
    }

    pub fn used_percent(&self) -> f64 {
        percent(self.used(), self.total)
    }

    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }

    pub fn swap_used_percent(&self) -> f64 {
        percent(self.swap_used(), self.swap_total)
    }
}

/// `part / whole` in percent, 0 when `whole` is 0, clamped to 0..=100.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64).clamp(0.0, 100.0)
    }
}

/// `/proc/meminfo`: `Key:   1234 kB` lines. `None` without a `MemTotal` line; other missing keys
/// (swap on a kernel built without it, `MemAvailable` before 3.14) read as zero / absent.
pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let mut m = MemInfo::default();
    let mut total = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut it = rest.split_ascii_whitespace();
        let Some(n) = it.next().and_then(|v| v.parse::<u64>().ok()) else {
            continue;
        };
        let bytes = match it.next() {
            Some("kB") => n.saturating_mul(1024),
            None => n,
            Some(_) => continue,
        };
        match key {
            "MemTotal" => total = Some(bytes),
            "MemFree" => m.free = bytes,
            "MemAvailable" => m.available = Some(bytes),
            "Buffers" => m.buffers = bytes,
            "Cached" => m.cached = bytes,
            "Shmem" => m.shmem = bytes,
            "SReclaimable" => m.sreclaimable = bytes,
            "SwapTotal" => m.swap_total = bytes,
            "SwapFree" => m.swap_free = bytes,
            "Dirty" => m.dirty = bytes,
            "Writeback" => m.writeback = bytes,
            "SUnreclaim" => m.sunreclaim = bytes,
            "HugePages_Total" => m.hugepages.get_or_insert_default().total = bytes,
            "HugePages_Free" => m.hugepages.get_or_insert_default().free = bytes,
            "HugePages_Rsvd" => m.hugepages.get_or_insert_default().reserved = bytes,
            "HugePages_Surp" => m.hugepages.get_or_insert_default().surplus = bytes,
            "Hugepagesize" => m.hugepages.get_or_insert_default().page_size = bytes,
            _ => {}
        }
    }
    m.total = total?;
    m.swap_free = m.swap_free.min(m.swap_total);
    Some(m)
}

// ---------------------------------------------------------------------------------------------
// /proc/stat

/// CPU time counters of one `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// Field-wise `self - earlier`, never negative (iowait is known to run backwards).
    fn delta(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            nice: self.nice.saturating_sub(earlier.nice),
            system: self.system.saturating_sub(earlier.system),
            idle: self.idle.saturating_sub(earlier.idle),
            iowait: self.iowait.saturating_sub(earlier.iowait),
            irq: self.irq.saturating_sub(earlier.irq),
            softirq: self.softirq.saturating_sub(earlier.softirq),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }

    /// All time (guest time is already inside user and nice, so it is not added again).
    fn total(&self) -> u64 {
        [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// The parts of `/proc/stat` we use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStat {
    /// The aggregate `cpu` line.
    pub total: CpuTimes,
    /// `cpuN` lines, by N (online CPUs only: offline ones have no line).
    pub per_cpu: Vec<(u32, CpuTimes)>,
    /// Boot time, unix seconds.
    pub btime: Option<u64>,
}

/// `/proc/stat`. `None` without an aggregate `cpu` line with at least user/nice/system/idle.
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let mut total = None;
    let mut per_cpu = Vec::new();
    let mut btime = None;
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let Some(key) = it.next() else { continue };
        if key == "btime" {
            btime = it.next().and_then(|v| v.parse().ok());
        } else if let Some(rest) = key.strip_prefix("cpu") {
            let Some(times) = parse_cpu_times(it) else {
                continue;
            };
            if rest.is_empty() {
                total = Some(times);
            } else if let Ok(n) = rest.parse::<u32>() {
                per_cpu.push((n, times));
            }
        }
    }
    Some(ProcStat {
        total: total?,
        per_cpu,
        btime,
    })
}

fn parse_cpu_times<'a>(it: impl Iterator<Item = &'a str>) -> Option<CpuTimes> {
    let mut v = [0u64; 8];
    let mut n = 0;
    for (slot, field) in v.iter_mut().zip(it) {
        *slot = field.parse().ok()?;
        n += 1;
    }
    // Kernels before 2.6 had four fields; anything shorter is not a cpu line.
    if n < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    Some(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
    })
}

/// CPU usage over an interval, in percent of the interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUsage {
    /// Everything but idle and iowait.
    pub busy: f64,
    pub user: f64,
    pub system: f64,
    pub iowait: f64,
    pub steal: f64,
    pub idle: f64,
}

/// Usage between two samples of the same CPU. With no ticks elapsed, everything is 0 except idle.
pub fn cpu_usage(earlier: &CpuTimes, later: &CpuTimes) -> CpuUsage {
    let d = later.delta(earlier);
    let total = d.total();
    if total == 0 {
        return CpuUsage {
            busy: 0.0,
            user: 0.0,
            system: 0.0,
            iowait: 0.0,
            steal: 0.0,
            idle: 100.0,
        };
    }
    let idle = d.idle.saturating_add(d.iowait);
    CpuUsage {
        busy: percent(total.saturating_sub(idle), total),
        user: percent(d.user.saturating_add(d.nice), total),
        system: percent(
            d.system.saturating_add(d.irq).saturating_add(d.softirq),
            total,
        ),
        iowait: percent(d.iowait, total),
        steal: percent(d.steal, total),
        idle: percent(d.idle, total),
    }
}

// ---------------------------------------------------------------------------------------------
// /proc/cpuinfo

/// What `/proc/cpuinfo` says about the processors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    pub model: Option<String>,
    pub vendor: Option<String>,
    /// Number of `processor` entries.
    pub logical: usize,
    /// Distinct (physical id, core id) pairs, where the architecture reports them.
    pub cores: Option<usize>,
    /// Distinct physical ids, where reported.
    pub sockets: Option<usize>,
    /// `cpu MHz` per processor number, where reported (x86).
    pub mhz: Vec<(u32, f64)>,
}

/// Longest model or vendor string we keep.
const CPUINFO_MAX_VALUE: usize = 128;

/// `/proc/cpuinfo`. Understands the x86 layout and the common ARM / POWER / MIPS model keys.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    parse_cpuinfo_with(text, &|v, max| v.chars().take(max).collect())
}

/// [`parse_cpuinfo`] with the cut of the model and vendor strings to `CPUINFO_MAX_VALUE`
/// characters done by `cut(value, max)` (the tool passes a cut that does not split a secret).
pub fn parse_cpuinfo_with(text: &str, cut: &dyn Fn(&str, usize) -> String) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut current: Option<u32> = None;
    let (mut phys, mut core): (Option<&str>, Option<&str>) = (None, None);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut model_rank = usize::MAX;
    // Record the topology of the processor block that just ended.
    let mut flush = |phys: &mut Option<&str>, core: &mut Option<&str>| {
        if let (Some(p), Some(c)) = (phys.take(), core.take()) {
            pairs.push((p.to_string(), c.to_string()));
        }
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => {
                if let Ok(n) = value.parse::<u32>() {
                    flush(&mut phys, &mut core);
                    info.logical += 1;
                    current = Some(n);
                }
            }
            "physical id" => phys = Some(value),
            "core id" => core = Some(value),
            "cpu MHz" => {
                if let (Some(n), Some(mhz)) = (current, parse_f64(value)) {
                    info.mhz.push((n, mhz));
                }
            }
            "vendor_id" | "CPU implementer" if info.vendor.is_none() && !value.is_empty() => {
                info.vendor = Some(cut(value, CPUINFO_MAX_VALUE));
            }
            _ => {
                // Lower rank wins: x86 `model name`, then the names other architectures use.
                const MODEL_KEYS: [&str; 5] =
                    ["model name", "Processor", "cpu model", "cpu", "Hardware"];
                if let Some(rank) = MODEL_KEYS.iter().position(|k| *k == key)
                    && rank < model_rank
                    && !value.is_empty()
                {
                    model_rank = rank;
                    info.model = Some(cut(value, CPUINFO_MAX_VALUE));
                }
            }
        }
    }
    flush(&mut phys, &mut core);
    if !pairs.is_empty() {
        pairs.sort();
        pairs.dedup();
        info.cores = Some(pairs.len());
        let mut sockets: Vec<&String> = pairs.iter().map(|(p, _)| p).collect();
        sockets.dedup();
        info.sockets = Some(sockets.len());
    }
    info
}

/// A frequency file of cpufreq (`scaling_cur_freq`, `cpuinfo_max_freq`): kHz → MHz.
pub fn parse_khz_as_mhz(text: &str) -> Option<f64> {
    let khz: u64 = text.trim().parse().ok()?;
    (khz > 0).then(|| khz as f64 / 1000.0)
}

// ---------------------------------------------------------------------------------------------
// /proc/self/mountinfo

/// One line of `/proc/self/mountinfo`. Paths are bytes: mount points need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_id: u64,
    pub parent_id: u64,
    /// `major:minor` of the device.
    pub device_number: String,
    pub root: Vec<u8>,
    pub mount_point: Vec<u8>,
    /// Per-mount options (`rw,nosuid,relatime`).
    pub options: String,
    pub fstype: String,
    pub source: Vec<u8>,
    /// Per-superblock options.
    pub super_options: String,
    /// The optional fields before the `-`: propagation (`shared:1`, `master:2`,
    /// `propagate_from:3`, `unbindable`); none for a private mount.
    pub optional: Vec<String>,
}

impl Mount {
    /// Mounted read-only (per-mount or per-superblock).
    pub fn read_only(&self) -> bool {
        let has_ro = |opts: &str| opts.split(',').any(|o| o == "ro");
        has_ro(&self.options) || has_ro(&self.super_options)
    }
}

/// `/proc/self/mountinfo` (see `proc_pid_mountinfo(5)`):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
/// Malformed lines are skipped; octal escapes (`\040` for a space) are decoded.
pub fn parse_mountinfo(text: &[u8]) -> Vec<Mount> {
    text.split(|b| *b == b'\n')
        .filter_map(parse_mountinfo_line)
        .collect()
}

fn parse_mountinfo_line(line: &[u8]) -> Option<Mount> {
    let mut it = line.split(|b| *b == b' ').filter(|f| !f.is_empty());
    let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
    let mount_id = std::str::from_utf8(it.next()?).ok()?.parse().ok()?;
    let parent_id = std::str::from_utf8(it.next()?).ok()?.parse().ok()?;
    let device_number = text(it.next()?);
    let root = unescape_octal(it.next()?);
    let mount_point = unescape_octal(it.next()?);
    let options = text(it.next()?);
    // Zero or more optional fields, then a lone "-".
    let mut optional = Vec::new();
    for f in it.by_ref() {
        if f == b"-" {
            break;
        }
        optional.push(text(f));
    }
    let fstype = text(it.next()?);
    let source = unescape_octal(it.next()?);
    let super_options = it.next().map(text).unwrap_or_default();
    Some(Mount {
        mount_id,
        parent_id,
        device_number,
        root,
        mount_point,
        options,
        fstype,
        source,
        super_options,
        optional,
    })
}

/// Decode the kernel's `\ooo` escapes (space, tab, newline, backslash in mount paths). Anything
/// that is not a valid three-digit octal escape is kept as it is.
pub fn unescape_octal(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && let Some(d) = s.get(i + 1..i + 4)
            && d.iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v =
                u32::from(d[0] - b'0') * 64 + u32::from(d[1] - b'0') * 8 + u32::from(d[2] - b'0');
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Filesystems with no storage of their own (kernel interfaces, memory-backed, read-only images).
/// `get_disk_info` leaves them out unless asked: they are either not "disk" or always 100% full
/// (squashfs snaps) and would drown the real ones.
pub fn is_virtual_fs(fstype: &str) -> bool {
    const VIRTUAL: &[&str] = &[
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "ramfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
    ];
    VIRTUAL.contains(&fstype)
}

// ---------------------------------------------------------------------------------------------
// /proc/net/dev and /proc/net/if_inet6

/// Counters of one interface from `/proc/net/dev`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDev {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// `/proc/net/dev`: two header lines, then `name: 8 receive and 8 transmit counters`.
pub fn parse_net_dev(text: &str) -> Vec<NetDev> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if !is_valid_ifname(name) {
            continue;
        }
        let f: Vec<u64> = match rest
            .split_ascii_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
        {
            Ok(f) => f,
            Err(_) => continue,
        };
        if f.len() < 16 {
            continue;
        }
        out.push(NetDev {
            name: name.to_string(),
            rx_bytes: f[0],
            rx_packets: f[1],
            rx_errors: f[2],
            rx_dropped: f[3],
            tx_bytes: f[8],
            tx_packets: f[9],
            tx_errors: f[10],
            tx_dropped: f[11],
        });
    }
    out
}

/// The kernel's rule for interface names (`dev_valid_name`): 1..15 bytes, not `.` or `..`, no
/// `/`, `:` or whitespace. Checked before a name becomes part of a `/sys` path.
pub fn is_valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b.is_ascii_control())
}

/// One IPv6 address from `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inet6Addr {
    pub interface: String,
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub scope: &'static str,
}

/// `/proc/net/if_inet6`: `fe80000000000000021122fffe334455 02 40 20 80 eth0`
/// (address, ifindex, prefix length, scope, flags, name; numbers in hex).
pub fn parse_if_inet6(text: &str) -> Vec<Inet6Addr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() != 6 || f[0].len() != 32 || !is_valid_ifname(f[5]) {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(f[0], 16) else {
            continue;
        };
        let (Ok(prefix_len), Ok(scope)) =
            (u8::from_str_radix(f[2], 16), u8::from_str_radix(f[3], 16))
        else {
            continue;
        };
        if prefix_len > 128 {
            continue;
        }
        out.push(Inet6Addr {
            interface: f[5].to_string(),
            address: Ipv6Addr::from(bits),
            prefix_len,
            // IPV6_ADDR_SCOPE_* in include/net/ipv6.h.
            scope: match scope {
                0x00 => "global",
                0x10 => "host",
                0x20 => "link",
                0x40 => "site",
                _ => "other",
            },
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/{stat,status,cmdline}

/// The fields of `/proc/PID/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidStat {
    pub pid: u32,
    /// The kernel's process name (at most 15 bytes, any bytes but NUL).
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// `PF_*` flags.
    pub flags: u64,
    /// User and system CPU time, clock ticks.
    pub utime: u64,
    pub stime: u64,
    pub num_threads: u64,
    /// The kernel's priority: 20 + nice for normal tasks, negative for real-time ones
    /// (`ps -o pri` shows 39 minus this).
    pub priority: i64,
    /// Nice value, -20..=19.
    pub nice: i64,
    /// Controlling terminal, encoded as the kernel's `dev_t` (0: none); see [`tty_name`].
    pub tty_nr: i64,
    /// Start time, clock ticks after boot.
    pub starttime: u64,
    pub vsize: u64,
    pub rss_pages: u64,
}

/// `PF_KTHREAD` in include/linux/sched.h.
const PF_KTHREAD: u64 = 0x0020_0000;

impl PidStat {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    pub fn cpu_ticks(&self) -> u64 {
        self.utime.saturating_add(self.stime)
    }
}

/// `/proc/PID/stat`: `pid (comm) state ppid ...`. The name may contain spaces, parentheses and
/// newlines, so it is the text between the first `(` and the LAST `)`.
pub fn parse_pid_stat(text: &[u8]) -> Option<PidStat> {
    let open = text.iter().position(|b| *b == b'(')?;
    let close = text.iter().rposition(|b| *b == b')')?;
    if close < open {
        return None;
    }
    let pid = std::str::from_utf8(&text[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = String::from_utf8_lossy(&text[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(&text[close + 1..]).ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().take(22).collect();
    if f.len() < 22 {
        return None;
    }
    let num = |i: usize| f[i].parse::<u64>().ok();
    let mut state_chars = f[0].chars();
    let state = state_chars.next()?;
    if state_chars.next().is_some() {
        return None;
    }
    Some(PidStat {
        pid,
        comm,
        state,
        ppid: f[1].parse().ok()?,
        flags: num(6)?,
        utime: num(11)?,
        stime: num(12)?,
        num_threads: num(17)?,
        priority: f[15].parse().ok()?,
        nice: f[16].parse().ok().filter(|n| (-20..=19).contains(n))?,
        tty_nr: f[4].parse().ok()?,
        starttime: num(19)?,
        vsize: num(20)?,
        // rss is a signed long in the kernel's format; a negative value means nothing resident.
        rss_pages: u64::try_from(f[21].parse::<i64>().ok()?).unwrap_or(0),
    })
}

/// The terminal `tty_nr` of `/proc/PID/stat` names, as `ps` shows it: `pts/N` (Unix 98 pseudo
/// terminals, majors 136..=143), `ttyN` (virtual consoles, major 4 below minor 64), `ttySN`
/// (serial ports, major 4 from minor 64), `tty` and `console` (major 5). `None` for no terminal;
/// any other device as `major:minor`, never a guessed name.
pub fn tty_name(tty_nr: i64) -> Option<String> {
    // A dev_t squeezed into an int: the major in bits 8..20, the minor in bits 0..8 and 20..32.
    let nr = u32::try_from(tty_nr).ok().filter(|n| *n != 0)?;
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xf_ff00);
    Some(match (major, minor) {
        (136..=143, m) => format!("pts/{}", (major - 136) * 256 + m),
        (4, m @ 0..=63) => format!("tty{m}"),
        (4, m) => format!("ttyS{}", m - 64),
        (5, 0) => "tty".to_owned(),
        (5, 1) => "console".to_owned(),
        (5, 2) => "ptmx".to_owned(),
        (major, minor) => format!("{major}:{minor}"),
    })
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-02T00:28:19Z`); times before 1970 as the epoch.
pub fn rfc3339_utc(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // H. Hinnant's civil_from_days for non-negative days (as the audit log's timestamps).
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The pid a `/proc` entry name stands for: digits only (no sign), within `u32`.
pub fn pid_of_name(name: &str) -> Option<u32> {
    name.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| name.parse().ok())
        .flatten()
}

/// A readable name for a `/proc/PID/stat` state letter.
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk-sleep",
        'Z' => "zombie",
        'T' => "stopped",
        't' => "tracing-stop",
        'X' | 'x' => "dead",
        'I' => "idle",
        'K' => "wakekill",
        'W' => "waking",
        'P' => "parked",
        _ => "unknown",
    }
}

/// The real and effective uid from `/proc/PID/status` (`Uid:\treal\teffective\tsaved\tfs`).
pub fn parse_status_uids(text: &[u8]) -> Option<(u32, u32)> {
    let line = text
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"Uid:"))?;
    let line = std::str::from_utf8(&line[4..]).ok()?;
    let mut it = line.split_ascii_whitespace();
    let real = it.next()?.parse().ok()?;
    let effective = it.next()?.parse().ok()?;
    Some((real, effective))
}

/// The first number of a `Key:\tvalue` line of `/proc/PID/status` (e.g. `Tgid`).
pub fn parse_status_number(text: &[u8], key: &str) -> Option<u64> {
    let line = text.split(|b| *b == b'\n').find(|l| {
        l.strip_prefix(key.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b':'))
    })?;
    std::str::from_utf8(&line[key.len() + 1..])
        .ok()?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `/proc/PID/cmdline` (NUL-separated arguments) as one line, arguments joined by spaces, cut at
/// `max_chars` characters. `more` says the reader stopped before the end of the file. Returns
/// the text and whether it was cut.
pub fn parse_cmdline(raw: &[u8], max_chars: usize, more: bool) -> (String, bool) {
    // A process may rewrite its argument area (setproctitle) without NULs; then it is one string.
    let trimmed = match raw.iter().rposition(|b| *b != 0) {
        Some(last) => &raw[..=last],
        None => &[][..],
    };
    let joined: Vec<u8> = trimmed
        .iter()
        .map(|b| if *b == 0 { b' ' } else { *b })
        .collect();
    let text = String::from_utf8_lossy(&joined);
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut cut = more;
    for (n, c) in text.chars().enumerate() {
        if n == max_chars {
            cut = true;
            break;
        }
        out.push(c);
    }
    (out, cut)
}

// ---------------------------------------------------------------------------------------------
// /etc/passwd

/// `name:password:uid:gid:gecos:home:shell` lines → (name, uid). Comments, NIS `+`/`-` lines and
/// malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?.trim();
            if name.is_empty() || name.starts_with(['#', '+', '-']) {
                return None;
            }
            let _password = f.next()?;
            let uid = f.next()?.trim().parse().ok()?;
            Some((name.to_string(), uid))
        })
        .collect()
}

/// The name of `uid` in `users` (from [`parse_passwd`]; the first line wins), or the uid as a
/// number when it has none.
pub fn user_name(users: &[(String, u32)], uid: u32) -> String {
    users
        .iter()
        .find(|(_, u)| *u == uid)
        .map_or_else(|| uid.to_string(), |(n, _)| n.clone())
}

/// The uid of the user called `name` in `users` (from [`parse_passwd`]; the first line wins).
pub fn uid_of(users: &[(String, u32)], name: &str) -> Option<u32> {
    users.iter().find(|(n, _)| n == name).map(|(_, u)| *u)
}

// ---------------------------------------------------------------------------------------------
// hwmon and thermal

/// A temperature file in millidegrees Celsius → °C. Values below absolute zero or above 1000 °C
/// are a broken sensor, not a reading.
pub fn parse_millidegrees(text: &str) -> Option<f64> {
    let milli: i64 = text.trim().parse().ok()?;
    let c = milli as f64 / 1000.0;
    (-273.15..=1000.0).contains(&c).then_some(c)
}

/// `temp3_input` → 3: the index of a hwmon temperature input file.
pub fn hwmon_temp_index(file_name: &str) -> Option<u32> {
    let n = file_name.strip_prefix("temp")?.strip_suffix("_input")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// `thermal_zone7` → 7, `hwmon2` → 2: the index of a numbered sysfs entry with this prefix.
pub fn numbered_entry(name: &str, prefix: &str) -> Option<u32> {
    let n = name.strip_prefix(prefix)?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// A one-line sysfs label (`name`, `temp1_label`, `type`): trimmed, control characters dropped,
/// at most 64 characters; `None` if nothing is left.
pub fn sysfs_label(text: &str) -> Option<String> {
    let s: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime() {
        assert_eq!(
            parse_uptime("350735.47 234388.90\n"),
            Some((350735.47, 234388.90))
        );
        assert_eq!(parse_uptime("12.5"), Some((12.5, 0.0)));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("abc def"), None);
        assert_eq!(parse_uptime("-5 1"), None);
        assert_eq!(parse_uptime("NaN 1"), None);
    }

    #[test]
    fn os_release_quoting() {
        let r = parse_os_release(
            "# comment\n\
             PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n\
             NAME='Debian \"GNU\" Linux'\n\
             ID=debian\n\
             VERSION_ID=\"12\"\n\
             VERSION=\"say \\\"hi\\\" \\$HOME \\\\ \\n\"\n\
             BROKEN=\"never closed\n\
             \n\
             garbage line without equals\n",
        );
        assert_eq!(
            r.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(r.name.as_deref(), Some("Debian \"GNU\" Linux"));
        assert_eq!(r.id.as_deref(), Some("debian"));
        assert_eq!(r.version_id.as_deref(), Some("12"));
        assert_eq!(r.version.as_deref(), Some("say \"hi\" $HOME \\ \\n"));
    }

    #[test]
    fn os_release_hostile() {
        assert_eq!(parse_os_release(""), OsRelease::default());
        let r = parse_os_release("PRETTY_NAME=\"unterminated\nID='also\nNAME=\n");
        assert_eq!(r.pretty_name, None);
        assert_eq!(r.id, None);
        assert_eq!(r.name.as_deref(), Some(""));
        let long = format!("PRETTY_NAME=\"{}\"", "x".repeat(10_000));
        let r = parse_os_release(&long);
        assert_eq!(r.pretty_name.map(|s| s.len()), Some(OS_RELEASE_MAX_VALUE));
        // A trailing backslash inside quotes is unterminated, not a panic.
        assert_eq!(parse_os_release("ID=\"abc\\").id, None);
    }

    #[test]
    fn loadavg() {
        let l = parse_loadavg("0.31 0.26 0.11 4/100 10288\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (0.31, 0.26, 0.11));
        assert_eq!((l.runnable, l.total, l.last_pid), (4, 100, 10288));
        assert_eq!(parse_loadavg("0.31 0.26 0.11 4100 10288"), None);
        assert_eq!(parse_loadavg("0.31 0.26"), None);
        assert_eq!(parse_loadavg("-1 0 0 1/1 1"), None);
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn pressure() {
        let p = parse_pressure(
            "some avg10=88.69 avg60=52.99 avg300=16.06 total=56998014\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        let some = p.some.unwrap();
        assert_eq!(
            (some.avg10, some.avg60, some.avg300, some.total_us),
            (88.69, 52.99, 16.06, 56_998_014)
        );
        assert_eq!(p.full.unwrap().total_us, 0);
        // Kernels before 5.13 have no `full` line for cpu.
        let p = parse_pressure("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n").unwrap();
        assert!(p.some.is_some() && p.full.is_none());
        // A kernel without PSI: nothing to parse.
        assert_eq!(parse_pressure(""), None);
        assert_eq!(parse_pressure("garbage\nsome avg10=x\n"), None);
        // A line missing a field is dropped, not half-filled.
        assert_eq!(parse_pressure("some avg10=1 avg60=2 total=3\n"), None);
    }

    const MEMINFO: &str = "MemTotal:       24683656 kB\n\
        MemFree:        21947860 kB\n\
        MemAvailable:   23588492 kB\n\
        Buffers:           14404 kB\n\
        Cached:          1801592 kB\n\
        SwapCached:            0 kB\n\
        Shmem:              1234 kB\n\
        SwapTotal:       2097148 kB\n\
        SwapFree:        1048574 kB\n\
        HugePages_Total:       0\n";

    #[test]
    fn meminfo() {
        let m = parse_meminfo(MEMINFO).unwrap();
        assert_eq!(m.total, 24_683_656 * 1024);
        assert_eq!(m.available, Some(23_588_492 * 1024));
        assert_eq!(m.used(), (24_683_656 - 23_588_492) * 1024);
        assert_eq!(m.swap_used(), (2_097_148 - 1_048_574) * 1024);
        assert!((m.swap_used_percent() - 50.0).abs() < 0.01);
        assert!((m.used_percent() - 4.4367).abs() < 0.01);
    }

    #[test]
    fn meminfo_dirty_slab_and_hugepages() {
        let m = parse_meminfo(
            "MemTotal: 1000 kB\nDirty: 220 kB\nWriteback: 4 kB\nSReclaimable: 30 kB\n\
             SUnreclaim: 50 kB\nHugePages_Total: 8\nHugePages_Free: 6\nHugePages_Rsvd: 1\n\
             HugePages_Surp: 0\nHugepagesize: 2048 kB\n",
        )
        .unwrap();
        assert_eq!((m.dirty, m.writeback), (220 * 1024, 4 * 1024));
        assert_eq!((m.sreclaimable, m.sunreclaim), (30 * 1024, 50 * 1024));
        let h = m.hugepages.unwrap();
        assert_eq!((h.total, h.free, h.reserved, h.surplus), (8, 6, 1, 0));
        assert_eq!(h.page_size, 2048 * 1024);
        // A kernel without hugetlbfs has no HugePages lines at all.
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n").unwrap().hugepages, None);
    }

    #[test]
    fn meminfo_without_swap_or_available() {
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
                .unwrap();
        assert_eq!(m.swap_total, 0);
        assert_eq!(m.swap_used(), 0);
        assert_eq!(m.swap_used_percent(), 0.0);
        assert_eq!(m.available, None);
        assert_eq!(m.available(), 400 * 1024);
        assert_eq!(m.used(), 600 * 1024);
        assert_eq!(m.used_percent(), 60.0);
    }

    #[test]
    fn meminfo_hostile() {
        assert_eq!(parse_meminfo(""), None);
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
        assert_eq!(parse_meminfo("MemTotal: lots kB\n"), None);
        // Unknown unit: the line is ignored rather than misread.
        assert_eq!(parse_meminfo("MemTotal: 5 MB\n"), None);
        // Overflowing kB values saturate instead of wrapping.
        let m = parse_meminfo("MemTotal: 18446744073709551615 kB\n").unwrap();
        assert_eq!(m.total, u64::MAX);
        // Available above total (a torn read) is clamped; SwapFree above SwapTotal likewise.
        let m = parse_meminfo(
            "MemTotal: 10 kB\nMemAvailable: 20 kB\nSwapTotal: 1 kB\nSwapFree: 5 kB\n",
        )
        .unwrap();
        assert_eq!(m.used(), 0);
        assert_eq!(m.swap_used(), 0);
    }

    const STAT: &str = "cpu  20132 0 4672 66206 221 0 142 104 0 0\n\
        cpu0 8835 0 2241 34511 37 0 69 50 0 0\n\
        cpu1 11296 0 2430 31695 183 0 73 54 0 0\n\
        intr 1 2 3\n\
        btime 1763920000\n\
        processes 13927\n";

    #[test]
    fn proc_stat() {
        let s = parse_proc_stat(STAT).unwrap();
        assert_eq!(s.total.user, 20132);
        assert_eq!(s.total.steal, 104);
        assert_eq!(s.per_cpu.len(), 2);
        assert_eq!(s.per_cpu[1].0, 1);
        assert_eq!(s.per_cpu[1].1.idle, 31695);
        assert_eq!(s.btime, Some(1_763_920_000));
        // Old kernels: four fields.
        let s = parse_proc_stat("cpu 1 2 3 4\n").unwrap();
        assert_eq!(s.total.idle, 4);
        assert_eq!(s.total.iowait, 0);
        assert_eq!(s.btime, None);
    }

    #[test]
    fn proc_stat_hostile() {
        assert_eq!(parse_proc_stat(""), None);
        assert_eq!(parse_proc_stat("cpu 1 2\n"), None);
        assert_eq!(parse_proc_stat("cpu a b c d\n"), None);
        // A garbage per-cpu line is skipped, the rest survives.
        let s = parse_proc_stat("cpu 1 2 3 4\ncpuX 1 2 3 4\ncpu0 1 2 x 4\ncpu1 1 1 1 1\n").unwrap();
        assert_eq!(s.per_cpu.len(), 1);
        assert_eq!(s.per_cpu[0].0, 1);
    }

    #[test]
    fn usage_between_samples() {
        let a = CpuTimes {
            user: 100,
            idle: 100,
            ..CpuTimes::default()
        };
        let b = CpuTimes {
            user: 130,
            system: 10,
            idle: 150,
            iowait: 10,
            ..CpuTimes::default()
        };
        let u = cpu_usage(&a, &b);
        // 100 ticks elapsed: 30 user + 10 system busy, 50 idle + 10 iowait.
        assert_eq!(u.busy, 40.0);
        assert_eq!(u.user, 30.0);
        assert_eq!(u.system, 10.0);
        assert_eq!(u.iowait, 10.0);
        assert_eq!(u.idle, 50.0);
        // No time elapsed, or counters that ran backwards: idle, never NaN or negative.
        let u = cpu_usage(&b, &b);
        assert_eq!((u.busy, u.idle), (0.0, 100.0));
        let u = cpu_usage(&b, &a);
        assert_eq!(u.busy, 0.0);
        assert!(u.idle.is_finite());
    }

    const CPUINFO_X86: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
        cpu MHz\t\t: 2445.412\nphysical id\t: 0\ncore id\t\t: 0\n\n\
        processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
        cpu MHz\t\t: 2400.000\nphysical id\t: 0\ncore id\t\t: 1\n\n\
        processor\t: 2\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
        cpu MHz\t\t: 1500.5\nphysical id\t: 0\ncore id\t\t: 0\n\n";

    #[test]
    fn cpuinfo_x86() {
        let c = parse_cpuinfo(CPUINFO_X86);
        assert_eq!(c.model.as_deref(), Some("AMD EPYC"));
        assert_eq!(c.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(c.logical, 3);
        // Processors 0 and 2 are hyperthreads of core 0.
        assert_eq!(c.cores, Some(2));
        assert_eq!(c.sockets, Some(1));
        assert_eq!(c.mhz, vec![(0, 2445.412), (1, 2400.0), (2, 1500.5)]);
    }

    #[test]
    fn cpuinfo_arm_and_hostile() {
        let c = parse_cpuinfo(
            "processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n\
             processor\t: 1\nCPU implementer\t: 0x41\n\nHardware\t: BCM2835\n",
        );
        assert_eq!(c.logical, 2);
        assert_eq!(c.vendor.as_deref(), Some("0x41"));
        assert_eq!(c.model.as_deref(), Some("BCM2835"));
        assert_eq!(c.cores, None);
        assert!(c.mhz.is_empty());
        // Old ARM: "Processor" names the model, "processor" numbers the CPU.
        let c = parse_cpuinfo(
            "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nHardware\t: X\n",
        );
        assert_eq!(c.model.as_deref(), Some("ARMv7 Processor rev 4 (v7l)"));
        assert_eq!(c.logical, 1);
        let c = parse_cpuinfo("");
        assert_eq!(c, CpuInfo::default());
        let c = parse_cpuinfo("processor: zero\ncpu MHz: -5\nmodel name:\n:::\n");
        assert_eq!(c.logical, 0);
        assert!(c.mhz.is_empty());
        assert_eq!(c.model, None);
        let long = format!("model name: {}\n", "x".repeat(1000));
        assert_eq!(
            parse_cpuinfo(&long).model.map(|m| m.len()),
            Some(CPUINFO_MAX_VALUE)
        );
    }

    #[test]
    fn khz() {
        assert_eq!(parse_khz_as_mhz("2400000\n"), Some(2400.0));
        assert_eq!(parse_khz_as_mhz("0"), None);
        assert_eq!(parse_khz_as_mhz("<unknown>"), None);
        assert_eq!(parse_khz_as_mhz(""), None);
    }

    const MOUNTINFO: &[u8] = b"22 27 0:21 / /proc rw,relatime - proc proc rw\n\
        27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
        36 35 98:0 /mnt1 /mnt/my\\040disk\\011tab rw,noatime master:1 shared:7 - ext3 /dev/root\\040x ro,errors=continue\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
        50 27 0:50 / /srv ro,relatime - nfs4 server:/export rw,vers=4.2\n";

    #[test]
    fn mountinfo() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 5);
        assert_eq!(m[1].mount_point, b"/");
        assert_eq!(m[1].fstype, "ext4");
        assert_eq!(m[1].source, b"/dev/vda");
        assert_eq!(m[1].device_number, "254:0");
        assert!(!m[1].read_only());
        // Optional fields skipped, escapes decoded, superblock ro seen.
        assert_eq!(m[2].mount_point, b"/mnt/my disk\ttab");
        assert_eq!(m[2].root, b"/mnt1");
        assert_eq!(m[2].fstype, "ext3");
        assert_eq!(m[2].source, b"/dev/root x");
        assert_eq!(m[2].optional, ["master:1", "shared:7"]);
        assert!(m[1].optional.is_empty());
        assert!(m[2].read_only());
        assert!(m[4].read_only());
        assert_eq!(m[4].super_options, "rw,vers=4.2");
        assert!(is_virtual_fs(&m[0].fstype));
        assert!(is_virtual_fs(&m[3].fstype));
        assert!(!is_virtual_fs(&m[1].fstype));
        assert!(!is_virtual_fs(&m[4].fstype));
    }

    #[test]
    fn mountinfo_hostile() {
        assert!(parse_mountinfo(b"").is_empty());
        // No separator, too few fields, non-numeric ids: skipped.
        assert!(parse_mountinfo(b"22 27 0:21 / /proc rw,relatime proc proc rw\n").is_empty());
        assert!(parse_mountinfo(b"22 27 0:21 /\n").is_empty());
        assert!(parse_mountinfo(b"x 27 0:21 / /p rw - proc proc rw\n").is_empty());
        // Non-UTF-8 mount point survives as bytes; missing super options are empty.
        let m = parse_mountinfo(b"1 2 0:1 / /\xff\xfe rw - ext4 /dev/x\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, b"/\xff\xfe");
        assert_eq!(m[0].super_options, "");
        // One bad line among good ones does not lose the good ones.
        let mut text = b"garbage\n\n".to_vec();
        text.extend_from_slice(MOUNTINFO);
        assert_eq!(parse_mountinfo(&text).len(), 5);
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_octal(b"a\\040b"), b"a b");
        assert_eq!(unescape_octal(b"\\134\\012"), b"\\\n");
        // Not escapes: too short, non-octal digits, out of byte range.
        assert_eq!(unescape_octal(b"a\\04"), b"a\\04");
        assert_eq!(unescape_octal(b"\\089"), b"\\089");
        assert_eq!(unescape_octal(b"\\777"), b"\\777");
        assert_eq!(unescape_octal(b"\\"), b"\\");
    }

    const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit\n \
        face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
        lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0\n  \
        eth0: 274520565   11605    1    2    0     0          0         0   987718    8792    3    4    0     0       0          0\n\
        eth1:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";

    #[test]
    fn net_dev() {
        let d = parse_net_dev(NET_DEV);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "lo");
        assert_eq!(d[1].name, "eth0");
        assert_eq!(d[1].rx_bytes, 274_520_565);
        assert_eq!(
            (
                d[1].rx_errors,
                d[1].rx_dropped,
                d[1].tx_errors,
                d[1].tx_dropped
            ),
            (1, 2, 3, 4)
        );
        assert_eq!(d[1].tx_packets, 8792);
        // Old kernels glued large counters to the colon.
        assert_eq!(d[2].name, "eth1");
        assert_eq!(d[2].rx_bytes, 1);
        assert_eq!(d[2].tx_bytes, 9);
    }

    #[test]
    fn net_dev_hostile() {
        assert!(parse_net_dev("").is_empty());
        assert!(parse_net_dev("eth0: 1 2 3\n").is_empty());
        assert!(parse_net_dev("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n").is_empty());
        assert!(parse_net_dev("../../etc: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n").is_empty());
        assert!(
            parse_net_dev("averyveryverylongname: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
                .is_empty()
        );
        assert!(!is_valid_ifname(".."));
        assert!(!is_valid_ifname(""));
        assert!(!is_valid_ifname("a b"));
        assert!(is_valid_ifname("veth1a2b3c4"));
    }

    #[test]
    fn if_inet6() {
        let a = parse_if_inet6(
            "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
             00000000000000000000000000000001 01 80 10 80       lo\n\
             fd000000000000000000000000000002 04 40 00 82     eth0\n",
        );
        assert_eq!(a.len(), 3);
        assert_eq!(
            a[0].address,
            "fe80::fc:ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!((a[0].prefix_len, a[0].scope), (64, "link"));
        assert_eq!(a[1].address, Ipv6Addr::LOCALHOST);
        assert_eq!(
            (a[1].prefix_len, a[1].scope, a[1].interface.as_str()),
            (128, "host", "lo")
        );
        assert_eq!(a[2].scope, "global");
        // Short address, bad hex, prefix > 128, missing name: skipped.
        assert!(parse_if_inet6("fe80 04 40 20 80 eth0\n").is_empty());
        assert!(parse_if_inet6("zz8000000000000000fc00fffe000001 04 40 20 80 eth0\n").is_empty());
        assert!(parse_if_inet6("fe8000000000000000fc00fffe000001 04 ff 20 80 eth0\n").is_empty());
        assert!(parse_if_inet6("fe8000000000000000fc00fffe000001 04 40 20 80\n").is_empty());
    }

    fn stat_line(comm: &str) -> Vec<u8> {
        format!(
            "1234 ({comm}) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 5000 123456789 456 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        )
        .into_bytes()
    }

    #[test]
    fn pid_stat() {
        let s = parse_pid_stat(&stat_line("bash")).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm, "bash");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!((s.utime, s.stime, s.cpu_ticks()), (250, 50, 300));
        assert_eq!(s.num_threads, 3);
        assert_eq!(s.starttime, 5000);
        assert_eq!(s.vsize, 123_456_789);
        assert_eq!(s.rss_pages, 456);
        assert!(!s.is_kernel_thread());
    }

    #[test]
    fn pid_stat_hostile_names() {
        for comm in [
            "a b",
            "x) R 99 (y",
            "((()",
            ")",
            "line\nbreak",
            "",
            "Web Content",
        ] {
            let s = parse_pid_stat(&stat_line(comm)).unwrap();
            assert_eq!(s.comm, comm, "comm {comm:?}");
            assert_eq!(s.state, 'S');
            assert_eq!(s.ppid, 1);
            assert_eq!(s.num_threads, 3);
        }
        // Non-UTF-8 names come out lossy, the numbers intact.
        let mut raw = b"7 (\xff\xfe) R 1 7 7 0 -1 2097152 0 0 0 0 1 2 0 0 20 0 1 0 9 0 0".to_vec();
        raw.push(b'\n');
        let s = parse_pid_stat(&raw).unwrap();
        assert_eq!(s.comm, "\u{fffd}\u{fffd}");
        assert!(s.is_kernel_thread());
        assert_eq!(s.rss_pages, 0);
    }

    #[test]
    fn pid_stat_context_fields() {
        let s = parse_pid_stat(b"9 (x) S 1 9 9 34816 -1 0 0 0 0 0 7 3 0 0 25 5 1 0 1 1 1").unwrap();
        assert_eq!((s.priority, s.nice, s.tty_nr), (25, 5, 34816));
        assert_eq!(s.cpu_ticks(), 10);
        // Real-time priorities are negative; a nice outside -20..=19 is not a stat line.
        let s = parse_pid_stat(b"9 (x) S 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 -51 0 1 0 1 1 1").unwrap();
        assert_eq!(s.priority, -51);
        assert_eq!(
            parse_pid_stat(b"9 (x) S 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 20 20 1 0 1 1 1"),
            None
        );
        assert_eq!(
            parse_pid_stat(b"9 (x) S 1 9 9 zz -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1"),
            None
        );
    }

    #[test]
    fn status_numbers() {
        let text = b"Name:\tbash\nTgid:\t42\nTgidX:\t7\nPid:\t43\nBad:\tx\n";
        assert_eq!(parse_status_number(text, "Tgid"), Some(42));
        assert_eq!(parse_status_number(text, "Pid"), Some(43));
        assert_eq!(parse_status_number(text, "Bad"), None);
        assert_eq!(parse_status_number(text, "Gone"), None);
        assert_eq!(parse_status_number(b"Tgid:", "Tgid"), None);
    }

    #[test]
    fn tty_numbers() {
        // (tty_nr, name): pts majors 136..=143, consoles, serial ports, the extended minor bits.
        for (nr, name) in [
            (0, None),
            (34816, Some("pts/0")),
            (34817 + 4, Some("pts/5")),
            ((137 << 8) | 3, Some("pts/259")),
            ((136 << 8) | (1 << 20), Some("pts/256")),
            (1025, Some("tty1")),
            ((4 << 8) | 63, Some("tty63")),
            ((4 << 8) | 64, Some("ttyS0")),
            ((4 << 8) | 65, Some("ttyS1")),
            (5 << 8, Some("tty")),
            ((5 << 8) | 1, Some("console")),
            ((204 << 8) | 64, Some("204:64")),
            (-1, None),
            (i64::MAX, None),
        ] {
            assert_eq!(tty_name(nr).as_deref(), name, "{nr}");
        }
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_733_999_445), "2024-12-12T10:30:45Z");
        assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn pid_stat_garbage() {
        assert_eq!(parse_pid_stat(b""), None);
        assert_eq!(parse_pid_stat(b"1234 (bash"), None);
        assert_eq!(parse_pid_stat(b"1234 )bash( S 1"), None);
        assert_eq!(parse_pid_stat(b"1234 (bash) S 1 2 3"), None);
        assert_eq!(
            parse_pid_stat(b"abc (bash) S 1 1234 1234 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1"),
            None
        );
        // Truncated mid-way through the fields we need.
        let full = stat_line("bash");
        assert_eq!(parse_pid_stat(&full[..60]), None);
        // A two-letter state is not a state.
        assert_eq!(
            parse_pid_stat(b"1 (x) SS 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1"),
            None
        );
        // Negative rss reads as zero rather than failing the process.
        let s = parse_pid_stat(b"1 (x) S 0 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 -5").unwrap();
        assert_eq!(s.rss_pages, 0);
        assert_eq!(state_name(s.state), "sleeping");
        assert_eq!(state_name('?'), "unknown");
        assert_eq!(pid_of_name("42"), Some(42));
        for not_a_pid in ["", "+4", "self", "4294967296"] {
            assert_eq!(pid_of_name(not_a_pid), None, "{not_a_pid}");
        }
    }

    #[test]
    fn status_uids() {
        let text = b"Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1000\t1000\nGid:\t100\t100\t100\t100\n";
        assert_eq!(parse_status_uids(text), Some((1000, 1001)));
        assert_eq!(parse_status_uids(b"Name:\tbash\n"), None);
        assert_eq!(parse_status_uids(b"Uid:\n"), None);
        assert_eq!(parse_status_uids(b"Uid:\t-1\t0\n"), None);
        assert_eq!(parse_status_uids(b""), None);
        // A process named "Uid:" cannot spoof the line: Name comes first and is its own line.
        assert_eq!(
            parse_status_uids(b"Name:\tUid: 0 0\nUid:\t5\t6\t5\t5\n"),
            Some((5, 6))
        );
    }

    #[test]
    fn cmdline() {
        assert_eq!(
            parse_cmdline(b"sleep\x0030\x00SECRETMARK\x00", 1024, false),
            ("sleep 30 SECRETMARK".to_string(), false)
        );
        assert_eq!(parse_cmdline(b"", 1024, false), (String::new(), false));
        assert_eq!(
            parse_cmdline(b"\x00\x00", 1024, false),
            (String::new(), false)
        );
        // Empty arguments in the middle are kept as (double) spaces.
        assert_eq!(parse_cmdline(b"a\x00\x00b\x00", 1024, false).0, "a  b");
        // setproctitle style: no NULs at all.
        assert_eq!(
            parse_cmdline(b"nginx: worker process", 1024, false).0,
            "nginx: worker process"
        );
        let long = vec![b'x'; 5000];
        let (s, cut) = parse_cmdline(&long, 1024, false);
        assert_eq!((s.chars().count(), cut), (1024, true));
        // Exactly at the limit is not cut; the reader stopping early is.
        let (s, cut) = parse_cmdline(&long[..1024], 1024, false);
        assert_eq!((s.len(), cut), (1024, false));
        assert!(parse_cmdline(b"abc", 1024, true).1);
        // Multi-byte characters count as characters, invalid bytes become U+FFFD.
        let (s, cut) = parse_cmdline("é".repeat(2000).as_bytes(), 1024, false);
        assert_eq!((s.chars().count(), cut), (1024, true));
        assert_eq!(parse_cmdline(b"a\xffb", 1024, false).0, "a\u{fffd}b");
    }

    #[test]
    fn passwd() {
        let p = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\
             # comment\n\
             +nisuser::::::\n\
             daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
             broken:x:notanumber:1::/:\n\
             short:x\n\
             \n\
             big:x:4294967295:0::/:\n\
             toobig:x:4294967296:0::/:\n",
        );
        assert_eq!(
            p,
            vec![
                ("root".to_string(), 0),
                ("daemon".to_string(), 1),
                ("big".to_string(), u32::MAX)
            ]
        );
        assert!(parse_passwd("").is_empty());
        assert_eq!(user_name(&p, 1), "daemon");
        assert_eq!(user_name(&p, 7), "7");
        assert_eq!(uid_of(&p, "big"), Some(u32::MAX));
        assert_eq!(uid_of(&p, "nobody"), None);
    }

    #[test]
    fn temperatures() {
        assert_eq!(parse_millidegrees("45000\n"), Some(45.0));
        assert_eq!(parse_millidegrees("-5500"), Some(-5.5));
        assert_eq!(parse_millidegrees("-300000"), None);
        assert_eq!(parse_millidegrees("2000000"), None);
        assert_eq!(parse_millidegrees(""), None);
        assert_eq!(parse_millidegrees("N/A"), None);
        assert_eq!(hwmon_temp_index("temp1_input"), Some(1));
        assert_eq!(hwmon_temp_index("temp12_input"), Some(12));
        assert_eq!(hwmon_temp_index("temp_input"), None);
        assert_eq!(hwmon_temp_index("temp1_label"), None);
        assert_eq!(hwmon_temp_index("temp+1_input"), None);
        assert_eq!(hwmon_temp_index("in0_input"), None);
        assert_eq!(numbered_entry("thermal_zone3", "thermal_zone"), Some(3));
        assert_eq!(numbered_entry("thermal_zone", "thermal_zone"), None);
        assert_eq!(numbered_entry("cooling_device0", "thermal_zone"), None);
        assert_eq!(
            sysfs_label("  Package id 0\n"),
            Some("Package id 0".to_string())
        );
        assert_eq!(sysfs_label("\n"), None);
        assert_eq!(sysfs_label("a\u{1b}[31mb"), Some("a[31mb".to_string()));
        assert_eq!(sysfs_label(&"y".repeat(500)).map(|s| s.len()), Some(64));
    }
}

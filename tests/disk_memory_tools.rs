//! `get_disk_io`, `get_block_devices` and the memory-pressure part of `get_memory_info`, run on
//! this machine through the gate and the output-schema check a session uses, and through the
//! real binary over stdio. Values are compared with what the kernel says independently: two
//! reads of `/proc/diskstats` and `/proc/vmstat` made here, `lsblk -J`, and a loop device
//! (when run as root) with a partition table, a filesystem and a mount made by the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers set up and read the host for the tests, which stop at the first surprise"
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use common::euid_is_root as is_root;
use common::host::{host_lock, output as run};
use common::in_process::{
    assert_cancelled_mid_call, assert_deadline_stops_call, assert_sample_progress, call, call_with,
    f, u,
};
use common::schema::{assert_fits, listed_output_schemas, ok_result};
use serde_json::{Value, json};
use sysgate::testing::error::ToolError;
use sysgate::testing::tools::Cancel;

/// One line of `/proc/diskstats`, read here without the server's parser (iostats.rst: after
/// `major minor name`, reads, merged, sectors read, ms reading, writes, merged, sectors
/// written, ms writing, in flight, ms doing I/O, weighted ms, ...).
struct Raw {
    major: u64,
    minor: u64,
    reads: u64,
    writes: u64,
    sectors_read: u64,
    sectors_written: u64,
    in_flight: u64,
    io_ms: u64,
}

impl Raw {
    fn read_bytes(&self) -> u64 {
        self.sectors_read * 512
    }
    fn written_bytes(&self) -> u64 {
        self.sectors_written * 512
    }
    fn is_unused(&self) -> bool {
        self.reads == 0 && self.writes == 0 && self.in_flight == 0
    }
}

fn diskstats() -> BTreeMap<String, Raw> {
    std::fs::read_to_string("/proc/diskstats")
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| -> u64 { f[i].parse().unwrap() };
            let raw = Raw {
                major: n(0),
                minor: n(1),
                reads: n(3),
                sectors_read: n(5),
                writes: n(7),
                sectors_written: n(9),
                in_flight: n(11),
                io_ms: n(12),
            };
            (f[2].to_string(), raw)
        })
        .collect()
}

/// The `/proc/vmstat` counters the tool reports, read here without the server's parser.
struct Vm {
    pswpin: Option<u64>,
    pswpout: Option<u64>,
    pgfault: Option<u64>,
    pgmajfault: Option<u64>,
    oom_kill: Option<u64>,
}

fn vmstat() -> Vm {
    let text = std::fs::read_to_string("/proc/vmstat").unwrap();
    let get = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(|v| v.trim().parse().unwrap())
    };
    Vm {
        pswpin: get("pswpin"),
        pswpout: get("pswpout"),
        pgfault: get("pgfault"),
        pgmajfault: get("pgmajfault"),
        oom_kill: get("oom_kill"),
    }
}

/// A loop device over a 16 MiB file with one MBR partition (sectors 2048..30720) and an ext4
/// filesystem mounted on a scratch directory: on the partition where the kernel reads MBR
/// partition tables, else (a kernel built without partition support) on the whole device.
/// Unmounted and detached on drop.
struct LoopDisk {
    _dir: common::TempDir,
    image: PathBuf,
    mount: PathBuf,
    dev: String,
    /// The partition's name, when the kernel found it.
    part: Option<String>,
    mounted: bool,
}

const PART_START: u64 = 2048;
const PART_SECTORS: u64 = 28672;

impl LoopDisk {
    fn new(with_fs: bool) -> Result<LoopDisk, String> {
        let dir = common::TempDir::new("loopdisk");
        let image = dir.path("disk.img");
        let mut mbr = vec![0u8; 512];
        // One primary Linux partition: status, CHS (unused), type 0x83, CHS, LBA start, size.
        let entry = &mut mbr[446..462];
        entry[4] = 0x83;
        entry[8..12].copy_from_slice(&(PART_START as u32).to_le_bytes());
        entry[12..16].copy_from_slice(&(PART_SECTORS as u32).to_le_bytes());
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        let mut file = std::fs::File::create(&image).map_err(|e| e.to_string())?;
        file.write_all(&mbr).map_err(|e| e.to_string())?;
        file.set_len(16 << 20).map_err(|e| e.to_string())?;
        drop(file);
        let img = image.to_str().unwrap();
        let dev = run("losetup", &["--find", "--show", "--partscan", img])?
            .trim()
            .to_string();
        let mount = dir.path("mnt");
        std::fs::create_dir(&mount).unwrap();
        let mut d = LoopDisk {
            _dir: dir,
            image,
            mount,
            dev,
            part: None,
            mounted: false,
        };
        if !with_fs {
            return Ok(d);
        }
        let name = d.name().to_string();
        let part = format!("{name}p1");
        // The scan is synchronous in losetup, the device node (without udev) maybe not.
        if Path::new(&format!("/sys/block/{name}/{part}")).exists() {
            for _ in 0..100 {
                if Path::new(&format!("/dev/{part}")).exists() {
                    d.part = Some(part.clone());
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        } else {
            eprintln!("this kernel finds no MBR partitions on {name}: using the whole device");
        }
        let target = format!("/dev/{}", d.part.as_deref().unwrap_or(&name));
        run("mkfs.ext4", &["-q", "-F", &target])?;
        run("mount", &[&target, d.mount.to_str().unwrap()])?;
        d.mounted = true;
        Ok(d)
    }

    fn name(&self) -> &str {
        self.dev.trim_start_matches("/dev/")
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = run("umount", &[self.mount.to_str().unwrap()]);
        }
        let _ = run("losetup", &["-d", &self.dev]);
    }
}

/// A loop device for the tests that need one (with a mounted filesystem, or raw), or why
/// there is none.
fn loop_disk(with_fs: bool) -> Option<LoopDisk> {
    if !is_root() {
        eprintln!("skipping the loop device part: not root");
        return None;
    }
    match LoopDisk::new(with_fs) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("skipping the loop device part: {e}");
            None
        }
    }
}

// -- get_disk_io --------------------------------------------------------------------------------

#[test]
fn disk_io_without_a_sample_gives_counters_and_says_why_no_rates() {
    let _host = host_lock();
    let before = diskstats();
    let v = call("get_disk_io", json!({"sample_ms": 0}));
    let after = diskstats();
    assert_eq!(v["sample_ms"], 0);
    assert!(
        v["rates_reason"]
            .as_str()
            .unwrap()
            .contains("sample_ms is 0")
    );
    assert!(v.get("elapsed_ms").is_none());
    let devs = v["devices"].as_array().unwrap();
    let used = after.values().filter(|d| !d.is_unused()).count();
    assert!(devs.len() <= after.len());
    assert_eq!(devs.len() + u(&v["unused_devices"]) as usize, after.len());
    assert!(used >= devs.len().saturating_sub(1));
    for d in devs {
        assert!(d.get("reads_per_sec").is_none(), "{d}");
        assert!(d.get("util_percent").is_none(), "{d}");
        let name = d["name"].as_str().unwrap();
        let (b, a) = (&before[name], &after[name]);
        assert_eq!((u(&d["major"]), u(&d["minor"])), (a.major, a.minor));
        // Cumulative counters: read between the test's two reads.
        for (key, lo, hi) in [
            ("reads", b.reads, a.reads),
            ("writes", b.writes, a.writes),
            ("read_bytes", b.read_bytes(), a.read_bytes()),
            ("write_bytes", b.written_bytes(), a.written_bytes()),
            ("io_ms", b.io_ms, a.io_ms),
        ] {
            let got = u(&d[key]);
            assert!(
                lo <= got && got <= hi,
                "{name} {key}: {lo} <= {got} <= {hi}"
            );
        }
    }
    // include_unused lists every device of /proc/diskstats.
    let all = call(
        "get_disk_io",
        json!({"sample_ms": 0, "include_unused": true}),
    );
    assert_eq!(all["devices"].as_array().unwrap().len(), diskstats().len());
    assert_eq!(all["unused_devices"], 0);
}

#[test]
fn disk_io_rates_match_iostat_arithmetic_on_a_loop_device() {
    let _host = host_lock();
    let disk = loop_disk(false);
    let events = Mutex::new(Vec::new());
    let dd_error = Mutex::new(None);
    // The first progress message comes after the first sample: write 4 MiB to the raw loop
    // device (direct, so it reaches the device now) before the second.
    let sink = |done: f64, total: Option<f64>, msg: &str| {
        events.lock().unwrap().push((done, total, msg.to_string()));
        if done == 0.0
            && let Some(d) = &disk
        {
            let of = format!("of={}", d.dev);
            if let Err(e) = run(
                "dd",
                &["if=/dev/zero", &of, "bs=64k", "count=64", "oflag=direct"],
            ) {
                *dd_error.lock().unwrap() = Some(e);
            }
        }
    };
    let before = diskstats();
    let v = call_with(
        "get_disk_io",
        json!({"sample_ms": 400}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    let after = diskstats();
    assert_eq!(*dd_error.lock().unwrap(), None);

    let ev = events.lock().unwrap().clone();
    assert_sample_progress(&ev, 400);

    assert_eq!(v["sample_ms"], 400);
    assert!(v.get("rates_reason").is_none());
    let secs = f(&v["elapsed_ms"]) / 1000.0;
    assert!((0.4..2.0).contains(&secs), "{secs}");
    for d in v["devices"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let Some(reads_ps) = d.get("reads_per_sec") else {
            // Only a device that appeared or was reset mid-sample may lack rates.
            assert!(d["rates_reason"].is_string(), "{d}");
            continue;
        };
        let (b, a) = (&before[name], &after[name]);
        // The tool's sample lies inside the test's window: its deltas are at most ours (0.5 %
        // and one unit of slack for the two-decimal rounding).
        for (rate, lo, hi) in [
            (f(reads_ps), b.reads, a.reads),
            (f(&d["writes_per_sec"]), b.writes, a.writes),
            (f(&d["read_bytes_per_sec"]), b.read_bytes(), a.read_bytes()),
            (
                f(&d["write_bytes_per_sec"]),
                b.written_bytes(),
                a.written_bytes(),
            ),
        ] {
            assert!(rate >= 0.0);
            let delta = rate * secs;
            let ours = (hi - lo) as f64;
            assert!(delta <= ours * 1.005 + 1.0, "{name}: {delta} > {ours}");
        }
        let util = f(&d["util_percent"]);
        assert!((0.0..=100.0).contains(&util), "{name}: {util}");
        assert!(f(&d["queue_size"]) >= 0.0 && f(&d["read_await_ms"]) >= 0.0);
    }

    let Some(disk) = disk else { return };
    // Nothing but dd wrote to our loop device: exactly 4 MiB in the sample, in the tool's
    // rates and in the test's own two reads.
    let name = disk.name();
    let (b, a) = (&before[name], &after[name]);
    assert_eq!(a.written_bytes() - b.written_bytes(), 4 << 20);
    let d = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .expect("the loop device is listed");
    let written = f(&d["write_bytes_per_sec"]) * secs;
    assert!(
        (written - f64::from(4u32 << 20)).abs() < f64::from(4u32 << 20) * 0.005,
        "{written}"
    );
    let writes = f(&d["writes_per_sec"]) * secs;
    let ours = (a.writes - b.writes) as f64;
    assert!(
        (writes - ours).abs() <= ours * 0.005 + 0.5,
        "{writes} vs {ours}"
    );
    assert!(f(&d["write_await_ms"]) >= 0.0);
    // (`util_percent` may well be 0: busy time is counted in jiffies, and 64 fast writes can
    // fall inside one.)
    assert_eq!(u(&d["write_bytes"]), a.written_bytes());
}

#[test]
fn disk_io_arguments_cancellation_and_deadline() {
    for (args, arg) in [
        (json!({"sample_ms": 2001}), "sample_ms"),
        (json!({"sample_ms": -1}), "sample_ms"),
        (json!({"include_unused": "yes"}), "include_unused"),
    ] {
        match call_with("get_disk_io", args.clone(), None, &Cancel::default(), None) {
            Err(ToolError::InvalidArgument { argument, .. }) => assert_eq!(argument, arg),
            other => panic!("{args}: {other:?}"),
        }
    }
    // The upper bound is accepted (and cancelled mid-sample, promptly).
    assert_cancelled_mid_call("get_disk_io", json!({"sample_ms": 2000}));
    // A deadline shorter than the sample stops it the same way.
    assert_deadline_stops_call(
        "get_disk_io",
        json!({"sample_ms": 2000}),
        Duration::from_millis(1000),
    );
    // Every sample reports progress (start and end), however short: the rule of every tool
    // that waits.
    let events = Mutex::new(0);
    let sink = |_: f64, _: Option<f64>, _: &str| *events.lock().unwrap() += 1;
    let v = call_with(
        "get_disk_io",
        json!({"sample_ms": 100}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    assert_eq!(*events.lock().unwrap(), 2);
    assert!(f(&v["elapsed_ms"]) >= 100.0);
}

// -- get_block_devices ---------------------------------------------------------------------------

/// lsblk's devices, flattened, by kernel name.
fn lsblk() -> BTreeMap<String, Value> {
    let out = run(
        "lsblk",
        &[
            "-J",
            "-b",
            "-o",
            "KNAME,MAJ:MIN,SIZE,RO,RM,ROTA,TYPE,PKNAME,MOUNTPOINTS",
        ],
    )
    .expect("lsblk runs (util-linux)");
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut map = BTreeMap::new();
    fn walk(list: &Value, map: &mut BTreeMap<String, Value>) {
        for d in list.as_array().into_iter().flatten() {
            walk(&d["children"], map);
            map.insert(d["kname"].as_str().unwrap().to_string(), d.clone());
        }
    }
    walk(&v["blockdevices"], &mut map);
    map
}

fn lsblk_bool(v: &Value) -> bool {
    // lsblk 2.38 prints booleans; older ones print "0"/"1".
    v.as_bool().unwrap_or_else(|| v == "1" || v == 1)
}

#[test]
fn block_devices_match_lsblk_and_a_loop_disk_we_made() {
    let _host = host_lock();
    let disk = loop_disk(true);
    let v = call("get_block_devices", json!({"include_empty": true}));
    let listed = lsblk();
    let ours: BTreeMap<String, &Value> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_string(), d))
        .collect();
    assert!(!listed.is_empty(), "lsblk sees no devices");
    for (name, l) in &listed {
        let d = ours
            .get(name)
            .unwrap_or_else(|| panic!("{name} is in lsblk but not in get_block_devices"));
        assert_eq!(
            format!("{}:{}", d["major"], d["minor"]),
            l["maj:min"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(u(&d["size_bytes"]), u(&l["size"]), "{name}");
        assert_eq!(
            d["read_only"].as_bool().unwrap(),
            lsblk_bool(&l["ro"]),
            "{name}"
        );
        if let Some(r) = d.get("rotational") {
            assert_eq!(r.as_bool().unwrap(), lsblk_bool(&l["rota"]), "{name}");
        }
        let kind = d["type"].as_str().unwrap();
        let expect = match l["type"].as_str().unwrap() {
            "part" => "partition",
            "lvm" | "crypt" | "dm" | "mpath" => "dm",
            t if t.starts_with("raid") || t == "md" => "md",
            "loop" => "loop",
            _ => "disk",
        };
        assert_eq!(kind, expect, "{name}");
        if kind == "partition" {
            assert_eq!(d["parent"], l["pkname"], "{name}");
        }
        let mut theirs: Vec<&str> = l["mountpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut mine: Vec<&str> = d["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        theirs.sort_unstable();
        theirs.dedup();
        mine.sort_unstable();
        if d.get("mounts_not_listed").is_none() {
            assert_eq!(mine, theirs, "{name}");
        }
    }
    // Without include_empty, only the size-0 devices go.
    let some = call("get_block_devices", json!({}));
    let kept = some["devices"].as_array().unwrap();
    assert!(kept.iter().all(|d| u(&d["size_bytes"]) > 0));
    assert_eq!(kept.len() + u(&some["empty_devices"]) as usize, ours.len());

    let Some(disk) = disk else { return };
    let name = disk.name();
    let d = ours[name];
    assert_eq!(d["type"], "loop");
    assert_eq!(u(&d["size_bytes"]), 16 << 20);
    assert_eq!(d["backing_file"], disk.image.to_str().unwrap());
    assert!(listed.contains_key(name), "lsblk sees the loop device too");
    let mount = json!([disk.mount.to_str().unwrap()]);
    match &disk.part {
        Some(part) => {
            assert_eq!(d["partitions"], json!([part]));
            let p = ours[part];
            assert_eq!(p["type"], "partition");
            assert_eq!(p["parent"], name);
            assert_eq!(u(&p["size_bytes"]), PART_SECTORS * 512);
            assert_eq!(p["mounts"], mount);
            assert!(listed.contains_key(part), "lsblk sees the partition too");
        }
        None => {
            assert!(d.get("partitions").is_none());
            assert_eq!(d["mounts"], mount);
        }
    }
}

// -- get_memory_info -----------------------------------------------------------------------------

fn meminfo_kb(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

#[test]
fn memory_pressure_fields_match_the_kernel() {
    // Without arguments: /proc/meminfo only (the latency benchmark), nothing from vmstat.
    let plain = call("get_memory_info", json!({}));
    for key in [
        "paging",
        "oom_kills",
        "rates",
        "rates_reason",
        "pressure",
        "pressure_reason",
    ] {
        assert!(plain.get(key).is_none(), "{key}: {plain}");
    }
    assert!(plain["slab"].is_object() && plain["dirty_bytes"].is_u64());

    let vm_before = vmstat();
    let v = call("get_memory_info", json!({"pressure": true}));
    let vm_after = vmstat();
    // The existing fields keep their meaning.
    assert_eq!(
        u(&v["used_bytes"]) + u(&v["available_bytes"]),
        u(&v["total_bytes"])
    );
    assert_eq!(v["sample_ms"], 0);
    assert!(v.get("rates").is_none());
    assert!(
        v["rates_reason"]
            .as_str()
            .unwrap()
            .contains("sample_ms is 0")
    );
    // Counters only grow: the tool's value lies between the test's two reads.
    let p = &v["paging"];
    for (key, lo, hi) in [
        ("page_faults", vm_before.pgfault, vm_after.pgfault),
        (
            "major_page_faults",
            vm_before.pgmajfault,
            vm_after.pgmajfault,
        ),
        ("swap_in_pages", vm_before.pswpin, vm_after.pswpin),
        ("swap_out_pages", vm_before.pswpout, vm_after.pswpout),
    ] {
        match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let got = u(&p[key]);
                assert!(lo <= got && got <= hi, "{key}: {lo} <= {got} <= {hi}");
            }
            _ => assert!(p.get(key).is_none()),
        }
    }
    match (vm_before.oom_kill, vm_after.oom_kill) {
        (Some(lo), Some(hi)) => {
            let got = u(&v["oom_kills"]);
            assert!(lo <= got && got <= hi);
        }
        _ => assert!(v["oom_kills_reason"].is_string()),
    }
    // Hugepage pool sizes do not move unless someone resizes the pool.
    if let Some(total) = meminfo_kb("HugePages_Total") {
        let h = &v["hugepages"];
        assert_eq!(u(&h["total"]), total);
        assert_eq!(u(&h["free"]), meminfo_kb("HugePages_Free").unwrap());
        assert_eq!(u(&h["reserved"]), meminfo_kb("HugePages_Rsvd").unwrap());
        assert_eq!(
            u(&h["page_size_bytes"]),
            meminfo_kb("Hugepagesize").unwrap() * 1024
        );
    } else {
        assert!(v.get("hugepages").is_none());
    }
    assert!(u(&v["slab"]["unreclaimable_bytes"]) > 0);
    assert!(u(&v["slab"]["reclaimable_bytes"]) <= u(&v["cached_bytes"]));
    // Pressure: from the file the tool names, total stall time between two reads of ours.
    match v.get("pressure") {
        Some(pr) => {
            let source = pr["source"].as_str().unwrap();
            assert!(source.ends_with("/memory.pressure"), "{source}");
            let total = |t: &str| -> u64 {
                t.lines()
                    .find(|l| l.starts_with("some "))
                    .and_then(|l| l.split("total=").nth(1))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap()
            };
            let after = total(&std::fs::read_to_string(source).unwrap());
            assert!(u(&pr["some"]["total_us"]) <= after);
            assert!(f(&pr["some"]["avg10"]) <= 100.0);
            assert!(v.get("pressure_reason").is_none());
        }
        None => {
            let why = v["pressure_reason"].as_str().unwrap();
            assert!(why.contains("cgroup v2"), "{why}");
            assert!(
                !Path::new("/sys/fs/cgroup/memory.pressure").exists()
                    && !Path::new("/sys/fs/cgroup/unified/memory.pressure").exists()
            );
        }
    }
}

#[test]
fn memory_rates_see_the_page_faults_we_make() {
    const PAGES: usize = 16 * 1024;
    let events = Mutex::new(Vec::new());
    // During the sample, touch 64 MiB of fresh memory: at least one minor fault per 4 KiB page.
    let sink = |done: f64, total: Option<f64>, msg: &str| {
        events.lock().unwrap().push((done, total, msg.to_string()));
        if done == 0.0 {
            // Zeroed allocations of this size are fresh mappings: each first write faults.
            let mut v = vec![0u8; PAGES * 4096];
            for i in 0..PAGES {
                v[i * 4096] = 1;
            }
            std::hint::black_box(&v);
        }
    };
    let before = vmstat();
    let v = call_with(
        "get_memory_info",
        json!({"sample_ms": 300}),
        None,
        &Cancel::default(),
        Some(&sink),
    )
    .unwrap();
    let after = vmstat();
    assert_eq!(events.lock().unwrap().len(), 2);
    assert_eq!(v["sample_ms"], 300);
    assert!(v.get("rates_reason").is_none());
    let r = &v["rates"];
    let secs = f(&r["elapsed_ms"]) / 1000.0;
    assert!(secs >= 0.3, "{secs}");
    let faults = f(&r["page_faults_per_sec"]) * secs;
    let ours = (after.pgfault.unwrap() - before.pgfault.unwrap()) as f64;
    // With transparent huge pages always on, one fault can map 2 MiB (512 pages).
    let thp_always = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|t| t.contains("[always]"));
    let least = if thp_always { PAGES / 512 } else { PAGES };
    assert!(
        faults >= least as f64 * 0.99,
        "{faults} faults for {PAGES} fresh pages"
    );
    assert!(faults <= ours * 1.005 + 1.0, "{faults} > {ours}");
    for k in [
        "swap_in_pages_per_sec",
        "swap_out_pages_per_sec",
        "major_page_faults_per_sec",
    ] {
        assert!(f(&r[k]) >= 0.0, "{k}");
    }

    // Bounds: 500 is the most (it must fit the 1 s deadline of its class).
    match call_with(
        "get_memory_info",
        json!({"sample_ms": 501}),
        None,
        &Cancel::default(),
        None,
    ) {
        Err(ToolError::InvalidArgument { argument, .. }) => assert_eq!(argument, "sample_ms"),
        other => panic!("{other:?}"),
    }
    let cancel = Cancel::default();
    cancel.cancel();
    assert_eq!(
        call_with(
            "get_memory_info",
            json!({"sample_ms": 500}),
            None,
            &cancel,
            None
        )
        .unwrap_err(),
        ToolError::Cancelled
    );
}

// -- through the real binary ---------------------------------------------------------------------

#[test]
fn new_tools_through_the_binary_with_progress_and_their_published_schemas() {
    let (_dir, mut c) = common::serve("disk-mem-bin", "");
    let schemas = listed_output_schemas(&mut c);
    for (name, args) in [
        ("get_disk_io", json!({"sample_ms": 0})),
        (
            "get_disk_io",
            json!({"sample_ms": 50, "include_unused": true}),
        ),
        ("get_block_devices", json!({})),
        (
            "get_block_devices",
            json!({"include_empty": true, "format": "toon"}),
        ),
        ("get_memory_info", json!({})),
        (
            "get_memory_info",
            json!({"pressure": true, "format": "toon"}),
        ),
        ("get_memory_info", json!({"sample_ms": 100})),
    ] {
        let r = c.call(name, args.clone());
        let res = ok_result(&r, &schemas[name], &format!("{name} {args}"));
        // Host strings are fenced as untrusted in the text block.
        let text = res["content"][0]["text"].as_str().unwrap();
        if name != "get_memory_info" {
            assert!(text.starts_with("Untrusted data from "), "{text}");
        }
    }

    // A sampled call with a progressToken gets progress notifications before its answer;
    // without one, none.
    for (i, name) in ["get_disk_io", "get_memory_info"].into_iter().enumerate() {
        let token = format!("tok-{name}");
        let (progress, answer) = collect(
            &mut c,
            json!(format!("p{i}")),
            json!({"name": name, "arguments": {"sample_ms": 300},
                   "_meta": {"progressToken": token}}),
        );
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        assert_eq!(progress.len(), 2, "{name}: {progress:?}");
        assert!(
            progress
                .iter()
                .all(|p| p["progressToken"] == token.as_str())
        );
        assert_eq!(progress[0]["progress"], 0.0);
        assert_eq!(progress[1]["progress"], 1.0);
        assert_fits(&schemas[name], &answer["result"]["structuredContent"], name);

        let (progress, answer) = collect(
            &mut c,
            json!(format!("q{i}")),
            json!({"name": name, "arguments": {"sample_ms": 300}}),
        );
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        assert!(progress.is_empty(), "{name}: {progress:?}");
    }
}

/// Send a tools/call and gather every progress notification until its answer.
fn collect(c: &mut common::Client, id: Value, params: Value) -> (Vec<Value>, Value) {
    c.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
    let mut progress = Vec::new();
    loop {
        let m = c.recv(Duration::from_secs(10)).expect("an answer");
        if m["method"] == "notifications/progress" {
            progress.push(m["params"].clone());
        } else if m["id"] == id {
            return (progress, m);
        }
    }
}

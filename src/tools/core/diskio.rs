#![forbid(unsafe_code)]
//! `get_disk_io`: per-device I/O from two `/proc/diskstats` samples `sample_ms` apart, in the
//! arithmetic of `iostat -x`. Without a sample only the cumulative counters are given, with a
//! reason for the missing rates: a lifetime average is never presented as a rate.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::diskstats::{self, DiskStat, NoRates};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "sample_ms": {"type": "integer", "minimum": 0, "maximum": 2000, "default": 1000,
            "description": "how long to measure the rates, in milliseconds; 0 gives the cumulative counters only"},
        "include_unused": {"type": "boolean", "default": false,
            "description": "also list devices that never did any I/O (idle loop and ram devices)"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["sample_ms", "devices", "unused_devices"],
    "properties": {
        "sample_ms": {"type": "integer", "minimum": 0},
        "elapsed_ms": {"type": "number", "minimum": 0,
            "description": "the measured time between the two samples the rates are over"},
        "rates_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why no device has rates"},
        "devices": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "major", "minor", "reads", "writes", "read_bytes",
                         "write_bytes", "io_ms", "in_flight"],
            "properties": {
                "name": {"type": "string"},
                "major": {"type": "integer", "minimum": 0},
                "minor": {"type": "integer", "minimum": 0},
                "reads": {"type": "integer", "minimum": 0, "description": "completed since boot"},
                "writes": {"type": "integer", "minimum": 0, "description": "completed since boot"},
                "read_bytes": {"type": "integer", "minimum": 0, "description": "since boot"},
                "write_bytes": {"type": "integer", "minimum": 0, "description": "since boot"},
                "io_ms": {"type": "integer", "minimum": 0, "description": "time with I/O in flight since boot"},
                "in_flight": {"type": "integer", "minimum": 0, "description": "I/Os in flight now"},
                "reads_per_sec": {"type": "number", "minimum": 0},
                "writes_per_sec": {"type": "number", "minimum": 0},
                "read_bytes_per_sec": {"type": "number", "minimum": 0},
                "write_bytes_per_sec": {"type": "number", "minimum": 0},
                "read_merged_per_sec": {"type": "number", "minimum": 0},
                "write_merged_per_sec": {"type": "number", "minimum": 0},
                "read_await_ms": {"type": "number", "minimum": 0,
                    "description": "average time per completed read, queueing included (iostat r_await); 0 when none completed"},
                "write_await_ms": {"type": "number", "minimum": 0,
                    "description": "the same for writes (w_await)"},
                "queue_size": {"type": "number", "minimum": 0, "description": "average I/Os in flight (aqu-sz)"},
                "util_percent": {"type": "number", "minimum": 0, "maximum": 100,
                    "description": "share of the sample with I/O in flight (%util)"},
                "rates_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why this device has no rates"}
            }
        }},
        "vanished": {"type": "array", "description": "devices that went away during the sample",
            "items": {"type": "string"}},
        "unused_devices": {"type": "integer", "minimum": 0,
            "description": "devices left out because they never did any I/O"},
        "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why the list is empty"}
    }
}"#;

const DEFAULT_SAMPLE_MS: u64 = 1000;

#[derive(Serialize)]
struct DiskIo {
    sample_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates_reason: Option<&'static str>,
    devices: Vec<Device>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vanished: Vec<String>,
    unused_devices: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

#[derive(Serialize)]
struct Device {
    name: String,
    major: u32,
    minor: u32,
    reads: u64,
    writes: u64,
    read_bytes: u64,
    write_bytes: u64,
    io_ms: u64,
    in_flight: u64,
    #[serde(flatten)]
    rates: Option<Rates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct Rates {
    reads_per_sec: f64,
    writes_per_sec: f64,
    read_bytes_per_sec: f64,
    write_bytes_per_sec: f64,
    read_merged_per_sec: f64,
    write_merged_per_sec: f64,
    read_await_ms: f64,
    write_await_ms: f64,
    queue_size: f64,
    util_percent: f64,
}

fn read_diskstats() -> Result<Vec<DiskStat>, ToolError> {
    Ok(diskstats::parse_diskstats(&read("/proc/diskstats")?))
}

fn sample_ms(args: &Map<String, Value>) -> Result<u64, ToolError> {
    match args.get("sample_ms") {
        None => Ok(DEFAULT_SAMPLE_MS),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 2000)
            .ok_or_else(|| ToolError::InvalidArgument {
                argument: "sample_ms".into(),
                rule: "must be between 0 and 2000".into(),
            }),
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let sample_ms = sample_ms(args)?;
    let include_unused = args
        .get("include_unused")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let (earlier, later, secs) = if sample_ms == 0 {
        (None, read_diskstats()?, None)
    } else {
        let first = read_diskstats()?;
        let t0 = Instant::now();
        ctx.progress(
            0.0,
            Some(2.0),
            &format!("sampling disk I/O for {sample_ms} ms"),
        );
        ctx.sleep(Duration::from_millis(sample_ms))?;
        let second = read_diskstats()?;
        let secs = t0.elapsed().as_secs_f64();
        ctx.progress(1.0, Some(2.0), "computing rates");
        (Some(first), second, Some(secs))
    };

    to_value(&build(
        &|| ctx.check(),
        sample_ms,
        earlier.as_deref().zip(secs),
        &later,
        include_unused,
    )?)
}

/// The answer from the later sample and, when sampled, the earlier one and the seconds between
/// them. Devices are matched by name; one that appeared, was re-created or reset in between
/// gets a reason instead of rates, and one that went away is named in `vanished`.
fn build(
    check: &dyn Fn() -> Result<(), ToolError>,
    sample_ms: u64,
    earlier: Option<(&[DiskStat], f64)>,
    later: &[DiskStat],
    include_unused: bool,
) -> Result<DiskIo, ToolError> {
    let before: BTreeMap<&str, &DiskStat> = earlier
        .map(|(e, _)| e.iter().map(|d| (d.name.as_str(), d)).collect())
        .unwrap_or_default();
    let mut devices = Vec::with_capacity(later.len());
    let mut unused = 0;
    for (i, d) in later.iter().enumerate() {
        if i % 256 == 0 {
            check()?;
        }
        if d.is_unused() && !include_unused {
            unused += 1;
            continue;
        }
        let (rates, rates_reason) = match earlier {
            Some((_, secs)) => match before.get(d.name.as_str()) {
                // Same name, other device number: a different device took the name.
                Some(b) if (b.major, b.minor) != (d.major, d.minor) => {
                    (None, Some(NoRates::Reset.reason()))
                }
                Some(b) => match diskstats::disk_rates(b, d, secs) {
                    Ok(r) => (Some(rates(&r)), None),
                    Err(e) => (None, Some(e.reason())),
                },
                None => (None, Some("the device appeared during the sample")),
            },
            None => (None, None),
        };
        devices.push(Device {
            name: d.name.to_string(),
            major: d.major,
            minor: d.minor,
            reads: d.reads,
            writes: d.writes,
            read_bytes: d.read_bytes(),
            write_bytes: d.written_bytes(),
            io_ms: d.io_ms,
            in_flight: d.in_flight,
            rates,
            rates_reason,
        });
    }
    let now: BTreeSet<&str> = later.iter().map(|d| d.name.as_str()).collect();
    let vanished = before
        .keys()
        .filter(|n| !now.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let reason = if later.is_empty() {
        Some("/proc/diskstats lists no block devices (a container or a host without disks)")
    } else if devices.is_empty() {
        Some("no device has done any I/O since boot (set include_unused to list them)")
    } else {
        None
    };
    Ok(DiskIo {
        sample_ms,
        elapsed_ms: earlier.map(|(_, s)| (s * 1e6).round() / 1e3),
        rates_reason: (sample_ms == 0).then_some(
            "sample_ms is 0: only cumulative counters since boot; rates need a sample (sample_ms > 0)",
        ),
        devices,
        vanished,
        unused_devices: unused,
        reason,
    })
}

/// Rounded for display: two decimals, as the other core tools.
fn rates(r: &diskstats::DiskRates) -> Rates {
    Rates {
        reads_per_sec: round2(r.reads_per_sec),
        writes_per_sec: round2(r.writes_per_sec),
        read_bytes_per_sec: round2(r.read_bytes_per_sec),
        write_bytes_per_sec: round2(r.write_bytes_per_sec),
        read_merged_per_sec: round2(r.read_merged_per_sec),
        write_merged_per_sec: round2(r.write_merged_per_sec),
        read_await_ms: round2(r.read_await_ms),
        write_await_ms: round2(r.write_await_ms),
        queue_size: round2(r.queue_size),
        util_percent: round2(r.util_percent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::diskstats::parse_diskstats;

    fn ok() -> Result<(), ToolError> {
        Ok(())
    }

    fn by_name<'a>(io: &'a DiskIo, name: &str) -> &'a Device {
        io.devices.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn devices_that_come_go_or_change_mid_sample_get_reasons_not_rates() {
        // sda's 32-bit time fields (read_ms, io_ms) wrap during the sample; sdb goes away,
        // sdc appears, dm-0 is re-created (its counters start again), dm-1 is now another
        // device (253:7).
        let top = u64::from(u32::MAX);
        let first = parse_diskstats(&format!(
            "8 0 sda 100 0 800 {} 10 0 80 5 0 {} 55\n\
             8 16 sdb 5 0 40 1 0 0 0 0 0 1 1\n\
             7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n\
             253 0 dm-0 9000 0 72000 10 0 0 0 0 0 10 10\n\
             253 1 dm-1 50 0 400 10 0 0 0 0 0 10 10\n",
            top - 49,
            top - 99
        ));
        let second = parse_diskstats(
            "8 0 sda 300 0 4800 50 10 0 80 5 0 900 55\n\
             8 32 sdc 7 0 56 1 0 0 0 0 0 1 1\n\
             7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n\
             253 0 dm-0 3 0 24 1 0 0 0 0 0 1 1\n\
             253 7 dm-1 60 0 480 10 0 0 0 0 0 10 10\n",
        );
        let io = build(&ok, 1000, Some((&first, 2.0)), &second, false).unwrap();
        let names: Vec<&str> = io.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["sda", "sdc", "dm-0", "dm-1"]);
        assert_eq!(io.unused_devices, 1);
        assert_eq!(io.vanished, ["sdb"]);
        assert_eq!(io.elapsed_ms, Some(2000.0));
        assert!(io.rates_reason.is_none() && io.reason.is_none());

        let sda = by_name(&io, "sda");
        let r = sda.rates.as_ref().unwrap();
        assert_eq!(r.reads_per_sec, 100.0);
        assert_eq!(r.read_bytes_per_sec, 4000.0 * 512.0 / 2.0);
        // 100 ms of reads over 200 reads; 1000 ms busy in a 2000 ms sample.
        assert_eq!(r.read_await_ms, 0.5);
        assert_eq!(r.util_percent, 50.0);
        for (name, why) in [
            ("sdc", "appeared"),
            ("dm-0", "went back"),
            ("dm-1", "re-created"),
        ] {
            let d = by_name(&io, name);
            assert!(d.rates.is_none(), "{name}");
            assert!(
                d.rates_reason.unwrap().contains(why),
                "{name}: {:?}",
                d.rates_reason
            );
        }
        // The cumulative counters are the later sample's.
        assert_eq!(by_name(&io, "dm-0").reads, 3);

        // Rendered, a device with rates carries them flat; one without carries the reason.
        let v = to_value(&io).unwrap();
        assert!(v["devices"][0]["reads_per_sec"].is_number());
        assert!(v["devices"][1].get("reads_per_sec").is_none());
        assert!(v["devices"][1]["rates_reason"].is_string());
    }

    #[test]
    fn no_sample_no_devices_and_cancellation() {
        let later =
            parse_diskstats("8 0 sda 1 0 8 1 0 0 0 0 0 1 1\n7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n");
        let io = build(&ok, 0, None, &later, true).unwrap();
        assert_eq!(io.devices.len(), 2);
        assert!(
            io.devices
                .iter()
                .all(|d| d.rates.is_none() && d.rates_reason.is_none())
        );
        assert!(io.rates_reason.unwrap().contains("sample_ms is 0"));
        assert!(io.elapsed_ms.is_none());

        let empty = build(&ok, 0, None, &[], false).unwrap();
        assert!(empty.devices.is_empty());
        assert!(empty.reason.unwrap().contains("no block devices"));
        let idle = parse_diskstats("7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n");
        let io = build(&ok, 0, None, &idle, false).unwrap();
        assert!(io.reason.unwrap().contains("include_unused"));

        let cancelled = || Err(ToolError::Cancelled);
        assert_eq!(
            build(&cancelled, 0, None, &later, false).err(),
            Some(ToolError::Cancelled)
        );
    }
}

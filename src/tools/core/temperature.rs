#![forbid(unsafe_code)]
//! `get_temperature`: hwmon `temp*_input` files and thermal zones under `/sys/class`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read_path, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::procfs::{hwmon_temp_index, numbered_entry, parse_millidegrees, sysfs_label};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["sensors", "count", "more_not_listed"],
    "properties": {
        "sensors": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["source", "device", "sensor", "celsius"],
            "properties": {
                "source": {"type": "string", "enum": ["hwmon", "thermal"]},
                "device": {"type": "string", "description": "hwmon chip name or thermal zone type"},
                "sensor": {"type": "string", "description": "e.g. hwmon0/temp1 or thermal_zone0"},
                "label": {"type": "string"},
                "celsius": {"type": "number", "minimum": -273.15, "maximum": 1000},
                "max_celsius": {"type": "number", "minimum": -273.15, "maximum": 1000},
                "crit_celsius": {"type": "number", "minimum": -273.15, "maximum": 1000}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many sensors are in `sensors`"},
        "more_not_listed": {"type": "boolean", "description": "more sensors exist than were read"},
        "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why the list is empty"}
    }
}"#;

/// Most sensors reported, and most directory entries looked at per directory.
const MAX_SENSORS: usize = 256;
const MAX_ENTRIES: usize = 4096;

#[derive(Serialize, Debug, Clone, PartialEq)]
pub(super) struct Sensor {
    source: &'static str,
    device: String,
    sensor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    celsius: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_celsius: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crit_celsius: Option<f64>,
}

#[derive(Serialize)]
struct Temperatures {
    sensors: Vec<Sensor>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn read_label(path: &Path) -> Option<String> {
    read_path(path).ok().and_then(|t| sysfs_label(&t))
}

fn read_celsius(path: &Path) -> Option<f64> {
    read_path(path)
        .ok()
        .and_then(|t| parse_millidegrees(&t))
        .map(round2)
}

/// Entries of `dir` whose names are `prefix<N>`, sorted by N. Missing directory: none.
fn numbered(dir: &Path, prefix: &str) -> Vec<(u32, PathBuf)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(u32, PathBuf)> = rd
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = numbered_entry(e.file_name().to_str()?, prefix)?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// `tempN_input` indices in `dir`, sorted.
fn temp_inputs(dir: &Path) -> Vec<u32> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<u32> = rd
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| hwmon_temp_index(e.file_name().to_str()?))
        .collect();
    v.sort_unstable();
    v
}

/// All sensors under `class` (normally `/sys/class`). `check` stops the walk on cancellation.
/// Returns the sensors and whether more existed than `MAX_SENSORS`.
pub(super) fn collect(
    class: &Path,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<(Vec<Sensor>, bool), ToolError> {
    let mut out = Vec::new();
    let mut truncated = false;
    for (n, hw) in numbered(&class.join("hwmon"), "hwmon") {
        // Drivers before Linux 3.x put the attributes under `device/`.
        let mut dir = hw.clone();
        let mut temps = temp_inputs(&dir);
        if temps.is_empty() {
            dir = hw.join("device");
            temps = temp_inputs(&dir);
        }
        let device = read_label(&dir.join("name"))
            .or_else(|| read_label(&hw.join("name")))
            .unwrap_or_else(|| format!("hwmon{n}"));
        for t in temps {
            check()?;
            if out.len() == MAX_SENSORS {
                truncated = true;
                break;
            }
            // A sensor that cannot be read right now (EIO, ENODATA) is skipped, not an error.
            let Some(celsius) = read_celsius(&dir.join(format!("temp{t}_input"))) else {
                continue;
            };
            out.push(Sensor {
                source: "hwmon",
                device: device.clone(),
                sensor: format!("hwmon{n}/temp{t}"),
                label: read_label(&dir.join(format!("temp{t}_label"))),
                celsius,
                max_celsius: read_celsius(&dir.join(format!("temp{t}_max"))),
                crit_celsius: read_celsius(&dir.join(format!("temp{t}_crit"))),
            });
        }
    }
    for (n, zone) in numbered(&class.join("thermal"), "thermal_zone") {
        check()?;
        if out.len() == MAX_SENSORS {
            truncated = true;
            break;
        }
        let Some(celsius) = read_celsius(&zone.join("temp")) else {
            continue;
        };
        out.push(Sensor {
            source: "thermal",
            device: read_label(&zone.join("type")).unwrap_or_else(|| "unknown".into()),
            sensor: format!("thermal_zone{n}"),
            label: None,
            celsius,
            max_celsius: None,
            crit_celsius: critical_trip(&zone),
        });
    }
    Ok((out, truncated))
}

/// The temperature of the zone's first `critical` trip point, if it has one.
fn critical_trip(zone: &Path) -> Option<f64> {
    (0..32).find_map(|i| {
        let kind = read_label(&zone.join(format!("trip_point_{i}_type")))?;
        if kind == "critical" {
            read_celsius(&zone.join(format!("trip_point_{i}_temp")))
        } else {
            None
        }
    })
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let (sensors, truncated) = collect(Path::new("/sys/class"), &|| ctx.check())?;
    let reason = sensors.is_empty().then(|| {
        "no readable temperature sensors in /sys/class/hwmon or /sys/class/thermal (usual in virtual machines and containers)".to_string()
    });
    to_value(&Temperatures {
        count: sensors.len(),
        sensors,
        more_not_listed: truncated,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    fn fixture() -> crate::testdir::TempDir {
        let dir = crate::testdir::TempDir::new("temp");
        let root = dir.path();
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        w("hwmon/hwmon0/name", "coretemp\n");
        w("hwmon/hwmon0/temp1_input", "45000\n");
        w("hwmon/hwmon0/temp1_label", "Package id 0\n");
        w("hwmon/hwmon0/temp1_max", "80000\n");
        w("hwmon/hwmon0/temp1_crit", "100000\n");
        w("hwmon/hwmon0/temp2_input", "garbage\n"); // unreadable sensor: skipped
        w("hwmon/hwmon0/temp10_input", "-5500\n");
        // Old layout: attributes under device/.
        w("hwmon/hwmon1/device/name", "it87\n");
        w("hwmon/hwmon1/device/temp3_input", "38250\n");
        w("hwmon/notahwmon/temp1_input", "1000\n");
        w("thermal/thermal_zone0/type", "x86_pkg_temp\n");
        w("thermal/thermal_zone0/temp", "51000\n");
        w("thermal/thermal_zone0/trip_point_0_type", "passive\n");
        w("thermal/thermal_zone0/trip_point_0_temp", "90000\n");
        w("thermal/thermal_zone0/trip_point_1_type", "critical\n");
        w("thermal/thermal_zone0/trip_point_1_temp", "105000\n");
        w("thermal/thermal_zone1/temp", "9999999\n"); // broken sensor: skipped
        w("thermal/cooling_device0/type", "Processor\n");
        dir
    }

    #[test]
    fn reads_hwmon_and_thermal_fixture() {
        let dir = fixture();
        let root = dir.path();
        let (s, truncated) = collect(root, &|| Ok(())).unwrap();
        assert!(!truncated);
        let names: Vec<&str> = s.iter().map(|x| x.sensor.as_str()).collect();
        assert_eq!(
            names,
            [
                "hwmon0/temp1",
                "hwmon0/temp10",
                "hwmon1/temp3",
                "thermal_zone0"
            ]
        );
        assert_eq!(s[0].device, "coretemp");
        assert_eq!(s[0].label.as_deref(), Some("Package id 0"));
        assert_eq!(
            (s[0].celsius, s[0].max_celsius, s[0].crit_celsius),
            (45.0, Some(80.0), Some(100.0))
        );
        assert_eq!(s[1].celsius, -5.5);
        assert_eq!(s[1].label, None);
        assert_eq!((s[2].device.as_str(), s[2].celsius), ("it87", 38.25));
        assert_eq!(s[3].device, "x86_pkg_temp");
        assert_eq!(s[3].crit_celsius, Some(105.0));
        let out = to_value(&Temperatures {
            count: s.len(),
            sensors: s,
            more_not_listed: truncated,
            reason: None,
        })
        .unwrap();
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        schema.validate(&out).unwrap();
        // Cancellation stops the walk.
        assert_eq!(
            collect(root, &|| Err(ToolError::Cancelled)).unwrap_err(),
            ToolError::Cancelled
        );
    }

    #[test]
    fn no_sensors_at_all() {
        let (s, truncated) = collect(Path::new("/nonexistent/sysgate/class"), &|| Ok(())).unwrap();
        assert!(s.is_empty() && !truncated);
    }
}

#![forbid(unsafe_code)]
//! `get_load`: `/proc/loadavg` and pressure stall information from `/proc/pressure`.

use std::io;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read, read_path, round2, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::procfs::{self, Pressure, PsiLine};

#[cfg(test)]
const PSI_LINE: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["avg10", "avg60", "avg300", "total_us"],
    "properties": {
        "avg10": {"type": "number", "minimum": 0, "maximum": 100},
        "avg60": {"type": "number", "minimum": 0, "maximum": 100},
        "avg300": {"type": "number", "minimum": 0, "maximum": 100},
        "total_us": {"type": "integer", "minimum": 0}
    }
}"#;

/// The line schema repeats for cpu, memory and io (`some` and `full`); the copies are checked
/// against `PSI_LINE` by `output_schema_is_complete` below.
pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["load_1", "load_5", "load_15", "runnable_tasks", "total_tasks", "last_pid",
                 "logical_cpus", "psi_available"],
    "properties": {
        "load_1": {"type": "number", "minimum": 0},
        "load_5": {"type": "number", "minimum": 0},
        "load_15": {"type": "number", "minimum": 0},
        "runnable_tasks": {"type": "integer", "minimum": 0},
        "total_tasks": {"type": "integer", "minimum": 0},
        "last_pid": {"type": "integer", "minimum": 0},
        "logical_cpus": {"type": "integer", "minimum": 0,
            "description": "online CPUs, to read the load averages against"},
        "psi_available": {"type": "boolean"},
        "psi_reason": {"type": "string", "x-sysgate-server-text": true, "description": "why pressure information is missing"},
        "pressure": {
            "type": "object", "additionalProperties": false,
            "description": "percent of time some (or all) non-idle tasks stalled on the resource",
            "properties": {
                "cpu": {"type": "object", "additionalProperties": false, "properties": {
                    "some": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}},
                    "full": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}}}},
                "memory": {"type": "object", "additionalProperties": false, "properties": {
                    "some": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}},
                    "full": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}}}},
                "io": {"type": "object", "additionalProperties": false, "properties": {
                    "some": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}},
                    "full": {"type": "object", "additionalProperties": false,
                        "required": ["avg10", "avg60", "avg300", "total_us"],
                        "properties": {"avg10": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg60": {"type": "number", "minimum": 0, "maximum": 100},
                            "avg300": {"type": "number", "minimum": 0, "maximum": 100},
                            "total_us": {"type": "integer", "minimum": 0}}}}}
            }
        }
    }
}"#;

#[derive(Serialize)]
struct Load {
    load_1: f64,
    load_5: f64,
    load_15: f64,
    runnable_tasks: u64,
    total_tasks: u64,
    last_pid: u64,
    logical_cpus: u64,
    psi_available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    psi_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pressure: Option<PressureOut>,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub(super) struct PressureOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    io: Option<Resource>,
}

#[derive(Serialize, Debug, PartialEq)]
struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    some: Option<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full: Option<Line>,
}

#[derive(Serialize, Debug, PartialEq)]
struct Line {
    avg10: f64,
    avg60: f64,
    avg300: f64,
    total_us: u64,
}

impl From<PsiLine> for Line {
    fn from(l: PsiLine) -> Line {
        // Averages are percentages of time; clamp so a torn read cannot break the schema.
        let pct = |v: f64| round2(v).clamp(0.0, 100.0);
        Line {
            avg10: pct(l.avg10),
            avg60: pct(l.avg60),
            avg300: pct(l.avg300),
            total_us: l.total_us,
        }
    }
}

impl From<Pressure> for Resource {
    fn from(p: Pressure) -> Resource {
        Resource {
            some: p.some.map(Line::from),
            full: p.full.map(Line::from),
        }
    }
}

/// Read `cpu`, `memory` and `io` under `dir` (normally `/proc/pressure`). Returns what could be
/// read, or why nothing could.
pub(super) fn read_pressure(dir: &Path) -> Result<PressureOut, String> {
    if !dir.is_dir() {
        return Err(format!(
            "this kernel has no pressure stall information ({} is missing: it needs Linux 4.20 or later built with CONFIG_PSI)",
            dir.display()
        ));
    }
    let mut out = PressureOut::default();
    let mut first_error = None;
    for (name, slot) in [
        ("cpu", &mut out.cpu),
        ("memory", &mut out.memory),
        ("io", &mut out.io),
    ] {
        let path = dir.join(name);
        match read_path(&path) {
            Ok(text) => *slot = procfs::parse_pressure(&text).map(Resource::from),
            Err(e) => {
                first_error.get_or_insert_with(|| describe(&path, &e));
            }
        }
    }
    if out.cpu.is_none() && out.memory.is_none() && out.io.is_none() {
        return Err(first_error
            .unwrap_or_else(|| format!("the files in {} could not be parsed", dir.display())));
    }
    Ok(out)
}

fn describe(path: &Path, e: &io::Error) -> String {
    // Kernels built with CONFIG_PSI_DEFAULT_DISABLED answer EOPNOTSUPP until booted with psi=1.
    if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
        "pressure stall information is disabled in this kernel (boot with psi=1 to enable it)"
            .to_string()
    } else {
        format!("cannot read {}: {e}", path.display())
    }
}

/// Number of CPUs in a kernel CPU list (`0-3,8,10-11`), as in `/sys/devices/system/cpu/online`.
pub(super) fn count_cpu_list(text: &str) -> Option<u64> {
    let mut n: u64 = 0;
    for part in text.trim().split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?),
            None => {
                let a = part.parse::<u64>().ok()?;
                (a, a)
            }
        };
        n = n.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
    }
    Some(n)
}

/// Online CPUs: the sysfs list, else the number of threads we may run on.
pub(super) fn online_cpus() -> u64 {
    read("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|t| count_cpu_list(&t))
        .filter(|n| *n > 0)
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u64)
        })
        .unwrap_or(1)
}

pub fn handler(_ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let l = procfs::parse_loadavg(&read("/proc/loadavg")?)
        .ok_or_else(|| ToolError::Failed("could not parse /proc/loadavg".into()))?;
    let (pressure, psi_reason) = match read_pressure(Path::new("/proc/pressure")) {
        Ok(p) => (Some(p), None),
        Err(reason) => (None, Some(reason)),
    };
    to_value(&Load {
        load_1: round2(l.one),
        load_5: round2(l.five),
        load_15: round2(l.fifteen),
        runnable_tasks: l.runnable,
        total_tasks: l.total,
        last_pid: l.last_pid,
        logical_cpus: online_cpus(),
        psi_available: pressure.is_some(),
        psi_reason,
        pressure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1\n"), Some(2));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("a-b"), None);
        assert_eq!(count_cpu_list("0-18446744073709551615"), None);
    }

    #[test]
    fn kernel_without_psi() {
        let e = read_pressure(Path::new("/nonexistent/sysgate/pressure")).unwrap_err();
        assert!(e.contains("no pressure stall information"), "{e}");
        // The directory exists but the files are unreadable or garbage.
        let d = crate::testdir::TempDir::new("psi-empty");
        let e = read_pressure(d.path()).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        std::fs::write(d.join("cpu"), "garbage\n").unwrap();
        std::fs::write(d.join("memory"), "").unwrap();
        std::fs::write(d.join("io"), "some avg10=x\n").unwrap();
        let e = read_pressure(d.path()).unwrap_err();
        assert!(e.contains("could not be parsed"), "{e}");
    }

    #[test]
    fn partial_psi_and_schema() {
        let d = crate::testdir::TempDir::new("psi-partial");
        // Pre-5.13 cpu file: only a `some` line; memory missing entirely; io complete.
        std::fs::write(
            d.join("cpu"),
            "some avg10=1.50 avg60=2.00 avg300=3.00 total=12345\n",
        )
        .unwrap();
        std::fs::write(
            d.join("io"),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        let p = read_pressure(d.path()).unwrap();
        assert!(p.memory.is_none());
        let cpu = p.cpu.as_ref().unwrap();
        assert_eq!(cpu.some.as_ref().unwrap().total_us, 12345);
        assert!(cpu.full.is_none());
        assert!(p.io.as_ref().unwrap().full.is_some());
        let out = to_value(&Load {
            load_1: 0.5,
            load_5: 0.0,
            load_15: 0.0,
            runnable_tasks: 1,
            total_tasks: 10,
            last_pid: 42,
            logical_cpus: 2,
            psi_available: true,
            psi_reason: None,
            pressure: Some(p),
        })
        .unwrap();
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        schema.validate(&out).unwrap();
    }

    #[test]
    fn output_schema_is_complete() {
        // The three resources share one line schema; the table spells it out three times.
        let v: Value = serde_json::from_str(OUTPUT).unwrap();
        let line: Value = serde_json::from_str(PSI_LINE).unwrap();
        for r in ["cpu", "memory", "io"] {
            for kind in ["some", "full"] {
                assert_eq!(
                    v["properties"]["pressure"]["properties"][r]["properties"][kind], line,
                    "{r}.{kind}"
                );
            }
        }
    }
}

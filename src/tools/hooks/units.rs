#![forbid(unsafe_code)]
//! `get_systemd_units`: unit files and their enablement, read natively from the unit
//! directories. The scanner here is shared with `get_cron_jobs` (for `*.timer` units).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Budget, Check, TOOL_BYTES, dir_identity, list_dir, read_file, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::unit_file::{UnitFile, parse_unit_file};

/// Unit types by file suffix.
pub(super) const TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "timer",
    "mount",
    "automount",
    "path",
    "slice",
    "scope",
    "device",
    "swap",
];

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "type": {"type": "string", "enum": ["service", "socket", "target", "timer", "mount", "automount", "path", "slice", "scope", "device", "swap"],
            "description": "only units of this type"},
        "enablement": {"type": "string", "enum": ["enabled", "enabled-runtime", "disabled", "static", "indirect", "masked", "alias", "linked"],
            "description": "only units in this enablement state"},
        "include_static": {"type": "boolean", "default": false,
            "description": "also list static units (no [Install] section: started only as another unit's dependency); `enablement: static` lists only them"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["units", "count", "more_not_listed", "runtime_state", "runtime_reason"],
    "properties": {
        "units": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "type", "path", "enablement"],
            "properties": {
                "name": {"type": "string"},
                "type": {"type": "string", "enum": ["service", "socket", "target", "timer", "mount", "automount", "path", "slice", "scope", "device", "swap"]},
                "path": {"type": "string"},
                "enablement": {"type": "string", "enum": ["enabled", "enabled-runtime", "disabled", "static", "indirect", "masked", "alias", "linked"]},
                "wanted_by": {"type": "array", "items": {"type": "string"},
                    "description": "units whose .wants/ or .requires/ directory links this one (absent: none)"},
                "alias_of": {"type": "string"},
                "description": {"type": "string"},
                "note": {"type": "string", "x-sysgate-server-text": true, "description": "why the file was not read"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many units are in `units`"},
        "more_not_listed": {"type": "boolean"},
        "static_not_listed": {"type": "integer", "minimum": 0, "description": "static units left out (see `include_static`)"},
        "runtime_state": {"type": "null", "description": "active/failed state: not read in this build"},
        "runtime_reason": {"type": "string", "x-sysgate-server-text": true},
        "skipped": {"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["path", "reason"],
            "properties": {"path": {"type": "string"}, "reason": {"type": "string", "x-sysgate-server-text": true}}}}
    }
}"#;

/// Largest unit file read; real ones are a few KiB.
pub(super) const MAX_UNIT_BYTES: u64 = 256 * 1024;
/// Most units reported.
const MAX_UNITS: usize = 8192;
/// Most skipped paths described.
pub(super) const MAX_SKIPPED: usize = 64;

/// Which kind of directory a unit came from: operator config, runtime, or vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Etc,
    Run,
    Vendor,
}

/// The unit directories in precedence order (the first holding a name wins).
pub(super) fn system_roots() -> Vec<(PathBuf, Origin)> {
    vec![
        (PathBuf::from("/etc/systemd/system"), Origin::Etc),
        (PathBuf::from("/run/systemd/system"), Origin::Run),
        (PathBuf::from("/usr/lib/systemd/system"), Origin::Vendor),
        (PathBuf::from("/lib/systemd/system"), Origin::Vendor),
    ]
}

/// A unit name: `name.type` (templates `name@.type`, instances `name@inst.type`), with the
/// characters systemd allows.
pub(super) fn unit_type(name: &str) -> Option<&'static str> {
    if name.len() > 255
        || !name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.' | b'\\' | b'@')
        })
    {
        return None;
    }
    let (stem, suffix) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    TYPES.iter().find(|t| **t == suffix).copied()
}

/// One unit as found on disk.
#[derive(Debug)]
pub(super) struct Unit {
    pub name: String,
    pub kind: &'static str,
    pub path: String,
    pub enablement: &'static str,
    pub wanted_by: Vec<String>,
    pub alias_of: Option<String>,
    /// The parsed file, when it was read (not for masked, alias or linked units).
    pub file: Option<UnitFile>,
    pub note: Option<String>,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub units: Vec<Unit>,
    pub more: bool,
    pub skipped: Vec<(String, String)>,
}

fn skip(list: &mut Vec<(String, String)>, path: &Path, why: String) {
    if list.len() < MAX_SKIPPED {
        list.push((path.display().to_string(), why));
    }
}

/// What a unit-directory entry is.
enum Found {
    File(PathBuf),
    Link(PathBuf, PathBuf),
}

/// Read the unit directories `roots` (precedence order). `want`: keep only this type.
pub(super) fn scan(
    roots: &[(PathBuf, Origin)],
    want: Option<&str>,
    budget: &mut Budget,
    check: Check<'_>,
) -> Result<Scan, ToolError> {
    let mut out = Scan::default();
    let mut seen_dirs = Vec::new();
    // name -> every entry of that name, in precedence order.
    let mut found: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    // unit name -> (wanting unit, origin of the link)
    let mut wants: BTreeMap<String, Vec<(String, Origin)>> = BTreeMap::new();
    for (root, origin) in roots {
        let Some(id) = dir_identity(root) else {
            continue;
        };
        if seen_dirs.contains(&id) {
            continue;
        }
        seen_dirs.push(id);
        let Ok((entries, more)) = list_dir(root) else {
            continue;
        };
        if more {
            skip(
                &mut out.skipped,
                root,
                format!(
                    "more than {} entries: the rest were not read",
                    super::MAX_DIR_ENTRIES
                ),
            );
        }
        for (name, ty) in entries {
            check()?;
            let Some(name) = name.to_str() else { continue };
            let path = root.join(name);
            if ty.is_dir() {
                let Some(wanter) = name
                    .strip_suffix(".wants")
                    .or_else(|| name.strip_suffix(".requires"))
                else {
                    continue;
                };
                let Ok((links, _)) = list_dir(&path) else {
                    continue;
                };
                for (l, _) in links {
                    if let Some(l) = l.to_str().filter(|l| unit_type(l).is_some()) {
                        wants
                            .entry(l.to_string())
                            .or_default()
                            .push((wanter.to_string(), *origin));
                    }
                }
                continue;
            }
            if unit_type(name).is_none() {
                continue;
            }
            let what = if ty.is_symlink() {
                match fs::read_link(&path) {
                    Ok(t) => Found::Link(path, t),
                    Err(_) => continue,
                }
            } else {
                Found::File(path)
            };
            found.entry(name.to_string()).or_default().push(what);
        }
    }
    for (name, mut all) in found {
        check()?;
        // The first entry wins; but a link whose target has the same name (an /etc link to the
        // vendor file) stands for the file of that name further down, when there is one.
        let first_is_same_name_link = matches!(&all[0], Found::Link(_, t)
            if t != Path::new("/dev/null") && t.file_name().and_then(|n| n.to_str()) == Some(name.as_str()));
        let what = match all.iter().position(|f| matches!(f, Found::File(_))) {
            Some(i) if first_is_same_name_link => all.swap_remove(i),
            _ => all.swap_remove(0),
        };
        let kind = unit_type(&name).unwrap_or("service");
        if want.is_some_and(|w| w != kind) {
            continue;
        }
        if out.units.len() == MAX_UNITS {
            out.more = true;
            break;
        }
        let wanted: Vec<(String, Origin)> = wants.get(&name).cloned().unwrap_or_default();
        // An instance (`getty@tty1.service`) enables its template too.
        let mut wanted_by: Vec<String> = wanted.iter().map(|(w, _)| w.clone()).collect();
        wanted_by.sort();
        wanted_by.dedup();
        let config_link = |o: Origin| wanted.iter().any(|(_, w)| *w == o);
        let instance_enabled = |o: Origin| {
            name.split_once('@').is_some_and(|(stem, rest)| {
                rest.starts_with('.')
                    && wants.iter().any(|(n, ws)| {
                        n.starts_with(&format!("{stem}@"))
                            && n.ends_with(rest)
                            && ws.iter().any(|(_, w)| *w == o)
                    })
            })
        };
        let enabled = config_link(Origin::Etc) || instance_enabled(Origin::Etc);
        let runtime = config_link(Origin::Run) || instance_enabled(Origin::Run);
        let mut unit = Unit {
            name: name.clone(),
            kind,
            path: String::new(),
            enablement: "static",
            wanted_by,
            alias_of: None,
            file: None,
            note: None,
        };
        match what {
            Found::Link(path, target) => {
                unit.path = path.display().to_string();
                let tname = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if target == Path::new("/dev/null") {
                    unit.enablement = "masked";
                } else if tname != name {
                    unit.enablement = "alias";
                    unit.alias_of = Some(tname.to_string());
                } else {
                    // Linked from outside the unit directories: the symlink is not followed,
                    // the target not read.
                    unit.enablement = "linked";
                    unit.path = target.display().to_string();
                }
            }
            Found::File(path) => {
                unit.path = path.display().to_string();
                match read_file(&path, MAX_UNIT_BYTES, budget) {
                    Ok((text, _)) => {
                        let f = parse_unit_file(&text);
                        let installable = ["WantedBy", "RequiredBy", "UpheldBy", "Alias"]
                            .iter()
                            .any(|k| !f.list("Install", k).is_empty());
                        // Only `Also=`: enabling it enables the others (systemctl's "indirect").
                        let indirect = !f.list("Install", "Also").is_empty();
                        unit.enablement = if enabled {
                            "enabled"
                        } else if runtime {
                            "enabled-runtime"
                        } else if installable {
                            "disabled"
                        } else if indirect {
                            "indirect"
                        } else {
                            "static"
                        };
                        unit.file = Some(f);
                    }
                    Err(e) => {
                        unit.enablement = if enabled {
                            "enabled"
                        } else if runtime {
                            "enabled-runtime"
                        } else {
                            "static"
                        };
                        unit.note = Some(e.reason());
                    }
                }
            }
        }
        out.units.push(unit);
    }
    Ok(out)
}

/// Whether systemd is running (it creates `/run/systemd/system` at boot), and if not, the name
/// of PID 1, for the reason.
pub(super) fn runtime_reason(run: &Path, pid1_comm: &Path) -> String {
    if run.is_dir() {
        return "runtime state is not read in this build: it needs systemctl, which sysgate does not run yet".into();
    }
    let pid1 = fs::read_to_string(pid1_comm)
        .ok()
        .map(|s| {
            s.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(16)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("systemd is not running (PID 1 is {pid1})")
}

#[derive(Serialize)]
struct UnitOut {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
    enablement: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    wanted_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alias_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize)]
struct SkippedOut {
    path: String,
    reason: String,
}

#[derive(Serialize)]
struct Out {
    units: Vec<UnitOut>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    static_not_listed: Option<usize>,
    runtime_state: Option<()>,
    runtime_reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<SkippedOut>,
}

/// The tool's answer for the unit tree `roots`.
pub(super) fn collect(
    roots: &[(PathBuf, Origin)],
    kind: Option<&str>,
    enablement: Option<&str>,
    include_static: bool,
    runtime_reason: String,
    cut: &dyn Fn(&str, usize) -> String,
    check: Check<'_>,
) -> Result<Value, ToolError> {
    let scan = scan(roots, kind, &mut Budget::new(TOOL_BYTES), check)?;
    let keep_static = include_static || enablement == Some("static");
    let mut static_left_out = 0;
    let units: Vec<UnitOut> = scan
        .units
        .into_iter()
        .filter(|u| enablement.is_none_or(|e| e == u.enablement))
        .filter(|u| {
            let keep = keep_static || u.enablement != "static";
            static_left_out += usize::from(!keep);
            keep
        })
        .map(|u| UnitOut {
            description: u
                .file
                .as_ref()
                .and_then(|f| f.get("Unit", "Description"))
                .map(|d| cut(d, 256)),
            name: u.name,
            kind: u.kind,
            path: u.path,
            enablement: u.enablement,
            wanted_by: u.wanted_by,
            alias_of: u.alias_of,
            note: u.note,
        })
        .collect();
    to_value(&Out {
        count: units.len(),
        units,
        more_not_listed: scan.more,
        static_not_listed: (!keep_static).then_some(static_left_out),
        runtime_state: None,
        runtime_reason,
        skipped: scan
            .skipped
            .into_iter()
            .map(|(path, reason)| SkippedOut { path, reason })
            .collect(),
    })
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let kind = args.get("type").and_then(Value::as_str);
    let enablement = args.get("enablement").and_then(Value::as_str);
    let include_static = args
        .get("include_static")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    collect(
        &system_roots(),
        kind,
        enablement,
        include_static,
        runtime_reason(Path::new("/run/systemd/system"), Path::new("/proc/1/comm")),
        &|s, n| ctx.redactor.cut(s, n).0,
        &|| ctx.check(),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::tools::schema::Schema;
    use std::os::unix::fs::symlink;

    /// A unit tree with an /etc, a /run and two vendor directories (the second a symlink to
    /// the first, as /lib is to /usr/lib on merged-/usr systems).
    pub(in crate::tools::hooks) fn tree(dir: &Path) -> Vec<(PathBuf, Origin)> {
        let etc = dir.join("etc");
        let run = dir.join("run");
        let usr = dir.join("usr");
        for d in [&etc, &run, &usr] {
            fs::create_dir_all(d).unwrap();
        }
        let w = |p: &Path, t: &str| fs::write(p, t).unwrap();
        w(
            &usr.join("app.service"),
            "[Unit]\nDescription=The app\n[Service]\nExecStart=/bin/app\n[Install]\nWantedBy=multi-user.target\n",
        );
        w(
            &usr.join("idle.service"),
            "[Unit]\nDescription=Installable but not enabled\n[Install]\nWantedBy=multi-user.target\n",
        );
        w(
            &usr.join("journal.service"),
            "[Unit]\nDescription=Static: no [Install]\n",
        );
        w(
            &usr.join("remote.service"),
            "[Unit]\nDescription=Indirect\n[Install]\nAlso=remote.socket\n",
        );
        w(
            &usr.join("evil.service"),
            "[Unit]\nDescription=vendor copy, overridden\n",
        );
        w(
            &usr.join("backup.timer"),
            "[Unit]\nDescription=Nightly backup\n[Timer]\nOnCalendar=*-*-* 02:00\nOnBootSec=15min\nPersistent=true\n[Install]\nWantedBy=timers.target\n",
        );
        w(
            &usr.join("backup.service"),
            "[Unit]\nDescription=Backup\n[Service]\nExecStart=/bin/backup\n",
        );
        w(
            &usr.join("lonely.timer"),
            "[Timer]\nOnUnitActiveSec=1h\nUnit=other.service\n[Install]\nWantedBy=timers.target\n",
        );
        w(
            &usr.join("getty@.service"),
            "[Unit]\nDescription=Getty on %I\n[Install]\nWantedBy=getty.target\n",
        );
        w(&usr.join("not-a-unit.txt"), "x");
        w(
            &run.join("rt.service"),
            "[Unit]\nDescription=Runtime-enabled\n[Install]\nWantedBy=multi-user.target\n",
        );
        // /etc: a mask, an override, an alias, enablement links.
        symlink("/dev/null", etc.join("evil.service")).unwrap();
        symlink(usr.join("app.service"), etc.join("alias-app.service")).unwrap();
        symlink("/opt/elsewhere/ext.service", etc.join("ext.service")).unwrap();
        // An /etc link to the vendor file of the same name stands for that file.
        symlink(usr.join("journal.service"), etc.join("journal.service")).unwrap();
        for (d, l) in [
            ("multi-user.target.wants", "app.service"),
            ("timers.target.wants", "backup.timer"),
            ("getty.target.wants", "getty@tty1.service"),
        ] {
            fs::create_dir_all(etc.join(d)).unwrap();
            symlink(usr.join(l), etc.join(d).join(l)).unwrap();
        }
        fs::create_dir_all(run.join("multi-user.target.wants")).unwrap();
        symlink(
            run.join("rt.service"),
            run.join("multi-user.target.wants/rt.service"),
        )
        .unwrap();
        symlink(&usr, dir.join("lib")).unwrap();
        vec![
            (etc, Origin::Etc),
            (run, Origin::Run),
            (usr, Origin::Vendor),
            (dir.join("lib"), Origin::Vendor),
        ]
    }

    #[test]
    fn enablement_masks_aliases_and_precedence() {
        let dir = crate::testdir::TempDir::new("units");
        let roots = tree(dir.path());
        let s = scan(&roots, None, &mut Budget::new(TOOL_BYTES), &|| Ok(())).unwrap();
        let by: BTreeMap<&str, &Unit> = s.units.iter().map(|u| (u.name.as_str(), u)).collect();
        assert_eq!(by.len(), 12, "{:?}", by.keys());
        assert_eq!(by["app.service"].enablement, "enabled");
        assert_eq!(by["app.service"].wanted_by, ["multi-user.target"]);
        assert_eq!(by["idle.service"].enablement, "disabled");
        assert_eq!(by["journal.service"].enablement, "static");
        assert!(by["journal.service"].path.ends_with("usr/journal.service"));
        assert!(by["journal.service"].file.is_some());
        assert_eq!(by["evil.service"].enablement, "masked");
        assert!(by["evil.service"].path.contains("etc"));
        assert!(by["evil.service"].file.is_none());
        assert_eq!(by["alias-app.service"].enablement, "alias");
        assert_eq!(
            by["alias-app.service"].alias_of.as_deref(),
            Some("app.service")
        );
        assert_eq!(by["ext.service"].enablement, "linked");
        assert_eq!(by["ext.service"].path, "/opt/elsewhere/ext.service");
        assert_eq!(by["rt.service"].enablement, "enabled-runtime");
        assert_eq!(by["backup.timer"].enablement, "enabled");
        assert_eq!(by["lonely.timer"].enablement, "disabled");
        assert_eq!(by["getty@.service"].enablement, "enabled");
        assert_eq!(by["backup.service"].enablement, "static");
        assert_eq!(by["remote.service"].enablement, "indirect");
        // The vendor directory reached twice (through the `lib` symlink) is read once.
        assert!(s.units.iter().all(|u| !u.path.contains("/lib/")));
        let timers = scan(&roots, Some("timer"), &mut Budget::new(TOOL_BYTES), &|| {
            Ok(())
        })
        .unwrap();
        assert_eq!(timers.units.len(), 2);
        // The tool's answer fits its schema, with filters.
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let v = collect(&roots, None, None, true, "why".into(), &cut, &|| Ok(())).unwrap();
        schema.validate(&v).unwrap();
        assert_eq!(v["count"], 12);
        assert!(v.get("static_not_listed").is_none());
        // By default the static units (journal, backup.service) are counted, not listed.
        let v = collect(&roots, None, None, false, "why".into(), &cut, &|| Ok(())).unwrap();
        schema.validate(&v).unwrap();
        assert_eq!(
            (v["count"].as_u64(), v["static_not_listed"].as_u64()),
            (Some(10), Some(2))
        );
        let v = collect(
            &roots,
            None,
            Some("static"),
            false,
            "why".into(),
            &cut,
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(v["count"], 2);
        assert!(v["runtime_state"].is_null());
        let v = collect(
            &roots,
            Some("service"),
            Some("masked"),
            false,
            "why".into(),
            &cut,
            &|| Ok(()),
        )
        .unwrap();
        assert_eq!(v["count"], 1);
        assert_eq!(v["units"][0]["name"], "evil.service");
        assert_eq!(
            scan(&roots, None, &mut Budget::new(TOOL_BYTES), &|| Err(
                ToolError::Cancelled
            ))
            .unwrap_err(),
            ToolError::Cancelled
        );
        // A budget too small to read the files: each unit says why it has no description.
        let s = scan(&roots, None, &mut Budget::new(10), &|| Ok(())).unwrap();
        assert!(
            s.units
                .iter()
                .filter(|u| u.file.is_none())
                .any(|u| u.note.is_some())
        );
    }

    #[test]
    fn unit_names_and_runtime_reason() {
        assert_eq!(unit_type("sshd.service"), Some("service"));
        assert_eq!(unit_type("getty@tty1.service"), Some("service"));
        assert_eq!(unit_type("dev-vda.device"), Some("device"));
        for bad in [".service", "a.txt", "a b.service", "a/b.service", "noext"] {
            assert_eq!(unit_type(bad), None, "{bad}");
        }
        let dir = crate::testdir::TempDir::new("runtime");
        let comm = dir.join("comm");
        fs::write(&comm, "init-\x1bthing\n").unwrap();
        assert_eq!(
            runtime_reason(&dir.join("none"), &comm),
            "systemd is not running (PID 1 is init-thing)"
        );
        assert!(runtime_reason(dir.path(), &comm).contains("not read in this build"));
    }
}

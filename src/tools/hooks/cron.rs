#![forbid(unsafe_code)]
//! `get_cron_jobs`: crontabs, run-parts directories and systemd timers, read natively.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::units::{self, MAX_SKIPPED, Origin};
use super::{Budget, Check, TOOL_BYTES, Unread, list_dir, read_file, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::crontab::{Crontab, parse_crontab};
use crate::tools::procfs::{parse_passwd, user_name};

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["jobs", "count", "more_not_listed"],
    "properties": {
        "jobs": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["source", "file", "schedule"],
            "properties": {
                "source": {"type": "string", "enum": ["crontab", "cron.d", "spool", "run-parts", "timer"]},
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "user": {"type": "string"},
                "schedule": {"type": "string", "description": "the five cron fields or @shortcut; hourly/daily/... for run-parts; the timer's triggers"},
                "command": {"type": "string"},
                "unit": {"type": "string", "description": "the unit a timer starts"},
                "enabled": {"type": "boolean", "description": "timers: linked from a .wants/ directory in /etc or /run"},
                "note": {"type": "string", "x-sysgate-server-text": true}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many jobs are in `jobs`"},
        "more_not_listed": {"type": "boolean"},
        "environment": {"type": "array", "description": "variables set in crontabs (names only, never values)",
            "items": {"type": "object", "additionalProperties": false, "required": ["file", "names"],
                "properties": {"file": {"type": "string"}, "names": {"type": "array", "items": {"type": "string"}}}}},
        "invalid_lines": {"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["file", "line", "reason"],
            "properties": {"file": {"type": "string"}, "line": {"type": "integer", "minimum": 1},
                "reason": {"type": "string", "x-sysgate-server-text": true}}}},
        "skipped": {"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["path", "reason"],
            "properties": {"path": {"type": "string"}, "reason": {"type": "string", "x-sysgate-server-text": true}}}}
    }
}"#;

/// Largest crontab read (cron itself has no limit; real ones are tiny).
const MAX_CRONTAB_BYTES: u64 = 256 * 1024;
/// Most jobs reported in all.
const MAX_JOBS: usize = 4096;
/// Most invalid lines described in all.
const MAX_INVALID: usize = 64;
/// The timer settings that schedule a start.
const TRIGGERS: &[&str] = &[
    "OnCalendar",
    "OnActiveSec",
    "OnBootSec",
    "OnStartupSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
];

/// Where everything is; the tests point these at a fixture tree.
#[derive(Debug, Clone)]
pub(super) struct Roots {
    pub crontab: PathBuf,
    pub cron_d: PathBuf,
    /// Per-user spools: each regular file is one user's crontab, owned by that user.
    pub spools: Vec<PathBuf>,
    /// run-parts directories and the schedule each stands for.
    pub run_parts: Vec<(PathBuf, &'static str)>,
    pub passwd: PathBuf,
    pub units: Vec<(PathBuf, Origin)>,
}

impl Roots {
    pub(super) fn system() -> Roots {
        Roots {
            crontab: "/etc/crontab".into(),
            cron_d: "/etc/cron.d".into(),
            spools: vec!["/var/spool/cron/crontabs".into(), "/var/spool/cron".into()],
            run_parts: vec![
                ("/etc/cron.hourly".into(), "hourly"),
                ("/etc/cron.daily".into(), "daily"),
                ("/etc/cron.weekly".into(), "weekly"),
                ("/etc/cron.monthly".into(), "monthly"),
            ],
            passwd: "/etc/passwd".into(),
            units: units::system_roots(),
        }
    }
}

#[derive(Serialize, Debug)]
struct Job {
    source: &'static str,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    schedule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize, Debug)]
struct Env {
    file: String,
    names: Vec<String>,
}

#[derive(Serialize, Debug)]
struct Invalid {
    file: String,
    line: usize,
    reason: &'static str,
}

#[derive(Serialize, Debug)]
struct Skipped {
    path: String,
    reason: String,
}

#[derive(Serialize, Debug, Default)]
struct Out {
    jobs: Vec<Job>,
    count: usize,
    more_not_listed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    environment: Vec<Env>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invalid_lines: Vec<Invalid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<Skipped>,
}

struct Walk<'a> {
    out: Out,
    budget: Budget,
    cut: &'a dyn Fn(&str, usize) -> (String, bool),
    check: Check<'a>,
    users: Vec<(String, u32)>,
}

impl Walk<'_> {
    fn skip(&mut self, path: &Path, reason: String) {
        if self.out.skipped.len() < MAX_SKIPPED {
            self.out.skipped.push(Skipped {
                path: path.display().to_string(),
                reason,
            });
        }
    }

    /// A directory's entries; a missing directory is normal (nothing to report), one that
    /// cannot be listed (a spool readable only by root) is named in `skipped`.
    fn list(&mut self, dir: &Path) -> Option<(Vec<(std::ffi::OsString, std::fs::FileType)>, bool)> {
        match list_dir(dir) {
            Ok(r) => Some(r),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.skip(dir, format!("cannot list the directory: {e}"));
                None
            }
        }
    }

    fn push(&mut self, job: Job) {
        if self.out.jobs.len() == MAX_JOBS {
            self.out.more_not_listed = true;
        } else {
            self.out.jobs.push(job);
        }
    }

    /// One crontab file. `user`: the owner for a spool file; `None` for files with a user field.
    fn crontab(&mut self, path: &Path, source: &'static str, spool: bool) -> Result<(), ToolError> {
        (self.check)()?;
        let (text, file) = match read_file(path, MAX_CRONTAB_BYTES, &mut self.budget) {
            Ok(r) => r,
            Err(Unread::Missing) if source == "crontab" => return Ok(()),
            Err(e) => {
                self.skip(path, e.reason());
                return Ok(());
            }
        };
        let owner = if spool {
            let uid = file.metadata().map(|m| m.uid()).ok();
            Some(match uid {
                Some(uid) => user_name(&self.users, uid),
                None => "unknown".into(),
            })
        } else {
            None
        };
        let c: Crontab = parse_crontab(&text, !spool, self.cut);
        let file_name = path.display().to_string();
        if !c.env.is_empty() {
            self.out.environment.push(Env {
                file: file_name.clone(),
                names: c.env,
            });
        }
        for (line, reason) in c.invalid {
            if self.out.invalid_lines.len() < MAX_INVALID {
                self.out.invalid_lines.push(Invalid {
                    file: file_name.clone(),
                    line,
                    reason,
                });
            }
        }
        if c.jobs_capped {
            self.skip(
                path,
                "more jobs than one file may list: the rest were not read".into(),
            );
        }
        for j in c.jobs {
            self.push(Job {
                source,
                file: file_name.clone(),
                line: Some(j.line),
                user: j.user.or_else(|| owner.clone()),
                schedule: j.schedule,
                command: Some(j.command),
                unit: None,
                enabled: None,
                note: j
                    .command_cut
                    .then(|| "command cut at 1024 characters".into()),
            });
        }
        Ok(())
    }

    /// Every regular file of a directory as a crontab; symlinks are not followed.
    fn crontab_dir(
        &mut self,
        dir: &Path,
        source: &'static str,
        spool: bool,
    ) -> Result<(), ToolError> {
        let Some((entries, more)) = self.list(dir) else {
            return Ok(());
        };
        if more {
            self.skip(dir, "too many entries: the rest were not read".into());
        }
        for (name, ty) in entries {
            let path = dir.join(&name);
            // Placeholders (`.placeholder`) and editor backups are not crontabs; cron skips them.
            let n = name.to_string_lossy();
            if n.starts_with('.') || n.ends_with('~') || ty.is_dir() {
                continue;
            }
            if ty.is_symlink() {
                self.skip(&path, Unread::Symlink.reason());
                continue;
            }
            self.crontab(&path, source, spool)?;
        }
        Ok(())
    }

    /// The scripts run-parts would run: executable regular files (and symlinks, which
    /// run-parts follows; they are listed, not read) with names of letters, digits, `_`, `-`.
    fn run_parts(&mut self, dir: &Path, schedule: &'static str) -> Result<(), ToolError> {
        let Some((entries, _)) = self.list(dir) else {
            return Ok(());
        };
        for (name, ty) in entries {
            (self.check)()?;
            let path = dir.join(&name);
            let Some(n) = name.to_str() else { continue };
            if n.starts_with('.') || ty.is_dir() {
                continue;
            }
            if !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                self.skip(&path, "run-parts does not run files with this name".into());
                continue;
            }
            let executable = std::fs::symlink_metadata(&path).is_ok_and(|m| m.mode() & 0o111 != 0);
            if ty.is_file() && !executable {
                self.skip(&path, "not executable: run-parts does not run it".into());
                continue;
            }
            self.push(Job {
                source: "run-parts",
                file: path.display().to_string(),
                line: None,
                user: Some("root".into()),
                schedule: schedule.into(),
                command: Some(path.display().to_string()),
                unit: None,
                enabled: None,
                note: ty
                    .is_symlink()
                    .then(|| "symbolic link (listed, not followed)".into()),
            });
        }
        Ok(())
    }

    fn timers(&mut self, roots: &[(PathBuf, Origin)]) -> Result<(), ToolError> {
        let scan = units::scan(roots, Some("timer"), &mut self.budget, self.check)?;
        for (path, reason) in scan.skipped {
            self.skip(Path::new(&path), reason);
        }
        for u in scan.units {
            if u.enablement == "alias" {
                continue;
            }
            let default_unit = format!("{}.service", u.name.trim_end_matches(".timer"));
            let (schedule, unit) = match &u.file {
                Some(f) => {
                    let triggers: Vec<String> = TRIGGERS
                        .iter()
                        .flat_map(|k| {
                            f.all("Timer", k)
                                .into_iter()
                                .map(move |v| format!("{k}={v}"))
                        })
                        .collect();
                    let unit = f
                        .get("Timer", "Unit")
                        .map(str::to_string)
                        .unwrap_or(default_unit);
                    (triggers.join("; "), unit)
                }
                None => (String::new(), default_unit),
            };
            let note = match (u.enablement, &u.note) {
                ("masked", _) => Some("masked (a symlink to /dev/null)".to_string()),
                ("linked", _) => Some(
                    "a symlink to a file outside the unit directories (not followed)".to_string(),
                ),
                (_, Some(n)) => Some(n.clone()),
                _ if schedule.is_empty() => Some("no trigger in its [Timer] section".to_string()),
                _ => None,
            };
            self.push(Job {
                source: "timer",
                file: u.path,
                line: None,
                user: None,
                schedule: (self.cut)(&schedule, 1024).0,
                command: None,
                unit: Some(unit),
                enabled: Some(matches!(u.enablement, "enabled" | "enabled-runtime")),
                note,
            });
        }
        Ok(())
    }
}

pub(super) fn collect(
    roots: &Roots,
    cut: &dyn Fn(&str, usize) -> (String, bool),
    check: Check<'_>,
) -> Result<Value, ToolError> {
    let mut budget = Budget::new(TOOL_BYTES);
    let users = read_file(&roots.passwd, MAX_CRONTAB_BYTES * 16, &mut budget)
        .map(|(t, _)| parse_passwd(&t))
        .unwrap_or_default();
    let mut w = Walk {
        out: Out::default(),
        budget,
        cut,
        check,
        users,
    };
    w.crontab(&roots.crontab, "crontab", false)?;
    w.crontab_dir(&roots.cron_d, "cron.d", false)?;
    for s in &roots.spools {
        w.crontab_dir(s, "spool", true)?;
    }
    for (dir, schedule) in &roots.run_parts {
        w.run_parts(dir, schedule)?;
    }
    w.timers(&roots.units)?;
    w.out.count = w.out.jobs.len();
    to_value(&w.out)
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    collect(&Roots::system(), &|s, n| ctx.redactor.cut(s, n), &|| {
        ctx.check()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::crontab::cut;
    use crate::tools::schema::Schema;
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn fixture_tree_with_spools_cron_d_run_parts_and_timers() {
        let dir = crate::testdir::TempDir::new("cron");
        let root = dir.path();
        let etc = root.join("etc");
        let cron_d = etc.join("cron.d");
        let daily = etc.join("cron.daily");
        let spool = root.join("spool/crontabs");
        let outside = root.join("outside");
        for d in [&cron_d, &daily, &spool, &outside] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(
            etc.join("crontab"),
            "SHELL=/bin/sh\nMAILTO=secret-address@example.com\n17 * * * * root cd / && run-parts /etc/cron.hourly\n",
        )
        .unwrap();
        fs::write(
            cron_d.join("backup"),
            "# nightly\n30 2 * * * backup /usr/local/bin/backup --full\n@reboot root /bin/warm\n* * * * * root\0hidden\n",
        )
        .unwrap();
        fs::write(cron_d.join(".placeholder"), "").unwrap();
        // A symlink pointing out of the directory must not be followed.
        fs::write(
            outside.join("evil"),
            "* * * * * root /bin/evil-from-outside\n",
        )
        .unwrap();
        symlink(outside.join("evil"), cron_d.join("evil")).unwrap();
        // A user's spool crontab: no user field, the owner is the user.
        fs::write(
            spool.join("alice"),
            "MAILTO=\"\"\n*/10 * * * * /home/alice/bin/sync\n",
        )
        .unwrap();
        fs::write(
            root.join("passwd"),
            format!(
                "alice:x:{}:1000::/home/alice:/bin/sh\nroot:x:0:0::/root:/bin/sh\n",
                crate::sys::euid()
            ),
        )
        .unwrap();
        let script = daily.join("logrotate");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(daily.join("notexec"), "#!/bin/sh\n").unwrap();
        fs::write(daily.join("old.dpkg-old"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            daily.join("old.dpkg-old"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let units_dir = root.join("units");
        fs::create_dir_all(&units_dir).unwrap();
        let unit_roots = units::tests::tree(&units_dir);
        let roots = Roots {
            crontab: etc.join("crontab"),
            cron_d: cron_d.clone(),
            spools: vec![spool.clone(), root.join("no-such-spool")],
            run_parts: vec![
                (daily.clone(), "daily"),
                (etc.join("cron.weekly"), "weekly"),
            ],
            passwd: root.join("passwd"),
            units: unit_roots,
        };
        let v = collect(&roots, &cut, &|| Ok(())).unwrap();
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        schema.validate(&v).unwrap();
        let jobs = v["jobs"].as_array().unwrap();
        let find = |src: &str, needle: &str| {
            jobs.iter()
                .find(|j| j["source"] == src && j.to_string().contains(needle))
                .unwrap_or_else(|| panic!("{src} {needle}: {v}"))
        };
        let j = find("crontab", "run-parts");
        assert_eq!(
            (
                j["user"].as_str(),
                j["schedule"].as_str(),
                j["line"].as_u64()
            ),
            (Some("root"), Some("17 * * * *"), Some(3))
        );
        let j = find("cron.d", "backup --full");
        assert_eq!(j["user"], "backup");
        assert_eq!(find("cron.d", "warm")["schedule"], "@reboot");
        let j = find("spool", "sync");
        assert_eq!(j["user"], "alice");
        assert_eq!(j["schedule"], "*/10 * * * *");
        let j = find("run-parts", "logrotate");
        assert_eq!(
            (j["schedule"].as_str(), j["user"].as_str()),
            (Some("daily"), Some("root"))
        );
        let t = find("timer", "backup.timer");
        assert_eq!(t["schedule"], "OnCalendar=*-*-* 02:00; OnBootSec=15min");
        assert_eq!(t["unit"], "backup.service");
        assert_eq!(t["enabled"], true);
        let t = find("timer", "lonely.timer");
        assert_eq!(
            (t["unit"].as_str(), t["enabled"].as_bool()),
            (Some("other.service"), Some(false))
        );
        assert_eq!(v["count"].as_u64(), Some(jobs.len() as u64));
        assert_eq!(jobs.len(), 7, "{v}");
        // The symlinked file was not read, and says so; nothing from outside leaked in.
        assert!(!v.to_string().contains("evil-from-outside"));
        let skipped = v["skipped"].as_array().unwrap();
        let reason_of = |p: &str| {
            skipped
                .iter()
                .find(|s| s["path"].as_str().unwrap().ends_with(p))
                .map(|s| s["reason"].as_str().unwrap().to_string())
        };
        assert!(reason_of("cron.d/evil").unwrap().contains("symbolic link"));
        assert!(reason_of("notexec").unwrap().contains("not executable"));
        assert!(reason_of("old.dpkg-old").unwrap().contains("run-parts"));
        // The hostile line is reported with its line number; environment names, no values.
        assert_eq!(v["invalid_lines"][0]["line"], 4);
        assert!(
            v["invalid_lines"][0]["file"]
                .as_str()
                .unwrap()
                .ends_with("backup")
        );
        assert!(!v.to_string().contains("secret-address"));
        assert_eq!(
            v["environment"][0]["names"],
            serde_json::json!(["SHELL", "MAILTO"])
        );
        // Cancellation stops the walk.
        assert_eq!(
            collect(&roots, &cut, &|| Err(ToolError::Cancelled)).unwrap_err(),
            ToolError::Cancelled
        );
    }

    #[test]
    fn an_empty_host_has_no_jobs_and_no_errors() {
        let none = PathBuf::from("/nonexistent/sysgate");
        let roots = Roots {
            crontab: none.join("crontab"),
            cron_d: none.join("cron.d"),
            spools: vec![none.join("spool")],
            run_parts: vec![(none.join("daily"), "daily")],
            passwd: none.join("passwd"),
            units: vec![(none.join("units"), Origin::Vendor)],
        };
        let v = collect(&roots, &cut, &|| Ok(())).unwrap();
        assert_eq!(v["count"], 0);
        assert!(v.get("skipped").is_none(), "{v}");
        // A spool that cannot be listed (here: not a directory) is named, not silently empty.
        let dir = crate::testdir::TempDir::new("cron-unlistable");
        let not_dir = dir.join("spool");
        fs::write(&not_dir, "").unwrap();
        let roots = Roots {
            spools: vec![not_dir],
            ..roots
        };
        let v = collect(&roots, &cut, &|| Ok(())).unwrap();
        assert!(
            v["skipped"][0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("cannot list"),
            "{v}"
        );
    }
}

#![forbid(unsafe_code)]
//! `get_sudo_config`: `/etc/sudoers` and the files it includes, opened one by one without
//! following symbolic links, each checked on its handle (owner, group, mode) and parsed by
//! `parse::sudoers`. Includes resolve as sudo 1.9 does: a relative path from the directory of
//! the including file; `@includedir` reads the names without `.` or `~`, sorted.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    FileFacts, MAX_CONFIG_BYTES, ProblemOut, facts, open_included, ownership_problems,
    require_main, to_value,
};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::sudoers::{self, Command};

pub const INPUT: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["config_file", "files", "rules", "defaults", "aliases", "parse_problems"],
    "properties": {
        "config_file": {"type": "string"},
        "files": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["path", "kind", "depth", "problems"],
            "properties": {
                "path": {"type": "string"},
                "kind": {"type": "string", "enum": ["file", "directory"]},
                "depth": {"type": "integer", "minimum": 0, "description": "0: /etc/sudoers; 1: included from it; ..."},
                "included_from": {"type": "string"},
                "owner_uid": {"type": "integer", "minimum": 0},
                "group_gid": {"type": "integer", "minimum": 0},
                "mode": {"type": "string", "x-sysgate-server-text": true},
                "size_bytes": {"type": "integer", "minimum": 0},
                "problems": {"type": "array", "items": {"type": "string"}, "description": "not owned by root, group- or world-writable, unreadable, a symbolic link, too large, an include loop or too deep"}
            }
        }},
        "rules": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["file", "line", "users", "hosts", "commands"],
            "properties": {
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "users": {"type": "array", "items": {"type": "string"}},
                "hosts": {"type": "array", "items": {"type": "string"}},
                "commands": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["tags", "options", "command"],
                    "properties": {
                        "runas_users": {"type": "array", "items": {"type": "string"}, "description": "absent: no runas list (sudo's runas_default, normally root)"},
                        "runas_groups": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "options": {"type": "array", "items": {"type": "string"}},
                        "command": {"type": "string"}
                    }
                }}
            }
        }},
        "defaults": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["file", "line", "binding", "targets", "settings"],
            "properties": {
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "binding": {"type": "string", "enum": ["all", "host", "user", "runas", "command"]},
                "targets": {"type": "array", "items": {"type": "string"}},
                "settings": {"type": "array", "items": {"type": "string"}}
            }
        }},
        "aliases": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["file", "line", "kind", "name", "members"],
            "properties": {
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "kind": {"type": "string", "enum": ["user", "runas", "host", "command"]},
                "name": {"type": "string"},
                "members": {"type": "array", "items": {"type": "string"}}
            }
        }},
        "parse_problems": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["file", "line", "message"],
            "properties": {
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "message": {"type": "string"}
            }
        }}
    }
}"#;

/// Include nesting we follow (sudo allows more; real configurations use one or two levels).
const MAX_DEPTH: usize = 8;
/// Files read in one call.
const MAX_FILES: usize = 256;
/// Largest sudoers file parsed.
const MAX_SUDOERS_BYTES: u64 = if MAX_CONFIG_BYTES < 1024 * 1024 {
    MAX_CONFIG_BYTES
} else {
    1024 * 1024
};

#[derive(Serialize)]
struct SudoConfig {
    config_file: String,
    files: Vec<FileOut>,
    rules: Vec<RuleOut>,
    defaults: Vec<DefaultsOut>,
    aliases: Vec<AliasOut>,
    parse_problems: Vec<ProblemOut>,
}

#[derive(Serialize)]
struct FileOut {
    path: String,
    kind: &'static str,
    depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    included_from: Option<String>,
    #[serde(flatten)]
    facts: Option<FileFacts>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct RuleOut {
    file: String,
    line: usize,
    users: Vec<String>,
    hosts: Vec<String>,
    commands: Vec<CommandOut>,
}

#[derive(Serialize)]
struct CommandOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    runas_users: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runas_groups: Option<Vec<String>>,
    tags: Vec<String>,
    options: Vec<String>,
    command: String,
}

impl From<Command> for CommandOut {
    fn from(c: Command) -> Self {
        CommandOut {
            runas_users: c.runas_users,
            runas_groups: c.runas_groups,
            tags: c.tags,
            options: c.options,
            command: c.command,
        }
    }
}

#[derive(Serialize)]
struct DefaultsOut {
    file: String,
    line: usize,
    binding: &'static str,
    targets: Vec<String>,
    settings: Vec<String>,
}

#[derive(Serialize)]
struct AliasOut {
    file: String,
    line: usize,
    kind: &'static str,
    name: String,
    members: Vec<String>,
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    ctx.check()?;
    read_sudo_config(Path::new("/etc/sudoers"))
}

/// The configuration starting at `main` (`/etc/sudoers` on the host, a fixture in tests).
pub fn read_sudo_config(main: &Path) -> Result<Value, ToolError> {
    require_main(main, "sudo")?;
    let mut w = Walk {
        out: SudoConfig {
            config_file: main.display().to_string(),
            files: Vec::new(),
            rules: Vec::new(),
            defaults: Vec::new(),
            aliases: Vec::new(),
            parse_problems: Vec::new(),
        },
        stack: Vec::new(),
    };
    w.file(main, 0, None);
    to_value(&w.out)
}

struct Walk {
    out: SudoConfig,
    stack: Vec<(u64, u64)>,
}

impl Walk {
    fn push(&mut self, path: &Path, kind: &'static str, depth: usize, from: Option<&str>) -> usize {
        self.out.files.push(FileOut {
            path: path.display().to_string(),
            kind,
            depth,
            included_from: from.map(str::to_string),
            facts: None,
            problems: Vec::new(),
        });
        self.out.files.len() - 1
    }

    fn file(&mut self, path: &Path, depth: usize, from: Option<&str>) {
        if self.out.files.len() >= MAX_FILES {
            return;
        }
        let index = self.push(path, "file", depth, from);
        let included = open_included(path, MAX_SUDOERS_BYTES, &self.stack, true);
        self.out.files[index].facts = included.facts;
        self.out.files[index].problems = included.problems;
        let Some((text, id)) = included.read else {
            return;
        };
        let name = path.display().to_string();
        let parsed = sudoers::parse(&text);
        let at = |line| (name.clone(), line);
        for r in parsed.rules {
            let (file, line) = at(r.line);
            self.out.rules.push(RuleOut {
                file,
                line,
                users: r.users,
                hosts: r.hosts,
                commands: r.commands.into_iter().map(CommandOut::from).collect(),
            });
        }
        for d in parsed.defaults {
            let (file, line) = at(d.line);
            self.out.defaults.push(DefaultsOut {
                file,
                line,
                binding: d.binding.name(),
                targets: d.targets,
                settings: d.settings,
            });
        }
        for a in parsed.aliases {
            let (file, line) = at(a.line);
            self.out.aliases.push(AliasOut {
                file,
                line,
                kind: a.kind.name(),
                name: a.name,
                members: a.members,
            });
        }
        for p in parsed.problems {
            let (file, line) = at(p.line);
            self.out.parse_problems.push(ProblemOut {
                file,
                line,
                message: p.message,
            });
        }
        self.stack.push(id);
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        for inc in parsed.includes {
            let problem = |w: &mut Walk, message: String| {
                w.out.parse_problems.push(ProblemOut {
                    file: name.clone(),
                    line: inc.line,
                    message,
                })
            };
            if depth + 1 > MAX_DEPTH {
                problem(
                    self,
                    format!("includes nested deeper than {MAX_DEPTH}; not read"),
                );
                continue;
            }
            if inc.path.contains("%h") {
                problem(
                    self,
                    "the include path uses %h (the host name); not expanded, not read".into(),
                );
                continue;
            }
            let target = if inc.path.starts_with('/') {
                PathBuf::from(&inc.path)
            } else {
                dir.join(&inc.path)
            };
            if inc.dir {
                self.dir(&target, depth + 1, &name);
            } else {
                self.file(&target, depth + 1, Some(&name));
            }
        }
        self.stack.pop();
    }

    fn dir(&mut self, path: &Path, depth: usize, from: &str) {
        if self.out.files.len() >= MAX_FILES {
            return;
        }
        let index = self.push(path, "directory", depth, Some(from));
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // sudo ignores a missing include directory.
                self.out.files[index].problems.push("does not exist".into());
                return;
            }
            Err(e) => {
                self.out.files[index]
                    .problems
                    .push(format!("cannot stat: {e}"));
                return;
            }
        };
        if meta.file_type().is_symlink() {
            self.out.files[index]
                .problems
                .push("is a symbolic link; not followed".into());
            return;
        }
        if !meta.is_dir() {
            self.out.files[index]
                .problems
                .push("not a directory".into());
            return;
        }
        self.out.files[index].problems = ownership_problems(&meta);
        self.out.files[index].facts = Some(facts(&meta));
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                self.out.files[index].problems.push(
                    if e.kind() == std::io::ErrorKind::PermissionDenied {
                        "unreadable: permission denied".into()
                    } else {
                        format!("cannot list: {e}")
                    },
                );
                return;
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| sudoers::includedir_reads(n))
            .take(MAX_FILES)
            .collect();
        names.sort();
        let from = path.display().to_string();
        for n in names {
            self.file(&path.join(n), depth, Some(&from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn includes_dirs_loops_links_and_modes() {
        let dir = crate::testdir::TempDir::new("sudoers");
        let d = dir.path();
        std::fs::create_dir(d.join("sudoers.d")).unwrap();
        std::fs::write(
            d.join("sudoers"),
            "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n@includedir sudoers.d\n#include local\n",
        )
        .unwrap();
        std::fs::write(
            d.join("local"),
            "@include sudoers\nalice ALL = NOPASSWD: /bin/ls\n",
        )
        .unwrap();
        std::fs::write(
            d.join("sudoers.d/10-ops"),
            "%ops ALL=(root) /usr/bin/systemctl\n",
        )
        .unwrap();
        std::fs::write(d.join("sudoers.d/README.md"), "not sudoers at all = = =\n").unwrap();
        std::fs::write(d.join("sudoers.d/20-backup~"), "bad line\n").unwrap();
        std::fs::write(
            d.join("sudoers.d/30-writable"),
            "bob ALL = ALL\nbroken line here\n",
        )
        .unwrap();
        std::fs::set_permissions(
            d.join("sudoers.d/30-writable"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/shadow", d.join("sudoers.d/40-link")).unwrap();
        std::fs::write(d.join("sudoers.d/50-big"), "#".repeat(1024 * 1024 + 1)).unwrap();
        let v = read_sudo_config(&d.join("sudoers")).unwrap();
        let files = v["files"].as_array().unwrap();
        let by_name = |n: &str| {
            files
                .iter()
                .find(|f| f["path"].as_str().unwrap().ends_with(n))
                .unwrap_or_else(|| panic!("{n} not in {files:?}"))
        };
        let has = |f: &Value, what: &str| {
            f["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str().unwrap().contains(what))
        };
        assert!(
            !files
                .iter()
                .any(|f| f["path"].as_str().unwrap().contains("README"))
        );
        assert!(
            !files
                .iter()
                .any(|f| f["path"].as_str().unwrap().ends_with('~'))
        );
        assert!(has(by_name("30-writable"), "world-writable"));
        assert!(has(by_name("30-writable"), "group-writable"));
        assert!(has(by_name("40-link"), "symbolic link"));
        assert!(has(by_name("50-big"), "larger than"));
        assert_eq!(by_name("sudoers.d")["kind"], "directory");
        // `local` includes `sudoers` again: a loop, reported and not followed.
        let again: Vec<&Value> = files
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with("/sudoers"))
            .collect();
        assert_eq!(again.len(), 2);
        assert!(has(again[1], "include loop"));
        let users: Vec<&str> = v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["users"][0].as_str().unwrap())
            .collect();
        assert_eq!(users, ["root", "%ops", "bob", "alice"]);
        let pp = v["parse_problems"].as_array().unwrap();
        assert_eq!(pp.len(), 1, "{pp:?}");
        assert!(pp[0]["file"].as_str().unwrap().ends_with("30-writable"));
        assert_eq!(pp[0]["line"], 2);
        assert!(read_sudo_config(&d.join("none")).is_err());
    }

    #[test]
    fn include_depth_is_capped() {
        let dir = crate::testdir::TempDir::new("sudoers-deep");
        for i in 0..20 {
            std::fs::write(dir.join(&format!("f{i}")), format!("@include f{}\n", i + 1)).unwrap();
        }
        let v = read_sudo_config(&dir.join("f0")).unwrap();
        assert_eq!(v["files"].as_array().unwrap().len(), MAX_DEPTH + 1);
        let pp = v["parse_problems"].as_array().unwrap();
        assert_eq!(pp.len(), 1, "{pp:?}");
        assert!(pp[0]["message"].as_str().unwrap().contains("deeper than 8"));
    }
}

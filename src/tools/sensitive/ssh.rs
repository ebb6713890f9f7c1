#![forbid(unsafe_code)]
//! `get_ssh_config`: `/etc/ssh/sshd_config` and its `Include`s, walked as sshd does (globs, paths
//! relative to `/etc/ssh`, an include inside a `Match` belongs to that block, a `Match` ends at
//! the end of its file), with the effective global settings computed by the pure parser
//! (`parse::sshd_config`). Host keys are never opened: `HostKey` values are only names.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    FileFacts, MAX_CONFIG_BYTES, ProblemOut, glob, has_magic, open_included, require_main, to_value,
};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::sshd_config::{self, Item, Located};

pub const INPUT: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["config_file", "files", "settings", "matches", "problems"],
    "properties": {
        "config_file": {"type": "string"},
        "files": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["path", "depth", "problems"],
            "properties": {
                "path": {"type": "string"},
                "depth": {"type": "integer", "minimum": 0, "description": "0: sshd_config; 1: included from it; ..."},
                "owner_uid": {"type": "integer", "minimum": 0},
                "group_gid": {"type": "integer", "minimum": 0},
                "mode": {"type": "string", "x-sysgate-server-text": true},
                "size_bytes": {"type": "integer", "minimum": 0},
                "problems": {"type": "array", "items": {"type": "string"}}
            }
        }},
        "settings": {"type": "array", "description": "effective global settings, by keyword", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["keyword", "values", "source"],
            "properties": {
                "keyword": {"type": "string", "description": "lowercased, as sshd -T prints it"},
                "values": {"type": "array", "items": {"type": "string"}, "description": "one per line sshd -T prints for keywords that add up; otherwise the arguments"},
                "source": {"type": "string", "enum": ["config", "default"]},
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1}
            }
        }},
        "matches": {"type": "array", "description": "Match blocks, not applied to `settings`", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["criteria", "file", "line", "settings"],
            "properties": {
                "criteria": {"type": "string"},
                "file": {"type": "string"},
                "line": {"type": "integer", "minimum": 1},
                "settings": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["keyword", "values", "file", "line"],
                    "properties": {
                        "keyword": {"type": "string"},
                        "values": {"type": "array", "items": {"type": "string"}},
                        "file": {"type": "string"},
                        "line": {"type": "integer", "minimum": 1}
                    }
                }}
            }
        }},
        "problems": {"type": "array", "items": {
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

/// sshd's own include depth limit (`SERVCONF_MAX_DEPTH`).
const MAX_DEPTH: usize = 16;
/// Files read in one call, whatever the globs expand to.
const MAX_FILES: usize = 256;

#[derive(Serialize)]
struct SshConfig {
    config_file: String,
    files: Vec<FileOut>,
    settings: Vec<SettingOut>,
    matches: Vec<MatchOut>,
    problems: Vec<ProblemOut>,
}

#[derive(Serialize)]
struct FileOut {
    path: String,
    depth: usize,
    #[serde(flatten)]
    facts: Option<FileFacts>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct SettingOut {
    keyword: String,
    values: Vec<String>,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

#[derive(Serialize)]
struct MatchOut {
    criteria: String,
    file: String,
    line: usize,
    settings: Vec<MatchSetting>,
}

#[derive(Serialize)]
struct MatchSetting {
    keyword: String,
    values: Vec<String>,
    file: String,
    line: usize,
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    ctx.check()?;
    read_ssh_config(Path::new("/etc/ssh/sshd_config"), Path::new("/etc/ssh"))
}

/// The configuration starting at `main`, with relative includes resolved under `ssh_dir`.
pub fn read_ssh_config(main: &Path, ssh_dir: &Path) -> Result<Value, ToolError> {
    require_main(main, "the OpenSSH server")?;
    let mut w = Walk {
        ssh_dir: ssh_dir.to_path_buf(),
        files: Vec::new(),
        globals: Vec::new(),
        matches: Vec::new(),
        problems: Vec::new(),
        stack: Vec::new(),
    };
    w.file(main, 0, None, None);
    let file_name = |i: usize| w.files.get(i).map(|f| f.path.clone()).unwrap_or_default();
    let settings = sshd_config::effective(&w.globals)
        .into_iter()
        .map(|s| SettingOut {
            source: if s.from.is_some() {
                "config"
            } else {
                "default"
            },
            file: s.from.map(|(f, _)| file_name(f)),
            line: s.from.map(|(_, l)| l),
            keyword: s.keyword,
            values: s.values,
        })
        .collect();
    let out = SshConfig {
        config_file: main.display().to_string(),
        settings,
        files: w.files,
        matches: w.matches,
        problems: w.problems,
    };
    to_value(&out)
}

struct Walk {
    ssh_dir: PathBuf,
    files: Vec<FileOut>,
    globals: Vec<Located>,
    matches: Vec<MatchOut>,
    problems: Vec<ProblemOut>,
    /// (device, inode) of the files being read, to refuse an include loop.
    stack: Vec<(u64, u64)>,
}

impl Walk {
    fn problem(&mut self, file: &str, line: usize, message: String) {
        self.problems.push(ProblemOut {
            file: file.to_string(),
            line,
            message,
        });
    }

    /// Read one file; `in_match` is the Match block an `Include` inside it was in.
    fn file(
        &mut self,
        path: &Path,
        depth: usize,
        in_match: Option<usize>,
        from: Option<(&str, usize)>,
    ) {
        let name = path.display().to_string();
        if self.files.len() >= MAX_FILES {
            if let Some((f, l)) = from {
                self.problem(
                    f,
                    l,
                    format!("more than {MAX_FILES} files; `{name}` not read"),
                );
            }
            return;
        }
        let index = self.files.len();
        self.files.push(FileOut {
            path: name.clone(),
            depth,
            facts: None,
            problems: Vec::new(),
        });
        let included = open_included(path, MAX_CONFIG_BYTES, &self.stack, false);
        self.files[index].facts = included.facts;
        self.files[index].problems = included.problems;
        let Some((text, id)) = included.read else {
            return;
        };
        self.stack.push(id);
        let (items, problems) = sshd_config::parse(&text);
        for p in problems {
            self.problem(&name, p.line, p.message);
        }
        let mut current = in_match;
        for item in items {
            match item {
                Item::Directive {
                    line,
                    keyword,
                    args,
                } => match current {
                    Some(m) => self.matches[m].settings.push(MatchSetting {
                        keyword,
                        values: args,
                        file: name.clone(),
                        line,
                    }),
                    None => self.globals.push(Located {
                        file: index,
                        line,
                        keyword,
                        args,
                    }),
                },
                Item::Match { line, criteria } => {
                    current = if criteria.eq_ignore_ascii_case("all") {
                        None
                    } else {
                        self.matches.push(MatchOut {
                            criteria,
                            file: name.clone(),
                            line,
                            settings: Vec::new(),
                        });
                        Some(self.matches.len() - 1)
                    };
                }
                Item::Include { line, patterns } => {
                    if depth + 1 > MAX_DEPTH {
                        self.problem(
                            &name,
                            line,
                            format!("includes nested deeper than {MAX_DEPTH}; not read"),
                        );
                        continue;
                    }
                    for pattern in patterns {
                        let full = if pattern.starts_with('/') {
                            pattern.clone()
                        } else {
                            format!("{}/{pattern}", self.ssh_dir.display())
                        };
                        let paths = if has_magic(&full) {
                            glob(&full)
                        } else {
                            vec![PathBuf::from(&full)]
                        };
                        if paths.is_empty() {
                            continue;
                        }
                        for p in paths {
                            self.file(&p, depth + 1, current, Some((&name, line)));
                        }
                    }
                }
            }
        }
        self.stack.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_matches_loops_and_hostile_files() {
        let dir = crate::testdir::TempDir::new("sshd");
        let d = dir.path().display().to_string();
        std::fs::create_dir(dir.join("conf.d")).unwrap();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Include conf.d/*.conf\n\
                 PermitRootLogin yes\n\
                 Port 2222\n\
                 Match User alice\n\
                 \tX11Forwarding yes\n\
                 \tInclude {d}/inmatch\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("conf.d/10-a.conf"),
            "PermitRootLogin no\nPort 22\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("conf.d/20-b.conf"),
            "Match Group x\nPasswordAuthentication no\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("conf.d/30-loop.conf"),
            format!("Include {d}/sshd_config\n"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/shadow", dir.join("conf.d/40-link.conf")).unwrap();
        std::fs::write(dir.join("conf.d/.hidden.conf"), "PermitRootLogin yes\n").unwrap();
        std::fs::write(dir.join("inmatch"), "AllowTcpForwarding no\n").unwrap();
        let v = read_ssh_config(&dir.join("sshd_config"), dir.path()).unwrap();
        let get = |k: &str| {
            v["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["keyword"] == k)
                .unwrap()
                .clone()
        };
        // The include comes first, so its value wins; ports add up.
        assert_eq!(get("permitrootlogin")["values"], serde_json::json!(["no"]));
        assert_eq!(get("permitrootlogin")["source"], "config");
        assert_eq!(get("port")["values"], serde_json::json!(["22", "2222"]));
        // The Match of 20-b.conf ended with its file: PasswordAuthentication stays the default.
        assert_eq!(get("passwordauthentication")["source"], "default");
        assert_eq!(get("x11forwarding")["values"], serde_json::json!(["no"]));
        assert_eq!(get("allowtcpforwarding")["source"], "default");
        let m = v["matches"].as_array().unwrap();
        let crit: Vec<&str> = m.iter().map(|m| m["criteria"].as_str().unwrap()).collect();
        assert_eq!(crit, ["Group x", "User alice"]);
        assert_eq!(m[1]["settings"].as_array().unwrap().len(), 2, "{m:?}");
        let files = v["files"].as_array().unwrap();
        let problems: Vec<String> = files
            .iter()
            .flat_map(|f| f["problems"].as_array().unwrap().iter())
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert!(
            problems.iter().any(|p| p.contains("include loop")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("symbolic link")),
            "{problems:?}"
        );
        assert!(
            !files
                .iter()
                .any(|f| f["path"].as_str().unwrap().contains("hidden"))
        );
        assert!(read_ssh_config(&dir.join("none"), dir.path()).is_err());
    }

    #[test]
    fn include_depth_is_capped_like_sshd() {
        let dir = crate::testdir::TempDir::new("sshd-deep");
        for i in 0..30 {
            std::fs::write(
                dir.join(&format!("f{i}")),
                format!("Include f{}\nPort {}\n", i + 1, 1000 + i),
            )
            .unwrap();
        }
        let v = read_ssh_config(&dir.join("f0"), dir.path()).unwrap();
        assert_eq!(v["files"].as_array().unwrap().len(), MAX_DEPTH + 1);
        let p = v["problems"].as_array().unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0]["message"].as_str().unwrap().contains("deeper than 16"));
        let ports = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["keyword"] == "port")
            .unwrap();
        assert_eq!(ports["values"].as_array().unwrap().len(), MAX_DEPTH + 1);
    }
}

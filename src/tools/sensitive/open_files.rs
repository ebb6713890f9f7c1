#![forbid(unsafe_code)]
//! `get_open_files`: `/proc/PID/fd` (readlink) and `/proc/PID/fdinfo` (flags, position) of the
//! processes the query selects. The gate has already refused a query without `pid`,
//! `path_prefix` or `user` (the `anyOf` of the input schema). `/proc/PID/environ` is never
//! opened. A process that exits during the walk is counted and skipped, not an error.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{MAX_CONFIG_BYTES, open_nofollow, to_value};
use crate::error::ToolError;
use crate::tools::parse::fdinfo::{
    TargetKind, access_mode, parse_fdinfo, target_kind, under_prefix,
};
use crate::tools::procfs;
use crate::tools::{Ctx, invalid};

/// `path_prefix`: absolute, at least one component, no `.` or `..` component, no empty
/// component, no control character (so no NUL), at most 1024 characters.
pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "pid": {"type": "integer", "minimum": 1, "maximum": 4194304,
            "description": "only this process"},
        "path_prefix": {"type": "string", "minLength": 2, "maxLength": 1024,
            "pattern": "^(/([^/\\x00-\\x1f\\x7f.][^/\\x00-\\x1f\\x7f]*|\\.[^/\\x00-\\x1f\\x7f.][^/\\x00-\\x1f\\x7f]*|\\.\\.[^/\\x00-\\x1f\\x7f]+))+/?$",
            "description": "only descriptors whose target is this absolute path or below it (whole components; no `.` or `..`)"},
        "user": {"type": "string", "pattern": "^[a-z_][a-z0-9_.-]{0,31}$",
            "description": "only processes whose effective user is this (a name from /etc/passwd)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200,
            "description": "most descriptors to return"}
    },
    "anyOf": [{"required": ["pid"]}, {"required": ["path_prefix"]}, {"required": ["user"]}]
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["files", "returned", "matched", "omitted", "processes_scanned",
                 "processes_vanished", "processes_denied"],
    "properties": {
        "files": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["pid", "process", "user", "uid", "fd", "target", "kind", "deleted"],
            "properties": {
                "pid": {"type": "integer", "minimum": 1},
                "process": {"type": "string", "description": "the process name (comm)"},
                "user": {"type": "string", "description": "effective user name, or the uid when /etc/passwd has no entry"},
                "uid": {"type": "integer", "minimum": 0},
                "fd": {"type": "integer", "minimum": 0},
                "target": {"type": "string", "description": "the link target: a path, socket:[INODE], pipe:[INODE], anon_inode:NAME"},
                "kind": {"type": "string", "enum": ["file", "dir", "device", "socket", "pipe", "anon_inode", "other"]},
                "deleted": {"type": "boolean", "description": "the file was deleted while open"},
                "access": {"type": "string", "enum": ["read", "write", "read_write"]},
                "position": {"type": "integer", "minimum": 0}
            }
        }},
        "returned": {"type": "integer", "minimum": 0, "description": "how many descriptors are in `files`"},
        "matched": {"type": "integer", "minimum": 0, "description": "descriptors that matched the query"},
        "omitted": {"type": "integer", "minimum": 0, "description": "matched descriptors left out by `limit`"},
        "processes_scanned": {"type": "integer", "minimum": 0},
        "processes_vanished": {"type": "integer", "minimum": 0, "description": "processes that exited during the walk (skipped)"},
        "processes_denied": {"type": "integer", "minimum": 0, "description": "processes whose descriptors this server may not read (skipped)"}
    }
}"#;

/// Bytes read from `status`, `comm` and `fdinfo` (all small).
const SMALL_READ: u64 = 16 * 1024;

#[derive(Debug)]
struct Query {
    pid: Option<u32>,
    prefix: Option<String>,
    uid: Option<u32>,
    limit: usize,
}

impl Query {
    /// The schema has checked the arguments; this still refuses anything odd rather than
    /// trusting that, and resolves `user` through /etc/passwd.
    fn from_args(args: &Map<String, Value>, users: &[(String, u32)]) -> Result<Query, ToolError> {
        let pid = match args.get("pid") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|p| (1..=4_194_304).contains(p))
                    .ok_or_else(|| invalid("pid", "must be between 1 and 4194304"))?
                    as u32,
            ),
        };
        let prefix = match args.get("path_prefix") {
            None => None,
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid("path_prefix", "must be a string"))?;
                let bad = !s.starts_with('/')
                    || s.len() > 4096
                    || s.chars().any(char::is_control)
                    || s.trim_end_matches('/')
                        .split('/')
                        .skip(1)
                        .any(|c| c.is_empty() || c == "." || c == "..");
                if bad || s.trim_end_matches('/').is_empty() {
                    return Err(invalid(
                        "path_prefix",
                        "must be an absolute path below / without `.`, `..` or empty components",
                    ));
                }
                Some(s.to_string())
            }
        };
        let uid = match args.get("user") {
            None => None,
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| invalid("user", "must be a string"))?;
                if name.starts_with('-') {
                    return Err(invalid("user", "must not start with `-`"));
                }
                Some(procfs::uid_of(users, name).ok_or_else(|| {
                    invalid(
                        "user",
                        "no such user in /etc/passwd (give a user name, not a uid)",
                    )
                })?)
            }
        };
        if pid.is_none() && prefix.is_none() && uid.is_none() {
            // The gate refuses this first; never list everything even if it did not.
            return Err(ToolError::Denied(
                "get_open_files needs one of `pid`, `path_prefix`, `user` (it never lists everything at once)".into(),
            ));
        }
        let limit = match args.get("limit") {
            None => 200,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| invalid("limit", "must be between 1 and 1000"))?
                as usize,
        };
        Ok(Query {
            pid,
            prefix,
            uid,
            limit,
        })
    }
}

#[derive(Serialize, Default)]
struct OpenFiles {
    files: Vec<OpenFile>,
    returned: usize,
    matched: usize,
    omitted: usize,
    processes_scanned: usize,
    processes_vanished: usize,
    processes_denied: usize,
}

#[derive(Serialize)]
struct OpenFile {
    pid: u32,
    process: String,
    user: String,
    uid: u32,
    fd: u32,
    target: String,
    kind: &'static str,
    deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let passwd = open_nofollow(Path::new("/etc/passwd"), MAX_CONFIG_BYTES)
        .and_then(|o| o.text)
        .unwrap_or_default();
    let users = procfs::parse_passwd(&passwd);
    let q = Query::from_args(args, &users)?;
    let out = scan(Path::new("/proc"), &q, &users, ctx)?;
    to_value(&out)
}

fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(SMALL_READ)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// What became of one process.
enum Seen {
    Read,
    Vanished,
    Denied,
    /// Another user's process, for a `user` query.
    Skipped,
}

fn vanished_or_denied(e: &io::Error) -> Seen {
    match e.kind() {
        io::ErrorKind::PermissionDenied => Seen::Denied,
        _ => Seen::Vanished,
    }
}

/// The descriptors of one process: `(fd, target)`, sorted by fd. Errors mean the process is
/// gone (`NotFound`) or hidden from us (`PermissionDenied`). Shared shape with the socket-inode
/// walk of listening ports: one readlink per entry of `/proc/PID/fd`.
pub(crate) fn fd_targets(proc_root: &Path, pid: u32) -> io::Result<Vec<(u32, String)>> {
    let dir = proc_root.join(pid.to_string()).join("fd");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let Ok(entry) = entry else { continue };
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let target = match std::fs::read_link(entry.path()) {
            Ok(t) => t,
            // The listing may be open to us while the links are not (ptrace access mode).
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(e),
            // A descriptor closed since the listing is simply not there any more.
            Err(_) => continue,
        };
        out.push((fd, target.to_string_lossy().into_owned()));
    }
    out.sort_by_key(|(fd, _)| *fd);
    Ok(out)
}

fn kind_of(proc_root: &Path, pid: u32, fd: u32, k: TargetKind) -> &'static str {
    match k {
        TargetKind::Socket => "socket",
        TargetKind::Pipe => "pipe",
        TargetKind::AnonInode => "anon_inode",
        TargetKind::Other => "other",
        TargetKind::Path { .. } => {
            // stat through the link: the type of the open file itself, without opening it.
            let link = proc_root.join(format!("{pid}/fd/{fd}"));
            match std::fs::metadata(link) {
                Ok(m) if m.is_dir() => "dir",
                Ok(m) if m.file_type().is_char_device() || m.file_type().is_block_device() => {
                    "device"
                }
                Ok(m) if m.file_type().is_fifo() => "pipe",
                Ok(m) if m.file_type().is_socket() => "socket",
                _ => "file",
            }
        }
    }
}

fn scan(
    proc_root: &Path,
    q: &Query,
    users: &[(String, u32)],
    ctx: &Ctx<'_>,
) -> Result<OpenFiles, ToolError> {
    let pids: Vec<u32> = match q.pid {
        Some(p) => {
            if std::fs::symlink_metadata(proc_root.join(p.to_string())).is_err() {
                return Err(invalid("pid", "no process with this pid"));
            }
            vec![p]
        }
        None => {
            let dir = std::fs::read_dir(proc_root).map_err(|e| {
                ToolError::Unavailable(format!("cannot list {}: {e}", proc_root.display()))
            })?;
            let mut v: Vec<u32> = dir
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect();
            v.sort_unstable();
            v
        }
    };
    let mut out = OpenFiles::default();
    for (i, pid) in pids.into_iter().enumerate() {
        if i % 32 == 0 {
            ctx.check()?;
        }
        out.processes_scanned += 1;
        match process(proc_root, pid, q, users, &mut out) {
            Seen::Read | Seen::Skipped => {}
            Seen::Vanished => out.processes_vanished += 1,
            Seen::Denied => out.processes_denied += 1,
        }
    }
    out.returned = out.files.len();
    out.omitted = out.matched - out.returned;
    Ok(out)
}

fn process(
    proc_root: &Path,
    pid: u32,
    q: &Query,
    users: &[(String, u32)],
    out: &mut OpenFiles,
) -> Seen {
    let base = proc_root.join(pid.to_string());
    let status = match read_small(&base.join("status")) {
        Ok(s) => s,
        Err(e) => return vanished_or_denied(&e),
    };
    let Some((_, euid)) = procfs::parse_status_uids(&status) else {
        return Seen::Vanished;
    };
    if q.uid.is_some_and(|u| u != euid) {
        return Seen::Skipped;
    }
    let targets = match fd_targets(proc_root, pid) {
        Ok(t) => t,
        Err(e) => return vanished_or_denied(&e),
    };
    let comm = read_small(&base.join("comm"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .unwrap_or_default();
    let user = procfs::user_name(users, euid);
    for (fd, target) in targets {
        if let Some(prefix) = &q.prefix
            && !under_prefix(&target, prefix)
        {
            continue;
        }
        out.matched += 1;
        if out.files.len() >= q.limit {
            continue;
        }
        let k = target_kind(&target);
        let info = read_small(&base.join(format!("fdinfo/{fd}")))
            .ok()
            .and_then(|b| parse_fdinfo(&String::from_utf8_lossy(&b)));
        out.files.push(OpenFile {
            pid,
            process: comm.clone(),
            user: user.clone(),
            uid: euid,
            fd,
            kind: kind_of(proc_root, pid, fd, k),
            deleted: matches!(k, TargetKind::Path { deleted: true }),
            access: info.and_then(|i| access_mode(i.flags)),
            position: info.map(|i| i.pos),
            target,
        });
    }
    Seen::Read
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_are_checked_again_here() {
        let users = vec![("root".to_string(), 0), ("alice".to_string(), 1000)];
        let q = |v: Value| Query::from_args(v.as_object().unwrap(), &users);
        assert_eq!(q(json!({"user": "alice"})).unwrap().uid, Some(1000));
        assert!(
            q(json!({}))
                .unwrap_err()
                .to_string()
                .contains("needs one of")
        );
        for bad in [
            "relative", "/", "//", "/a/../b", "/a/./b", "/a//b", "/a\u{0}b", "/..",
        ] {
            let e = q(json!({"path_prefix": bad})).unwrap_err();
            assert!(e.to_string().contains("path_prefix"), "{bad}: {e}");
        }
        assert!(q(json!({"path_prefix": "/tmp/x/"})).is_ok());
        assert!(q(json!({"path_prefix": "/tmp/..x/.y/..."})).is_ok());
        assert!(q(json!({"user": "-rf"})).is_err());
        assert!(
            q(json!({"user": "bob"}))
                .unwrap_err()
                .to_string()
                .contains("no such user")
        );
        assert!(q(json!({"pid": 0})).is_err());
        assert!(q(json!({"pid": 1, "limit": 0})).is_err());
    }

    #[test]
    fn the_schema_pattern_agrees_with_the_handler() {
        let schema: Value = serde_json::from_str(INPUT).unwrap();
        let re = regex::Regex::new(
            schema["properties"]["path_prefix"]["pattern"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        for (p, ok) in [
            ("/tmp", true),
            ("/tmp/", true),
            ("/tmp/a b/c", true),
            ("/a/..x/.y/...", true),
            ("/", false),
            ("//", false),
            ("/a//b", false),
            ("/a/../b", false),
            ("/a/./b", false),
            ("/..", false),
            ("/a/.", false),
            ("relative", false),
            ("/a\u{0}b", false),
            ("/a\nb", false),
        ] {
            assert_eq!(re.is_match(p), ok, "{p:?}");
        }
    }

    #[test]
    fn finds_a_file_this_test_holds_open() {
        let dir = crate::testdir::TempDir::new("openfiles");
        let path = dir.join("held");
        let _held = std::fs::File::create(&path).unwrap();
        let fds = fd_targets(Path::new("/proc"), std::process::id()).unwrap();
        assert!(fds.iter().any(|(_, t)| Path::new(t) == path), "{fds:?}");
        let q = Query {
            pid: Some(std::process::id()),
            prefix: Some(dir.path().display().to_string()),
            uid: None,
            limit: 10,
        };
        let mut out = OpenFiles::default();
        assert!(matches!(
            process(Path::new("/proc"), std::process::id(), &q, &[], &mut out),
            Seen::Read
        ));
        assert_eq!(
            out.files.len(),
            1,
            "{:?}",
            out.files.iter().map(|f| &f.target).collect::<Vec<_>>()
        );
        let f = &out.files[0];
        assert_eq!(
            (f.kind, f.access, f.deleted),
            ("file", Some("write"), false)
        );
        // A process that is not there is a vanished one, not an error.
        let mut out = OpenFiles::default();
        assert!(matches!(
            process(Path::new("/proc"), 4_194_304, &q, &[], &mut out),
            Seen::Vanished
        ));
    }
}

#![forbid(unsafe_code)]
//! Scope `logs_app`: application logs, only files that match `scopes.logs_app.allowed_paths`
//! and no `denied_paths` glob (the config refuses enabling the scope without allowed paths).
//! A file is opened beneath its glob's fixed directory (the root) with `openat2(2)` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, so no symlink is followed, in the root or below it;
//! where the kernel lacks `openat2` (before 5.6), by a component-wise walk with `O_NOFOLLOW`.
//! Without `path`, the tool lists the files that match (symlinks are never listed).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::glob::{Glob, is_plain_absolute};
use super::logfile::{self, LogFile, PageArgs};
use super::parse::syslog::format_utc;
use super::settings::AppLogs;
use super::{Annotations, Ctx, Impact, ToolDef};
use crate::error::ToolError;
use crate::scope::Scope;

pub static TOOLS: &[ToolDef] = &[ToolDef {
    // Medium: a page may scan up to 32 MiB of the file (logfile::SCAN_BUDGET).
    name: "get_app_logs",
    title: "Application logs",
    description: "Lines of an application log file that the server's configuration allows (scopes.logs_app.allowed_paths minus denied_paths), read natively from the end: newest first, at most `lines` (≤ 1000), not older than `max_age_hours` (≤ 24), optionally only those containing the literal text `grep`; `next_cursor` continues further back in time, also across a rotation of the file (to PATH.1). Without `path`, lists the files that may be read. Symbolic links are never followed.",
    scope: Scope::LogsApp,
    impact: Impact::Medium,
    annotations: Annotations::READ_LOCAL,
    input_schema: INPUT,
    output_schema: OUTPUT,
    handler,
}];

pub const INPUT: &str = concat!(
    r#"{"type": "object", "additionalProperties": false, "properties": {
    "path": {"type": "string", "minLength": 2, "maxLength": 4096, "pattern": "^/[^\\u0000-\\u001f]*$", "description": "absolute path of the log file (one the listing without `path` shows); needed with `cursor`"},
    "max_age_hours": {"type": "integer", "minimum": 1, "maximum": 24, "description": "only lines from the last this many hours (default 24)"},
    "#,
    crate::log_page_properties!(),
    "}}"
);

pub const OUTPUT: &str = crate::log_page_output!(
    "",
    r#",
    "files": {"type": "array", "description": "without `path`: the files that may be read", "items": {
        "type": "object", "additionalProperties": false, "required": ["path", "bytes", "modified"],
        "properties": {
            "path": {"type": "string"},
            "bytes": {"type": "integer", "minimum": 0},
            "modified": {"type": "string", "x-sysgate-server-text": true}
        }}},
    "count": {"type": "integer", "minimum": 0},
    "patterns": {"type": "array", "items": {"type": "string", "x-sysgate-server-text": true}, "description": "scopes.logs_app.allowed_paths"},
    "listing_cut": {"type": "boolean", "description": "more files match than the listing holds"}"#
);

/// Most files listed; most directory entries looked at per directory.
const MAX_LISTED: usize = 1000;
const MAX_DIR_ENTRIES: usize = 10_000;

fn bad_path(rule: impl Into<String>) -> ToolError {
    ToolError::InvalidArgument {
        argument: "path".into(),
        rule: rule.into(),
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let globs = &ctx.settings.app_logs;
    let page_args = PageArgs::from(args);
    match args.get("path").and_then(Value::as_str) {
        None if page_args.cursor.is_some() => Err(bad_path(
            "is needed with `cursor`: pass the same `path` as for the previous page",
        )),
        None => list(globs, &|| ctx.check()),
        Some(path) => {
            let check = || ctx.check();
            let env = logfile::Env {
                redactor: ctx.redactor,
                check: &check,
                now: logfile::now_unix(),
            };
            read(globs, path, &page_args, &env)
        }
    }
}

/// Which glob allows `path`, or why none does.
fn allowed<'a>(globs: &'a AppLogs, path: &str) -> Result<&'a Glob, ToolError> {
    if globs.allowed.is_empty() {
        return Err(ToolError::Unavailable(
            "no application log paths are configured (scopes.logs_app.allowed_paths)".into(),
        ));
    }
    if !is_plain_absolute(path) {
        return Err(bad_path(
            "must be an absolute path without `.`, `..` or empty components",
        ));
    }
    globs.permits(path).map_err(|why| {
        ToolError::Denied(format!(
            "{} {why}; call get_app_logs without `path` to list the files that may be read",
            crate::error::echo(path, 200)
        ))
    })
}

/// One page of an allowed file (the handler without `Ctx`, for tests).
pub fn read(
    globs: &AppLogs,
    path: &str,
    args: &PageArgs,
    env: &logfile::Env<'_>,
) -> Result<Value, ToolError> {
    let glob = allowed(globs, path)?;
    let root = glob.root();
    let open = |p: &Path| open_beneath(&root, p);
    let log = LogFile {
        tool: "get_app_logs",
        path: Path::new(path),
        open: &open,
    };
    logfile::page(&log, args, env)
}

/// Open the regular file `path` beneath the directory `root` without following any symlink.
pub fn open_beneath(root: &Path, path: &Path) -> io::Result<File> {
    let rel = path.strip_prefix(root).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path is not beneath its root",
        )
    })?;
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has a component that is not a plain name",
        ));
    }
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(root)?;
    match crate::sys::openat2_beneath(&dir, rel) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => walk_nofollow(dir, rel),
        other => logfile::regular(other?),
    }
}

/// The fallback where `openat2` is missing: one `openat(O_NOFOLLOW)` per component, each
/// directory opened from the previous one's descriptor.
pub fn walk_nofollow(root: File, rel: &Path) -> io::Result<File> {
    let names: Vec<&OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has a component that is not a plain name",
            )),
        })
        .collect::<io::Result<_>>()?;
    let Some((last, dirs)) = names.split_last() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
    };
    let mut dir = root;
    for d in dirs {
        dir = crate::sys::openat_nofollow(&dir, d, true)?;
    }
    logfile::regular(crate::sys::openat_nofollow(&dir, last, false)?)
}

#[derive(Serialize)]
struct Listed {
    path: String,
    bytes: u64,
    modified: String,
}

#[derive(Serialize)]
struct Listing {
    files: Vec<Listed>,
    count: usize,
    patterns: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    listing_cut: bool,
}

/// The files matching the allowed globs and no denied one: regular files only, found without
/// following symlinks, sorted by path.
pub fn list(
    globs: &AppLogs,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Value, ToolError> {
    if globs.allowed.is_empty() {
        return Err(ToolError::Unavailable(
            "no application log paths are configured (scopes.logs_app.allowed_paths)".into(),
        ));
    }
    let mut found: Vec<Listed> = Vec::new();
    let mut cut = false;
    for g in &globs.allowed {
        let mut level: Vec<PathBuf> = vec![g.root()];
        let depth = g.below_root().len();
        for d in 0..depth {
            check()?;
            let last = d + 1 == depth;
            let mut next = Vec::new();
            for dir in &level {
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for e in entries.take(MAX_DIR_ENTRIES).flatten() {
                    let name = e.file_name();
                    let Some(name) = name.to_str() else { continue };
                    if !g.component_matches_below_root(d, name) {
                        continue;
                    }
                    let Ok(t) = e.file_type() else { continue };
                    if last && t.is_file() || !last && t.is_dir() {
                        next.push(dir.join(name));
                    }
                }
            }
            next.sort();
            level = next;
        }
        for p in level {
            let Some(text) = p.to_str() else { continue };
            if globs.permits(text).is_err() || found.iter().any(|f| f.path == text) {
                continue;
            }
            if found.len() >= MAX_LISTED {
                cut = true;
                break;
            }
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            found.push(Listed {
                path: text.to_owned(),
                bytes: m.len(),
                modified: format_utc(m.mtime(), 0),
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    let out = Listing {
        count: found.len(),
        files: found,
        patterns: globs
            .allowed
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        listing_cut: cut,
    };
    serde_json::to_value(&out)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdir::TempDir;

    #[test]
    fn the_fallback_walk_refuses_symlinks_and_reads_plain_files() {
        let d = TempDir::new("applogs-walk");
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/a.log"), "x\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("sub/link.log")).unwrap();
        std::os::unix::fs::symlink(d.join("sub"), d.join("subl")).unwrap();
        let root = || File::open(d.path()).unwrap();
        assert!(walk_nofollow(root(), Path::new("sub/a.log")).is_ok());
        let e = walk_nofollow(root(), Path::new("sub/link.log")).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        let e = walk_nofollow(root(), Path::new("subl/a.log")).unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{e}"
        );
        assert!(walk_nofollow(root(), Path::new("../x")).is_err());
        assert!(
            walk_nofollow(root(), Path::new("sub")).is_err(),
            "a directory is not a log"
        );
    }

    #[test]
    fn openat2_refuses_symlinks_and_escapes() {
        let d = TempDir::new("applogs-openat2");
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/a.log"), "x\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("sub/link.log")).unwrap();
        std::os::unix::fs::symlink(d.join("sub"), d.join("subl")).unwrap();
        let ok = open_beneath(d.path(), &d.join("sub/a.log"));
        assert!(ok.is_ok(), "{ok:?}");
        for bad in ["sub/link.log", "subl/a.log", "sub/../sub/a.log"] {
            assert!(open_beneath(d.path(), &d.join(bad)).is_err(), "{bad}");
        }
        assert!(open_beneath(d.path(), Path::new("/etc/hostname")).is_err());
        // The kernel's own refusals, where it has openat2 (5.6+): ELOOP for a symlink on the
        // way, EXDEV for `..` out of the root.
        let dir = File::open(d.path()).unwrap();
        match crate::sys::openat2_beneath(&dir, Path::new("sub/a.log")) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {}
            other => {
                assert!(other.is_ok(), "{other:?}");
                let e = crate::sys::openat2_beneath(&dir, Path::new("subl/a.log")).unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
                let e = crate::sys::openat2_beneath(&dir, Path::new("sub/../../x")).unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{e}");
                let e = crate::sys::openat2_beneath(&dir, Path::new("/etc/hostname")).unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{e}");
            }
        }
    }
}

#![forbid(unsafe_code)]
//! Scope `sensitive` (disabled unless the config enables it and the caller holds it): user
//! accounts, sudo and sshd configuration, open files, and the authentication log. Everything
//! is read natively; no process
//! is started. The parameter requirements (`get_open_files` needs one of `pid`, `path_prefix`,
//! `user`) are in the input schemas, where the gate enforces them before any handler runs.
//! Readers take their root directory or file as a parameter, so the tests use fixture trees.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{Annotations, ToolDef};
use crate::error::ToolError;
use crate::scope::{Impact, Scope};

mod accounts;
mod auth_logs;
mod open_files;
mod ssh;
mod sudo;

pub use ssh::read_ssh_config;
pub use sudo::read_sudo_config;

pub static TOOLS: &[ToolDef] = &[
    ToolDef {
        // Medium: a page may scan up to 32 MiB of the file (logfile::SCAN_BUDGET).
        name: "get_auth_logs",
        title: "Authentication log",
        description: "Lines of /var/log/auth.log (or /var/log/secure, whichever exists): logins, sudo, sshd and PAM messages, with user names and addresses. Read natively from the end of the file: newest first, at most `lines` (≤ 1000), from the last `max_age_hours` (required, ≤ 24), optionally only those containing the literal text `grep`; `next_cursor` continues further back in time, also across a rotation of the file (to NAME.1). Without either file, an empty page with `stopped: no_file` and a `reason`.",
        scope: Scope::Sensitive,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: auth_logs::INPUT,
        output_schema: auth_logs::OUTPUT,
        handler: auth_logs::handler,
    },
    ToolDef {
        // Low: two small files and login.defs.
        name: "get_user_accounts",
        title: "User accounts",
        description: "Local accounts from /etc/passwd and /etc/group: name, uid, gid, primary and supplementary groups, GECOS, home, shell, whether the shell allows a login (not nologin or false), and system or regular by the UID_MIN..UID_MAX range of /etc/login.defs (default 1000..60000). Password fields are never returned, and /etc/shadow and /etc/gshadow are never opened.",
        scope: Scope::Sensitive,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: accounts::INPUT,
        output_schema: accounts::OUTPUT,
        handler: accounts::handler,
    },
    ToolDef {
        // Low: a few small files.
        name: "get_sudo_config",
        title: "sudo configuration",
        description: "/etc/sudoers and the files it includes (@include, @includedir and the # spellings; relative paths from the including file's directory; in a directory only names without `.` or `~`, as sudo reads them), read natively without following symbolic links: each file's owner, group, mode and problems (not owned by root, group- or world-writable, unreadable, too large, an include loop or too deep), and the parsed rules (users, hosts, runas users and groups, tags such as NOPASSWD, commands), Defaults lines and aliases, with the lines that could not be parsed.",
        scope: Scope::Sensitive,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: sudo::INPUT,
        output_schema: sudo::OUTPUT,
        handler: sudo::handler,
    },
    ToolDef {
        // Low: a few small files.
        name: "get_ssh_config",
        title: "SSH server configuration",
        description: "The effective sshd settings from /etc/ssh/sshd_config and its Include files (globs; relative paths from /etc/ssh), read natively: the first value wins as in sshd, except keywords that add up (Port, ListenAddress, HostKey, AllowUsers, DenyUsers, AllowGroups, DenyGroups, AcceptEnv, Subsystem). Keyword names and the normalised values are as `sshd -T` prints them; the security-relevant keywords sshd_config leaves unset are filled in with OpenSSH's compiled-in defaults and marked as defaults. Match blocks are listed separately, not applied. No key is read: HostKey values are path names only.",
        scope: Scope::Sensitive,
        impact: Impact::Low,
        annotations: Annotations::READ_LOCAL,
        input_schema: ssh::INPUT,
        output_schema: ssh::OUTPUT,
        handler: ssh::handler,
    },
    ToolDef {
        // Medium: a `path_prefix` or `user` query walks every process's descriptors.
        name: "get_open_files",
        title: "Open files",
        description: "Open file descriptors read natively from /proc/PID/fd and /proc/PID/fdinfo: pid, process name, user, descriptor number, target, kind (file, dir, device, socket, pipe, anon_inode, other), access mode and position. Needs at least one of `pid`, `path_prefix` or `user` (all given must match): it never lists every open file. Processes that exit during the walk, and those this server may not read, are counted and skipped. /proc/PID/environ is never read.",
        scope: Scope::Sensitive,
        impact: Impact::Medium,
        annotations: Annotations::READ_LOCAL,
        input_schema: open_files::INPUT,
        output_schema: open_files::OUTPUT,
        handler: open_files::handler,
    },
];

/// Largest configuration file we parse (sudoers, sshd_config, passwd, group).
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// A file opened without following a symbolic link in its last component and without blocking
/// (a FIFO planted in an include directory cannot hang the call), checked on the handle.
#[derive(Debug)]
struct Opened {
    meta: Metadata,
    /// The text, when it is a regular file within the size cap (invalid UTF-8 replaced).
    text: Result<String, String>,
}

/// Open `path` with `O_NOFOLLOW | O_NONBLOCK`, `fstat` it and read it when it is a regular file
/// of at most `max` bytes. `Err` only when it cannot be opened (missing, a symbolic link,
/// unreadable), phrased for the caller.
fn open_nofollow(path: &Path, max: u64) -> Result<Opened, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| open_error(&e))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    let text = read_regular(file, &meta, max);
    Ok(Opened { meta, text })
}

/// The main file of an include walk, which must be there for the tool to say anything.
fn require_main(main: &Path, package: &str) -> Result<(), ToolError> {
    if std::fs::symlink_metadata(main).is_err() {
        return Err(ToolError::Unavailable(format!(
            "{} does not exist (is {package} installed?)",
            main.display()
        )));
    }
    Ok(())
}

/// A problem at a line of a file an include walk read.
#[derive(Serialize)]
struct ProblemOut {
    file: String,
    line: usize,
    message: String,
}

/// A file an include walk (sshd_config, sudoers) reached, opened with [`open_nofollow`].
struct Included {
    /// `None` when it could not be opened.
    facts: Option<FileFacts>,
    problems: Vec<String>,
    /// Its text and (device, inode), when it is to be parsed: opened, read, and not already
    /// being read (an include loop).
    read: Option<(String, (u64, u64))>,
}

/// Open `path` for an include walk; `reading` holds the (device, inode) of the files being
/// read. `check_owner` adds [`ownership_problems`] first (for a file that grants privileges).
fn open_included(path: &Path, max: u64, reading: &[(u64, u64)], check_owner: bool) -> Included {
    let opened = match open_nofollow(path, max) {
        Ok(o) => o,
        Err(e) => {
            return Included {
                facts: None,
                problems: vec![e],
                read: None,
            };
        }
    };
    let mut problems = if check_owner {
        ownership_problems(&opened.meta)
    } else {
        Vec::new()
    };
    let id = (opened.meta.dev(), opened.meta.ino());
    let read = if reading.contains(&id) {
        problems.push("include loop: this file is already being read; not read again".into());
        None
    } else {
        match opened.text {
            Ok(t) => Some((t, id)),
            Err(e) => {
                problems.push(e);
                None
            }
        }
    };
    Included {
        facts: Some(facts(&opened.meta)),
        problems,
        read,
    }
}

fn read_regular(file: File, meta: &Metadata, max: u64) -> Result<String, String> {
    if !meta.is_file() {
        return Err("not a regular file; not read".into());
    }
    if meta.len() > max {
        return Err(format!("larger than {max} bytes; not read"));
    }
    let mut buf = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > max {
        return Err(format!("larger than {max} bytes; not read"));
    }
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn open_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "is a symbolic link; not followed".into(),
        Some(libc::ENOENT) => "does not exist".into(),
        Some(libc::EACCES) | Some(libc::EPERM) => "unreadable: permission denied".into(),
        _ => format!("cannot open: {e}"),
    }
}

/// Ownership and mode of an opened file, with what is wrong about them for a file that grants
/// privileges (sudoers): not owned by root, writable by group or others.
#[derive(Debug, Serialize)]
struct FileFacts {
    owner_uid: u32,
    group_gid: u32,
    mode: String,
    size_bytes: u64,
}

fn facts(meta: &Metadata) -> FileFacts {
    FileFacts {
        owner_uid: meta.uid(),
        group_gid: meta.gid(),
        mode: format!("{:04o}", meta.mode() & 0o7777),
        size_bytes: meta.len(),
    }
}

fn ownership_problems(meta: &Metadata) -> Vec<String> {
    let mut out = Vec::new();
    if meta.uid() != 0 {
        out.push(format!("not owned by root (uid {})", meta.uid()));
    }
    if meta.mode() & 0o020 != 0 {
        out.push("group-writable".into());
    }
    if meta.mode() & 0o002 != 0 {
        out.push("world-writable".into());
    }
    out
}

/// `fnmatch` without flags but with glob(3)'s rule that a leading `.` is matched only by a
/// literal `.`: `*`, `?`, `[...]` (with `!` or `^` negation and ranges), `\` escapes.
fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    glob_match(pattern, name)
}

fn glob_match(p: &[u8], n: &[u8]) -> bool {
    // Iterative with one backtrack point for the last `*`: linear enough for short names.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' => match class(&p[pi..], n[ni]) {
                    Some((true, len)) => {
                        pi += len;
                        ni += 1;
                        continue;
                    }
                    Some((false, _)) => {}
                    // Not a closed class: a literal `[`.
                    None if n[ni] == b'[' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    None => {}
                },
                b'\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                // An escaped character that does not match.
                b'\\' if pi + 1 < p.len() => {}
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// A `[...]` class at the start of `p`: whether `c` matches, and the class's length; `None` when
/// the class is not closed (then `[` is literal).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|h| *h != b']') {
            let hi = p[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Most paths one pattern expands to.
const MAX_GLOB_PATHS: usize = 256;

/// Expand an absolute glob pattern component by component (like glob(3): sorted, hidden names
/// only for a literal `.`, no match gives nothing). Directories are listed, never followed
/// out of the pattern; at most [`MAX_GLOB_PATHS`] results.
fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::from("/")];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if !has_magic(comp) {
                let p = base.join(comp.replace('\\', ""));
                if std::fs::symlink_metadata(&p).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(base) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = entries
                .filter_map(Result::ok)
                .map(|e| {
                    use std::os::unix::ffi::OsStrExt;
                    e.file_name().as_bytes().to_vec()
                })
                .filter(|n| fnmatch(comp.as_bytes(), n))
                .take(4 * MAX_GLOB_PATHS)
                .collect();
            names.sort();
            for n in names {
                use std::os::unix::ffi::OsStrExt;
                next.push(base.join(std::ffi::OsStr::from_bytes(&n)));
            }
        }
        next.truncate(MAX_GLOB_PATHS);
        current = next;
    }
    current
}

/// A result struct as `structuredContent`.
fn to_value<T: Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_glob() {
        for (p, n, want) in [
            ("*.conf", "a.conf", true),
            ("*.conf", ".hidden.conf", false),
            (".*", ".hidden", true),
            ("*", "x", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]*", "bx", true),
            ("[!ab]*", "bx", false),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[x", "[x", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("*a*b*c", "xaxbxc", true),
            ("*a*b*c", "xaxbx", false),
            ("", "", true),
        ] {
            assert_eq!(fnmatch(p.as_bytes(), n.as_bytes()), want, "{p} {n}");
        }
    }

    #[test]
    fn glob_expands_sorted_and_skips_hidden() {
        let dir = crate::testdir::TempDir::new("glob");
        for n in ["b.conf", "a.conf", ".h.conf", "c.txt"] {
            std::fs::write(dir.join(n), "").unwrap();
        }
        let base = dir.path().to_str().unwrap().to_string();
        let got: Vec<String> = glob(&format!("{base}/*.conf"))
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(got, ["a.conf", "b.conf"]);
        assert_eq!(glob(&format!("{base}/c.txt")).len(), 1);
        assert!(glob(&format!("{base}/missing")).is_empty());
        assert!(glob(&format!("{base}/*/x")).is_empty());
    }

    #[test]
    fn opening_refuses_links_fifos_and_big_files() {
        let dir = crate::testdir::TempDir::new("nofollow");
        let f = dir.join("f");
        std::fs::write(&f, "text").unwrap();
        std::os::unix::fs::symlink(&f, dir.join("link")).unwrap();
        assert_eq!(open_nofollow(&f, 100).unwrap().text.unwrap(), "text");
        assert_eq!(
            open_nofollow(&dir.join("link"), 100).unwrap_err(),
            "is a symbolic link; not followed"
        );
        assert!(
            open_nofollow(&f, 3)
                .unwrap()
                .text
                .unwrap_err()
                .contains("larger")
        );
        assert_eq!(
            open_nofollow(&dir.join("none"), 3).unwrap_err(),
            "does not exist"
        );
        let d = open_nofollow(dir.path(), 3).unwrap();
        assert!(d.text.unwrap_err().contains("not a regular file"));
    }
}

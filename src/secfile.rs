#![forbid(unsafe_code)]
//! Reading operator files (the config, keys, salts; later token secrets, certificates, targets):
//! open with `O_NOFOLLOW | O_NONBLOCK`, then check the open handle (never the path, so a swap
//! between check and use is impossible) before reading a bounded amount.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Larger config files are refused before parsing.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Where a secret comes from: a file read with [`secure_read_bytes`] as [`FileKind::Secret`]
/// (a regular file, not a symlink, owned by root or the effective uid, no group or other
/// permissions), or an environment variable. Never the config file, never the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    /// The variable's name.
    Env(String),
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::File(p) => write!(f, "file {}", p.display()),
            SecretSource::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// What a file read by `secure_read` may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The config file: 0640 or stricter.
    Config,
    /// A key or secret file: 0600 or stricter.
    Secret,
    /// Public keys (PEM, JWKS) that verify tokens: anyone may read them, but no one except the
    /// owner may change them, since whoever can swap a key can mint tokens.
    PublicKey,
}

impl FileKind {
    fn max_mode(self) -> u32 {
        match self {
            FileKind::Config => 0o640,
            FileKind::Secret => 0o600,
            FileKind::PublicKey => 0o644,
        }
    }

    /// Larger files are refused unread: a config is small, a secret is one hex key.
    fn max_bytes(self) -> u64 {
        match self {
            FileKind::Config => MAX_CONFIG_BYTES,
            FileKind::Secret => 4096,
            FileKind::PublicKey => 256 * 1024,
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::Config => "config file",
            FileKind::Secret => "secret file",
            FileKind::PublicKey => "public key file",
        }
    }
}

/// A file's problems found on its open handle.
#[derive(Debug, Default)]
pub struct FileCheck {
    /// Problems that make the content untrustworthy; always fatal.
    pub hard: Vec<String>,
    /// Readable by group/other beyond the allowed mode; fatal unless `fail_closed: false`.
    pub readable_by_others: Option<String>,
}

/// Open `path` without following a final symlink and without blocking on a FIFO, check the open
/// handle (regular file, owner root or `euid`, the caller's effective user, mode), and read at most
/// the kind's size limit. Returns the text and the soft problems (hard problems are errors).
pub fn secure_read(
    path: &Path,
    kind: FileKind,
    euid: u32,
) -> Result<(String, FileCheck), Vec<String>> {
    let (bytes, check) = secure_read_bytes(path, kind, euid)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        vec![format!(
            "{} {} is not valid UTF-8",
            kind.what(),
            path.display()
        )]
    })?;
    Ok((text, check))
}

/// What every directory on the path to an operator file must be (see `check_parent_dirs`).
pub const PARENT_RULE: &str = "every directory on the path is a real directory (not a symbolic \
    link), owned by root or the service user, and not writable by group or others; only above the \
    file's own directory may a root-owned sticky directory such as /tmp be writable";

/// A directory on the path to an operator file that breaks `PARENT_RULE`.
#[derive(Debug)]
pub struct UnsafeParent {
    pub dir: PathBuf,
    pub found: String,
}

/// Check every directory from `/` down to `path`'s own directory with `lstat`, one component at
/// a time, so that no symbolic link on the way is followed. Whoever can write a directory on the
/// path can swap what lies below it; when every directory passes, nobody but root and the service
/// user can change the path between this check and the open. A sticky directory only lets an
/// entry's owner rename or remove it, and the entry below must pass too, so a root-owned sticky
/// directory is accepted above the file's own directory (configs under a private dir in /tmp).
/// `euid` is the user sysgate runs as; `service`, when root reads the service user's files (the
/// audit key), that user's uid.
pub fn check_parent_dirs(path: &Path, euid: u32, service: Option<u32>) -> Result<(), UnsafeParent> {
    let unsafe_parent = |dir: &Path, found: String| UnsafeParent {
        dir: dir.to_path_buf(),
        found,
    };
    // A relative path starts at the working directory, whose name the kernel gives without links.
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| unsafe_parent(Path::new("."), format!("cannot be examined: {e}")))?
            .join(path)
    };
    let Some(own_dir) = absolute.parent() else {
        return Ok(()); // `/` itself: there is no directory above it
    };
    let mut dir = PathBuf::new();
    let mut components = own_dir.components().peekable();
    while let Some(c) = components.next() {
        dir.push(c);
        let meta = std::fs::symlink_metadata(&dir)
            .map_err(|e| unsafe_parent(&dir, format!("cannot be examined: {e}")))?;
        let mode = meta.mode() & 0o7777;
        let found = if meta.file_type().is_symlink() {
            Some("is a symbolic link (name the real path)".to_string())
        } else if !meta.is_dir() {
            Some("is not a directory".to_string())
        } else if meta.uid() != 0 && meta.uid() != euid && Some(meta.uid()) != service {
            Some(format!(
                "is owned by {} (required: root or {})",
                user_label(meta.uid()),
                user_label(service.unwrap_or(euid))
            ))
        } else if mode & 0o022 != 0 {
            let sticky_above = mode & 0o1000 != 0 && meta.uid() == 0 && components.peek().is_some();
            (!sticky_above).then(|| format!("has mode {mode:04o} (writable by group or others)"))
        } else {
            None
        };
        if let Some(found) = found {
            return Err(unsafe_parent(&dir, found));
        }
    }
    Ok(())
}

/// `secure_read` without the UTF-8 step, for secrets the caller wipes after use.
pub fn secure_read_bytes(
    path: &Path,
    kind: FileKind,
    euid: u32,
) -> Result<(Vec<u8>, FileCheck), Vec<String>> {
    secure_read_bytes_owned(path, kind, euid, None)
}

/// `secure_read_bytes` that also accepts files owned by `service` (`Some((uid, why))`), which the
/// audit key check passes when root reads a key the service user owns.
pub fn secure_read_bytes_owned(
    path: &Path,
    kind: FileKind,
    euid: u32,
    service: Option<(u32, &str)>,
) -> Result<(Vec<u8>, FileCheck), Vec<String>> {
    let name = path.display();
    let what = kind.what();
    // The directories first: the open below must not pass through a link or a directory that
    // someone else can change.
    check_parent_dirs(path, euid, service.map(|s| s.0)).map_err(|p| {
        vec![if p.found.starts_with("cannot be examined") {
            format!(
                "cannot open {what} {name}: directory {} {}",
                p.dir.display(),
                p.found
            )
        } else {
            format!(
                "{what} {name} is not safe: directory {} {}; required: {PARENT_RULE}",
                p.dir.display(),
                p.found
            )
        }]
    })?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            vec![if e.raw_os_error() == Some(libc::ELOOP) {
                format!(
                    "{what} {name} is a symbolic link; refusing to follow it (name the real file)"
                )
            } else {
                format!("cannot open {what} {name}: {e}")
            }]
        })?;
    let meta = file
        .metadata()
        .map_err(|e| vec![format!("cannot stat {what} {name}: {e}")])?;
    let mut check = FileCheck::default();
    if !meta.file_type().is_file() {
        let found = if meta.is_dir() {
            "a directory"
        } else if std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) {
            "a FIFO"
        } else {
            "not a regular file"
        };
        return Err(vec![format!(
            "{what} {name} is {found}; a regular file is required"
        )]);
    }
    if meta.uid() != 0 && meta.uid() != euid && Some(meta.uid()) != service.map(|s| s.0) {
        let required = match service {
            Some((uid, why)) => format!("root or {} ({why})", user_label(uid)),
            None if euid == 0 => "root (uid 0)".to_string(),
            None => format!("root or {}, the user sysgate runs as", user_label(euid)),
        };
        check.hard.push(format!(
            "{what} {name} is owned by {}; required: {required}",
            user_label(meta.uid())
        ));
    }
    let mode = meta.mode() & 0o7777;
    let max = kind.max_mode();
    // The fix first, then why: an operator who copied the file with a default umask sees 0644.
    let fix = format!(
        "fix it with `chmod {max:04o} {name}` ({})",
        match kind {
            FileKind::Config => {
                "the config decides what callers may do on this host: only its owner (root or the \
                 service user) may write it, and only the owner and its group may read it"
            }
            FileKind::Secret => "a key or secret may be read and written by its owner only",
            FileKind::PublicKey => {
                "whoever can change a verification key can mint tokens: only its owner may write it"
            }
        }
    );
    if mode & 0o022 != 0 || mode & 0o7000 != 0 {
        check.hard.push(format!(
            "{what} {name} has mode {mode:04o}, which lets others change it; required {max:04o} or stricter: {fix}"
        ));
    } else if mode & !max != 0 {
        let problem =
            format!("{what} {name} has mode {mode:04o}; required {max:04o} or stricter: {fix}");
        // A secret readable by anyone else is already leaked; only the config may be relaxed.
        match kind {
            FileKind::Secret | FileKind::PublicKey => check.hard.push(problem),
            FileKind::Config => check.readable_by_others = Some(problem),
        }
    }
    let limit = kind.max_bytes();
    if meta.len() > limit {
        check.hard.push(format!(
            "{what} {name} is {} bytes; the limit is {limit}",
            meta.len()
        ));
    }
    if !check.hard.is_empty() {
        return Err(check.hard);
    }
    let mut bytes = Vec::new();
    // The size check above used fstat; a file growing meanwhile is still read only up to it.
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| vec![format!("cannot read {what} {name}: {e}")])?;
    Ok((bytes, check))
}

/// `uid N (name)` from `/etc/passwd`, or `uid N` when it has no entry.
pub fn user_label(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    match user_name(&passwd, uid) {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

/// The name of `uid` in `passwd` text (`name:x:uid:...` lines).
fn user_name(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid && !name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_come_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nsysgate:x:998:998::/nonexistent:/usr/sbin/nologin\nbad\n:x:5:5::/:/bin/sh\n";
        #[rustfmt::skip]
        let cases = [(0, Some("root")), (998, Some("sysgate")), (5, None), (1000, None)];
        for (uid, want) in cases {
            assert_eq!(user_name(passwd, uid), want, "{uid}");
        }
    }
}

#![forbid(unsafe_code)]
//! `/proc/PID/fdinfo/FD` (proc(5)): `pos:` and `flags:` (octal) lines, and the kinds of
//! `/proc/PID/fd/FD` link targets (`socket:[INODE]`, `pipe:[INODE]`, `anon_inode:NAME`, a path).

/// The position and open flags of one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdInfo {
    pub pos: u64,
    pub flags: u32,
}

/// `None` unless both `pos` and `flags` are there and well-formed.
pub fn parse_fdinfo(text: &str) -> Option<FdInfo> {
    let (mut pos, mut flags) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "pos" if pos.is_none() => pos = Some(value.parse().ok()?),
            "flags" if flags.is_none() => flags = Some(u32::from_str_radix(value, 8).ok()?),
            _ => {}
        }
    }
    Some(FdInfo {
        pos: pos?,
        flags: flags?,
    })
}

/// The access mode of open flags (`O_ACCMODE`): `read`, `write`, `read_write`; `None` for the
/// unused value 3.
pub fn access_mode(flags: u32) -> Option<&'static str> {
    match flags & 0o3 {
        0 => Some("read"),
        1 => Some("write"),
        2 => Some("read_write"),
        _ => None,
    }
}

/// What a link target names, before a `stat` tells files, directories and devices apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Socket,
    Pipe,
    AnonInode,
    /// An absolute path (`deleted`: the kernel's ` (deleted)` suffix was there).
    Path {
        deleted: bool,
    },
    Other,
}

pub fn target_kind(target: &str) -> TargetKind {
    if target.starts_with("socket:[") {
        TargetKind::Socket
    } else if target.starts_with("pipe:[") {
        TargetKind::Pipe
    } else if target.starts_with("anon_inode:") {
        TargetKind::AnonInode
    } else if target.starts_with('/') {
        TargetKind::Path {
            deleted: target.ends_with(" (deleted)"),
        }
    } else {
        TargetKind::Other
    }
}

/// Whether `path` is `prefix` or below it, by whole path components (`/tmp/a` is below `/tmp`,
/// `/tmpx` is not). `prefix` is absolute; a trailing `/` is ignored.
pub fn under_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return path.starts_with('/');
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest == " (deleted)",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_lines() {
        let t = "pos:\t42\nflags:\t0100002\nmnt_id:\t25\nino:\t1234\n";
        assert_eq!(
            parse_fdinfo(t),
            Some(FdInfo {
                pos: 42,
                flags: 0o100002
            })
        );
        assert_eq!(access_mode(0o100002), Some("read_write"));
        assert_eq!(access_mode(0o2000001), Some("write"));
        assert_eq!(access_mode(0o100000), Some("read"));
        assert_eq!(access_mode(3), None);
        assert_eq!(parse_fdinfo("pos: 1\n"), None);
        assert_eq!(parse_fdinfo("pos: x\nflags: 0\n"), None);
        assert_eq!(parse_fdinfo("pos: 1\nflags: 9\n"), None);
        assert_eq!(parse_fdinfo(""), None);
    }

    #[test]
    fn kinds_and_prefixes() {
        assert_eq!(target_kind("socket:[123]"), TargetKind::Socket);
        assert_eq!(target_kind("pipe:[9]"), TargetKind::Pipe);
        assert_eq!(target_kind("anon_inode:[eventfd]"), TargetKind::AnonInode);
        assert_eq!(
            target_kind("/tmp/x (deleted)"),
            TargetKind::Path { deleted: true }
        );
        assert_eq!(
            target_kind("/dev/null"),
            TargetKind::Path { deleted: false }
        );
        assert_eq!(target_kind("net:[4026531840]"), TargetKind::Other);
        assert!(under_prefix("/tmp/a/b", "/tmp"));
        assert!(under_prefix("/tmp/a/b", "/tmp/"));
        assert!(under_prefix("/tmp", "/tmp"));
        assert!(under_prefix("/tmp/x (deleted)", "/tmp/x"));
        assert!(!under_prefix("/tmpx/a", "/tmp"));
        assert!(!under_prefix("socket:[1]", "/"));
        assert!(under_prefix("/a", "/"));
    }
}

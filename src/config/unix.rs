#![forbid(unsafe_code)]
//! The `unix` section: where the socket lives, who may connect and with what scopes.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{range, scope_list};
use crate::policy::{PeerMatch, PeerRule};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileUnix {
    path: Option<PathBuf>,
    /// Octal, as a string (`"0660"`): a YAML integer would read 0660 as decimal.
    mode: Option<String>,
    /// The socket file's group (a name or a number), so the mode's group bits mean something.
    group: Option<String>,
    max_connections: Option<u64>,
    idle_timeout_secs: Option<u64>,
    write_timeout_secs: Option<u64>,
    #[serde(default)]
    peers: Vec<FilePeer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePeer {
    uid: Option<u64>,
    user: Option<String>,
    gid: Option<u64>,
    group: Option<String>,
    scopes: Vec<String>,
}

pub(super) const TYPED_KEYS: &[(&str, bool)] = &[
    ("unix.max_connections", false),
    ("unix.idle_timeout_secs", false),
    ("unix.write_timeout_secs", false),
    ("unix.peers.[].uid", false),
    ("unix.peers.[].gid", false),
];

/// The Unix socket listener's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixConfig {
    pub path: PathBuf,
    pub mode: u32,
    pub group: Option<u32>,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
}

pub const DEFAULT_SOCKET: &str = "/run/sysgate/sysgate.sock";

fn id_of(db: &str, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(db).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

fn id(
    p: &mut Vec<String>,
    key: &str,
    n: Option<u64>,
    name: Option<String>,
    db: &str,
) -> Option<u32> {
    match (n, name) {
        (Some(n), None) => match u32::try_from(n) {
            Ok(n) if n != u32::MAX => Some(n),
            _ => {
                p.push(format!("{key}: {n} is not an id"));
                None
            }
        },
        (None, Some(name)) => {
            let found = id_of(db, &name);
            if found.is_none() {
                p.push(format!("{key}: no entry `{name}` in {db}"));
            }
            found
        }
        _ => None,
    }
}

pub(super) fn unix_section(p: &mut Vec<String>, u: FileUnix) -> (UnixConfig, Vec<PeerRule>) {
    let path = u.path.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    if !path.is_absolute() {
        p.push(format!(
            "unix.path: `{}` must be an absolute path",
            path.display()
        ));
    }
    let mode = match u.mode.as_deref() {
        None => 0o600,
        Some(m) => match u32::from_str_radix(m.trim_start_matches("0o"), 8) {
            Ok(m) if m & !0o660 == 0 && m & 0o600 == 0o600 => m,
            _ => {
                p.push(format!(
                    "unix.mode: `{m}` must be octal, give the owner read and write, and give \
                     others nothing: 0600 (default) or 0660 with unix.group"
                ));
                0o600
            }
        },
    };
    let group = match u.group {
        None => None,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => id(p, "unix.group", None, Some(g), "/etc/group"),
        },
    };
    if mode & 0o060 != 0 && group.is_none() {
        p.push("unix.mode gives the group access: name that group in unix.group".into());
    }
    let mut rules = Vec::new();
    for (i, peer) in u.peers.into_iter().enumerate() {
        let key = format!("unix.peers[{i}]");
        let given = [
            peer.uid.is_some(),
            peer.user.is_some(),
            peer.gid.is_some(),
            peer.group.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            p.push(format!("{key}: give exactly one of uid, user, gid, group"));
            continue;
        }
        let matches = if peer.uid.is_some() || peer.user.is_some() {
            id(
                p,
                &format!("{key}.user"),
                peer.uid,
                peer.user,
                "/etc/passwd",
            )
            .map(PeerMatch::Uid)
        } else {
            id(
                p,
                &format!("{key}.group"),
                peer.gid,
                peer.group,
                "/etc/group",
            )
            .map(PeerMatch::Gid)
        };
        let scopes = scope_list(p, &format!("{key}.scopes"), &peer.scopes);
        if let Some(matches) = matches {
            rules.push(PeerRule { matches, scopes });
        }
    }
    let secs = |p: &mut Vec<String>, key: &str, v, min, max, d| {
        Duration::from_secs(range(p, key, v, min, max, d))
    };
    let config = UnixConfig {
        path,
        mode,
        group,
        max_connections: range(p, "unix.max_connections", u.max_connections, 1, 4096, 64) as usize,
        idle_timeout: secs(
            p,
            "unix.idle_timeout_secs",
            u.idle_timeout_secs,
            1,
            86_400,
            300,
        ),
        write_timeout: secs(
            p,
            "unix.write_timeout_secs",
            u.write_timeout_secs,
            1,
            600,
            10,
        ),
    };
    (config, rules)
}

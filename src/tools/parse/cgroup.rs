#![forbid(unsafe_code)]
//! `/proc/PID/cgroup`: which control group a process is in, and what that path says about it:
//! the systemd unit (and user unit, and slice) and the container id where a runtime put one in
//! the path. Pure: the handler reads the file, this only interprets it.
//!
//! Lines are `hierarchy-ID:controller-list:path`. cgroup v2 has one line `0::/path`; on a v1 (or
//! hybrid) host there is one line per hierarchy, and the path is taken from the v2 line when there
//! is one, else from the `name=systemd` line, else from the first line.

/// Longest path kept, in bytes (the kernel's own limit is PATH_MAX). A longer one is refused
/// rather than cut: a cut path would name another group.
pub const MAX_PATH_BYTES: usize = 4096;
/// Lines looked at: v1 hosts have about a dozen hierarchies.
pub const MAX_LINES: usize = 64;

/// Which cgroup hierarchy the path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// The unified (v2) hierarchy, the `0::` line.
    V2,
    /// systemd's named v1 hierarchy (`name=systemd`).
    V1Systemd,
    /// The first v1 hierarchy listed (no v2 and no systemd line).
    V1,
}

impl Hierarchy {
    pub fn name(self) -> &'static str {
        match self {
            Hierarchy::V2 => "v2",
            Hierarchy::V1Systemd => "v1-systemd",
            Hierarchy::V1 => "v1",
        }
    }
}

/// The container runtimes whose cgroup names we recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    CriO,
    /// A Kubernetes pod's container under the cgroupfs driver: the runtime is not in the path.
    Kubernetes,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Kubernetes => "kubernetes",
        }
    }

    /// Every name, for the output schema's enum.
    pub const NAMES: [&'static str; 5] = ["docker", "podman", "containerd", "cri-o", "kubernetes"];
}

/// What a process's cgroup says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: String,
    pub hierarchy: Hierarchy,
    /// The system unit: the first `*.service` or `*.scope` component (`user@1000.service` for a
    /// user's own services, `session-3.scope` for a login session).
    pub unit: Option<String>,
    /// Under a user manager (`user@UID.service`): the last unit below it.
    pub user_unit: Option<String>,
    /// The last `*.slice` component above the unit.
    pub slice: Option<String>,
    pub container: Option<(Runtime, String)>,
}

/// Why a cgroup file gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupError {
    /// No line of the form `ID:controllers:/path`.
    NoPath,
    /// A path longer than [`MAX_PATH_BYTES`].
    TooLong,
}

/// Parses the text of `/proc/PID/cgroup`.
pub fn parse_cgroup(text: &str) -> Result<Cgroup, CgroupError> {
    let mut v2 = None;
    let mut systemd = None;
    let mut first = None;
    let mut too_long = false;
    for line in text.lines().take(MAX_LINES) {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || !path.starts_with('/') {
            continue;
        }
        if path.len() > MAX_PATH_BYTES {
            too_long = true;
            continue;
        }
        if id == "0" && controllers.is_empty() {
            v2.get_or_insert(path);
        } else if controllers.split(',').any(|c| c == "name=systemd") {
            systemd.get_or_insert(path);
        } else {
            first.get_or_insert(path);
        }
    }
    let (path, hierarchy) = match (v2, systemd, first) {
        // On a hybrid host the v2 line of a process systemd does not manage there is just "/"
        // while the systemd line has the real place; prefer the one that says more.
        (Some("/"), Some(s), _) => (s, Hierarchy::V1Systemd),
        (Some(p), _, _) => (p, Hierarchy::V2),
        (None, Some(p), _) => (p, Hierarchy::V1Systemd),
        (None, None, Some(p)) => (p, Hierarchy::V1),
        (None, None, None) if too_long => return Err(CgroupError::TooLong),
        (None, None, None) => return Err(CgroupError::NoPath),
    };
    let (unit, user_unit, slice) = systemd_units(path);
    Ok(Cgroup {
        path: path.to_owned(),
        hierarchy,
        unit,
        user_unit,
        slice,
        container: container_id(path),
    })
}

fn is_unit(c: &str) -> bool {
    c.strip_suffix(".service")
        .or_else(|| c.strip_suffix(".scope"))
        .is_some_and(|name| !name.is_empty())
}

/// (unit, user unit, slice) from a cgroup path, as systemd names them.
fn systemd_units(path: &str) -> (Option<String>, Option<String>, Option<String>) {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some(at) = parts.iter().position(|c| is_unit(c)) else {
        return (
            None,
            None,
            parts
                .iter()
                .rev()
                .find(|c| c.ends_with(".slice"))
                .map(|s| (*s).to_owned()),
        );
    };
    let unit = parts[at];
    let slice = parts[..at]
        .iter()
        .rev()
        .find(|c| c.ends_with(".slice"))
        .map(|s| (*s).to_owned());
    let user_unit = (unit.starts_with("user@") && unit.ends_with(".service"))
        .then(|| parts[at + 1..].iter().rev().find(|c| is_unit(c)))
        .flatten()
        .map(|s| (*s).to_owned());
    (Some(unit.to_owned()), user_unit, slice)
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A container id in a cgroup path: `docker-<id>.scope` or `/docker/<id>` (Docker),
/// `libpod-<id>.scope` or `/libpod_parent/libpod-<id>` (Podman), `cri-containerd-<id>.scope`
/// (containerd), `crio-<id>.scope` (CRI-O), or a bare id below a `kubepods` pod. Conmon and
/// other helper groups (`libpod-conmon-<id>`, `crio-conmon-<id>`) are not containers. The
/// innermost match wins (nested containers).
fn container_id(path: &str) -> Option<(Runtime, String)> {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut found = None;
    for (i, c) in parts.iter().enumerate() {
        let bare = c.strip_suffix(".scope").unwrap_or(c);
        let prefixed = [
            ("docker-", Runtime::Docker),
            ("libpod-", Runtime::Podman),
            ("cri-containerd-", Runtime::Containerd),
            ("crio-", Runtime::CriO),
        ]
        .into_iter()
        .find_map(|(p, r)| {
            bare.strip_prefix(p)
                .filter(|id| is_id(id))
                .map(|id| (r, id))
        });
        let hit = prefixed.or_else(|| {
            let parent = *parts.get(i.checked_sub(1)?)?;
            if !is_id(c) {
                return None;
            }
            if parent == "docker" {
                Some((Runtime::Docker, *c))
            } else if parent.starts_with("pod")
                && parts[..i].iter().any(|p| p.starts_with("kubepods"))
            {
                Some((Runtime::Kubernetes, *c))
            } else {
                None
            }
        });
        if let Some((r, id)) = hit {
            found = Some((r, id.to_owned()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn ok(text: &str) -> Cgroup {
        parse_cgroup(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    #[test]
    fn v2_system_service() {
        let c = ok("0::/system.slice/ssh.service\n");
        assert_eq!(c.path, "/system.slice/ssh.service");
        assert_eq!(c.hierarchy, Hierarchy::V2);
        assert_eq!(c.unit.as_deref(), Some("ssh.service"));
        assert_eq!(c.slice.as_deref(), Some("system.slice"));
        assert_eq!((c.user_unit, c.container), (None, None));
    }

    #[test]
    fn user_slices() {
        let c = ok("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert_eq!(c.unit.as_deref(), Some("session-3.scope"));
        assert_eq!(c.slice.as_deref(), Some("user-1000.slice"));
        assert_eq!(c.user_unit, None);
        let c = ok(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope\n",
        );
        assert_eq!(c.unit.as_deref(), Some("user@1000.service"));
        assert_eq!(c.user_unit.as_deref(), Some("app-gnome-firefox-1234.scope"));
        assert_eq!(c.slice.as_deref(), Some("user-1000.slice"));
        let c = ok("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n");
        assert_eq!(c.user_unit.as_deref(), Some("init.scope"));
        // No unit at all: the root, a bare slice.
        let c = ok("0::/\n");
        assert_eq!((c.unit, c.slice, c.container), (None, None, None));
        let c = ok("0::/machine.slice\n");
        assert_eq!(c.slice.as_deref(), Some("machine.slice"));
        assert_eq!(c.unit, None);
    }

    #[test]
    fn container_runtimes() {
        let cases = [
            (
                format!("0::/system.slice/docker-{ID}.scope"),
                Runtime::Docker,
            ),
            (
                format!("12:pids:/docker/{ID}\n1:name=systemd:/docker/{ID}"),
                Runtime::Docker,
            ),
            (
                format!("0::/machine.slice/libpod-{ID}.scope/container"),
                Runtime::Podman,
            ),
            (format!("0::/libpod_parent/libpod-{ID}"), Runtime::Podman),
            (
                format!(
                    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-{ID}.scope"
                ),
                Runtime::Containerd,
            ),
            (
                format!(
                    "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/crio-{ID}.scope"
                ),
                Runtime::CriO,
            ),
            (
                format!("0::/kubepods/besteffort/pod1234-abcd/{ID}"),
                Runtime::Kubernetes,
            ),
        ];
        for (text, runtime) in cases {
            assert_eq!(
                ok(&text).container,
                Some((runtime, ID.to_owned())),
                "{text}"
            );
        }
        // Helpers and look-alikes are not containers.
        for text in [
            format!("0::/machine.slice/libpod-conmon-{ID}.scope"),
            format!("0::/system.slice/crio-conmon-{ID}.scope"),
            format!("0::/system.slice/docker-{}.scope", &ID[..63]),
            format!("0::/system.slice/docker-{}.scope", ID.to_uppercase()),
            format!("0::/{ID}"),
            format!("0::/system.slice/other/{ID}"),
            "0::/system.slice/docker.service".to_owned(),
        ] {
            assert_eq!(ok(&text).container, None, "{text}");
        }
        // The docker unit of a container process is its scope.
        let c = ok(&format!("0::/system.slice/docker-{ID}.scope"));
        assert_eq!(c.unit, Some(format!("docker-{ID}.scope")));
    }

    #[test]
    fn v1_and_hybrid_hosts() {
        let v1 = "12:memory:/user.slice\n11:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n";
        let c = ok(v1);
        assert_eq!(c.hierarchy, Hierarchy::V1Systemd);
        assert_eq!(c.unit.as_deref(), Some("session-2.scope"));
        // Hybrid: the v2 line says only "/" for this process; the systemd line says more.
        let c = ok(&format!("{v1}0::/\n"));
        assert_eq!(c.hierarchy, Hierarchy::V1Systemd);
        // Hybrid where v2 is populated: v2 wins.
        let c = ok(&format!("{v1}0::/system.slice/cron.service\n"));
        assert_eq!(
            (c.hierarchy, c.unit.as_deref()),
            (Hierarchy::V2, Some("cron.service"))
        );
        // Plain v1 without systemd: the first hierarchy.
        let c = ok("4:cpuset:/lxc/web\n3:memory:/lxc/web2\n");
        assert_eq!((c.hierarchy, c.path.as_str()), (Hierarchy::V1, "/lxc/web"));
    }

    #[test]
    fn hostile_and_truncated_input() {
        for text in [
            "",
            "\n\n",
            "garbage",
            "0:",
            "0::",
            "0::relative",
            "x::/a",
            ":::/a",
            "-1::/a",
        ] {
            assert_eq!(parse_cgroup(text), Err(CgroupError::NoPath), "{text:?}");
        }
        let long = format!("0::/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(parse_cgroup(&long), Err(CgroupError::TooLong));
        // A path with colons keeps them (splitn(3)); odd bytes are kept as text.
        let c = ok("0::/system.slice/a:b.service\n");
        assert_eq!(c.unit.as_deref(), Some("a:b.service"));
        // Only the first MAX_LINES lines are looked at.
        let many = format!("{}0::/late.service\n", "junk\n".repeat(MAX_LINES));
        assert_eq!(parse_cgroup(&many), Err(CgroupError::NoPath));
        // ".scope" or ".service" alone is not a unit name.
        assert_eq!(ok("0::/.scope").unit, None);
        assert_eq!(ok("0::/.service").unit, None);
    }
}

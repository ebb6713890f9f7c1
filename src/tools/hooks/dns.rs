#![forbid(unsafe_code)]
//! `get_dns_config`: `/etc/resolv.conf`, the `hosts:` line of `/etc/nsswitch.conf`, and
//! systemd-resolved's upstream servers. resolv.conf is commonly a symlink (into
//! `/run/systemd/resolve`, or to a NetworkManager or resolvconf file), so it is followed on
//! purpose and the link reported (but not into `/proc`, `/sys` or `/dev`); the other two are
//! opened with `O_NOFOLLOW`. Every file must
//! be a regular file (a FIFO put in its place cannot hang the call).

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::netfs::{read_small, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::resolv::{self, MAXNS, ResolvConf};

/// The shape of a parsed resolv.conf, used twice in the output schema.
macro_rules! resolv_schema {
    () => {
        r#"{
            "type": "object", "additionalProperties": false,
            "required": ["path", "nameservers", "search", "options"],
            "properties": {
                "path": {"type": "string", "x-sysgate-server-text": true},
                "nameservers": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["address", "in_use"],
                    "properties": {
                        "address": {"type": "string", "x-sysgate-server-text": true},
                        "zone": {"type": "string", "description": "IPv6 zone: an interface name or index"},
                        "in_use": {"type": "boolean", "description": "among the first three, which glibc queries"}
                    }
                }},
                "more_nameservers": {"type": "integer", "minimum": 1},
                "search": {"type": "array", "items": {"type": "string"}},
                "options": {"type": "array", "items": {"type": "string"}},
                "ignored_lines": {"type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["line", "reason"],
                    "properties": {
                        "line": {"type": "integer", "minimum": 1},
                        "reason": {"type": "string", "x-sysgate-server-text": true}
                    }
                }},
                "more_ignored_lines": {"type": "integer", "minimum": 1}
            }
        }"#
    };
}

pub const OUTPUT: &str = concat!(
    r#"{
    "type": "object", "additionalProperties": false,
    "required": ["systemd_resolved"],
    "properties": {
        "resolv_conf": "#,
    resolv_schema!(),
    r#",
        "resolv_conf_error": {"type": "string", "x-sysgate-server-text": true},
        "resolv_conf_link": {"type": "string", "description": "where /etc/resolv.conf links to, when it is a symlink"},
        "nsswitch_hosts": {"type": "array", "items": {"type": "string"},
            "description": "the sources and actions of the hosts: line of /etc/nsswitch.conf, in order"},
        "nsswitch_skipped": {"type": "integer", "minimum": 1, "description": "items of the hosts: line of another shape, left out"},
        "nsswitch_error": {"type": "string", "x-sysgate-server-text": true},
        "systemd_resolved": {
            "type": "object", "additionalProperties": false, "required": ["in_use"],
            "properties": {
                "in_use": {"type": "boolean"},
                "detected_by": {"type": "string", "enum": ["symlink", "stub_address"]},
                "upstream": "#,
    resolv_schema!(),
    r#",
                "upstream_error": {"type": "string", "x-sysgate-server-text": true}
            }
        }
    }
}"#
);

const RESOLV_CONF: &str = "/etc/resolv.conf";
const NSSWITCH: &str = "/etc/nsswitch.conf";
const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";
/// Far above any real resolver file; a bigger one is refused, not cut.
const MAX_BYTES: u64 = 256 * 1024;

#[derive(Serialize)]
struct Dns {
    #[serde(skip_serializing_if = "Option::is_none")]
    resolv_conf: Option<Resolv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolv_conf_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolv_conf_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nsswitch_hosts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nsswitch_skipped: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nsswitch_error: Option<String>,
    systemd_resolved: Resolved,
}

#[derive(Serialize)]
struct Resolved {
    in_use: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    detected_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<Resolv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_error: Option<String>,
}

#[derive(Serialize)]
struct Resolv {
    path: &'static str,
    nameservers: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    more_nameservers: Option<usize>,
    search: Vec<String>,
    options: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignored_lines: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    more_ignored_lines: Option<usize>,
}

fn resolv(path: &'static str, r: &ResolvConf) -> Resolv {
    let nameservers = r
        .nameservers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut m = Map::new();
            m.insert("address".into(), n.address.to_string().into());
            if let Some(z) = &n.zone {
                m.insert("zone".into(), z.clone().into());
            }
            m.insert("in_use".into(), (i < MAXNS).into());
            m
        })
        .collect();
    Resolv {
        path,
        nameservers,
        more_nameservers: (r.more_nameservers > 0).then_some(r.more_nameservers),
        search: r.search.clone(),
        options: r.options.clone(),
        ignored_lines: r
            .ignored
            .iter()
            .map(|i| {
                let mut m = Map::new();
                m.insert("line".into(), i.line.into());
                m.insert("reason".into(), i.reason.into());
                m
            })
            .collect(),
        more_ignored_lines: (r.more_ignored > 0).then_some(r.more_ignored),
    }
}

fn describe(path: &str, e: &io::Error) -> String {
    if e.raw_os_error() == Some(libc::ELOOP) {
        format!("{path} is a symbolic link, which is not followed here")
    } else {
        format!("cannot read {path}: {e}")
    }
}

/// The kernel file system `target` lies in, if any.
fn pseudo_fs(target: &Path) -> Option<&'static str> {
    ["/proc", "/sys", "/dev"]
        .into_iter()
        .find(|p| target.starts_with(p))
}

/// Whether `target` (where resolv.conf resolves to) is one of systemd-resolved's files.
fn is_resolved_file(target: &Path) -> bool {
    target.starts_with("/run/systemd/resolve")
        || target == Path::new("/usr/lib/systemd/resolv.conf")
        || target == Path::new("/lib/systemd/resolv.conf")
}

pub fn handler(ctx: &Ctx<'_>, _args: &Map<String, Value>) -> Result<Value, ToolError> {
    let mut out = Dns {
        resolv_conf: None,
        resolv_conf_error: None,
        resolv_conf_link: None,
        nsswitch_hosts: None,
        nsswitch_skipped: None,
        nsswitch_error: None,
        systemd_resolved: Resolved {
            in_use: false,
            detected_by: None,
            upstream: None,
            upstream_error: None,
        },
    };
    // resolv.conf may be a symlink: report where it points, then follow it.
    let path = Path::new(RESOLV_CONF);
    let mut resolved_by_link = false;
    let mut pseudo = None;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        if let Ok(target) = std::fs::read_link(path) {
            let (kept, _) = ctx.redactor.cut(&target.to_string_lossy(), 512);
            out.resolv_conf_link = Some(kept);
        }
        let full: Option<PathBuf> = std::fs::canonicalize(path).ok();
        resolved_by_link = full.as_deref().is_some_and(is_resolved_file);
        pseudo = full.as_deref().and_then(pseudo_fs);
    }
    let mut stub = false;
    // A link into a kernel file system is followed nowhere: a regular-looking file there
    // (a process's environment, say) is not a resolver configuration.
    let text = match pseudo {
        Some(p) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it links into {p}, which is not followed"),
        )),
        None => read_small(path, MAX_BYTES, false),
    };
    match text {
        Ok(text) => {
            let r = resolv::parse_resolv_conf(&text);
            stub = r.nameservers.iter().any(resolv::is_resolved_stub);
            out.resolv_conf = Some(resolv(RESOLV_CONF, &r));
        }
        Err(e) => out.resolv_conf_error = Some(describe(RESOLV_CONF, &e)),
    }
    ctx.check()?;
    match read_small(Path::new(NSSWITCH), MAX_BYTES, true) {
        Ok(text) => match resolv::parse_nsswitch_hosts(&text) {
            Some((items, skipped)) => {
                out.nsswitch_hosts = Some(items);
                out.nsswitch_skipped = (skipped > 0).then_some(skipped);
            }
            None => {
                out.nsswitch_error = Some(format!(
                    "{NSSWITCH} has no hosts: line (glibc then uses dns, files)"
                ))
            }
        },
        Err(e) => out.nsswitch_error = Some(describe(NSSWITCH, &e)),
    }
    let s = &mut out.systemd_resolved;
    s.detected_by = if resolved_by_link {
        Some("symlink")
    } else if stub {
        Some("stub_address")
    } else {
        None
    };
    s.in_use = s.detected_by.is_some();
    if s.in_use {
        match read_small(Path::new(RESOLVED_UPSTREAM), MAX_BYTES, true) {
            Ok(text) => {
                s.upstream = Some(resolv(RESOLVED_UPSTREAM, &resolv::parse_resolv_conf(&text)))
            }
            Err(e) => s.upstream_error = Some(describe(RESOLVED_UPSTREAM, &e)),
        }
    }
    to_value(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_files() {
        assert!(is_resolved_file(Path::new(
            "/run/systemd/resolve/stub-resolv.conf"
        )));
        assert!(is_resolved_file(Path::new("/usr/lib/systemd/resolv.conf")));
        assert!(!is_resolved_file(Path::new("/run/systemd/resolvex")));
        assert!(!is_resolved_file(Path::new(
            "/run/NetworkManager/resolv.conf"
        )));
    }

    #[test]
    fn output_schema_accepts_a_rendered_config() {
        let out: Value = serde_json::from_str(OUTPUT).unwrap();
        let schema = crate::tools::schema::Schema::compile(&out).unwrap();
        let r = resolv::parse_resolv_conf(
            "nameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver 10.0.0.3\nnameserver 10.0.0.4\nsearch a.example\noptions edns0\nbogus\n",
        );
        let v = to_value(&resolv(RESOLV_CONF, &r)).unwrap();
        assert_eq!(v["nameservers"][2]["in_use"], true);
        assert_eq!(v["nameservers"][3]["in_use"], false);
        assert_eq!(v["nameservers"][1]["zone"], "eth0");
        assert_eq!(v["ignored_lines"][0]["line"], 7);
        let whole = serde_json::json!({"resolv_conf": v, "systemd_resolved": {"in_use": false}});
        schema.validate(&whole).unwrap();
    }
}

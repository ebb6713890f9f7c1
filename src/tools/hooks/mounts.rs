#![forbid(unsafe_code)]
//! `get_mounts`: `/proc/self/mountinfo`, parsed by `procfs::parse_mountinfo`.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Budget, read_file, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::procfs::{Mount, parse_mountinfo};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "fstype": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9_.-]+$",
            "description": "only mounts of this filesystem type (ext4, tmpfs, fuse.sshfs, ...)"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["mounts", "count", "more_not_listed"],
    "properties": {
        "mounts": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["mount_id", "parent_id", "target", "source", "fstype", "options", "propagation"],
            "properties": {
                "mount_id": {"type": "integer", "minimum": 0},
                "parent_id": {"type": "integer", "minimum": 0},
                "target": {"type": "string"},
                "source": {"type": "string"},
                "fstype": {"type": "string"},
                "device": {"type": "string", "description": "major:minor"},
                "root": {"type": "string", "description": "the directory of the filesystem mounted here"},
                "options": {"type": "string", "description": "per-mount options"},
                "super_options": {"type": "string", "description": "per-superblock options"},
                "propagation": {"type": "array", "items": {"type": "string"},
                    "description": "shared:N, master:N, propagate_from:N, unbindable; empty for a private mount"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many mounts are in `mounts`"},
        "more_not_listed": {"type": "boolean"}
    }
}"#;

/// Most mounts listed (a host with containers can have thousands; the output caps cut further).
const MAX_MOUNTS: usize = 4096;
/// Largest mountinfo read (about 150 bytes a line).
const MAX_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Serialize)]
struct MountOut {
    mount_id: u64,
    parent_id: u64,
    target: String,
    source: String,
    fstype: String,
    device: String,
    root: String,
    options: String,
    super_options: String,
    propagation: Vec<String>,
}

#[derive(Serialize)]
struct Out {
    mounts: Vec<MountOut>,
    count: usize,
    more_not_listed: bool,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn out(m: Mount) -> MountOut {
    MountOut {
        mount_id: m.mount_id,
        parent_id: m.parent_id,
        target: lossy(&m.mount_point),
        source: lossy(&m.source),
        fstype: m.fstype,
        device: m.device_number,
        root: lossy(&m.root),
        options: m.options,
        super_options: m.super_options,
        propagation: m.optional,
    }
}

pub(super) fn collect(path: &Path, fstype: Option<&str>) -> Result<Value, ToolError> {
    let (text, _) = read_file(path, MAX_BYTES, &mut Budget::new(MAX_BYTES))
        .map_err(|e| ToolError::Unavailable(format!("{}: {}", path.display(), e.reason())))?;
    let mut mounts = Vec::new();
    let mut more = false;
    for m in parse_mountinfo(text.as_bytes()) {
        if fstype.is_some_and(|t| t != m.fstype) {
            continue;
        }
        if mounts.len() == MAX_MOUNTS {
            more = true;
            break;
        }
        mounts.push(out(m));
    }
    to_value(&Out {
        count: mounts.len(),
        mounts,
        more_not_listed: more,
    })
}

pub fn handler(_ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let fstype = args.get("fstype").and_then(Value::as_str);
    collect(Path::new("/proc/self/mountinfo"), fstype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::schema::Schema;

    #[test]
    fn fixture_with_propagation_escapes_and_a_filter() {
        let dir = crate::testdir::TempDir::new("mounts");
        let f = dir.join("mountinfo");
        std::fs::write(
            &f,
            b"1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
              30 1 0:40 /sub /mnt/a\\040b rw master:2 propagate_from:1 - tmpfs tmpfs rw,size=1k\n\
              garbage\n\
              31 1 0:41 / /\xff rw unbindable - proc proc rw\n",
        )
        .unwrap();
        let schema = Schema::compile(&serde_json::from_str(OUTPUT).unwrap()).unwrap();
        let v = collect(&f, None).unwrap();
        schema.validate(&v).unwrap();
        assert_eq!(v["count"], 3);
        let m = &v["mounts"];
        assert_eq!(m[0]["propagation"], serde_json::json!(["shared:1"]));
        assert_eq!(m[1]["target"], "/mnt/a b");
        assert_eq!(m[1]["root"], "/sub");
        assert_eq!(
            m[1]["propagation"],
            serde_json::json!(["master:2", "propagate_from:1"])
        );
        assert_eq!(m[2]["target"], "/\u{fffd}");
        let v = collect(&f, Some("tmpfs")).unwrap();
        assert_eq!(v["count"], 1);
        assert_eq!(v["mounts"][0]["device"], "0:40");
        assert!(collect(&dir.join("none"), None).is_err());
    }
}

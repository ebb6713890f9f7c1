#![forbid(unsafe_code)]
//! `get_block_devices`: the block device tree from `/sys/class/block` (disks and partitions),
//! with the device mapper's and md's views, joined with `/proc/self/mountinfo` on
//! `major:minor` to say which mounts each device backs.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read_into, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::sysblock::{self, BlockName};
use crate::tools::procfs;

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "include_empty": {"type": "boolean", "default": false,
            "description": "also list devices of size 0 (unattached loop devices, empty card readers)"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["devices", "empty_devices"],
    "properties": {
        "devices": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "major", "minor", "type", "size_bytes", "read_only", "mounts"],
            "properties": {
                "name": {"type": "string"},
                "major": {"type": "integer", "minimum": 0},
                "minor": {"type": "integer", "minimum": 0},
                "type": {"type": "string", "enum": ["disk", "partition", "dm", "md", "loop"]},
                "size_bytes": {"type": "integer", "minimum": 0},
                "rotational": {"type": "boolean", "description": "a spinning disk (a partition has its disk's value)"},
                "read_only": {"type": "boolean"},
                "removable": {"type": "boolean"},
                "model": {"type": "string"},
                "vendor": {"type": "string"},
                "serial": {"type": "string"},
                "parent": {"type": "string", "description": "the disk a partition is on"},
                "partitions": {"type": "array", "items": {"type": "string"}},
                "holders": {"type": "array", "description": "devices built on this one (dm, md)", "items": {"type": "string"}},
                "slaves": {"type": "array", "description": "devices this one is built on", "items": {"type": "string"}},
                "dm_name": {"type": "string"},
                "dm_uuid": {"type": "string"},
                "lvm": {"type": "object", "additionalProperties": false,
                    "required": ["vg", "lv"],
                    "properties": {"vg": {"type": "string"}, "lv": {"type": "string"}}},
                "md": {"type": "object", "additionalProperties": false,
                    "required": ["members"],
                    "properties": {
                        "level": {"type": "string"},
                        "array_state": {"type": "string"},
                        "degraded": {"type": "integer", "minimum": 0, "description": "missing or failed members"},
                        "raid_disks": {"type": "integer", "minimum": 0},
                        "members": {"type": "array", "items": {
                            "type": "object", "additionalProperties": false,
                            "required": ["name"],
                            "properties": {"name": {"type": "string"}, "state": {"type": "string"}}
                        }}
                    }},
                "backing_file": {"type": "string", "description": "what a loop device reads from"},
                "mounts": {"type": "array", "description": "mount points of filesystems on this device", "items": {"type": "string"}},
                "mounts_not_listed": {"type": "integer", "minimum": 1}
            }
        }},
        "empty_devices": {"type": "integer", "minimum": 0,
            "description": "devices of size 0 left out (see include_empty)"},
        "reason": {"type": "string", "x-sysgate-server-text": true, "description": "why the list is empty"}
    }
}"#;

/// Mount points listed per device; bind mounts can repeat one device hundreds of times.
const MAX_MOUNTS: usize = 16;
/// Devices walked; a host with more is far outside what one answer can show anyway.
const MAX_DEVICES: usize = 4096;
/// A sysfs attribute is one short line; the cap bounds a broken driver.
const ATTR_BYTES: u64 = 4096;

#[derive(Serialize)]
struct BlockDevices {
    devices: Vec<BlockDevice>,
    empty_devices: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize, Debug)]
struct BlockDevice {
    name: String,
    major: u32,
    minor: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotational: Option<bool>,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    removable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    partitions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    holders: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slaves: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dm_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dm_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lvm: Option<Lvm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md: Option<Md>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backing_file: Option<String>,
    mounts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mounts_not_listed: Option<usize>,
}

#[derive(Serialize, Debug)]
struct Lvm {
    vg: String,
    lv: String,
}

#[derive(Serialize, Debug)]
struct Md {
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    array_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    degraded: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raid_disks: Option<u64>,
    members: Vec<MdMember>,
}

#[derive(Serialize, Debug)]
struct MdMember {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

/// One attribute file, `None` when absent or unreadable (drivers expose different sets).
fn attr(dir: &Path, name: &str, buf: &mut Vec<u8>) -> Option<String> {
    read_into(&dir.join(name), buf, ATTR_BYTES).ok()?;
    Some(String::from_utf8_lossy(buf).into_owned())
}

/// Entry names of a directory that are valid block device names, sorted.
fn names(dir: &Path) -> Vec<BlockName> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<BlockName> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(BlockName::new))
        .take(MAX_DEVICES)
        .collect();
    v.sort();
    v
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Walk `{sys}/class/block` and describe every device. `mounts` maps `major:minor` to mount
/// points. Returns the devices in name order and how many were left out as empty.
fn collect(
    check: &dyn Fn() -> Result<(), ToolError>,
    sys: &Path,
    mounts: &BTreeMap<(u32, u32), Vec<&[u8]>>,
    include_empty: bool,
) -> Result<(Vec<BlockDevice>, usize), ToolError> {
    let class = sys.join("class/block");
    let mut buf = Vec::with_capacity(256);
    let mut all: Vec<BlockDevice> = Vec::new();
    let mut empty = 0;
    for (i, name) in names(&class).into_iter().enumerate() {
        if i % 64 == 0 {
            check()?;
        }
        let dir = class.join(name.as_str());
        // A device that vanished since the listing has no `dev`: skip it rather than guess.
        let Some((major, minor)) =
            attr(&dir, "dev", &mut buf).and_then(|t| sysblock::parse_dev(&t))
        else {
            continue;
        };
        // Size first: most hosts have idle loop and ram devices of size 0, and skipping them
        // here saves a dozen reads each.
        let size_bytes = attr(&dir, "size", &mut buf)
            .and_then(|t| sysblock::size_bytes(&t))
            .unwrap_or(0);
        if size_bytes == 0 && !include_empty {
            empty += 1;
            continue;
        }
        let flag =
            |f: &str, buf: &mut Vec<u8>| attr(&dir, f, buf).and_then(|t| sysblock::parse_flag(&t));
        let text =
            |f: &str, buf: &mut Vec<u8>| attr(&dir, f, buf).and_then(|t| sysblock::sysfs_text(&t));
        let is_partition = dir.join("partition").exists();
        let parent = if is_partition {
            std::fs::canonicalize(&dir)
                .ok()
                .and_then(|p| {
                    p.parent()
                        .and_then(|q| q.file_name())
                        .and_then(OsStr::to_str)
                        .and_then(BlockName::new)
                })
                .map(|n| n.to_string())
        } else {
            None
        };
        let dm_name = attr(&dir, "dm/name", &mut buf).and_then(|t| sysblock::sysfs_text(&t));
        let dm_uuid = attr(&dir, "dm/uuid", &mut buf).and_then(|t| sysblock::sysfs_text(&t));
        let lvm = match (&dm_name, &dm_uuid) {
            (Some(n), Some(u)) => sysblock::lvm_names(n, u).map(|(vg, lv)| Lvm { vg, lv }),
            _ => None,
        };
        let md = dir
            .join("md")
            .is_dir()
            .then(|| read_md(&dir.join("md"), &mut buf));
        let backing_file =
            attr(&dir, "loop/backing_file", &mut buf).and_then(|t| sysblock::sysfs_text(&t));
        let kind = if is_partition {
            "partition"
        } else if dm_name.is_some() || dir.join("dm").is_dir() {
            "dm"
        } else if md.is_some() {
            "md"
        } else if backing_file.is_some() || name.as_str().starts_with("loop") {
            "loop"
        } else {
            "disk"
        };
        let serial = text("serial", &mut buf).or_else(|| text("device/serial", &mut buf));
        let mut points: Vec<String> = Vec::new();
        let mut total = 0;
        for p in mounts.get(&(major, minor)).into_iter().flatten() {
            let p = lossy(p);
            if !points.contains(&p) {
                total += 1;
                if points.len() < MAX_MOUNTS {
                    points.push(p);
                }
            }
        }
        all.push(BlockDevice {
            name: name.to_string(),
            major,
            minor,
            kind,
            size_bytes,
            rotational: flag("queue/rotational", &mut buf),
            read_only: flag("ro", &mut buf).unwrap_or(false),
            removable: if is_partition {
                None
            } else {
                flag("removable", &mut buf)
            },
            model: text("device/model", &mut buf),
            vendor: text("device/vendor", &mut buf),
            serial,
            parent,
            partitions: Vec::new(),
            holders: names(&dir.join("holders"))
                .iter()
                .map(|n| n.to_string())
                .collect(),
            slaves: names(&dir.join("slaves"))
                .iter()
                .map(|n| n.to_string())
                .collect(),
            dm_name,
            dm_uuid,
            lvm,
            md,
            backing_file,
            mounts_not_listed: (total > points.len()).then(|| total - points.len()),
            mounts: points,
        });
    }
    // Partitions: listed on their disk, and they take the disk's rotational flag (only the
    // disk has a queue).
    let disks: BTreeMap<String, (Option<bool>, Vec<String>)> = all
        .iter()
        .filter(|d| d.kind != "partition")
        .map(|d| {
            let parts = all
                .iter()
                .filter(|p| p.parent.as_deref() == Some(d.name.as_str()))
                .map(|p| p.name.clone())
                .collect();
            (d.name.clone(), (d.rotational, parts))
        })
        .collect();
    for d in &mut all {
        if let Some(parent) = &d.parent {
            if d.rotational.is_none() {
                d.rotational = disks.get(parent).and_then(|(r, _)| *r);
            }
        } else if let Some((_, parts)) = disks.get(&d.name) {
            d.partitions = parts.clone();
        }
    }
    Ok((all, empty))
}

fn read_md(md: &Path, buf: &mut Vec<u8>) -> Md {
    let word = |f: &str, buf: &mut Vec<u8>| attr(md, f, buf).and_then(|t| sysblock::sysfs_word(&t));
    let num = |f: &str, buf: &mut Vec<u8>| attr(md, f, buf).and_then(|t| sysblock::parse_u64(&t));
    let mut members: Vec<MdMember> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(md) {
        for e in rd.flatten().take(MAX_DEVICES) {
            if let Some(n) = e.file_name().to_str().and_then(sysblock::md_member) {
                let state = attr(&e.path(), "state", buf).and_then(|t| sysblock::sysfs_word(&t));
                members.push(MdMember {
                    name: n.to_string(),
                    state,
                });
            }
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Md {
        level: word("level", buf),
        array_state: word("array_state", buf),
        degraded: num("degraded", buf),
        raid_disks: num("raid_disks", buf),
        members,
    }
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let include_empty = args
        .get("include_empty")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut raw = Vec::new();
    // Without mountinfo the devices are still worth listing; they just show no mounts.
    let _ = read_into(
        Path::new("/proc/self/mountinfo"),
        &mut raw,
        16 * 1024 * 1024,
    );
    let parsed = procfs::parse_mountinfo(&raw);
    let mut mounts = sysblock::mounts_by_device(
        parsed
            .iter()
            .map(|m| (m.device_number.as_str(), m.mount_point.as_slice())),
    );
    let sys = Path::new("/sys");
    // btrfs (and other multi-device filesystems) report an anonymous `0:N` device number; their
    // source names the block device (`/dev/sda2`, `/dev/mapper/vg-root`), so join on that.
    let mut resolved: BTreeMap<&[u8], Option<(u32, u32)>> = BTreeMap::new();
    for m in &parsed {
        let anonymous = sysblock::parse_dev(&m.device_number).is_some_and(|(major, _)| major == 0);
        if !anonymous || !m.source.starts_with(b"/dev/") {
            continue;
        }
        let dev = *resolved
            .entry(m.source.as_slice())
            .or_insert_with(|| source_device(sys, &m.source));
        if let Some(dev) = dev {
            mounts
                .entry(dev)
                .or_default()
                .push(m.mount_point.as_slice());
        }
    }
    let (devices, empty) = collect(&|| ctx.check(), sys, &mounts, include_empty)?;
    let reason = devices.is_empty().then(|| empty_reason(sys, empty));
    to_value(&BlockDevices {
        devices,
        empty_devices: empty,
        reason,
    })
}

/// The device number of a mount source such as `/dev/mapper/vg-root`: the node it resolves to
/// (`/dev/dm-0`) must be directly under `/dev` and name a block device in sysfs.
fn source_device(sys: &Path, source: &[u8]) -> Option<(u32, u32)> {
    let real = std::fs::canonicalize(Path::new(OsStr::from_bytes(source))).ok()?;
    let name = dev_node_name(&real)?;
    let mut buf = Vec::new();
    attr(
        &sys.join("class/block").join(name.as_str()),
        "dev",
        &mut buf,
    )
    .and_then(|t| sysblock::parse_dev(&t))
}

/// `/dev/NAME` → `NAME`, for a valid block device name only.
fn dev_node_name(p: &Path) -> Option<BlockName> {
    (p.parent()? == Path::new("/dev"))
        .then(|| p.file_name()?.to_str().and_then(BlockName::new))
        .flatten()
}

fn empty_reason(sys: &Path, empty: usize) -> String {
    if empty > 0 {
        return format!(
            "every block device has size 0 ({empty} left out; set include_empty to list them)"
        );
    }
    let block: PathBuf = sys.join("block");
    match std::fs::read_dir(&block) {
        Err(e) => format!("cannot list /sys/block ({e}): no sysfs view of block devices here"),
        Ok(_) => "/sys/block is empty: no block devices are visible (usual in a container)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A sysfs-shaped tree: `devices/...` holds the real directories, `class/block/*` links to
    /// them as the kernel's does. `files` are (path under the device, content).
    fn device(root: &Path, real: &str, files: &[(&str, &str)]) {
        let dir = root.join("devices").join(real);
        for (f, content) in files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        let name = Path::new(real).file_name().unwrap();
        fs::create_dir_all(root.join("class/block")).unwrap();
        symlink(&dir, root.join("class/block").join(name)).unwrap();
    }

    fn ok() -> Result<(), ToolError> {
        Ok(())
    }

    #[test]
    fn fake_sysfs_with_partitions_dm_lvm_and_degraded_md() {
        let t = crate::testdir::TempDir::new("blockdev");
        let root = t.path();
        device(
            root,
            "pci/sda",
            &[
                ("dev", "8:0\n"),
                ("size", "2048\n"),
                ("queue/rotational", "1\n"),
                ("ro", "0\n"),
                ("removable", "0\n"),
                ("device/model", "  FAKE DISK \n"),
                ("device/vendor", "ACME\n"),
                ("device/serial", "SN\u{1b}123\n"),
                ("holders/md0", ""),
            ],
        );
        device(
            root,
            "pci/sda/sda1",
            &[
                ("dev", "8:1"),
                ("size", "1024"),
                ("partition", "1"),
                ("ro", "1"),
            ],
        );
        device(
            root,
            "pci/sdb",
            &[("dev", "8:16"), ("size", "2048"), ("queue/rotational", "0")],
        );
        device(
            root,
            "virtual/md0",
            &[
                ("dev", "9:0"),
                ("size", "1024"),
                ("md/level", "raid1\n"),
                ("md/array_state", "clean\n"),
                ("md/degraded", "1\n"),
                ("md/raid_disks", "2\n"),
                ("md/dev-sda1/state", "in_sync\n"),
                ("md/dev-sdc1/state", "faulty\n"),
                ("slaves/sda1", ""),
            ],
        );
        device(
            root,
            "virtual/dm-0",
            &[
                ("dev", "253:0"),
                ("size", "512"),
                ("dm/name", "my--vg-root\n"),
                (
                    "dm/uuid",
                    "LVM-aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffff0000000011111111\n",
                ),
            ],
        );
        device(
            root,
            "virtual/dm-1",
            &[
                ("dev", "253:1"),
                ("size", "512"),
                ("dm/name", "cryptroot"),
                ("dm/uuid", "CRYPT-LUKS2-abc-cryptroot"),
            ],
        );
        device(root, "virtual/loop0", &[("dev", "7:0"), ("size", "0")]);
        device(
            root,
            "virtual/loop1",
            &[
                ("dev", "7:1"),
                ("size", "8"),
                ("loop/backing_file", "/tmp/img file\n"),
            ],
        );
        // Hostile: a bad size, a device that vanished (no dev), a name that is not one.
        device(root, "virtual/ram0", &[("dev", "1:0"), ("size", "banana")]);
        device(root, "virtual/gone", &[("size", "8")]);
        device(root, "virtual/bad name", &[("dev", "1:1"), ("size", "8")]);

        let mounts = sysblock::mounts_by_device([
            ("8:1", b"/boot".as_slice()),
            ("253:0", b"/".as_slice()),
            ("253:0", b"/".as_slice()),
            ("253:0", b"/srv/bind".as_slice()),
        ]);
        let (devs, empty) = collect(&ok, root, &mounts, false).unwrap();
        let names: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["dm-0", "dm-1", "loop1", "md0", "sda", "sda1", "sdb"]
        );
        assert_eq!(empty, 2, "loop0 and ram0 (an unreadable size counts as 0)");
        let get = |n: &str| devs.iter().find(|d| d.name == n).unwrap();

        let sda = get("sda");
        assert_eq!(
            (sda.kind, sda.size_bytes, sda.rotational),
            ("disk", 2048 * 512, Some(true))
        );
        assert_eq!(sda.model.as_deref(), Some("FAKE DISK"));
        assert_eq!(sda.serial.as_deref(), Some("SN123"));
        assert_eq!(sda.partitions, ["sda1"]);
        assert_eq!(sda.holders, ["md0"]);
        let sda1 = get("sda1");
        assert_eq!(
            (sda1.kind, sda1.parent.as_deref(), sda1.read_only),
            ("partition", Some("sda"), true)
        );
        assert_eq!(sda1.rotational, Some(true), "inherits its disk's queue");
        assert_eq!(sda1.mounts, ["/boot"]);
        assert_eq!(get("sdb").rotational, Some(false));

        let md = get("md0").md.as_ref().unwrap();
        assert_eq!(get("md0").kind, "md");
        assert_eq!(
            (md.level.as_deref(), md.array_state.as_deref()),
            (Some("raid1"), Some("clean"))
        );
        assert_eq!((md.degraded, md.raid_disks), (Some(1), Some(2)));
        let members: Vec<(&str, Option<&str>)> = md
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.state.as_deref()))
            .collect();
        assert_eq!(
            members,
            [("sda1", Some("in_sync")), ("sdc1", Some("faulty"))]
        );
        assert_eq!(get("md0").slaves, ["sda1"]);

        let dm0 = get("dm-0");
        assert_eq!(dm0.kind, "dm");
        let lvm = dm0.lvm.as_ref().unwrap();
        assert_eq!((lvm.vg.as_str(), lvm.lv.as_str()), ("my-vg", "root"));
        assert_eq!(
            dm0.mounts,
            ["/", "/srv/bind"],
            "bind mounts of one device, deduplicated"
        );
        let dm1 = get("dm-1");
        assert_eq!(
            (dm1.dm_name.as_deref(), dm1.lvm.is_none()),
            (Some("cryptroot"), true)
        );
        let l1 = get("loop1");
        assert_eq!(
            (l1.kind, l1.backing_file.as_deref()),
            ("loop", Some("/tmp/img file"))
        );

        let (all, empty) = collect(&ok, root, &mounts, true).unwrap();
        assert_eq!((all.len(), empty), (9, 0));
    }

    #[test]
    fn mount_sources_resolve_to_device_nodes_only() {
        assert_eq!(
            dev_node_name(Path::new("/dev/dm-0")).unwrap().as_str(),
            "dm-0"
        );
        assert_eq!(
            dev_node_name(Path::new("/dev/sda2")).unwrap().as_str(),
            "sda2"
        );
        assert!(dev_node_name(Path::new("/dev/mapper/vg-root")).is_none());
        assert!(dev_node_name(Path::new("/tmp/sda")).is_none());
        assert!(dev_node_name(Path::new("/dev")).is_none());
        assert!(dev_node_name(Path::new("/dev/bad name")).is_none());
        // A source that is not a node, or a node sysfs does not know: no device.
        let t = crate::testdir::TempDir::new("blockdev-src");
        assert_eq!(source_device(t.path(), b"/dev/null"), None);
        assert_eq!(source_device(t.path(), b"/dev/no-such-device"), None);
        device(t.path(), "virtual/null", &[("dev", "1:3")]);
        assert_eq!(source_device(t.path(), b"/dev/null"), Some((1, 3)));
    }

    #[test]
    fn many_mounts_are_capped_and_an_empty_tree_says_why() {
        let t = crate::testdir::TempDir::new("blockdev-cap");
        let root = t.path();
        device(root, "virtual/vdz", &[("dev", "254:9"), ("size", "8")]);
        let points: Vec<String> = (0..40).map(|i| format!("/m{i}")).collect();
        let mounts = sysblock::mounts_by_device(points.iter().map(|p| ("254:9", p.as_bytes())));
        let (devs, _) = collect(&ok, root, &mounts, false).unwrap();
        assert_eq!(devs[0].mounts.len(), MAX_MOUNTS);
        assert_eq!(devs[0].mounts_not_listed, Some(40 - MAX_MOUNTS));

        let empty = crate::testdir::TempDir::new("blockdev-empty");
        let (devs, n) = collect(&ok, empty.path(), &BTreeMap::new(), false).unwrap();
        assert!(devs.is_empty() && n == 0);
        assert!(empty_reason(empty.path(), 0).contains("cannot list /sys/block"));
        fs::create_dir_all(empty.join("block")).unwrap();
        assert!(empty_reason(empty.path(), 0).contains("/sys/block is empty"));
        assert!(empty_reason(empty.path(), 3).contains("include_empty"));
        // Cancellation stops the walk.
        let cancelled = || Err(ToolError::Cancelled);
        assert_eq!(
            collect(&cancelled, root, &mounts, false).unwrap_err(),
            ToolError::Cancelled
        );
    }
}

#![forbid(unsafe_code)]
//! Values of `/sys/block/*` and `/sys/class/block/*` (one small file per attribute), the device
//! mapper's LVM naming and the `major:minor` join with `/proc/self/mountinfo`.

use std::collections::BTreeMap;
use std::fmt;

/// `/sys/block/*/size` is in 512-byte sectors whatever the logical block size.
pub const SIZE_SECTOR_BYTES: u64 = 512;

/// A kernel block device name (`sda`, `nvme0n1p2`, `dm-0`, `md127`, `cciss!c0d0`): 1 to 64
/// ASCII letters, digits and `_ - . : + ! @`, not starting with a dot. Names come from the
/// kernel, but they become path components, so anything else is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockName(String);

impl BlockName {
    pub fn new(s: &str) -> Option<BlockName> {
        let ok = (1..=64).contains(&s.len())
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:+!@".contains(&b));
        ok.then(|| BlockName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlockName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `major:minor` as in `/sys/block/*/dev` and mountinfo's third field.
pub fn parse_dev(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A decimal number on a line of its own.
pub fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A `0` / `1` flag.
pub fn parse_flag(text: &str) -> Option<bool> {
    match text.trim() {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// `/sys/block/*/size` (sectors) in bytes.
pub fn size_bytes(text: &str) -> Option<u64> {
    parse_u64(text)?.checked_mul(SIZE_SECTOR_BYTES)
}

/// Free text a driver exposes (`device/model`, `serial`): trimmed, control characters dropped,
/// cut to 128 characters; `None` when nothing is left.
pub fn sysfs_text(text: &str) -> Option<String> {
    let s: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A keyword such as md's `array_state` (`clean`, `active`, `read-auto`) or a member's `state`
/// (`in_sync`, `faulty,write_mostly`): lowercase letters, digits, `_ - ,` only, up to 64.
pub fn sysfs_word(text: &str) -> Option<String> {
    let s = text.trim();
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-,".contains(&b));
    ok.then(|| s.to_string())
}

/// The volume group and logical volume of a device-mapper device that LVM made: its `dm/uuid`
/// starts with `LVM-`, and its `dm/name` is `VG-LV` with each `-` inside a name doubled.
pub fn lvm_names(dm_name: &str, dm_uuid: &str) -> Option<(String, String)> {
    if !dm_uuid.trim().starts_with("LVM-") {
        return None;
    }
    let name = dm_name.trim();
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'-' {
            if bytes.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let (vg, lv) = (&name[..i], &name[i + 1..]);
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some((vg.replace("--", "-"), lv.replace("--", "-")));
        }
        i += 1;
    }
    None
}

/// md member directory `dev-sda1` → `sda1`.
pub fn md_member(dir_name: &str) -> Option<BlockName> {
    BlockName::new(dir_name.strip_prefix("dev-")?)
}

/// Mount points by `major:minor`, in mountinfo order, from `(device_number, mount_point)` pairs.
pub fn mounts_by_device<'a>(
    mounts: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> BTreeMap<(u32, u32), Vec<&'a [u8]>> {
    let mut map: BTreeMap<(u32, u32), Vec<&[u8]>> = BTreeMap::new();
    for (dev, point) in mounts {
        if let Some(d) = parse_dev(dev) {
            map.entry(d).or_default().push(point);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in [
            "sda",
            "nvme0n1p2",
            "dm-0",
            "md127",
            "cciss!c0d0",
            "loop7",
            "sr0",
        ] {
            assert_eq!(BlockName::new(ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "a\n",
            "é",
            long.as_str(),
        ] {
            assert!(BlockName::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn attribute_values() {
        assert_eq!(parse_dev("254:1\n"), Some((254, 1)));
        assert_eq!(parse_dev("254"), None);
        assert_eq!(parse_dev("a:1"), None);
        assert_eq!(parse_dev("99999999999:1"), None);
        assert_eq!(size_bytes("536870912\n"), Some(274_877_906_944));
        assert_eq!(size_bytes("18446744073709551615"), None);
        assert_eq!(size_bytes("-1"), None);
        assert_eq!(parse_flag("1\n"), Some(true));
        assert_eq!(parse_flag("0"), Some(false));
        assert_eq!(parse_flag("2"), None);
        assert_eq!(
            sysfs_text("  Samsung SSD 970  \n"),
            Some("Samsung SSD 970".into())
        );
        assert_eq!(sysfs_text("a\u{1b}[2Jb"), Some("a[2Jb".into()));
        assert_eq!(sysfs_text(" \n"), None);
        assert_eq!(sysfs_text(&"x".repeat(500)).unwrap().len(), 128);
        assert_eq!(sysfs_word("clean\n"), Some("clean".into()));
        assert_eq!(
            sysfs_word("faulty,write_mostly"),
            Some("faulty,write_mostly".into())
        );
        assert_eq!(sysfs_word("Clean"), None);
        assert_eq!(sysfs_word("a b"), None);
        assert_eq!(sysfs_word(""), None);
    }

    #[test]
    fn lvm_names_undo_the_dash_doubling() {
        let uuid = "LVM-abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";
        assert_eq!(
            lvm_names("vg0-root", uuid),
            Some(("vg0".into(), "root".into()))
        );
        assert_eq!(
            lvm_names("my--vg-my--lv\n", uuid),
            Some(("my-vg".into(), "my-lv".into()))
        );
        assert_eq!(
            lvm_names("vg-lv-with-dashes", uuid),
            Some(("vg".into(), "lv-with-dashes".into()))
        );
        // Not LVM (cryptsetup, multipath) or not a VG-LV name.
        assert_eq!(lvm_names("vg0-root", "CRYPT-LUKS2-abc"), None);
        assert_eq!(lvm_names("novg", uuid), None);
        assert_eq!(lvm_names("-lv", uuid), None);
        assert_eq!(lvm_names("vg-", uuid), None);
        assert_eq!(lvm_names("only--dashes", uuid), None);
        assert_eq!(lvm_names("", uuid), None);
    }

    #[test]
    fn md_members_and_mount_join() {
        assert_eq!(md_member("dev-sda1").unwrap().as_str(), "sda1");
        assert!(md_member("sda1").is_none());
        assert!(md_member("dev-").is_none());
        let m = mounts_by_device([
            ("254:0", b"/".as_slice()),
            ("7:1", b"/mnt/a b".as_slice()),
            ("254:0", b"/home".as_slice()),
            ("junk", b"/x".as_slice()),
        ]);
        assert_eq!(m[&(254, 0)], [b"/".as_slice(), b"/home".as_slice()]);
        assert_eq!(m[&(7, 1)], [b"/mnt/a b".as_slice()]);
        assert_eq!(m.len(), 2);
    }
}

//! Arbitrary bytes as the block-device attributes of sysfs (`dev`, `size`, flags, model and
//! serial text, md states, dm names and uuids) and as mountinfo joined on `major:minor`.
//! Property: no panic, and every value that comes out obeys the rule it was checked against.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::sysblock as s;
use sysgate::testing::tools::procfs;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    if let Some(n) = s::BlockName::new(text) {
        assert_eq!(n.as_str(), text);
        assert!(!text.contains('/') && !text.starts_with('.') && text.len() <= 64);
    }
    if let Some(n) = s::md_member(text) {
        assert_eq!(Some(n.as_str()), text.strip_prefix("dev-"));
    }
    std::hint::black_box((s::parse_dev(text), s::parse_u64(text), s::parse_flag(text)));
    if let Some(b) = s::size_bytes(text) {
        assert_eq!(b % s::SIZE_SECTOR_BYTES, 0);
    }
    if let Some(t) = s::sysfs_text(text) {
        assert!(!t.is_empty() && t.chars().count() <= 128 && !t.chars().any(char::is_control));
    }
    if let Some(w) = s::sysfs_word(text) {
        assert!(w.len() <= 64 && !w.chars().any(|c| c.is_whitespace() || c.is_control()));
    }
    // Half as dm/name, half as dm/uuid.
    let (name, uuid) = text.split_at(text.floor_char_boundary(text.len() / 2));
    if let Some((vg, lv)) = s::lvm_names(name, uuid) {
        assert!(uuid.trim().starts_with("LVM-"));
        assert!(!vg.is_empty() && !lv.is_empty());
        assert!(vg.len() + lv.len() < name.len());
    }
    let mounts = procfs::parse_mountinfo(data);
    let map = s::mounts_by_device(
        mounts
            .iter()
            .map(|m| (m.device_number.as_str(), m.mount_point.as_slice())),
    );
    assert!(map.values().map(Vec::len).sum::<usize>() <= mounts.len());
});

#![forbid(unsafe_code)]
//! One record of `/dev/kmsg` (the kernel's `Documentation/ABI/testing/dev-kmsg`): a header
//! `pri,seq,ts_usec,flags[,more...]`, a `;`, the message, then zero or more continuation lines
//! `\n KEY=value` (the record's dictionary). The kernel escapes non-printable bytes in the message
//! as `\xNN`; they are kept as written.

/// Longest message kept, in bytes; the kernel's own limit is about 1 KiB.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Most dictionary entries kept per record.
pub const MAX_DICT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Syslog priority: facility × 8 + level.
    pub pri: u32,
    pub seq: u64,
    /// Microseconds since boot (the kernel's monotonic printk clock).
    pub ts_usec: u64,
    /// `c`: a continuation fragment; `-` otherwise.
    pub continuation: bool,
    pub message: String,
    /// `KEY=value` continuation lines (e.g. `SUBSYSTEM=pci`, `DEVICE=+pci:0000:00:01.0`).
    pub dict: Vec<(String, String)>,
}

impl Record {
    pub fn level(&self) -> u32 {
        self.pri & 7
    }

    pub fn facility(&self) -> u32 {
        self.pri >> 3
    }
}

pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// A level name's number (`"err"` → 3).
pub fn level_number(name: &str) -> Option<u32> {
    LEVELS.iter().position(|l| *l == name).map(|n| n as u32)
}

pub fn level_name(level: u32) -> &'static str {
    LEVELS.get(level as usize).copied().unwrap_or("debug")
}

/// The syslog facility name (RFC 5424 numbering; 12..=15 by their Linux names).
pub fn facility_name(f: u32) -> &'static str {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES.get(f as usize).copied().unwrap_or("unknown")
}

fn number(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn lossy_capped(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    let s = String::from_utf8_lossy(b);
    // A cut may split a UTF-8 sequence: the replacement character marks it.
    s.into_owned()
}

/// One record as one `read(2)` of `/dev/kmsg` returns it; `None` if it is not one.
pub fn parse_record(b: &[u8]) -> Option<Record> {
    let semi = b.iter().position(|c| *c == b';')?;
    let mut header = b[..semi].split(|c| *c == b',');
    let pri = number(header.next()?)?;
    let seq = number(header.next()?)?;
    let ts_usec = number(header.next()?)?;
    let flags = header.next()?;
    // Later kernels may add fields after the flags (the ABI says so): ignore them.
    let continuation = match flags {
        b"c" => true,
        b"-" | b"+" => false,
        _ => return None,
    };
    if pri > 191 {
        return None;
    }
    let body = &b[semi + 1..];
    let mut parts = body.split(|c| *c == b'\n');
    let message = lossy_capped(parts.next().unwrap_or_default(), MAX_MESSAGE_BYTES);
    let mut dict = Vec::new();
    for line in parts {
        let Some(kv) = line.strip_prefix(b" ") else {
            continue;
        };
        let Some(eq) = kv.iter().position(|c| *c == b'=') else {
            continue;
        };
        if dict.len() < MAX_DICT && eq > 0 {
            dict.push((
                lossy_capped(&kv[..eq], 64),
                lossy_capped(&kv[eq + 1..], 256),
            ));
        }
    }
    Some(Record {
        pri: pri as u32,
        seq,
        ts_usec,
        continuation,
        message,
        dict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let r = parse_record(b"6,339,5140900,-;NET: Registered protocol family 10\n").unwrap();
        assert_eq!(
            (r.pri, r.seq, r.ts_usec, r.continuation),
            (6, 339, 5_140_900, false)
        );
        assert_eq!(r.message, "NET: Registered protocol family 10");
        assert_eq!((r.level(), r.facility()), (6, 0));
        assert!(r.dict.is_empty());

        let r = parse_record(
            b"7,160,424069,-,caller=T1;pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A03:00\n",
        )
        .unwrap();
        assert_eq!(r.seq, 160);
        assert_eq!(
            r.dict,
            vec![
                ("SUBSYSTEM".into(), "acpi".into()),
                ("DEVICE".into(), "+acpi:PNP0A03:00".into())
            ]
        );
        let r = parse_record(b"30,1,2,c;systemd[1]: x\\x1b[0m").unwrap();
        assert_eq!(
            (r.level(), r.facility(), facility_name(r.facility())),
            (6, 3, "daemon")
        );
        assert!(r.continuation);
        assert_eq!(r.message, "systemd[1]: x\\x1b[0m");
        // Invalid UTF-8 is replaced, not an error.
        let r = parse_record(b"4,2,3,-;bad \xff byte").unwrap();
        assert_eq!(r.message, "bad \u{fffd} byte");
    }

    #[test]
    fn not_records() {
        for bad in [
            &b""[..],
            b"no semicolon",
            b"6,1,2;missing flags",
            b"x,1,2,-;m",
            b"6,1,2,?;bad flag",
            b"192,1,2,-;pri too big",
            b"6,99999999999999999999999,2,-;overflow",
            b"6,-1,2,-;negative",
        ] {
            assert_eq!(
                parse_record(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn names() {
        assert_eq!(level_name(3), "err");
        assert_eq!(level_number("warning"), Some(4));
        assert_eq!(level_number("nope"), None);
        assert_eq!(facility_name(23), "local7");
        assert_eq!(facility_name(24), "unknown");
    }
}

#![forbid(unsafe_code)]
//! The chain head: the `seq` and MAC of the newest record, kept in `PATH.head` beside the log so
//! that cutting records off the end of the log (truncating it, emptying it after a rotation,
//! replacing it) cannot make the writer reuse their sequence numbers, and `audit verify` can say
//! whether the log still reaches its head.
//!
//! The file holds two fixed-size slots of [`SLOT`] bytes; record `seq` goes to slot `seq % 2`,
//! overwritten in place with one `pwrite` (then `fdatasync` when the log syncs too). A crash in
//! the middle of a write can damage only the slot being written; the other still names the record
//! before. The reader takes the valid slot with the higher `seq`. Each slot is
//!
//! ```text
//! sysgate-audit-head v1 seq=<decimal> mac=<64 hex> tag=<64 hex>\n   (padded with spaces to 512 bytes)
//! ```
//!
//! where `tag = HMAC-SHA256(key, "sysgate-audit-head v1\n" || seq as 8 bytes big-endian || mac)`,
//! so the head can neither be forged nor moved back without the audit key.

use std::fs::{File, Permissions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::hmac;

use super::chain::MAC_LEN;
use super::key::AuditKey;
use super::{hex, unhex};

/// Bytes per slot: one disk sector, so a slot is written whole or not at all on common hardware.
pub const SLOT: usize = 512;
const MAGIC: &str = "sysgate-audit-head v1";

/// `PATH.head`.
pub fn head_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".head");
    PathBuf::from(s)
}

/// The newest record as the head names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub mac: [u8; MAC_LEN],
}

/// What the head file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadState {
    /// No head file, or an empty one: nothing was ever recorded there.
    Missing,
    /// The file has content but no slot verifies under the key (damaged, forged, other key).
    Unreadable,
    At(Head),
}

fn tag(key: &AuditKey, head: &Head) -> [u8; MAC_LEN] {
    let mut msg = Vec::with_capacity(MAGIC.len() + 1 + 8 + MAC_LEN);
    msg.extend_from_slice(MAGIC.as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(&head.seq.to_be_bytes());
    msg.extend_from_slice(&head.mac);
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(hmac::sign(key.hmac(), &msg).as_ref());
    out
}

/// One slot's bytes.
pub fn encode(key: &AuditKey, head: &Head) -> [u8; SLOT] {
    let text = format!(
        "{MAGIC} seq={} mac={} tag={}\n",
        head.seq,
        hex(&head.mac),
        hex(&tag(key, head))
    );
    let mut slot = [b' '; SLOT];
    slot[..text.len()].copy_from_slice(text.as_bytes());
    slot[SLOT - 1] = b'\n';
    slot
}

/// The head a slot names, if it is well-formed and its tag verifies.
pub fn decode(key: &AuditKey, slot: &[u8]) -> Option<Head> {
    let line = slot.split(|b| *b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix(MAGIC)?.strip_prefix(" seq=")?;
    let (seq, rest) = rest.split_once(" mac=")?;
    let (mac, tag_hex) = rest.split_once(" tag=")?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let head = Head {
        seq: seq.parse().ok()?,
        mac: unhex(mac.as_bytes())?.try_into().ok()?,
    };
    let claimed: [u8; MAC_LEN] = unhex(tag_hex.as_bytes())?.try_into().ok()?;
    let mut msg = Vec::with_capacity(MAGIC.len() + 1 + 8 + MAC_LEN);
    msg.extend_from_slice(MAGIC.as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(&head.seq.to_be_bytes());
    msg.extend_from_slice(&head.mac);
    hmac::verify(key.hmac(), &msg, &claimed).ok()?;
    Some(head)
}

/// What the content of a head file (at most two slots are looked at) says.
pub fn parse(key: &AuditKey, bytes: &[u8]) -> HeadState {
    if bytes.is_empty() {
        return HeadState::Missing;
    }
    bytes
        .chunks(SLOT)
        .take(2)
        .filter_map(|s| decode(key, s))
        .max_by_key(|h| h.seq)
        .map_or(HeadState::Unreadable, HeadState::At)
}

/// Reads the head from an open file.
pub fn read(key: &AuditKey, file: &File) -> io::Result<HeadState> {
    let mut buf = vec![0u8; 2 * SLOT];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    buf.truncate(got);
    Ok(parse(key, &buf))
}

/// Writes `head` into its slot; `sync` makes it durable before returning.
pub fn write(key: &AuditKey, file: &File, head: &Head, sync: bool) -> io::Result<()> {
    let slot = encode(key, head);
    file.write_all_at(&slot, (head.seq % 2) * SLOT as u64)?;
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

/// Opens (creating it 0600 if absent) the head file for reading and writing, never through a
/// symlink and without blocking on a FIFO. The caller checks the handle like the log file.
pub fn open(path: &Path) -> io::Result<File> {
    let opts = |create: bool| {
        let mut o = File::options();
        o.read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .mode(0o600);
        if create {
            o.create_new(true);
        }
        o
    };
    match opts(true).open(path) {
        Ok(f) => {
            f.set_permissions(Permissions::from_mode(0o600))?;
            Ok(f)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => opts(false).open(path),
        Err(e) => Err(e),
    }
}

/// Why the log does not end where its head says, and where the writer continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// `seq` of the last record found in the files (`None`: the files hold no record).
    pub after_seq: Option<u64>,
    /// `seq` the head names, when it could be read.
    pub head_seq: Option<u64>,
    /// `seq` and `prev` of the gap record the writer puts next.
    pub resume_seq: u64,
    pub prev: [u8; MAC_LEN],
    pub cause: GapCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// The log ends before the record the head names: records were cut off.
    LogBehindHead,
    /// The log ends at the head's `seq` with a different record: it was replaced.
    LogReplaced,
    /// There is no head file (deleted, or the log was written before heads existed).
    HeadMissing,
    /// The head file does not verify under the key.
    HeadUnreadable,
}

impl GapCause {
    pub fn name(self) -> &'static str {
        match self {
            GapCause::LogBehindHead => "log_behind_head",
            GapCause::LogReplaced => "log_replaced",
            GapCause::HeadMissing => "head_missing",
            GapCause::HeadUnreadable => "head_unreadable",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            GapCause::LogBehindHead => {
                "the log ended before the record its head names: newer records were removed"
            }
            GapCause::LogReplaced => {
                "the log's last record is not the one its head names: the log was replaced"
            }
            GapCause::HeadMissing => {
                "the head file was missing: whether newer records were removed cannot be told"
            }
            GapCause::HeadUnreadable => {
                "the head file did not verify under the key: whether newer records were removed cannot be told"
            }
        }
    }
}

/// Pure decision: given the last record found in the files and the head, continue normally
/// (`None`) or put a gap record next. A log ahead of its head is normal: the process stopped
/// between writing a record and its head.
pub fn reconcile(log_end: Option<(u64, [u8; MAC_LEN])>, head: HeadState) -> Option<Gap> {
    use super::chain::GENESIS;
    let gap = |after: Option<u64>, head_seq, resume, prev, cause| {
        Some(Gap {
            after_seq: after,
            head_seq,
            resume_seq: resume,
            prev,
            cause,
        })
    };
    match (log_end, head) {
        (None, HeadState::Missing) => None,
        (None, HeadState::Unreadable) => gap(None, None, 0, GENESIS, GapCause::HeadUnreadable),
        (None, HeadState::At(h)) => gap(
            None,
            Some(h.seq),
            h.seq.saturating_add(1),
            h.mac,
            GapCause::LogBehindHead,
        ),
        (Some((s, m)), HeadState::Missing) => {
            gap(Some(s), None, s.saturating_add(1), m, GapCause::HeadMissing)
        }
        (Some((s, m)), HeadState::Unreadable) => gap(
            Some(s),
            None,
            s.saturating_add(1),
            m,
            GapCause::HeadUnreadable,
        ),
        (Some((s, _)), HeadState::At(h)) if s > h.seq => None,
        (Some((s, m)), HeadState::At(h)) if s == h.seq && m == h.mac => None,
        (Some((s, _)), HeadState::At(h)) if s == h.seq => gap(
            Some(s),
            Some(h.seq),
            h.seq.saturating_add(1),
            h.mac,
            GapCause::LogReplaced,
        ),
        (Some((s, _)), HeadState::At(h)) => gap(
            Some(s),
            Some(h.seq),
            h.seq.saturating_add(1),
            h.mac,
            GapCause::LogBehindHead,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::GENESIS;

    fn key() -> AuditKey {
        AuditKey::from_bytes(&[7; 32]).unwrap()
    }

    const A: [u8; 32] = [0xaa; 32];
    const B: [u8; 32] = [0xbb; 32];

    fn at(seq: u64, mac: [u8; 32]) -> HeadState {
        HeadState::At(Head { seq, mac })
    }

    #[test]
    fn slots_round_trip_and_refuse_tampering() {
        let h = Head { seq: 41, mac: A };
        let slot = encode(&key(), &h);
        assert_eq!(slot.len(), SLOT);
        assert_eq!(decode(&key(), &slot), Some(h));
        let other = AuditKey::from_bytes(&[8; 32]).unwrap();
        assert_eq!(decode(&other, &slot), None);
        let text = String::from_utf8(slot.to_vec()).unwrap();
        let forged = text.replacen("seq=41", "seq=40", 1);
        assert_eq!(decode(&key(), forged.as_bytes()), None);
        assert_eq!(decode(&key(), b"garbage"), None);
    }

    #[test]
    fn parse_takes_the_newer_valid_slot() {
        let k = key();
        let s4 = encode(&k, &Head { seq: 4, mac: A });
        let s5 = encode(&k, &Head { seq: 5, mac: B });
        assert_eq!(parse(&k, &[s4, s5].concat()), at(5, B));
        assert_eq!(parse(&k, &[s4, [b'x'; SLOT]].concat()), at(4, A));
        assert_eq!(
            parse(&k, &[[b'x'; SLOT], [b'x'; SLOT]].concat()),
            HeadState::Unreadable
        );
        assert_eq!(parse(&k, b""), HeadState::Missing);
    }

    type LogEnd = Option<(u64, [u8; 32])>;

    #[test]
    fn reconcile_decision_table() {
        use GapCause::*;
        let g = |after, head, resume, prev, cause| {
            Some(Gap {
                after_seq: after,
                head_seq: head,
                resume_seq: resume,
                prev,
                cause,
            })
        };
        #[rustfmt::skip]
        let cases: [(LogEnd, HeadState, Option<Gap>); 9] = [
            (None,         HeadState::Missing,    None),
            (None,         HeadState::Unreadable, g(None, None, 0, GENESIS, HeadUnreadable)),
            (None,         at(9, A),              g(None, Some(9), 10, A, LogBehindHead)),
            (Some((3, A)), HeadState::Missing,    g(Some(3), None, 4, A, HeadMissing)),
            (Some((3, A)), HeadState::Unreadable, g(Some(3), None, 4, A, HeadUnreadable)),
            (Some((3, A)), at(3, A),              None),
            (Some((4, B)), at(3, A),              None),
            (Some((3, B)), at(3, A),              g(Some(3), Some(3), 4, A, LogReplaced)),
            (Some((2, B)), at(9, A),              g(Some(2), Some(9), 10, A, LogBehindHead)),
        ];
        for (log, head, want) in cases {
            assert_eq!(reconcile(log, head), want, "{log:?} {head:?}");
        }
    }
}

#![forbid(unsafe_code)]
//! Continuation cursors for the log tools: a few fixed-width fields, a version tag and an
//! HMAC-SHA256 tag (cut to 128 bits) under a key made at random when the process starts, as
//! base64url. A cursor names no path: a file cursor holds the file's identity (device and inode)
//! and the tool looks for that identity only among the files it may read itself, so no cursor,
//! forged or not, can reach another file. The tag makes a forged or altered cursor a clear error
//! rather than a confusing page; a cursor from an earlier server process is refused the same way.

use std::sync::OnceLock;

use ring::hmac;

use crate::codec::{base64url, unbase64url};

const VERSION: u8 = 1;
const TAG_BYTES: usize = 16;
/// Longest cursor text accepted (the input schemas say the same).
pub const MAX_TEXT: usize = 128;

/// Where a page of a log file stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCursor {
    /// Which log (a hash of the tool and the path it was reading): a cursor is refused by any
    /// other tool or path.
    pub log: u64,
    pub dev: u64,
    pub ino: u64,
    /// The next page holds the lines that end before this byte offset.
    pub offset: u64,
    /// The page stopped inside a line (the scan budget ran out): the next page's first line is
    /// the start of that line only.
    pub partial: bool,
    /// FNV-1a of the bytes around `offset` (`fp_before` bytes before it, `fp_after` after), to
    /// tell a file truncated and written again from the one the cursor was made on.
    pub fp_before: u8,
    pub fp_after: u8,
    pub fingerprint: u64,
    /// Lines older than this Unix time are outside the page's window (the first page's bound,
    /// kept so that every page of one read has the same window).
    pub cutoff: i64,
}

/// Where a page of the kernel log stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmsgCursor {
    /// Hash of this boot's id: sequence numbers restart at each boot.
    pub boot: u64,
    /// The next page holds records with a lower sequence number.
    pub seq: u64,
    pub cutoff: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    File(FileCursor),
    Kmsg(KmsgCursor),
}

/// Why a cursor text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not base64url, the wrong length, or an unknown version or kind.
    Malformed,
    /// Well formed, but the tag does not match: forged, altered, or from another server process.
    Forged,
}

impl CursorError {
    pub fn rule(self) -> &'static str {
        match self {
            CursorError::Malformed => {
                "is not a cursor this server issued (malformed); pass back `next_cursor` exactly as returned, or leave it out to start from the newest lines"
            }
            CursorError::Forged => {
                "was not issued by this server process (altered, forged, or from before a restart); leave it out to start again from the newest lines"
            }
        }
    }
}

fn key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        // Without randomness the process could not run TLS or audit either; a fixed fallback
        // would only weaken the forgery check (file access is bounded without it, see above).
        hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, b"sysgate-cursor-fallback"))
    })
}

fn put(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

impl Cursor {
    fn payload(&self) -> Vec<u8> {
        let mut p = vec![VERSION];
        match self {
            Cursor::File(c) => {
                p.push(b'f');
                for v in [
                    c.log,
                    c.dev,
                    c.ino,
                    c.offset,
                    c.fingerprint,
                    c.cutoff as u64,
                ] {
                    put(&mut p, v);
                }
                p.extend_from_slice(&[u8::from(c.partial), c.fp_before, c.fp_after]);
            }
            Cursor::Kmsg(c) => {
                p.push(b'k');
                for v in [c.boot, c.seq, c.cutoff as u64] {
                    put(&mut p, v);
                }
            }
        }
        p
    }

    /// The cursor as text, tagged under this process's key.
    pub fn encode(&self) -> String {
        self.encode_with(key())
    }

    pub fn encode_with(&self, key: &hmac::Key) -> String {
        let mut p = self.payload();
        let tag = hmac::sign(key, &p);
        p.extend_from_slice(&tag.as_ref()[..TAG_BYTES]);
        base64url(&p)
    }

    pub fn decode(text: &str) -> Result<Cursor, CursorError> {
        Cursor::decode_with(text, key())
    }

    pub fn decode_with(text: &str, key: &hmac::Key) -> Result<Cursor, CursorError> {
        if text.len() > MAX_TEXT {
            return Err(CursorError::Malformed);
        }
        let bytes = unbase64url(text.as_bytes()).ok_or(CursorError::Malformed)?;
        if bytes.len() < 2 + TAG_BYTES || bytes[0] != VERSION {
            return Err(CursorError::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
        let u = |i: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[2 + 8 * i..2 + 8 * i + 8]);
            u64::from_le_bytes(b)
        };
        let cursor = match (body[1], body.len()) {
            (b'f', 53) => {
                let flags = &body[50..53];
                if flags[0] > 1 || flags[1] > 64 || flags[2] > 64 {
                    return Err(CursorError::Malformed);
                }
                Cursor::File(FileCursor {
                    log: u(0),
                    dev: u(1),
                    ino: u(2),
                    offset: u(3),
                    fingerprint: u(4),
                    cutoff: u(5) as i64,
                    partial: flags[0] == 1,
                    fp_before: flags[1],
                    fp_after: flags[2],
                })
            }
            (b'k', 26) => Cursor::Kmsg(KmsgCursor {
                boot: u(0),
                seq: u(1),
                cutoff: u(2) as i64,
            }),
            _ => return Err(CursorError::Malformed),
        };
        // Constant-time comparison of the full tag's prefix.
        let want = hmac::sign(key, body);
        if !constant_time_eq(&want.as_ref()[..TAG_BYTES], tag) {
            return Err(CursorError::Forged);
        }
        Ok(cursor)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// FNV-1a, 64 bits: a fingerprint, not a MAC (the cursor's tag is the MAC).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Cursor {
        Cursor::File(FileCursor {
            log: 1,
            dev: 2049,
            ino: 1234,
            offset: 5 << 30,
            partial: true,
            fp_before: 32,
            fp_after: 7,
            fingerprint: 0xdead_beef,
            cutoff: -5,
        })
    }

    #[test]
    fn round_trip() {
        let k = Cursor::Kmsg(KmsgCursor {
            boot: 9,
            seq: 100,
            cutoff: 1_700_000_000,
        });
        for c in [file(), k] {
            let text = c.encode();
            assert!(text.len() <= MAX_TEXT, "{}", text.len());
            assert_eq!(Cursor::decode(&text), Ok(c));
        }
    }

    #[test]
    fn refusals() {
        let text = file().encode();
        // One character changed anywhere: forged or malformed, never accepted.
        for i in 0..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).unwrap();
            assert!(Cursor::decode(&t).is_err(), "{i}");
        }
        assert_eq!(Cursor::decode(""), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode("not a cursor!"), Err(CursorError::Malformed));
        assert_eq!(
            Cursor::decode(&"A".repeat(200)),
            Err(CursorError::Malformed)
        );
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"another process");
        assert_eq!(
            Cursor::decode(&file().encode_with(&other)),
            Err(CursorError::Forged)
        );
    }
}

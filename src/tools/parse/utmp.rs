#![forbid(unsafe_code)]
//! glibc `utmp` records (`/run/utmp`, see `utmp(5)`) on x86_64 and aarch64: fixed 384-byte
//! records, read field by field from bytes (no casting of a struct over the file). Only
//! `USER_PROCESS` records are logins; every other kind is counted and left out.
//!
//! Layout (offset: field): 0 `ut_type` i16 (+2 pad), 4 `ut_pid` i32, 8 `ut_line[32]`,
//! 40 `ut_id[4]`, 44 `ut_user[32]`, 76 `ut_host[256]`, 332 `ut_exit` (2 × i16),
//! 336 `ut_session` i32, 340 `ut_tv` (2 × i32: seconds, microseconds), 348 `ut_addr_v6[4]`,
//! 364 20 unused bytes.

/// Size of one record.
pub const RECORD_BYTES: usize = 384;
/// `ut_type` of a logged-in user.
pub const USER_PROCESS: i16 = 7;
/// Most logins reported; the rest are counted in [`Utmp::more_not_listed`].
pub const MAX_SESSIONS: usize = 1024;
/// Most records looked at: a utmp file holds one slot per terminal ever used, far fewer.
pub const MAX_RECORDS: usize = 16_384;

/// Latest login time believed: a record from after the clock's "now" plus a day is broken.
const FUTURE_SLACK_SECS: i64 = 86_400;

/// One `USER_PROCESS` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// The terminal (`pts/0`, `tty1`, `:0`).
    pub line: String,
    /// Remote host or display; empty for a local login.
    pub host: String,
    pub pid: i32,
    /// Login time in seconds and microseconds since the epoch, when it is a believable time.
    pub login: Option<(i64, u32)>,
    /// What was wrong with the record's fields, in the server's words (empty when nothing was).
    pub notes: Vec<&'static str>,
}

/// A whole utmp file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utmp {
    pub sessions: Vec<Session>,
    /// `USER_PROCESS` records beyond [`MAX_SESSIONS`].
    pub more_not_listed: usize,
    /// Records of other kinds (boot time, run level, dead processes, empty slots, unknown types).
    pub other_records: usize,
    /// `USER_PROCESS` records with an empty user name (left out, as `who` does).
    pub nameless: usize,
    /// Bytes at the end that do not make a whole record (ignored).
    pub trailing_bytes: usize,
    /// True when more than [`MAX_RECORDS`] records were there (the rest were not read).
    pub records_capped: bool,
}

fn i16_at(r: &[u8], at: usize) -> i16 {
    i16::from_ne_bytes([r[at], r[at + 1]])
}

fn i32_at(r: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]])
}

/// A fixed-size C string field: up to the first NUL, or the whole field when it has none (legal
/// in utmp: a 32-byte user name fills its field). Returns the text and whether it was valid
/// UTF-8 (invalid bytes become U+FFFD) and free of control characters (replaced by `?`).
fn field(bytes: &[u8]) -> (String, bool) {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let raw = &bytes[..end];
    let text = String::from_utf8_lossy(raw);
    let mut clean = matches!(text, std::borrow::Cow::Borrowed(_));
    let text: String = text
        .chars()
        .map(|c| {
            if c.is_control() {
                clean = false;
                '?'
            } else {
                c
            }
        })
        .collect();
    (text, clean)
}

/// One record, or `None` when it is not a `USER_PROCESS` record. `now` (seconds since the
/// epoch) bounds believable login times. `r` must be [`RECORD_BYTES`] long.
pub fn parse_record(r: &[u8], now: i64) -> Option<Session> {
    if r.len() != RECORD_BYTES || i16_at(r, 0) != USER_PROCESS {
        return None;
    }
    let mut notes = Vec::new();
    let (line, ok_line) = field(&r[8..40]);
    let (user, ok_user) = field(&r[44..76]);
    let (host, ok_host) = field(&r[76..332]);
    if !(ok_line && ok_user && ok_host) {
        notes.push("a text field is not valid UTF-8 or has control characters (replaced)");
    }
    let pid = i32_at(r, 4);
    if pid <= 0 {
        notes.push("the process id is not positive");
    }
    let (secs, usecs) = (i64::from(i32_at(r, 340)), i32_at(r, 344));
    let login = match u32::try_from(usecs) {
        Ok(us) if us < 1_000_000 && secs > 0 && secs <= now + FUTURE_SLACK_SECS => Some((secs, us)),
        _ => {
            notes.push("the login time is not a believable time (left out)");
            None
        }
    };
    Some(Session {
        user,
        line,
        host,
        pid,
        login,
        notes,
    })
}

/// Parse a whole utmp file held in memory (the handler streams records through
/// [`Parser::push`] instead; this is the same code for tests and the fuzzer).
pub fn parse_utmp(bytes: &[u8], now: i64) -> Utmp {
    let mut p = Parser::new(now);
    let mut chunks = bytes.chunks_exact(RECORD_BYTES);
    for rec in chunks.by_ref() {
        if !p.push(rec) {
            return p.finish(0, true);
        }
    }
    p.finish(chunks.remainder().len(), false)
}

/// Streaming form: one record at a time, so a large file is never held whole.
#[derive(Debug)]
pub struct Parser {
    now: i64,
    records: usize,
    out: Utmp,
}

impl Parser {
    pub fn new(now: i64) -> Parser {
        Parser {
            now,
            records: 0,
            out: Utmp::default(),
        }
    }

    /// Take one whole record. Returns false once [`MAX_RECORDS`] were taken (stop reading).
    pub fn push(&mut self, rec: &[u8]) -> bool {
        if self.records == MAX_RECORDS {
            return false;
        }
        self.records += 1;
        match parse_record(rec, self.now) {
            None => self.out.other_records += 1,
            Some(s) if s.user.is_empty() => self.out.nameless += 1,
            Some(_) if self.out.sessions.len() == MAX_SESSIONS => self.out.more_not_listed += 1,
            Some(s) => self.out.sessions.push(s),
        }
        true
    }

    /// The result; `trailing` bytes of a partial last record, `capped` if reading stopped early.
    pub fn finish(mut self, trailing: usize, capped: bool) -> Utmp {
        self.out.trailing_bytes = trailing;
        self.out.records_capped = capped;
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    /// A record built field by field, as glibc lays it out.
    fn record(
        kind: i16,
        pid: i32,
        line: &[u8],
        user: &[u8],
        host: &[u8],
        tv: (i32, i32),
    ) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_BYTES];
        r[0..2].copy_from_slice(&kind.to_ne_bytes());
        r[4..8].copy_from_slice(&pid.to_ne_bytes());
        r[8..8 + line.len()].copy_from_slice(line);
        r[40..44].copy_from_slice(b"ts/0");
        r[44..44 + user.len()].copy_from_slice(user);
        r[76..76 + host.len()].copy_from_slice(host);
        r[340..344].copy_from_slice(&tv.0.to_ne_bytes());
        r[344..348].copy_from_slice(&tv.1.to_ne_bytes());
        r
    }

    #[test]
    fn user_records_are_logins_and_the_rest_are_counted() {
        let mut f = record(2, 0, b"~", b"reboot", b"6.1.0", (1_700_000_000, 0)); // BOOT_TIME
        f.extend(record(
            7,
            4242,
            b"pts/0",
            b"alice",
            b"192.0.2.7",
            (1_700_000_100, 250_000),
        ));
        f.extend(record(8, 4000, b"pts/1", b"", b"", (1_700_000_050, 0))); // DEAD_PROCESS
        f.extend(record(7, 77, b"tty1", b"bob", b"", (1_700_000_200, 0)));
        f.extend(vec![0u8; RECORD_BYTES]); // an empty slot
        let u = parse_utmp(&f, NOW);
        assert_eq!(u.sessions.len(), 2);
        let a = &u.sessions[0];
        assert_eq!(
            (a.user.as_str(), a.line.as_str(), a.host.as_str(), a.pid),
            ("alice", "pts/0", "192.0.2.7", 4242)
        );
        assert_eq!(a.login, Some((1_700_000_100, 250_000)));
        assert!(a.notes.is_empty());
        assert_eq!(u.sessions[1].user, "bob");
        assert_eq!(u.sessions[1].host, "");
        assert_eq!((u.other_records, u.nameless, u.trailing_bytes), (3, 0, 0));
        assert!(!u.records_capped);
    }

    #[test]
    fn full_width_fields_without_nul_are_kept_whole() {
        let user = [b'u'; 32];
        let line = [b'l'; 32];
        let host = [b'h'; 256];
        let u = parse_utmp(&record(7, 1, &line, &user, &host, (1_700_000_000, 0)), NOW);
        let s = &u.sessions[0];
        assert_eq!(s.user.len(), 32);
        assert_eq!(s.line.len(), 32);
        assert_eq!(s.host.len(), 256);
        assert!(s.notes.is_empty());
    }

    #[test]
    fn hostile_records_get_notes_never_made_up_values() {
        // Invalid UTF-8, a control character, a negative pid, microseconds out of range.
        let f = record(
            7,
            -5,
            b"pts/\x1b[2J",
            b"ev\xffil",
            b"h",
            (1_700_000_000, 2_000_000),
        );
        let u = parse_utmp(&f, NOW);
        let s = &u.sessions[0];
        assert_eq!(s.user, "ev\u{fffd}il");
        assert_eq!(s.line, "pts/?[2J");
        assert_eq!(s.login, None);
        assert_eq!(s.notes.len(), 3, "{:?}", s.notes);
        // Times before the epoch or far in the future are not believed.
        for tv in [(-1, 0), (0, 0), (i32::MAX, 0)] {
            let u = parse_utmp(&record(7, 1, b"tty1", b"x", b"", tv), NOW);
            assert_eq!(u.sessions[0].login, None, "{tv:?}");
        }
        // A login with no user name is left out and counted.
        let u = parse_utmp(&record(7, 1, b"tty1", b"", b"", (1_700_000_000, 0)), NOW);
        assert!(u.sessions.is_empty());
        assert_eq!(u.nameless, 1);
    }

    #[test]
    fn truncated_garbage_and_zero_filled_files() {
        let mut f = record(7, 1, b"tty1", b"root", b"", (1_700_000_000, 0));
        f.extend_from_slice(&record(7, 2, b"tty2", b"eve", b"", (1_700_000_000, 0))[..100]);
        let u = parse_utmp(&f, NOW);
        assert_eq!(u.sessions.len(), 1);
        assert_eq!(u.trailing_bytes, 100);
        // Garbage: bytes that make no USER_PROCESS type are other records, not logins.
        let garbage: Vec<u8> = (0..RECORD_BYTES * 3)
            .map(|i| (i * 37 % 251) as u8 | 0x80)
            .collect();
        let u = parse_utmp(&garbage, NOW);
        assert!(u.sessions.is_empty());
        assert_eq!(u.other_records, 3);
        let u = parse_utmp(&vec![0u8; RECORD_BYTES * 4], NOW);
        assert!(u.sessions.is_empty());
        assert_eq!(u.other_records, 4);
        assert_eq!(parse_utmp(&[], NOW), Utmp::default());
        assert_eq!(parse_utmp(&[7, 0, 0], NOW).trailing_bytes, 3);
    }

    #[test]
    fn caps_on_sessions_and_records() {
        let one = record(7, 1, b"pts/1", b"u", b"", (1_700_000_000, 0));
        let f = one.repeat(MAX_SESSIONS + 5);
        let u = parse_utmp(&f, NOW);
        assert_eq!(u.sessions.len(), MAX_SESSIONS);
        assert_eq!(u.more_not_listed, 5);
        let u = parse_utmp(&vec![0u8; RECORD_BYTES * (MAX_RECORDS + 1)], NOW);
        assert!(u.records_capped);
        assert_eq!(u.other_records, MAX_RECORDS);
    }
}

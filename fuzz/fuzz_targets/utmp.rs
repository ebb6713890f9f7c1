//! Arbitrary bytes as a utmp file. Property: no panic; every login is a USER_PROCESS record with
//! a user name; a login time is only given when it is believable (after the epoch, microseconds
//! below a million, not after "now" plus a day); the counts add up to the whole records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::utmp::{MAX_RECORDS, MAX_SESSIONS, RECORD_BYTES, parse_utmp};

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let u = parse_utmp(data, NOW);
    assert!(u.sessions.len() <= MAX_SESSIONS);
    let records = u.sessions.len() + u.more_not_listed + u.other_records + u.nameless;
    if u.records_capped {
        assert_eq!(records, MAX_RECORDS);
    } else {
        assert_eq!(u.trailing_bytes, data.len() % RECORD_BYTES);
        assert_eq!(records, data.len() / RECORD_BYTES);
    }
    for s in &u.sessions {
        assert!(!s.user.is_empty());
        assert!(s.user.chars().count() <= 32 && s.line.chars().count() <= 32);
        assert!(!s.user.chars().any(char::is_control));
        if let Some((secs, us)) = s.login {
            assert!(secs > 0 && secs <= NOW + 86_400 && us < 1_000_000);
        }
    }
});

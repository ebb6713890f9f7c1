//! Arbitrary bytes as the start of a syslog file line, through the stamp parser and the year
//! inference. Property: no panic; an RFC 3164 stamp has fields in range and resolves to a time
//! within about a year before "now" and two days after it (or to none, for a day its month does
//! not have); a resolved time formats as RFC 3339 that parses back to the same second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::syslog::{Stamp, format_utc, parse_stamp, resolve};

fuzz_target!(|data: &[u8]| {
    let Some(stamp) = parse_stamp(data) else {
        return;
    };
    // 2026-12-02T00:00:00Z, and a zone offset taken from the input's first byte.
    let now = 1_796_169_600;
    let offset = i64::from(data.first().copied().unwrap_or(0) as i8) * 600;
    let Some((t, nanos)) = resolve(stamp, now, &|_| offset) else {
        // Only a day the month never has in the years tried (Feb 29, Apr 31, ...).
        assert!(matches!(stamp, Stamp::Local { day: 29..=31, .. }));
        return;
    };
    assert!(nanos < 1_000_000_000);
    if let Stamp::Local {
        month,
        day,
        hour,
        minute,
        second,
    } = stamp
    {
        assert!((1..=12).contains(&month) && (1..=31).contains(&day));
        assert!(hour < 24 && minute < 60 && second <= 60);
        assert!(t <= now + 2 * 86_400 + 86_400 && t >= now - 366 * 86_400 - 3 * 86_400);
    }
    if (-62_135_596_800..253_402_300_800).contains(&t) {
        let text = format_utc(t, 0);
        match parse_stamp(text.as_bytes()) {
            Some(Stamp::Utc { secs, .. }) => assert_eq!(secs, t, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
});

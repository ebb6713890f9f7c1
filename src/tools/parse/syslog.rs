#![forbid(unsafe_code)]
//! Timestamps at the start of a syslog file line, and the calendar arithmetic to turn them into
//! Unix time and back.
//!
//! Two forms, as rsyslog writes them:
//! * RFC 3164 (`Dec  2 00:19:43 host prog[42]: msg`): month, day and time in the host's local
//!   time, no year. [`resolve`] infers the year: the current one, unless that puts the stamp
//!   more than two days in the future (a December line read in January), then the one before.
//! * RFC 3339 with a fraction and a zone (`2026-12-02T00:19:43.123456+00:00 host ...`), the
//!   `RSYSLOG_FileFormat` Debian 12 uses: exact. Without a zone (`2026-12-02 00:19:43 ...`, as
//!   dpkg and many applications write it), the host's local time.

/// A parsed line stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// RFC 3164: local time without a year. `month` is 1..=12.
    Local {
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    },
    /// RFC 3339: seconds since the epoch (UTC) and nanoseconds.
    Utc { secs: i64, nanos: u32 },
    /// The same date and time without a zone (`2026-12-02 00:19:43`, as dpkg and many
    /// applications write): local time, given as seconds since the epoch as if it were UTC.
    Naive { secs: i64, nanos: u32 },
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `HH:MM:SS` (exactly 8 bytes).
fn hms(b: &[u8]) -> Option<(u8, u8, u8)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    // 60: a leap second.
    (h < 24 && m < 60 && s <= 60).then_some((h as u8, m as u8, s as u8))
}

/// The stamp at the start of `line`, if it has one of the two forms.
pub fn parse_stamp(line: &[u8]) -> Option<Stamp> {
    parse_3164(line).or_else(|| parse_3339(line))
}

fn parse_3164(b: &[u8]) -> Option<Stamp> {
    // "Mmm dd HH:MM:SS" with the day padded by a space or a zero: 15 bytes.
    if b.len() < 15 || b[3] != b' ' || b[6] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| &b[0..3] == *m)? as u8 + 1;
    let day = match (b[4], b[5]) {
        (b' ', d) | (b'0', d) if d.is_ascii_digit() => d - b'0',
        (t, d) if t.is_ascii_digit() && d.is_ascii_digit() => (t - b'0') * 10 + (d - b'0'),
        _ => return None,
    };
    let (hour, minute, second) = hms(&b[7..15])?;
    if day == 0 || day > 31 || b.get(15).is_some_and(|c| *c != b' ') {
        return None;
    }
    Some(Stamp::Local {
        month,
        day,
        hour,
        minute,
        second,
    })
}

fn parse_3339(b: &[u8]) -> Option<Stamp> {
    // "YYYY-MM-DDTHH:MM:SS" (or a space for the T), an optional fraction, then "Z", "+HH:MM" or
    // no zone (local time).
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (hour, minute, second) = hms(&b[11..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() && end - start < 9 {
            end += 1;
        }
        if end == start || b.get(end).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        nanos = digits(&b[start..end])? * 10u32.pow(9 - (end - start) as u32);
        i = end;
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    let offset = match b.get(i) {
        None | Some(b' ') => return Some(Stamp::Naive { secs: local, nanos }),
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let z = b.get(i + 1..i + 6)?;
            if z[2] != b':' {
                return None;
            }
            let (zh, zm) = (digits(&z[0..2])?, digits(&z[3..5])?);
            if zh > 23 || zm > 59 {
                return None;
            }
            i += 6;
            let o = i64::from(zh * 3600 + zm * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    if b.get(i).is_some_and(|c| *c != b' ') {
        return None;
    }
    Some(Stamp::Utc {
        secs: local - offset,
        nanos,
    })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `secs` (and `nanos`) as RFC 3339 UTC: `2026-12-02T00:19:43.123456Z` (microseconds shown when
/// there is a fraction).
pub fn format_utc(secs: i64, nanos: u32) -> String {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        t / 3600,
        (t % 3600) / 60,
        t % 60
    );
    if nanos == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{:06}Z", nanos / 1000)
    }
}

/// The Unix time of `stamp`. `now` is the current Unix time; `utc_offset(t)` is the local zone's
/// offset from UTC in seconds at (about) Unix time `t`, for the RFC 3164 form.
pub fn resolve(stamp: Stamp, now: i64, utc_offset: &dyn Fn(i64) -> i64) -> Option<(i64, u32)> {
    match stamp {
        Stamp::Utc { secs, nanos } => Some((secs, nanos)),
        Stamp::Naive { secs, nanos } => Some((secs - utc_offset(secs), nanos)),
        Stamp::Local {
            month,
            day,
            hour,
            minute,
            second,
        } => {
            let local_now = now + utc_offset(now);
            let (this_year, _, _) = civil_from_days(local_now.div_euclid(86_400));
            let at = |year: i64| -> Option<i64> {
                if u32::from(day) > days_in_month(year, u32::from(month)) {
                    return None;
                }
                let local = days_from_civil(year, u32::from(month), u32::from(day)) * 86_400
                    + i64::from(hour) * 3600
                    + i64::from(minute) * 60
                    + i64::from(second);
                Some(local - utc_offset(local))
            };
            // Two days of slack for clock skew and zones; beyond that it is last year's line.
            match at(this_year) {
                Some(t) if t <= now + 2 * 86_400 => Some((t, 0)),
                _ => at(this_year - 1).map(|t| (t, 0)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC: &dyn Fn(i64) -> i64 = &|_| 0;

    #[test]
    fn rfc3164_lines() {
        assert_eq!(
            parse_stamp(b"Dec  2 00:19:43 host sshd[42]: hello"),
            Some(Stamp::Local {
                month: 12,
                day: 2,
                hour: 0,
                minute: 19,
                second: 43
            })
        );
        assert!(matches!(
            parse_stamp(b"Jan 31 23:59:60 h x"),
            Some(Stamp::Local {
                day: 31,
                second: 60,
                ..
            })
        ));
        assert!(matches!(
            parse_stamp(b"Feb 05 01:02:03"),
            Some(Stamp::Local { day: 5, .. })
        ));
        for bad in [
            &b"Foo  2 00:19:43 x"[..],
            b"Dec  0 00:19:43 x",
            b"Dec 32 00:19:43 x",
            b"Dec  2 24:19:43 x",
            b"Dec  2 00:60:43 x",
            b"Dec  2 00:19:4",
            b"Dec  2 00:19:43x",
            b"Dec xx 00:19:43 x",
            b"",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_stamp(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn rfc3339_lines() {
        // 2026-12-02T00:19:43Z = 1_796_170_783.
        let want = days_from_civil(2026, 12, 2) * 86_400 + 19 * 60 + 43;
        assert_eq!(
            parse_stamp(b"2026-12-02T00:19:43.123456+00:00 host kernel: x"),
            Some(Stamp::Utc {
                secs: want,
                nanos: 123_456_000
            })
        );
        assert_eq!(
            parse_stamp(b"2026-12-02T01:19:43+01:00 h"),
            Some(Stamp::Utc {
                secs: want,
                nanos: 0
            })
        );
        assert_eq!(
            parse_stamp(b"2026-12-01T23:19:43.5-01:00"),
            Some(Stamp::Utc {
                secs: want,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            parse_stamp(b"2026-12-02T00:19:43Z"),
            Some(Stamp::Utc {
                secs: want,
                nanos: 0
            })
        );
        // Without a zone: local time.
        let naive = Stamp::Naive {
            secs: want,
            nanos: 0,
        };
        assert_eq!(
            parse_stamp(b"2026-12-02 00:19:43 status installed x"),
            Some(naive)
        );
        assert_eq!(parse_stamp(b"2026-12-02T00:19:43"), Some(naive));
        assert_eq!(resolve(naive, want, &|_| 3600), Some((want - 3600, 0)));
        for bad in [
            &b"2026-13-02T00:19:43Z"[..],
            b"2026-02-30T00:19:43Z",
            b"2026-12-02T00:19:43.Z",
            b"2026-12-02T00:19:43.1234567890Z",
            b"2026-12-02T00:19:43+0100",
            b"2026-12-02T00:19:43+24:00",
            b"2026-12-02T00:19:43Zx",
        ] {
            assert_eq!(parse_stamp(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn calendar_round_trip() {
        for d in [-800_000, -1, 0, 1, 59, 365, 10_957, 20_789, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(951_782_400, 1_500),
            "2000-02-29T00:00:00.000001Z"
        );
    }

    #[test]
    fn year_inference() {
        let now = days_from_civil(2027, 1, 3) * 86_400 + 3600;
        let dec = Stamp::Local {
            month: 12,
            day: 31,
            hour: 23,
            minute: 0,
            second: 0,
        };
        let (t, _) = resolve(dec, now, UTC).unwrap();
        assert_eq!(t, days_from_civil(2026, 12, 31) * 86_400 + 23 * 3600);
        let jan = Stamp::Local {
            month: 1,
            day: 3,
            hour: 0,
            minute: 30,
            second: 0,
        };
        assert_eq!(resolve(jan, now, UTC).unwrap().0, now - 1800);
        // A zone east of UTC: local 01:30 is 00:30 UTC.
        let jan = Stamp::Local {
            month: 1,
            day: 3,
            hour: 1,
            minute: 30,
            second: 0,
        };
        assert_eq!(resolve(jan, now, &|_| 3600).unwrap().0, now - 1800);
        // Feb 29 in a year after a leap year: the last leap year is not tried, so no time.
        let feb29 = Stamp::Local {
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
            second: 0,
        };
        assert_eq!(resolve(feb29, now, UTC), None);
    }
}

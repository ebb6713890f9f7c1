//! Arbitrary text as a crontab, with and without the user field. Property: no panic; caps hold;
//! every job has a schedule that is an @ shortcut or five fields, a non-empty command without
//! control characters, and a valid user when the file has a user field; line numbers are real.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::crontab::{
    MAX_COMMAND, MAX_ENV, MAX_INVALID, MAX_JOBS, SHORTCUTS, is_user_name, parse_crontab,
};

fn cut(s: &str, n: usize) -> (String, bool) {
    match s.char_indices().nth(n) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    for with_user in [false, true] {
        let c = parse_crontab(&text, with_user, &cut);
        assert!(c.jobs.len() <= MAX_JOBS && c.env.len() <= MAX_ENV);
        assert!(c.invalid.len() <= MAX_INVALID && c.invalid.len() <= c.invalid_count);
        for j in &c.jobs {
            assert!(j.line >= 1 && j.line <= lines);
            assert!(
                SHORTCUTS.contains(&j.schedule.as_str()) || j.schedule.split(' ').count() == 5,
                "{j:?}"
            );
            assert!(!j.command.is_empty() && j.command.chars().count() <= MAX_COMMAND);
            assert!(!j.command.contains(|c: char| c.is_control() && c != '\t'));
            assert_eq!(j.user.is_some(), with_user);
            if let Some(u) = &j.user {
                assert!(is_user_name(u), "{u:?}");
            }
        }
        for (n, _) in &c.invalid {
            assert!(*n >= 1 && *n <= lines);
        }
    }
});

#![forbid(unsafe_code)]
//! crontab files (`crontab(5)`): job lines (`m h dom mon dow [user] command`, or a `@reboot`
//! style shortcut instead of the five fields), environment lines (`NAME=value`), comments.
//! `/etc/crontab` and `/etc/cron.d/*` have a user field; per-user spools do not. Environment
//! values are never kept (they may hold secrets): only the variable names.

/// Most jobs kept from one file.
pub const MAX_JOBS: usize = 1024;
/// Most invalid lines described per file (the rest are only counted).
pub const MAX_INVALID: usize = 32;
/// Most environment names kept per file.
pub const MAX_ENV: usize = 64;
/// Longest line looked at; cron itself refuses longer ones.
pub const MAX_LINE: usize = 4096;
/// Longest command kept (characters).
pub const MAX_COMMAND: usize = 1024;

/// The `@` shortcuts cron accepts in place of the five time fields.
pub const SHORTCUTS: &[&str] = &[
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// One job line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// 1-based line number in its file.
    pub line: usize,
    /// The five fields joined by single spaces, or the `@` shortcut.
    pub schedule: String,
    /// The user field, for files that have one.
    pub user: Option<String>,
    pub command: String,
    /// The command was longer than [`MAX_COMMAND`] and was cut.
    pub command_cut: bool,
}

/// One file, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crontab {
    pub jobs: Vec<Job>,
    /// Names of the environment variables set (`MAILTO`, `PATH`, ...), without values.
    pub env: Vec<String>,
    /// (line number, why), at most [`MAX_INVALID`].
    pub invalid: Vec<(usize, &'static str)>,
    /// Invalid lines in all (more than `invalid` holds when there were many).
    pub invalid_count: usize,
    /// More than [`MAX_JOBS`] jobs were there.
    pub jobs_capped: bool,
}

/// A cron time field: digits, names (`jan`, `mon`), `*`, ranges, steps and lists.
fn is_time_field(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 64
        && f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-'))
}

/// A user name as `useradd` accepts it (letters, digits, `_`, `.`, `-`, a trailing `$`).
pub fn is_user_name(u: &str) -> bool {
    let body = u.strip_suffix('$').unwrap_or(u);
    !body.is_empty()
        && u.len() <= 32
        && !body.starts_with('-')
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `NAME=value` (the name may be quoted, spaces around `=` allowed): the name.
fn env_name(line: &str) -> Option<&str> {
    let (lhs, _) = line.split_once('=')?;
    let name = lhs.trim().trim_matches(|c| c == '"' || c == '\'');
    let mut b = name.bytes();
    let first = b.next()?;
    ((first.is_ascii_alphabetic() || first == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_'))
    .then_some(name)
}

/// Split off the first whitespace-separated field.
fn next_field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches([' ', '\t']);
    if s.is_empty() {
        return None;
    }
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

fn parse_job(
    n: usize,
    line: &str,
    with_user: bool,
    cut: &dyn Fn(&str, usize) -> (String, bool),
) -> Result<Job, &'static str> {
    let (first, mut rest) = next_field(line).ok_or("empty")?;
    let schedule = if first.starts_with('@') {
        if !SHORTCUTS.contains(&first) {
            return Err("unknown @ shortcut");
        }
        first.to_string()
    } else {
        let mut fields = vec![first];
        for _ in 0..4 {
            let (f, r) = next_field(rest).ok_or("fewer than five time fields")?;
            fields.push(f);
            rest = r;
        }
        if !fields.iter().all(|f| is_time_field(f)) {
            return Err("a time field has characters cron does not accept");
        }
        fields.join(" ")
    };
    let user = if with_user {
        let (u, r) = next_field(rest).ok_or("no user field")?;
        if !is_user_name(u) {
            return Err("the user field is not a valid user name");
        }
        rest = r;
        Some(u.to_string())
    } else {
        None
    };
    let command = rest.trim();
    if command.is_empty() {
        return Err("no command");
    }
    let (command, command_cut) = cut(command, MAX_COMMAND);
    Ok(Job {
        line: n,
        schedule,
        user,
        command,
        command_cut,
    })
}

/// Parse one crontab. `with_user`: the file has a user field (`/etc/crontab`, `/etc/cron.d`).
/// `cut` shortens a command to a number of characters (the redactor's, so no secret is split).
pub fn parse_crontab(
    text: &str,
    with_user: bool,
    cut: &dyn Fn(&str, usize) -> (String, bool),
) -> Crontab {
    let mut out = Crontab::default();
    let bad = |out: &mut Crontab, n: usize, why: &'static str| {
        out.invalid_count += 1;
        if out.invalid.len() < MAX_INVALID {
            out.invalid.push((n, why));
        }
    };
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if line.len() > MAX_LINE {
            bad(&mut out, n, "line longer than 4096 bytes");
            continue;
        }
        if line.contains(|c: char| c == '\0' || (c.is_control() && c != '\t')) {
            bad(&mut out, n, "control characters in the line");
            continue;
        }
        let starts_job = t.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@');
        if !starts_job {
            match env_name(t) {
                Some(name) => {
                    if out.env.len() < MAX_ENV && !out.env.iter().any(|e| e == name) {
                        out.env.push(name.to_string());
                    }
                }
                None => bad(
                    &mut out,
                    n,
                    "neither a job, an environment setting nor a comment",
                ),
            }
            continue;
        }
        match parse_job(n, t, with_user, cut) {
            Ok(_) if out.jobs.len() == MAX_JOBS => out.jobs_capped = true,
            Ok(job) => out.jobs.push(job),
            Err(why) => bad(&mut out, n, why),
        }
    }
    out
}

/// A cut of host text at `n` characters, for the tests of the parser and of `get_cron_jobs`.
#[cfg(test)]
pub(crate) fn cut(s: &str, n: usize) -> (String, bool) {
    match s.char_indices().nth(n) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_crontab_with_user_field_env_and_shortcuts() {
        let text = "# /etc/crontab\nSHELL=/bin/sh\nPATH = /usr/bin:/bin\n\"MAILTO\"=ops@example.com\n\n\
            17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n\
            @reboot  www-data /usr/local/bin/warm-cache --all\n\
            */5 1-5 * jan,feb mon-fri backup$ /opt/backup.sh %arg\r\n";
        let c = parse_crontab(text, true, &cut);
        assert_eq!(c.env, ["SHELL", "PATH", "MAILTO"]);
        assert_eq!(c.invalid, []);
        assert_eq!(c.jobs.len(), 3);
        assert_eq!(c.jobs[0].line, 6);
        assert_eq!(c.jobs[0].schedule, "17 * * * *");
        assert_eq!(c.jobs[0].user.as_deref(), Some("root"));
        assert_eq!(
            c.jobs[0].command,
            "cd / && run-parts --report /etc/cron.hourly"
        );
        assert_eq!(c.jobs[1].schedule, "@reboot");
        assert_eq!(c.jobs[1].user.as_deref(), Some("www-data"));
        assert_eq!(c.jobs[2].schedule, "*/5 1-5 * jan,feb mon-fri");
        assert_eq!(c.jobs[2].user.as_deref(), Some("backup$"));
        assert_eq!(c.jobs[2].command, "/opt/backup.sh %arg");
        // Environment values are not kept anywhere.
        assert!(!format!("{c:?}").contains("ops@example.com"));
    }

    #[test]
    fn user_spool_has_no_user_field() {
        let c = parse_crontab(
            "MAILTO=\"\"\n@daily /home/a/bin/x\n0 0 * * * echo hi\n",
            false,
            &cut,
        );
        assert_eq!(c.env, ["MAILTO"]);
        assert_eq!(c.jobs.len(), 2);
        assert_eq!(c.jobs[0].user, None);
        assert_eq!(c.jobs[1].command, "echo hi");
    }

    #[test]
    fn hostile_and_broken_lines_are_reported_not_run_together() {
        let long = format!("* * * * * root {}\n", "x".repeat(MAX_LINE));
        let text = format!(
            "@sometimes root x\n1 2 3\n* * * * *\n* * * * * -rf /\n* * * * * ro;ot cmd\n\
             1$ * * * * root cmd\nrm -rf /\n* * * * * root \0cmd\n{long}* * * * * root\n"
        );
        let c = parse_crontab(&text, true, &cut);
        assert!(c.jobs.is_empty(), "{:?}", c.jobs);
        let why: Vec<&str> = c.invalid.iter().map(|(_, w)| *w).collect();
        assert_eq!(
            why,
            [
                "unknown @ shortcut",
                "fewer than five time fields",
                "no user field",
                "the user field is not a valid user name",
                "the user field is not a valid user name",
                "a time field has characters cron does not accept",
                "neither a job, an environment setting nor a comment",
                "control characters in the line",
                "line longer than 4096 bytes",
                "no command",
            ]
        );
        assert_eq!(c.invalid_count, 10);
        assert_eq!(c.invalid[1].0, 2);
    }

    #[test]
    fn caps_and_long_commands() {
        let c = parse_crontab(
            &format!("* * * * * {}\n", "é".repeat(MAX_COMMAND + 5)),
            false,
            &cut,
        );
        assert_eq!(c.jobs[0].command.chars().count(), MAX_COMMAND);
        assert!(c.jobs[0].command_cut);
        let c = parse_crontab(&"* * * * * x\n".repeat(MAX_JOBS + 2), false, &cut);
        assert_eq!(c.jobs.len(), MAX_JOBS);
        assert!(c.jobs_capped);
        let c = parse_crontab(&"garbage\n".repeat(MAX_INVALID + 3), false, &cut);
        assert_eq!(c.invalid.len(), MAX_INVALID);
        assert_eq!(c.invalid_count, MAX_INVALID + 3);
        assert_eq!(parse_crontab("", true, &cut), Crontab::default());
    }
}

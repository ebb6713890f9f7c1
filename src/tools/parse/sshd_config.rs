#![forbid(unsafe_code)]
//! `sshd_config` text (sshd_config(5)): `Keyword arguments` or `Keyword=arguments` lines,
//! `#` comments, quoted arguments, `Include` and `Match`. The include walk (files, globs) is the
//! handler's; this splits lines and computes the effective global settings as `sshd -T` prints
//! them for the keywords we report: the first value wins, except the keywords that accumulate.
//! No key material is read anywhere: `HostKey` values are path names only.

/// Lines kept from one file, arguments kept from one line, bytes of one argument.
pub const MAX_LINES: usize = 20_000;
pub const MAX_ARGS: usize = 256;

/// One line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A keyword (lowercased, aliases resolved) and its arguments.
    Directive {
        line: usize,
        keyword: String,
        args: Vec<String>,
    },
    /// `Include` with its patterns (as written).
    Include { line: usize, patterns: Vec<String> },
    /// `Match` with its criteria joined by spaces.
    Match { line: usize, criteria: String },
}

/// A line that could not be read, with its number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Split `line` into arguments as sshd's `argv_split` does: whitespace separates, `"` and `'`
/// quote, `\` escapes a quote, a backslash or a space, and an unquoted token starting with `#`
/// ends the line. `None` for an unterminated quote.
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = chars.next() else {
                if quote.is_some() {
                    return None;
                }
                break;
            };
            match (c, quote) {
                ('\\', _) => match chars.peek() {
                    Some(&n) if matches!(n, '"' | '\'' | '\\' | ' ') => {
                        arg.push(n);
                        chars.next();
                    }
                    _ => arg.push('\\'),
                },
                (q @ ('"' | '\''), None) => quote = Some(q),
                (q, Some(open)) if q == open => quote = None,
                (c, None) if c.is_ascii_whitespace() => break,
                (c, _) => arg.push(c),
            }
        }
        if out.len() == MAX_ARGS {
            return None;
        }
        out.push(arg);
    }
    Some(out)
}

/// The keyword sshd files an alias under (`sshd -T` prints the main name).
fn canonical(keyword: &str) -> &str {
    match keyword {
        "challengeresponseauthentication" => "kbdinteractiveauthentication",
        "dsaauthentication" => "pubkeyauthentication",
        "authorizedkeysfile2" => "authorizedkeysfile",
        other => other,
    }
}

/// The lines of one file, in order, and the lines it could not read.
pub fn parse(text: &str) -> (Vec<Item>, Vec<Problem>) {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate().take(MAX_LINES) {
        let line = i + 1;
        let trimmed = raw.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // The keyword ends at whitespace or `=`; one `=` (with spaces around it) may follow.
        let end = trimmed
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(trimmed.len());
        let keyword = trimmed[..end].to_ascii_lowercase();
        let mut rest = trimmed[end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        if let Some(r) = rest.strip_prefix('=') {
            rest = r;
        }
        let Some(args) = split_args(rest) else {
            problems.push(Problem {
                line,
                message: "unterminated quote or too many arguments".into(),
            });
            continue;
        };
        if keyword.is_empty()
            || keyword.len() > 64
            || !keyword.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            problems.push(Problem {
                line,
                message: "not a keyword".into(),
            });
            continue;
        }
        if args.is_empty() {
            problems.push(Problem {
                line,
                message: format!("`{keyword}` has no arguments"),
            });
            continue;
        }
        items.push(match keyword.as_str() {
            "include" => Item::Include {
                line,
                patterns: args,
            },
            "match" => Item::Match {
                line,
                criteria: args.join(" "),
            },
            k => Item::Directive {
                line,
                keyword: canonical(k).to_string(),
                args,
            },
        });
    }
    if text.lines().nth(MAX_LINES).is_some() {
        problems.push(Problem {
            line: MAX_LINES + 1,
            message: format!("more than {MAX_LINES} lines; the rest was not read"),
        });
    }
    (items, problems)
}

/// A global directive in the order sshd reads it (includes expanded), with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// An index into the handler's list of files.
    pub file: usize,
    pub line: usize,
    pub keyword: String,
    pub args: Vec<String>,
}

/// An effective setting: its values as `sshd -T` prints them (one value per printed line for
/// the keywords that accumulate or print one line per item, otherwise the arguments), and
/// where it was set (`None`: the compiled-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub keyword: String,
    pub values: Vec<String>,
    pub from: Option<(usize, usize)>,
}

/// Keywords where every line adds to the list (each item printed on its own line by `sshd -T`).
fn accumulates(keyword: &str) -> bool {
    matches!(
        keyword,
        "port"
            | "listenaddress"
            | "hostkey"
            | "hostcertificate"
            | "allowusers"
            | "denyusers"
            | "allowgroups"
            | "denygroups"
            | "acceptenv"
            | "subsystem"
    )
}

/// The security-relevant keywords whose compiled-in defaults (OpenSSH 9.x, as `sshd -T` prints
/// them for an empty config) are filled in when the files do not set them. `listenaddress`
/// is derived from the ports and `AddressFamily` instead.
pub const DEFAULTS: &[(&str, &[&str])] = &[
    ("allowagentforwarding", &["yes"]),
    ("allowgroups", &[]),
    ("allowtcpforwarding", &["yes"]),
    ("allowusers", &[]),
    (
        "authorizedkeysfile",
        &[".ssh/authorized_keys", ".ssh/authorized_keys2"],
    ),
    ("clientaliveinterval", &["0"]),
    ("denygroups", &[]),
    ("denyusers", &[]),
    ("kbdinteractiveauthentication", &["yes"]),
    ("logingracetime", &["120"]),
    ("maxauthtries", &["6"]),
    ("passwordauthentication", &["yes"]),
    ("permitemptypasswords", &["no"]),
    ("permitrootlogin", &["without-password"]),
    ("port", &["22"]),
    ("pubkeyauthentication", &["yes"]),
    ("usepam", &["no"]),
    ("x11forwarding", &["no"]),
];

/// sshd's time format (`convtime`): a number with an optional unit `s`, `m`, `h`, `d` or `w`
/// (either case), several concatenated (`1h30m`), in seconds.
pub fn parse_time(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let mult = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(mult)?)?;
    }
    if let Some(n) = num {
        total = total.checked_add(n)?;
    }
    (total <= i32::MAX as u64).then_some(total)
}

/// One value as `sshd -T` prints it for the keywords we normalise; others as written.
fn normalise(keyword: &str, arg: &str) -> String {
    let lower = arg.to_ascii_lowercase();
    match keyword {
        "permitrootlogin" => match lower.as_str() {
            "prohibit-password" => "without-password".into(),
            _ => lower,
        },
        "allowtcpforwarding" | "allowstreamlocalforwarding" => match lower.as_str() {
            "all" => "yes".into(),
            _ => lower,
        },
        "logingracetime" | "clientaliveinterval" => {
            parse_time(arg).map_or_else(|| arg.to_string(), |t| t.to_string())
        }
        "passwordauthentication"
        | "pubkeyauthentication"
        | "kbdinteractiveauthentication"
        | "permitemptypasswords"
        | "x11forwarding"
        | "allowagentforwarding"
        | "usepam"
        | "permituserenvironment"
        | "gatewayports"
        | "strictmodes"
        | "hostbasedauthentication"
        | "gssapiauthentication"
        | "kerberosauthentication"
        | "compression"
        | "tcpkeepalive"
        | "usedns"
        | "printmotd"
        | "printlastlog" => lower,
        _ => arg.to_string(),
    }
}

/// `host:port` as `sshd -T` prints a listen address (IPv6 in brackets).
fn listen(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A `ListenAddress` argument split into host and an optional port: `host`, `host:port`,
/// `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn split_listen(arg: &str) -> (String, Option<String>) {
    if let Some(rest) = arg.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        let port = after.strip_prefix(':').map(str::to_string);
        return (host.to_string(), port);
    }
    match arg.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host.to_string(), Some(port.to_string())),
        _ => (arg.to_string(), None),
    }
}

/// The effective global settings: every keyword the directives set (first value wins, or all
/// values for the keywords that accumulate), plus [`DEFAULTS`] for those not set, plus the
/// listen addresses sshd derives. Sorted by keyword.
pub fn effective(directives: &[Located]) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    for d in directives {
        let values: Vec<String> = match d.keyword.as_str() {
            // One line per item, from one line (the rest of the line is the subsystem command).
            "subsystem" => vec![d.args.join(" ")],
            "acceptenv" | "allowusers" | "denyusers" | "allowgroups" | "denygroups" | "port"
            | "hostkey" | "hostcertificate" => d.args.clone(),
            // `ListenAddress addr [rdomain name]`: the address only.
            "listenaddress" => d.args.iter().take(1).cloned().collect(),
            k => d.args.iter().map(|a| normalise(k, a)).collect(),
        };
        match out.iter_mut().find(|s| s.keyword == d.keyword) {
            Some(s) if accumulates(&d.keyword) => s.values.extend(values),
            Some(_) => {}
            None => out.push(Setting {
                keyword: d.keyword.clone(),
                values,
                from: Some((d.file, d.line)),
            }),
        }
    }
    for (keyword, values) in DEFAULTS {
        if !out.iter().any(|s| s.keyword == *keyword) {
            out.push(Setting {
                keyword: (*keyword).to_string(),
                values: values.iter().map(|v| (*v).to_string()).collect(),
                from: None,
            });
        }
    }
    let ports: Vec<String> = out
        .iter()
        .find(|s| s.keyword == "port")
        .map(|s| s.values.clone())
        .unwrap_or_default();
    let family = out
        .iter()
        .find(|s| s.keyword == "addressfamily")
        .and_then(|s| s.values.first())
        .map(|f| f.to_ascii_lowercase());
    match out.iter_mut().find(|s| s.keyword == "listenaddress") {
        Some(s) => {
            let mut addrs = Vec::new();
            for a in &s.values {
                match split_listen(a) {
                    (host, Some(port)) => addrs.push(listen(&host, &port)),
                    (host, None) => addrs.extend(ports.iter().map(|p| listen(&host, p))),
                }
            }
            s.values = addrs;
        }
        None => {
            let hosts: &[&str] = match family.as_deref() {
                Some("inet") => &["0.0.0.0"],
                Some("inet6") => &["::"],
                _ => &["::", "0.0.0.0"],
            };
            out.push(Setting {
                keyword: "listenaddress".into(),
                values: ports
                    .iter()
                    .flat_map(|p| hosts.iter().map(move |h| listen(h, p)))
                    .collect(),
                from: None,
            });
        }
    }
    out.sort_by(|a, b| a.keyword.cmp(&b.keyword));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(line: usize, k: &str, args: &[&str]) -> Item {
        Item::Directive {
            line,
            keyword: k.into(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
        }
    }

    #[test]
    fn lines_split_like_sshd() {
        let (items, problems) = parse(
            "# comment\n\
             \n\
             PermitRootLogin no\n\
             \tPasswordAuthentication=yes # trailing\n\
             Banner = \"/etc/my banner\"\n\
             ChallengeResponseAuthentication no\n\
             Include /etc/ssh/sshd_config.d/*.conf extra.conf\n\
             Match User alice Address 10.0.0.0/8\n\
             Bad\"quote yes\n\
             AllowUsers \"unterminated\n\
             Port\n\
             Weird-Key x\n",
        );
        assert_eq!(
            items,
            vec![
                dir(3, "permitrootlogin", &["no"]),
                dir(4, "passwordauthentication", &["yes"]),
                dir(5, "banner", &["/etc/my banner"]),
                dir(6, "kbdinteractiveauthentication", &["no"]),
                Item::Include {
                    line: 7,
                    patterns: vec!["/etc/ssh/sshd_config.d/*.conf".into(), "extra.conf".into()]
                },
                Item::Match {
                    line: 8,
                    criteria: "User alice Address 10.0.0.0/8".into()
                },
            ]
        );
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [9, 10, 11, 12]);
    }

    #[test]
    fn times() {
        for (s, want) in [
            ("120", Some(120)),
            ("2m", Some(120)),
            ("1h30m", Some(5400)),
            ("1M5S", Some(65)),
            ("1w", Some(604_800)),
            ("", None),
            ("m", None),
            ("5x", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_time(s), want, "{s}");
        }
    }

    fn loc(line: usize, k: &str, args: &[&str]) -> Located {
        Located {
            file: 0,
            line,
            keyword: k.into(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
        }
    }

    fn values<'a>(s: &'a [Setting], k: &str) -> (Vec<&'a str>, bool) {
        let s = s.iter().find(|s| s.keyword == k).unwrap();
        (
            s.values.iter().map(String::as_str).collect(),
            s.from.is_none(),
        )
    }

    #[test]
    fn first_value_wins_lists_accumulate_defaults_fill_in() {
        let e = effective(&[
            loc(1, "permitrootlogin", &["prohibit-password"]),
            loc(2, "permitrootlogin", &["yes"]),
            loc(3, "port", &["2222"]),
            loc(4, "port", &["2200"]),
            loc(5, "listenaddress", &["127.0.0.1"]),
            loc(6, "listenaddress", &["[::1]:2300"]),
            loc(7, "allowusers", &["alice", "bob"]),
            loc(8, "allowusers", &["carol"]),
            loc(9, "logingracetime", &["1m30s"]),
            loc(10, "passwordauthentication", &["No"]),
            loc(11, "allowtcpforwarding", &["all"]),
        ]);
        assert_eq!(
            values(&e, "permitrootlogin"),
            (vec!["without-password"], false)
        );
        assert_eq!(values(&e, "port"), (vec!["2222", "2200"], false));
        assert_eq!(
            values(&e, "listenaddress"),
            (
                vec!["127.0.0.1:2222", "127.0.0.1:2200", "[::1]:2300"],
                false
            )
        );
        assert_eq!(
            values(&e, "allowusers"),
            (vec!["alice", "bob", "carol"], false)
        );
        assert_eq!(values(&e, "logingracetime"), (vec!["90"], false));
        assert_eq!(values(&e, "passwordauthentication"), (vec!["no"], false));
        assert_eq!(values(&e, "allowtcpforwarding"), (vec!["yes"], false));
        assert_eq!(values(&e, "x11forwarding"), (vec!["no"], true));
        assert_eq!(values(&e, "denyusers"), (vec![], true));
        let keys: Vec<&str> = e.iter().map(|s| s.keyword.as_str()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);

        let e = effective(&[]);
        assert_eq!(values(&e, "port"), (vec!["22"], true));
        assert_eq!(
            values(&e, "listenaddress"),
            (vec!["[::]:22", "0.0.0.0:22"], true)
        );
        let e = effective(&[loc(1, "addressfamily", &["inet"]), loc(2, "port", &["1"])]);
        assert_eq!(values(&e, "listenaddress"), (vec!["0.0.0.0:1"], true));
    }
}

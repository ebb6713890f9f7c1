#![forbid(unsafe_code)]
//! `/etc/passwd`, `/etc/group` and the UID range of `/etc/login.defs` (passwd(5), group(5),
//! login.defs(5)). The password fields (the second field of passwd and group) are skipped
//! without being kept: no type here has a place for them.

/// At most this many entries are kept from one file; a larger file is hostile or broken.
pub const MAX_ENTRIES: usize = 100_000;

/// One account line of `/etc/passwd`, without its password field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    /// As written; empty means `/bin/sh` (passwd(5)).
    pub shell: String,
}

/// One line of `/etc/group`, without its password field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A name as passwd and group entries may carry it: not empty, no `:` (the split already
/// guarantees that), no control characters, no whitespace, and not a NIS `+`/`-` entry.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name.starts_with(['#', '+', '-'])
        && !name.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Account lines with seven fields and numeric ids; comments, NIS entries and malformed lines
/// are skipped. The second field is never kept.
pub fn parse_passwd(text: &str) -> Vec<Account> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let [name, _password, uid, gid, gecos, home, shell] = f.as_slice() else {
                return None;
            };
            if !valid_name(name) {
                return None;
            }
            Some(Account {
                name: (*name).to_string(),
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                gecos: (*gecos).to_string(),
                home: (*home).to_string(),
                shell: (*shell).to_string(),
            })
        })
        .take(MAX_ENTRIES)
        .collect()
}

/// Group lines with four fields and a numeric gid; members are the comma-separated names of the
/// fourth field (empty names dropped). The second field is never kept.
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let [name, _password, gid, members] = f.as_slice() else {
                return None;
            };
            if !valid_name(name) {
                return None;
            }
            Some(Group {
                name: (*name).to_string(),
                gid: gid.parse().ok()?,
                members: members
                    .split(',')
                    .map(str::trim)
                    .filter(|m| valid_name(m))
                    .map(str::to_string)
                    .collect(),
            })
        })
        .take(MAX_ENTRIES)
        .collect()
}

/// `UID_MIN` and `UID_MAX` of login.defs (the range of regular users), each where it is set to a
/// number; the last setting wins, as shadow-utils reads it.
pub fn parse_uid_range(text: &str) -> (Option<u32>, Option<u32>) {
    let (mut min, mut max) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut it = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (it.next(), it.next()) else {
            continue;
        };
        let slot = match key {
            "UID_MIN" => &mut min,
            "UID_MAX" => &mut max,
            _ => continue,
        };
        if let Ok(n) = value.parse::<u32>() {
            *slot = Some(n);
        }
    }
    (min, max)
}

/// Whether `shell` lets the account log in: not one of the shells that refuse (`nologin`,
/// `false`, by their last path component). An empty field is `/bin/sh`, a login shell.
pub fn is_login_shell(shell: &str) -> bool {
    let base = shell.trim().rsplit('/').next().unwrap_or("");
    !matches!(base, "nologin" | "false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_keep_everything_but_the_password() {
        let p = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\
             # comment\n\
             +nisuser::::::\n\
             svc:$6$salt$hash:998:997:Service, room 1:/var/lib/svc:/usr/sbin/nologin\n\
             short:x:1:1\n\
             eight:x:1:1:a:b:c:d\n\
             broken:x:uid:1::/:\n\
             sp ace:x:5:5::/:\n\
             empty:x:1000:1000:::\n",
        );
        let names: Vec<&str> = p.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["root", "svc", "empty"]);
        assert_eq!(
            p[1],
            Account {
                name: "svc".into(),
                uid: 998,
                gid: 997,
                gecos: "Service, room 1".into(),
                home: "/var/lib/svc".into(),
                shell: "/usr/sbin/nologin".into()
            }
        );
        assert!(!format!("{p:?}").contains("$6$"));
        assert_eq!(p[2].shell, "");
    }

    #[test]
    fn group_lines_and_members() {
        let g = parse_group(
            "root:x:0:\n\
             sudo:x:27:alice,bob,,\n\
             adm:*:4:syslog, alice\n\
             bad:x:notanumber:alice\n\
             three:x:3\n",
        );
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].members, Vec::<String>::new());
        assert_eq!(g[1].members, ["alice", "bob"]);
        assert_eq!(g[2].members, ["syslog", "alice"]);
    }

    #[test]
    fn uid_range_and_login_shells() {
        let defs = "# UID_MIN 5\nUID_MIN\t\t 1000\nUID_MAX 60000\nUID_MAX junk\nSYS_UID_MIN 100\n";
        assert_eq!(parse_uid_range(defs), (Some(1000), Some(60000)));
        assert_eq!(
            parse_uid_range("UID_MIN 500\nUID_MIN 2000\n"),
            (Some(2000), None)
        );
        assert_eq!(parse_uid_range(""), (None, None));
        for (shell, login) in [
            ("/bin/bash", true),
            ("", true),
            ("/usr/sbin/nologin", false),
            ("/sbin/nologin", false),
            ("/bin/false", false),
            ("/usr/bin/falsehood", true),
        ] {
            assert_eq!(is_login_shell(shell), login, "{shell}");
        }
    }
}

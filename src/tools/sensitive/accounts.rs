#![forbid(unsafe_code)]
//! `get_user_accounts`: `/etc/passwd`, `/etc/group` and the UID range of `/etc/login.defs`.
//! The password fields are dropped by the parser; `/etc/shadow` and `/etc/gshadow` are never
//! opened (a test runs the binary under strace to prove it).

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{MAX_CONFIG_BYTES, open_nofollow, to_value};
use crate::error::ToolError;
use crate::tools::Ctx;
use crate::tools::parse::accounts::{self, Account, Group};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "kind": {"type": "string", "enum": ["all", "system", "regular"], "default": "all",
            "description": "regular: uid within UID_MIN..UID_MAX of /etc/login.defs; system: every other"},
        "login_only": {"type": "boolean", "default": false,
            "description": "only accounts whose shell allows a login (not nologin or false)"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["users", "count", "total_accounts", "uid_min", "uid_max", "uid_range_source"],
    "properties": {
        "users": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["name", "uid", "gid", "groups", "gecos", "home", "shell", "login_shell", "kind"],
            "properties": {
                "name": {"type": "string"},
                "uid": {"type": "integer", "minimum": 0},
                "gid": {"type": "integer", "minimum": 0},
                "primary_group": {"type": "string", "description": "the name of `gid` in /etc/group, when it has one"},
                "groups": {"type": "array", "items": {"type": "string"}, "description": "supplementary groups: those of /etc/group that list this user"},
                "gecos": {"type": "string"},
                "home": {"type": "string"},
                "shell": {"type": "string", "description": "as written; empty means /bin/sh"},
                "login_shell": {"type": "boolean"},
                "kind": {"type": "string", "enum": ["system", "regular"]}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many accounts are in `users`"},
        "total_accounts": {"type": "integer", "minimum": 0, "description": "accounts in /etc/passwd before the filters"},
        "uid_min": {"type": "integer", "minimum": 0},
        "uid_max": {"type": "integer", "minimum": 0},
        "uid_range_source": {"type": "string", "enum": ["login.defs", "default"]}
    }
}"#;

#[derive(Serialize)]
struct Accounts {
    users: Vec<User>,
    count: usize,
    total_accounts: usize,
    uid_min: u32,
    uid_max: u32,
    uid_range_source: &'static str,
}

#[derive(Serialize)]
struct User {
    name: String,
    uid: u32,
    gid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_group: Option<String>,
    groups: Vec<String>,
    gecos: String,
    home: String,
    shell: String,
    login_shell: bool,
    kind: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    All,
    System,
    Regular,
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let kind = match args.get("kind").and_then(Value::as_str) {
        None | Some("all") => Kind::All,
        Some("system") => Kind::System,
        Some("regular") => Kind::Regular,
        Some(_) => {
            return Err(ToolError::InvalidArgument {
                argument: "kind".into(),
                rule: "must be one of all, system, regular".into(),
            });
        }
    };
    let login_only = args.get("login_only").and_then(Value::as_bool) == Some(true);
    ctx.check()?;
    to_value(&read_accounts(Path::new("/etc"), kind, login_only)?)
}

fn read_text(path: &Path, required: bool) -> Result<Option<String>, ToolError> {
    match open_nofollow(path, MAX_CONFIG_BYTES).and_then(|o| o.text) {
        Ok(t) => Ok(Some(t)),
        Err(e) if required => Err(ToolError::Unavailable(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
        Err(_) => Ok(None),
    }
}

/// The accounts under the `etc` directory (`/etc` on the host, a fixture tree in tests).
fn read_accounts(etc: &Path, kind: Kind, login_only: bool) -> Result<Accounts, ToolError> {
    let passwd = read_text(&etc.join("passwd"), true)?.unwrap_or_default();
    let group = read_text(&etc.join("group"), false)?.unwrap_or_default();
    let defs = read_text(&etc.join("login.defs"), false)?;
    let (min, max) = defs
        .as_deref()
        .map(accounts::parse_uid_range)
        .unwrap_or_default();
    let source = if min.is_some() || max.is_some() {
        "login.defs"
    } else {
        "default"
    };
    let (uid_min, uid_max) = (min.unwrap_or(1000), max.unwrap_or(60000));
    let accounts = accounts::parse_passwd(&passwd);
    let groups = accounts::parse_group(&group);
    let total_accounts = accounts.len();
    let users: Vec<User> = accounts
        .into_iter()
        .map(|a| user(a, &groups, uid_min, uid_max))
        .filter(|u| match kind {
            Kind::All => true,
            Kind::System => u.kind == "system",
            Kind::Regular => u.kind == "regular",
        })
        .filter(|u| !login_only || u.login_shell)
        .collect();
    Ok(Accounts {
        count: users.len(),
        users,
        total_accounts,
        uid_min,
        uid_max,
        uid_range_source: source,
    })
}

fn user(a: Account, groups: &[Group], uid_min: u32, uid_max: u32) -> User {
    let primary_group = groups
        .iter()
        .find(|g| g.gid == a.gid)
        .map(|g| g.name.clone());
    let mut supplementary: Vec<String> = groups
        .iter()
        .filter(|g| g.members.contains(&a.name))
        .map(|g| g.name.clone())
        .collect();
    supplementary.dedup();
    User {
        login_shell: accounts::is_login_shell(&a.shell),
        kind: if (uid_min..=uid_max).contains(&a.uid) {
            "regular"
        } else {
            "system"
        },
        primary_group,
        groups: supplementary,
        name: a.name,
        uid: a.uid,
        gid: a.gid,
        gecos: a.gecos,
        home: a.home,
        shell: a.shell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> crate::testdir::TempDir {
        let dir = crate::testdir::TempDir::new("accounts");
        std::fs::write(
            dir.join("passwd"),
            "root:x:0:0:root:/root:/bin/bash\n\
             daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
             alice:$6$secret$hash:1500:1500:Alice A,,,:/home/alice:/bin/zsh\n\
             robot:x:2500:100::/srv/robot:/bin/false\n\
             nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("group"),
            "root:x:0:\nusers:x:100:\nalice:x:1500:\nsudo:$secret:27:alice,robot\ndocker:x:998:alice\n",
        )
        .unwrap();
        std::fs::write(dir.join("login.defs"), "UID_MIN 2000\nUID_MAX 3000\n").unwrap();
        // Shadow files that must never be read: the results show nothing of them either way.
        std::fs::write(dir.join("shadow"), "alice:SHADOWHASH:1::::::\n").unwrap();
        dir
    }

    #[test]
    fn accounts_from_a_fixture_tree() {
        let dir = tree();
        let a = read_accounts(dir.path(), Kind::All, false).unwrap();
        assert_eq!((a.count, a.total_accounts), (5, 5));
        assert_eq!(
            (a.uid_min, a.uid_max, a.uid_range_source),
            (2000, 3000, "login.defs")
        );
        let alice = a.users.iter().find(|u| u.name == "alice").unwrap();
        assert_eq!(alice.groups, ["sudo", "docker"]);
        assert_eq!(alice.primary_group.as_deref(), Some("alice"));
        assert_eq!(alice.kind, "system", "1500 is below this UID_MIN");
        assert!(alice.login_shell);
        let text = serde_json::to_string(&to_value(&a).unwrap()).unwrap();
        assert!(
            !text.contains("secret") && !text.contains("SHADOW"),
            "{text}"
        );
        assert!(!text.contains("\"x\""), "{text}");

        let r = read_accounts(dir.path(), Kind::Regular, false).unwrap();
        let names: Vec<&str> = r.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["robot"]);
        let l = read_accounts(dir.path(), Kind::All, true).unwrap();
        let names: Vec<&str> = l.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["root", "alice"]);

        std::fs::remove_file(dir.join("login.defs")).unwrap();
        let d = read_accounts(dir.path(), Kind::Regular, false).unwrap();
        assert_eq!(
            (d.uid_min, d.uid_max, d.uid_range_source),
            (1000, 60000, "default")
        );
        let names: Vec<&str> = d.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "robot"]);

        std::fs::remove_file(dir.join("passwd")).unwrap();
        let e = read_accounts(dir.path(), Kind::All, false).err().unwrap();
        assert!(e.to_string().contains("passwd: does not exist"), "{e}");
    }
}

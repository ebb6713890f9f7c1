#![forbid(unsafe_code)]
//! sudoers text (sudoers(5)), one file at a time: line continuations, comments, include
//! directives (`@include`, `@includedir` and the `#` spellings), `Defaults` lines, aliases and
//! user specifications (users, hosts, runas users and groups, tags such as `NOPASSWD`, options
//! such as `CWD=`, commands). The include walk is the handler's; this never touches a file.

/// Logical lines kept from one file; items kept from one list.
pub const MAX_LINES: usize = 20_000;
pub const MAX_ITEMS: usize = 1_000;

/// An include directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub line: usize,
    /// `@includedir` / `#includedir` (a directory) rather than a file.
    pub dir: bool,
    pub path: String,
}

/// Which `Defaults` a line is: for all, or bound to hosts (`@`), users (`:`), runas users
/// (`>`) or commands (`!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    All,
    Host,
    User,
    Runas,
    Command,
}

impl Binding {
    pub fn name(self) -> &'static str {
        match self {
            Binding::All => "all",
            Binding::Host => "host",
            Binding::User => "user",
            Binding::Runas => "runas",
            Binding::Command => "command",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub line: usize,
    pub binding: Binding,
    /// What the binding names (empty for [`Binding::All`]).
    pub targets: Vec<String>,
    /// The settings as written (`env_reset`, `!lecture`, `secure_path="/usr/bin"`).
    pub settings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasKind {
    User,
    Runas,
    Host,
    Command,
}

impl AliasKind {
    pub fn name(self) -> &'static str {
        match self {
            AliasKind::User => "user",
            AliasKind::Runas => "runas",
            AliasKind::Host => "host",
            AliasKind::Command => "command",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub line: usize,
    pub kind: AliasKind,
    pub name: String,
    pub members: Vec<String>,
}

/// One command of a user specification with the runas lists, tags and options in force for it
/// (sudo carries them over from the previous command of the same list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `None`: no runas list given (sudo's `runas_default`, normally root).
    pub runas_users: Option<Vec<String>>,
    pub runas_groups: Option<Vec<String>>,
    pub tags: Vec<String>,
    pub options: Vec<String>,
    pub command: String,
}

/// `users hosts = commands`; a line with `: hosts = commands` parts gives one rule per part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    pub users: Vec<String>,
    pub hosts: Vec<String>,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub includes: Vec<Include>,
    pub defaults: Vec<Defaults>,
    pub aliases: Vec<Alias>,
    pub rules: Vec<Rule>,
    pub problems: Vec<Problem>,
}

const TAGS: &[&str] = &[
    "NOPASSWD",
    "PASSWD",
    "NOEXEC",
    "EXEC",
    "SETENV",
    "NOSETENV",
    "LOG_INPUT",
    "NOLOG_INPUT",
    "LOG_OUTPUT",
    "NOLOG_OUTPUT",
    "MAIL",
    "NOMAIL",
    "FOLLOW",
    "NOFOLLOW",
    "INTERCEPT",
    "NOINTERCEPT",
];

const OPTIONS: &[&str] = &[
    "ROLE",
    "TYPE",
    "CWD",
    "CHROOT",
    "NOTBEFORE",
    "NOTAFTER",
    "TIMEOUT",
    "APPARMOR_PROFILE",
    "PRIVS",
    "LIMITPRIVS",
];

/// Joins continued lines (a `\` at the end), giving each logical line the number of its first.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        if out.len() >= MAX_LINES {
            break;
        }
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        // An odd number of trailing backslashes continues the line.
        let trailing = raw.len() - raw.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            acc.push_str(&raw[..raw.len() - 1]);
            acc.push(' ');
            current = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    if let Some(last) = current
        && out.len() < MAX_LINES
    {
        out.push(last);
    }
    out
}

/// The line without its comment: a `#` outside quotes, not escaped, and not followed by a digit
/// (`#1000` is a uid, `%#27` a gid).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            b'#' if !quoted && !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                return &line[..i];
            }
            _ => {}
        }
        i += 1;
    }
    line
}

/// The include directive of a line, if it is one (the `#` spellings start the line).
fn include(line: &str) -> Option<(bool, &str)> {
    let t = line.trim_start();
    let rest = t.strip_prefix('@').or_else(|| t.strip_prefix('#'))?;
    let (dir, rest) = if let Some(r) = rest.strip_prefix("includedir") {
        (true, r)
    } else {
        (false, rest.strip_prefix("include")?)
    };
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((dir, rest.trim()))
}

/// A path of an include line: quoted (with `\"` escapes) or up to the end of the line.
fn include_path(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                // Nothing may follow the closing quote, and `""` names no file.
                '"' => return (chars.as_str().trim().is_empty() && !out.is_empty()).then_some(out),
                c => out.push(c),
            }
        }
        return None;
    }
    let s = s.trim();
    (!s.is_empty() && !s.contains([' ', '\t'])).then(|| s.replace("\\ ", " "))
}

struct Cur<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Cur { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start_matches([' ', '\t']).len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.s.len()
    }

    /// One item: up to whitespace or a char of `stop`, keeping escaped chars and "quoted" runs.
    fn item(&mut self, stop: &[char]) -> String {
        self.ws();
        let mut out = String::new();
        let mut chars = self.rest().char_indices().peekable();
        let mut quoted = false;
        let mut end = self.rest().len();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            if c == '"' {
                quoted = !quoted;
                out.push(c);
                continue;
            }
            if !quoted && (c == ' ' || c == '\t' || stop.contains(&c)) {
                end = i;
                break;
            }
            out.push(c);
        }
        self.pos += end;
        out
    }

    /// Items separated by commas (spaces allowed around them).
    fn list(&mut self, stop: &[char]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        loop {
            let it = self.item(stop);
            if it.is_empty() {
                return Err(format!("expected a name at `{}`", snippet(self.rest())));
            }
            if out.len() < MAX_ITEMS {
                out.push(it);
            }
            if !self.eat(',') {
                return Ok(out);
            }
        }
    }

    /// A command, up to an unescaped `,` or `:` outside quotes; trailing spaces dropped.
    fn command(&mut self) -> String {
        self.until(true)
    }

    /// Up to an unescaped `,` (or `:` too, when `colon`) outside quotes; trailing spaces dropped.
    fn until(&mut self, colon: bool) -> String {
        self.ws();
        let mut out = String::new();
        let mut quoted = false;
        let mut chars = self.rest().char_indices();
        let mut end = self.rest().len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    out.push(c);
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    quoted = !quoted;
                    out.push(c);
                }
                ',' if !quoted => {
                    end = i;
                    break;
                }
                ':' if !quoted && colon => {
                    end = i;
                    break;
                }
                c => out.push(c),
            }
        }
        self.pos += end;
        out.trim_end().to_string()
    }
}

/// The start of `s` as an error message may quote it.
fn snippet(s: &str) -> String {
    let s: String = s.chars().take(24).collect();
    if s.is_empty() {
        "end of line".into()
    } else {
        s
    }
}

const LIST_STOP: &[char] = &[',', '=', ':', '(', ')'];

/// `(users[:groups])`, after the `(`.
fn runas(cur: &mut Cur<'_>) -> Result<(Vec<String>, Option<Vec<String>>), String> {
    cur.ws();
    let users = if cur.peek() == Some(':') || cur.peek() == Some(')') {
        Vec::new()
    } else {
        cur.list(LIST_STOP)?
    };
    let groups = if cur.eat(':') {
        cur.ws();
        if cur.peek() == Some(')') {
            Some(Vec::new())
        } else {
            Some(cur.list(LIST_STOP)?)
        }
    } else {
        None
    };
    if !cur.eat(')') {
        return Err("a runas list must end with `)`".into());
    }
    Ok((users, groups))
}

/// A digest prefix (`sha256:HEX`) of a command, which holds a `:` that is not a separator.
fn digest_prefix(rest: &str) -> Option<usize> {
    for alg in ["sha224:", "sha256:", "sha384:", "sha512:"] {
        if let Some(after) = rest.strip_prefix(alg) {
            let len = after
                .find(|c: char| c.is_ascii_whitespace() || c == ',')
                .unwrap_or(after.len());
            return Some(alg.len() + len);
        }
    }
    None
}

/// `hosts = commands [: hosts = commands ...]`, after the users.
fn user_spec(line: usize, users: Vec<String>, cur: &mut Cur<'_>) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    loop {
        let hosts = cur.list(LIST_STOP)?;
        if !cur.eat('=') {
            return Err(format!("expected `=` at `{}`", snippet(cur.rest())));
        }
        let mut commands = Vec::new();
        let mut runas_users = None;
        let mut runas_groups = None;
        let mut tags: Vec<String> = Vec::new();
        loop {
            let mut options = Vec::new();
            if cur.eat('(') {
                let (u, g) = runas(cur)?;
                runas_users = Some(u);
                runas_groups = g;
            }
            // Tags (`NOPASSWD:`) and options (`CWD=/tmp`) before the command.
            loop {
                cur.ws();
                let rest = cur.rest();
                let word_len = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .unwrap_or(rest.len());
                let word = &rest[..word_len];
                let after = &rest[word_len..];
                if !word.is_empty() && TAGS.contains(&word) && after.starts_with(':') {
                    // A tag holds for the following commands until its opposite replaces it.
                    let opposite = match word.strip_prefix("NO") {
                        Some(base) => base.to_string(),
                        None => format!("NO{word}"),
                    };
                    tags.retain(|t| *t != opposite && t != word);
                    tags.push(word.to_string());
                    cur.pos += word_len + 1;
                } else if !word.is_empty() && OPTIONS.contains(&word) && after.starts_with('=') {
                    cur.pos += word_len + 1;
                    let value = cur.item(&[',', ':']);
                    options.push(format!("{word}={value}"));
                } else {
                    break;
                }
            }
            cur.ws();
            let command = match digest_prefix(cur.rest()) {
                Some(n) => {
                    let digest = cur.rest()[..n].to_string();
                    cur.pos += n;
                    format!("{digest} {}", cur.command())
                }
                None => cur.command(),
            };
            if command.is_empty() {
                return Err(format!("expected a command at `{}`", snippet(cur.rest())));
            }
            if commands.len() < MAX_ITEMS {
                commands.push(Command {
                    runas_users: runas_users.clone(),
                    runas_groups: runas_groups.clone(),
                    tags: tags.clone(),
                    options,
                    command,
                });
            }
            if !cur.eat(',') {
                break;
            }
        }
        rules.push(Rule {
            line,
            users: users.clone(),
            hosts,
            commands,
        });
        if cur.at_end() {
            return Ok(rules);
        }
        if !cur.eat(':') {
            return Err(format!("unexpected `{}`", snippet(cur.rest())));
        }
    }
}

/// `NAME = members [: NAME = members ...]`, after the alias keyword.
fn aliases(line: usize, kind: AliasKind, cur: &mut Cur<'_>) -> Result<Vec<Alias>, String> {
    let mut out = Vec::new();
    loop {
        let name = cur.item(&['=', ':', ',']);
        let valid = name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "an alias name is upper case letters, digits and `_` (got `{}`)",
                snippet(&name)
            ));
        }
        if !cur.eat('=') {
            return Err(format!("expected `=` after alias `{name}`"));
        }
        let members = if kind == AliasKind::Command {
            let mut m = Vec::new();
            loop {
                let c = match digest_prefix(cur.rest().trim_start()) {
                    Some(_) => {
                        cur.ws();
                        let n = digest_prefix(cur.rest()).unwrap_or(0);
                        let digest = cur.rest()[..n].to_string();
                        cur.pos += n;
                        format!("{digest} {}", cur.command())
                    }
                    None => cur.command(),
                };
                if c.is_empty() {
                    return Err(format!("alias `{name}` has an empty command"));
                }
                if m.len() < MAX_ITEMS {
                    m.push(c);
                }
                if !cur.eat(',') {
                    break;
                }
            }
            m
        } else {
            cur.list(&[',', '=', ':'])?
        };
        out.push(Alias {
            line,
            kind,
            name,
            members,
        });
        if cur.at_end() {
            return Ok(out);
        }
        if !cur.eat(':') {
            return Err(format!("unexpected `{}`", snippet(cur.rest())));
        }
    }
}

/// `Defaults[@:!>targets] settings`, after `Defaults`.
fn defaults(line: usize, cur: &mut Cur<'_>) -> Result<Defaults, String> {
    let binding = match cur.peek() {
        Some('@') => Binding::Host,
        Some(':') => Binding::User,
        Some('>') => Binding::Runas,
        Some('!') => Binding::Command,
        Some(' ' | '\t') => Binding::All,
        _ => return Err("expected settings after `Defaults`".into()),
    };
    let targets = if binding == Binding::All {
        Vec::new()
    } else {
        cur.pos += 1;
        if cur.peek().is_some_and(|c| c == ' ' || c == '\t') {
            return Err("a `Defaults` binding has no space before its targets".into());
        }
        cur.list(&[','])?
    };
    let mut settings = Vec::new();
    loop {
        let s = cur.until(false);
        if s.is_empty() {
            return Err("a `Defaults` line needs at least one setting".into());
        }
        if settings.len() < MAX_ITEMS {
            settings.push(s);
        }
        if cur.at_end() {
            break;
        }
        if !cur.eat(',') {
            return Err(format!("unexpected `{}`", snippet(cur.rest())));
        }
    }
    Ok(Defaults {
        line,
        binding,
        targets,
        settings,
    })
}

/// One file's text.
pub fn parse(text: &str) -> Parsed {
    let mut p = Parsed::default();
    let lines = logical_lines(text);
    if lines.len() >= MAX_LINES && text.lines().count() > MAX_LINES {
        p.problems.push(Problem {
            line: MAX_LINES,
            message: format!("more than {MAX_LINES} lines; the rest was not read"),
        });
    }
    for (line, raw) in lines {
        if let Some((dir, rest)) = include(&raw) {
            match include_path(rest) {
                Some(path) => p.includes.push(Include { line, dir, path }),
                None => p.problems.push(Problem {
                    line,
                    message: "an include needs exactly one path".into(),
                }),
            }
            continue;
        }
        let body = strip_comment(&raw);
        let mut cur = Cur::new(body);
        if cur.at_end() {
            continue;
        }
        let first_len = cur
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(cur.rest().len());
        let first = &cur.rest()[..first_len];
        let kind = match first {
            "User_Alias" => Some(AliasKind::User),
            "Runas_Alias" => Some(AliasKind::Runas),
            "Host_Alias" => Some(AliasKind::Host),
            "Cmnd_Alias" | "Cmd_Alias" => Some(AliasKind::Command),
            _ => None,
        };
        let result = if first == "Defaults" {
            cur.pos += first_len;
            defaults(line, &mut cur).map(|d| p.defaults.push(d))
        } else if let Some(kind) = kind {
            cur.pos += first_len;
            aliases(line, kind, &mut cur).map(|a| p.aliases.extend(a))
        } else {
            cur.list(LIST_STOP)
                .and_then(|users| user_spec(line, users, &mut cur))
                .map(|r| p.rules.extend(r))
        };
        if let Err(message) = result {
            p.problems.push(Problem { line, message });
        }
    }
    p
}

/// Whether `@includedir` reads a file of this name: sudo skips names that end in `~` or
/// contain a `.` (editor backups, `.rpmsave`, `README.md`).
pub fn includedir_reads(name: &str) -> bool {
    !name.is_empty() && !name.ends_with('~') && !name.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(runas: Option<&[&str]>, tags: &[&str], command: &str) -> Command {
        Command {
            runas_users: runas.map(|r| r.iter().map(|s| (*s).to_string()).collect()),
            runas_groups: None,
            tags: tags.iter().map(|s| (*s).to_string()).collect(),
            options: vec![],
            command: command.into(),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    const DEBIAN: &str = "\
#
# This file MUST be edited with the 'visudo' command as root.
#
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"
Defaults\tuse_pty

# User privilege specification
root\tALL=(ALL:ALL) ALL

# Allow members of group sudo to execute any command
%sudo\tALL=(ALL:ALL) ALL

@includedir /etc/sudoers.d
";

    #[test]
    fn debian_default_file() {
        let p = parse(DEBIAN);
        assert_eq!(p.problems, vec![]);
        assert_eq!(
            p.includes,
            vec![Include {
                line: 15,
                dir: true,
                path: "/etc/sudoers.d".into()
            }]
        );
        assert_eq!(p.defaults.len(), 4);
        assert_eq!(
            p.defaults[2].settings,
            ["secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\""]
        );
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].users, ["%sudo"]);
        assert_eq!(p.rules[1].hosts, ["ALL"]);
        assert_eq!(
            p.rules[1].commands[0],
            Command {
                runas_users: Some(strings(&["ALL"])),
                runas_groups: Some(strings(&["ALL"])),
                tags: vec![],
                options: vec![],
                command: "ALL".into()
            }
        );
    }

    #[test]
    fn rules_tags_runas_and_continuations() {
        let p = parse(
            "alice, bob ALL = (root) NOPASSWD: /usr/bin/systemctl restart nginx, \\\n\
             \t(operator) /bin/ls, PASSWD: NOEXEC: /bin/cat : web01 = /bin/true\n\
             %#1000 ALL=(:wheel) CWD=/tmp sha256:abcd /bin/x # trailing comment\n\
             #1001 ALL = !/bin/sh, /bin/echo a\\,b\n",
        );
        assert_eq!(p.problems, vec![]);
        assert_eq!(p.rules.len(), 4);
        let r = &p.rules[0];
        assert_eq!(
            (r.line, r.users.clone(), r.hosts.clone()),
            (1, strings(&["alice", "bob"]), strings(&["ALL"]))
        );
        assert_eq!(
            r.commands,
            vec![
                cmd(
                    Some(&["root"]),
                    &["NOPASSWD"],
                    "/usr/bin/systemctl restart nginx"
                ),
                cmd(Some(&["operator"]), &["NOPASSWD"], "/bin/ls"),
                cmd(Some(&["operator"]), &["PASSWD", "NOEXEC"], "/bin/cat"),
            ]
        );
        assert_eq!(p.rules[1].hosts, ["web01"]);
        assert_eq!(p.rules[1].commands, vec![cmd(None, &[], "/bin/true")]);
        let c = &p.rules[2].commands[0];
        assert_eq!(p.rules[2].users, ["%#1000"]);
        assert_eq!(
            (c.runas_users.clone(), c.runas_groups.clone()),
            (Some(vec![]), Some(strings(&["wheel"])))
        );
        assert_eq!(c.options, ["CWD=/tmp"]);
        assert_eq!(c.command, "sha256:abcd /bin/x");
        assert_eq!(p.rules[3].users, ["#1001"]);
        let cmds: Vec<&str> = p.rules[3]
            .commands
            .iter()
            .map(|c| c.command.as_str())
            .collect();
        assert_eq!(cmds, ["!/bin/sh", "/bin/echo a\\,b"]);
    }

    #[test]
    fn defaults_aliases_and_includes() {
        let p = parse(
            "Defaults:alice, %wheel !lecture, timestamp_timeout=0\n\
             Defaults@web01 log_output\n\
             Defaults secure_path=/usr/sbin:/usr/bin\n\
             Defaults>root env_keep += \"HOME EDITOR\"\n\
             Defaults!/usr/bin/less noexec\n\
             User_Alias ADMINS = alice, bob : OPS = carol\n\
             Cmnd_Alias SERVICES = /usr/bin/systemctl start *, /usr/bin/systemctl stop *\n\
             Host_Alias WEB = web01, 10.0.0.0/8\n\
             #include sudoers.local\n\
             @include \"/etc/sudoers dir/x\"\n\
             #includedir /etc/sudoers.d\n\
             # includedir is a comment with a space\n",
        );
        assert_eq!(p.problems, vec![]);
        let b: Vec<(&str, Vec<String>)> = p
            .defaults
            .iter()
            .map(|d| (d.binding.name(), d.targets.clone()))
            .collect();
        assert_eq!(
            b,
            vec![
                ("user", strings(&["alice", "%wheel"])),
                ("host", strings(&["web01"])),
                ("all", vec![]),
                ("runas", strings(&["root"])),
                ("command", strings(&["/usr/bin/less"])),
            ]
        );
        assert_eq!(p.defaults[0].settings, ["!lecture", "timestamp_timeout=0"]);
        assert_eq!(p.defaults[2].settings, ["secure_path=/usr/sbin:/usr/bin"]);
        assert_eq!(p.defaults[3].settings, ["env_keep += \"HOME EDITOR\""]);
        let a: Vec<(&str, &str, usize)> = p
            .aliases
            .iter()
            .map(|a| (a.kind.name(), a.name.as_str(), a.members.len()))
            .collect();
        assert_eq!(
            a,
            [
                ("user", "ADMINS", 2),
                ("user", "OPS", 1),
                ("command", "SERVICES", 2),
                ("host", "WEB", 2)
            ]
        );
        let inc: Vec<(bool, &str)> = p
            .includes
            .iter()
            .map(|i| (i.dir, i.path.as_str()))
            .collect();
        assert_eq!(
            inc,
            [
                (false, "sudoers.local"),
                (false, "/etc/sudoers dir/x"),
                (true, "/etc/sudoers.d")
            ]
        );
    }

    #[test]
    fn hostile_lines_are_problems_not_panics() {
        let p = parse(
            "alice ALL\n\
             alice ALL = \n\
             User_Alias lower = x\n\
             Defaults\n\
             alice ALL = (root /bin/ls\n\
             @include\n\
             @include a b\n\
             = = =\n\
             @includedir \"\"\n\
             trailing backslash \\",
        );
        let lines: Vec<usize> = p.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(p.includes.is_empty());
        assert!(p.rules.is_empty());
    }

    #[test]
    fn includedir_names() {
        for (name, read) in [
            ("90-cloud", true),
            ("README", true),
            ("README.md", false),
            ("x~", false),
            ("x.rpmsave", false),
            ("", false),
        ] {
            assert_eq!(includedir_reads(name), read, "{name}");
        }
    }
}

#![forbid(unsafe_code)]
//! Argument values: newtypes with private fields, validated when made, so that an argv can
//! hold only fixed option names (`&'static str`), numbers, and values that passed these checks.
//! No value may start with `-`, contain a NUL, a control character, whitespace or a shell
//! metacharacter, or exceed its length limit; each error names the caller's argument.

use std::fmt;

use crate::error::{ToolError, echo};

/// A value that may go into an argv. Sealed: only the types of this module implement it.
pub trait ArgValue: sealed::Sealed + fmt::Debug {
    /// The value as it is passed to the program.
    fn as_arg(&self) -> &str;
}

mod sealed {
    pub trait Sealed {}
}

fn invalid(argument: &str, rule: String) -> ToolError {
    ToolError::InvalidArgument {
        argument: argument.to_string(),
        rule,
    }
}

/// The checks every value shares; `allowed` says which bytes may appear at all.
fn check(
    argument: &str,
    value: &str,
    what: &str,
    max: usize,
    allowed: fn(u8) -> bool,
) -> Result<(), ToolError> {
    if value.is_empty() {
        return Err(invalid(argument, format!("{what} must not be empty")));
    }
    if value.len() > max {
        return Err(invalid(
            argument,
            format!("{what} is {} bytes long (at most {max})", value.len()),
        ));
    }
    if value.starts_with('-') {
        return Err(invalid(
            argument,
            format!("{what} must not start with `-` (it would be read as an option)"),
        ));
    }
    if let Some(b) = value.bytes().find(|b| !allowed(*b)) {
        let shown = if b.is_ascii_graphic() {
            format!("`{}`", b as char)
        } else {
            format!("byte {b:#04x}")
        };
        return Err(invalid(
            argument,
            format!("{what} contains {shown}, which is not allowed"),
        ));
    }
    Ok(())
}

/// A systemd unit name (`nginx.service`, `getty@tty1.service`, or a name without a suffix):
/// ASCII letters, digits and `:_.@\-`, at most 256 bytes, not starting with `-` or `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName(String);

impl UnitName {
    pub const MAX: usize = 256;
    /// Checks `value`, the caller's argument `argument`.
    pub fn parse(argument: &str, value: &str) -> Result<UnitName, ToolError> {
        check(argument, value, "a unit name", Self::MAX, |b| {
            b.is_ascii_alphanumeric() || b":_.@\\-".contains(&b)
        })?;
        if value.starts_with('.') || value.contains("..") {
            return Err(invalid(
                argument,
                format!("unit name `{}` is not valid", echo(value, 64)),
            ));
        }
        Ok(UnitName(value.to_string()))
    }
}

/// A user name as `useradd` accepts it: a lowercase letter or `_`, then lowercase letters,
/// digits, `_` and `-`, optionally ending in `$`; at most 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX: usize = 32;
    pub fn parse(argument: &str, value: &str) -> Result<UserName, ToolError> {
        check(argument, value, "a user name", Self::MAX, |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-$".contains(&b)
        })?;
        let body = value.strip_suffix('$').unwrap_or(value);
        let first_ok = body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
        if !first_ok || body.contains('$') {
            return Err(invalid(
                argument,
                format!("user name `{}` is not valid", echo(value, 64)),
            ));
        }
        Ok(UserName(value.to_string()))
    }
}

/// A package name as dpkg and rpm write them: a letter, digit or `_` first, then letters,
/// digits and `+._~-`; at most 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageName(String);

impl PackageName {
    pub const MAX: usize = 128;
    pub fn parse(argument: &str, value: &str) -> Result<PackageName, ToolError> {
        check(argument, value, "a package name", Self::MAX, |b| {
            b.is_ascii_alphanumeric() || b"+._~-".contains(&b)
        })?;
        if value.starts_with(['.', '+', '~']) {
            return Err(invalid(
                argument,
                format!("package name `{}` is not valid", echo(value, 64)),
            ));
        }
        Ok(PackageName(value.to_string()))
    }
}

/// An absolute path without `.` or `..` components: `/` first, then ASCII letters, digits and
/// `/._+@:,=~-`; at most 4096 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsPath(String);

impl AbsPath {
    pub const MAX: usize = 4096;
    pub fn parse(argument: &str, value: &str) -> Result<AbsPath, ToolError> {
        check(argument, value, "a path", Self::MAX, |b| {
            b.is_ascii_alphanumeric() || b"/._+@:,=~-".contains(&b)
        })?;
        if !value.starts_with('/') {
            return Err(invalid(
                argument,
                "a path must be absolute (start with `/`)".into(),
            ));
        }
        if value.split('/').any(|c| c == ".." || c == ".") {
            return Err(invalid(
                argument,
                "a path must not contain `.` or `..` components".into(),
            ));
        }
        Ok(AbsPath(value.to_string()))
    }

    pub fn as_path(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

/// A journal cursor as journalctl writes it (`__CURSOR`):
/// `s=<32 hex>;i=<hex>;b=<32 hex>;m=<hex>;t=<hex>;x=<hex>`, the fields in that order, each hex
/// number at most 16 digits. Anything else is refused, so a forged value never reaches
/// `--after-cursor=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalCursor(String);

impl JournalCursor {
    pub const MAX: usize = 200;
    pub fn parse(argument: &str, value: &str) -> Result<JournalCursor, ToolError> {
        let bad = || {
            invalid(
                argument,
                "not a cursor this server returned (expected the `next_cursor` of an earlier \
                 result, unchanged)"
                    .into(),
            )
        };
        if value.len() > Self::MAX {
            return Err(bad());
        }
        let fields: Vec<&str> = value.split(';').collect();
        let keys = ["s", "i", "b", "m", "t", "x"];
        if fields.len() != keys.len() {
            return Err(bad());
        }
        for (field, key) in fields.iter().zip(keys) {
            let hex = field
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix('='))
                .ok_or_else(bad)?;
            let long = matches!(key, "s" | "b");
            let len_ok = if long {
                hex.len() == 32
            } else {
                (1..=16).contains(&hex.len())
            };
            if !len_ok
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(bad());
            }
        }
        Ok(JournalCursor(value.to_string()))
    }
}

macro_rules! arg_value {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl ArgValue for $t {
            fn as_arg(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
arg_value!(UnitName, UserName, PackageName, AbsPath, JournalCursor);

#[cfg(test)]
mod tests {
    use super::*;

    type Parser = fn(&str, &str) -> Result<(), ToolError>;
    fn unit(a: &str, v: &str) -> Result<(), ToolError> {
        UnitName::parse(a, v).map(|_| ())
    }
    fn user(a: &str, v: &str) -> Result<(), ToolError> {
        UserName::parse(a, v).map(|_| ())
    }
    fn package(a: &str, v: &str) -> Result<(), ToolError> {
        PackageName::parse(a, v).map(|_| ())
    }
    fn path(a: &str, v: &str) -> Result<(), ToolError> {
        AbsPath::parse(a, v).map(|_| ())
    }
    fn cursor(a: &str, v: &str) -> Result<(), ToolError> {
        JournalCursor::parse(a, v).map(|_| ())
    }

    const CURSOR: &str = "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8b343edaf3d3b7ba9e8b6e6;m=5d2f3e1;t=4e0a1ac2d4e5c;x=f9b2c5d8d1e9c5a4";

    /// One line per case: parser, value, accepted?, a piece of the error.
    #[test]
    fn decision_table() {
        let long = "a".repeat(10 * 1024);
        #[rustfmt::skip]
        let cases: &[(Parser, &str, bool, &str)] = &[
            (unit, "nginx.service", true, ""),
            (unit, "getty@tty1.service", true, ""),
            (unit, "systemd-journald", true, ""),
            (unit, "dev-disk-by\\x2duuid.device", true, ""),
            (unit, "-rf", false, "must not start with `-`"),
            (unit, "--output=/x", false, "must not start with `-`"),
            (unit, "$(id)", false, "contains `$`"),
            (unit, "a;b", false, "contains `;`"),
            (unit, ";", false, "contains `;`"),
            (unit, "a\nb", false, "byte 0x0a"),
            (unit, "a\0b", false, "byte 0x00"),
            (unit, "../etc", false, "contains `/`"),
            (unit, "..service", false, "not valid"),
            (unit, "a b", false, "byte 0x20"),
            (unit, "*.service", false, "contains `*`"),
            (unit, "", false, "must not be empty"),
            (unit, &long, false, "10240 bytes long"),
            (user, "www-data", true, ""),
            (user, "_apt", true, ""),
            (user, "machine$", true, ""),
            (user, "Root", false, "contains `R`"),
            (user, "-rf", false, "must not start with `-`"),
            (user, "1abc", false, "not valid"),
            (user, "a$b", false, "not valid"),
            (package, "libc6", true, ""),
            (package, "g++-12", true, ""),
            (package, "python3.11", true, ""),
            (package, "--output=/x", false, "must not start with `-`"),
            (package, "a;rm", false, "contains `;`"),
            (package, "$(id)", false, "contains `$`"),
            (package, ".hidden", false, "not valid"),
            (path, "/var/log/journal", true, ""),
            (path, "/tmp/a-b_c.d", true, ""),
            (path, "relative/x", false, "must be absolute"),
            (path, "/var/../etc/shadow", false, "`..`"),
            (path, "../", false, "must be absolute"),
            (path, "/a/./b", false, "`.`"),
            (path, "/a\nb", false, "byte 0x0a"),
            (path, "/a\0b", false, "byte 0x00"),
            (path, "/$(id)", false, "contains `$`"),
            (path, "-rf", false, "must not start with `-`"),
            (cursor, CURSOR, true, ""),
            (cursor, "s=1;i=2", false, "not a cursor"),
            (cursor, &CURSOR.replace("s=7", "s=X"), false, "not a cursor"),
            (cursor, &format!("{CURSOR};x=1"), false, "not a cursor"),
            (cursor, &CURSOR.replace(";i=", ";j="), false, "not a cursor"),
            (cursor, &format!("{CURSOR}\n"), false, "not a cursor"),
            (cursor, "--after-cursor=x", false, "not a cursor"),
            (cursor, &long, false, "not a cursor"),
        ];
        for (i, (parse, value, ok, err)) in cases.iter().enumerate() {
            match parse("arg", value) {
                Ok(()) => assert!(ok, "case {i} ({}) was accepted", echo(value, 40)),
                Err(e) => {
                    assert!(!ok, "case {i} ({value}) was refused: {e}");
                    let text = e.to_string();
                    assert!(text.contains("`arg`"), "case {i}: {text}");
                    assert!(text.contains(err), "case {i}: {text}");
                }
            }
        }
    }
}

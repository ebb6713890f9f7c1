#![forbid(unsafe_code)]
//! Path globs for `scopes.logs_app.allowed_paths` / `denied_paths`: absolute patterns matched
//! component by component. In a component, `*` matches any run of characters, `?` one
//! character, `[abc]`, `[a-z]` and `[!a-z]` (or `[^a-z]`) one character of a set; none of them
//! matches `/` or a leading `.` (so `*.log` does not match `.hidden.log`). `**` is refused.
//! Components may not be empty, `.` or `..`.

use std::path::{Path, PathBuf};

/// Longest pattern accepted.
pub const MAX_PATTERN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    components: Vec<String>,
    /// How many leading components are literal (no `*`, `?` or `[`).
    literal: usize,
}

fn is_literal(c: &str) -> bool {
    !c.contains(['*', '?', '['])
}

impl Glob {
    pub fn parse(text: &str) -> Result<Glob, String> {
        if text.len() > MAX_PATTERN {
            return Err(format!("is longer than {MAX_PATTERN} bytes"));
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err("must be an absolute path (start with `/`)".into());
        };
        if text.contains('\0') {
            return Err("contains a NUL byte".into());
        }
        let components: Vec<String> = rest.split('/').map(str::to_owned).collect();
        for c in &components {
            match c.as_str() {
                "" => return Err("has an empty path component (`//` or a trailing `/`)".into()),
                "." | ".." => return Err(format!("has a `{c}` component")),
                _ if c.contains("**") => {
                    return Err(
                        "uses `**`, which is not supported (list each directory level)".into(),
                    );
                }
                _ => check_brackets(c)?,
            }
        }
        let literal = components.iter().take_while(|c| is_literal(c)).count();
        Ok(Glob {
            text: text.to_owned(),
            components,
            literal,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The fixed directory the pattern lives under: its literal leading components, never the
    /// last one (the file name). Files are opened beneath it and never outside.
    pub fn root(&self) -> PathBuf {
        let n = self.literal.min(self.components.len() - 1);
        let mut p = PathBuf::from("/");
        for c in &self.components[..n] {
            p.push(c);
        }
        p
    }

    /// The components below [`Glob::root`].
    pub fn below_root(&self) -> &[String] {
        &self.components[self.literal.min(self.components.len() - 1)..]
    }

    /// Whether `path` (absolute, as text) matches.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        parts.len() == self.components.len()
            && parts
                .iter()
                .zip(&self.components)
                .all(|(p, g)| component_matches(g, p))
    }

    /// Whether one name at depth `depth` below the root matches the pattern there.
    pub fn component_matches_below_root(&self, depth: usize, name: &str) -> bool {
        self.below_root()
            .get(depth)
            .is_some_and(|g| component_matches(g, name))
    }
}

fn check_brackets(c: &str) -> Result<(), String> {
    let b: Vec<char> = c.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '[' {
            match class_end(&b, i) {
                Some(end) => i = end,
                None => return Err(format!("has an unclosed `[` in `{c}`")),
            }
        } else if b[i] == ']' {
            return Err(format!("has a `]` without `[` in `{c}`"));
        }
        i += 1;
    }
    Ok(())
}

/// The index of the `]` closing the class that opens at `b[start]`.
fn class_end(b: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(b.get(i), Some('!' | '^')) {
        i += 1;
    }
    // A `]` right after the opening (or its negation) is a member.
    if b.get(i) == Some(&']') {
        i += 1;
    }
    while i < b.len() {
        if b[i] == ']' {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negated, set) = match class.first() {
        Some('!' | '^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == '-' {
            hit |= set[i] <= c && c <= set[i + 2];
            i += 3;
        } else {
            hit |= set[i] == c;
            i += 1;
        }
    }
    hit != negated
}

/// One pattern component against one name: iterative matching with one backtrack point for the
/// last `*` (linear in practice, quadratic at worst; both are short).
fn component_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => class_end(&p, pi)
                .filter(|end| class_matches(&p[pi + 1..*end], n[ni]))
                .map(|end| end + 1),
            Some(c) if *c == n[ni] => Some(pi + 1),
            _ => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `path` has only normal components (no `.`, `..`, empty ones), is absolute, and is
/// valid text: the shape every allowed path has.
pub fn is_plain_absolute(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    }) && !path.contains('\0')
        && Path::new(path).is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Glob {
        Glob::parse(s).unwrap()
    }

    #[test]
    fn parse_refusals() {
        for (bad, why) in [
            ("var/log/*.log", "absolute"),
            ("/var//log", "empty"),
            ("/var/log/", "empty"),
            ("/var/../etc/*", "`..`"),
            ("/var/./log", "`.`"),
            ("/var/**/x.log", "`**`"),
            ("/var/log/[ab.log", "unclosed"),
            ("/var/log/a].log", "without"),
        ] {
            let e = Glob::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn roots() {
        assert_eq!(
            g("/var/log/nginx/*.log").root(),
            Path::new("/var/log/nginx")
        );
        assert_eq!(g("/var/log/*/access.log").root(), Path::new("/var/log"));
        assert_eq!(g("/var/log/app.log").root(), Path::new("/var/log"));
        assert_eq!(g("/x").root(), Path::new("/"));
        assert_eq!(g("/var/log/*/access.log").below_root(), ["*", "access.log"]);
    }

    #[test]
    fn matching() {
        let m = |p: &str, s: &str| g(p).matches(s);
        assert!(m("/var/log/*.log", "/var/log/a.log"));
        assert!(!m("/var/log/*.log", "/var/log/.log"));
        assert!(!m("/var/log/*.log", "/var/log/.hidden.log"));
        assert!(!m("/var/log/*.log", "/var/log/sub/a.log"));
        assert!(!m("/var/log/*.log", "/var/log/a.log.1"));
        assert!(m("/var/log/*.log*", "/var/log/a.log.1"));
        assert!(m("/var/log/app-?.log", "/var/log/app-1.log"));
        assert!(!m("/var/log/app-?.log", "/var/log/app-12.log"));
        assert!(m("/var/log/app-[0-9].log", "/var/log/app-7.log"));
        assert!(!m("/var/log/app-[!0-9].log", "/var/log/app-7.log"));
        assert!(m("/var/log/app-[^0-9].log", "/var/log/app-x.log"));
        assert!(m("/var/log/[]]x", "/var/log/]x"));
        assert!(m("/var/log/*/access.log", "/var/log/nginx/access.log"));
        assert!(!m("/var/log/*/access.log", "/var/log/access.log"));
        assert!(m("/a/*b*c*", "/a/xxbyyczz"));
        assert!(!m("/a/*b*c", "/a/xxbyyczz"));
        assert!(m("/a/é?", "/a/éü"));
        assert!(!m("/var/log/*.log", "var/log/a.log"));
        // A long name against many stars stays fast (one backtrack point).
        let long = format!("/a/{}", "a".repeat(4000));
        assert!(!m("/a/*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn plain_paths() {
        assert!(is_plain_absolute("/var/log/a.log"));
        for bad in [
            "var/log",
            "/var/../x",
            "/var/./x",
            "/var//x",
            "/",
            "/x/",
            "/a\0b",
        ] {
            assert!(!is_plain_absolute(bad), "{bad:?}");
        }
    }
}

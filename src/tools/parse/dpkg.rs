#![forbid(unsafe_code)]
//! dpkg's database, `/var/lib/dpkg/status` (`deb822(5)` stanzas; the fields of
//! `deb-control(5)`), read as a stream: one [`Entry`] per stanza, never the whole file.
//!
//! A stanza is listed as installed when its `Status` (`want flag state`) has the state
//! `installed` and the flag `ok`, whatever the want (`install`, `hold`, `deinstall`: a package
//! marked for removal is still installed). Every other state (`config-files`, `half-installed`,
//! `unpacked`, `half-configured`, `triggers-awaited`, `triggers-pending`, `not-installed`) and
//! the `reinstreq` flag give [`Entry::Other`]. A stanza without a valid `Package`, `Status`,
//! `Version` or `Architecture` gives [`Entry::Skipped`] with the reason; an unusable optional
//! field (`Source`, `Installed-Size`) is left out and named in [`Package::dropped`].

use super::package::{
    Entry, Package, Records, StanzaFormat, State, ascii, is_arch, is_name, is_version, size, text,
    value,
};
use super::stanza::{Stanza, Syntax};

const FIELDS: &[&[u8]] = &[
    b"Package",
    b"Status",
    b"Version",
    b"Architecture",
    b"Source",
    b"Installed-Size",
    b"Maintainer",
    b"Description",
];
const PACKAGE: usize = 0;
const STATUS: usize = 1;
const VERSION: usize = 2;
const ARCH: usize = 3;
const SOURCE: usize = 4;
const SIZE: usize = 5;
const MAINTAINER: usize = 6;
const DESCRIPTION: usize = 7;

/// dpkg's status file, for [`Records`].
#[derive(Debug)]
pub struct Dpkg;

impl StanzaFormat for Dpkg {
    const SYNTAX: Syntax = Syntax {
        fields: FIELDS,
        deb822: true,
    };

    fn entry(s: &Stanza) -> Entry {
        entry(s)
    }
}

/// The entries of a dpkg status file, one per stanza, in file order.
pub type Status<R> = Records<R, Dpkg>;

/// Every entry of a status file held in memory (tests and the fuzz target).
pub fn parse_status(bytes: &[u8]) -> Vec<Entry> {
    Status::new(bytes).filter_map(Result::ok).collect()
}

/// `want flag state`: `Some(None)` when installed, `Some(Some(state))` for any other state,
/// `None` when it is not a dpkg status.
fn state(status: &[u8]) -> Option<Option<State>> {
    let mut words = status
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty());
    let (want, flag, state) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some()
        || !matches!(
            want,
            b"unknown" | b"install" | b"hold" | b"deinstall" | b"purge"
        )
    {
        return None;
    }
    let state = match state {
        b"installed" => None,
        b"not-installed" => Some(State::NotInstalled),
        b"config-files" => Some(State::ConfigFiles),
        b"half-installed" => Some(State::HalfInstalled),
        b"unpacked" => Some(State::Unpacked),
        b"half-configured" => Some(State::HalfConfigured),
        b"triggers-awaited" => Some(State::TriggersAwaited),
        b"triggers-pending" => Some(State::TriggersPending),
        _ => return None,
    };
    match flag {
        b"ok" => Some(state),
        b"reinstreq" => Some(Some(State::ReinstallRequired)),
        _ => None,
    }
}

fn entry(s: &Stanza) -> Entry {
    let Some(pkg) = value(s, PACKAGE) else {
        return Entry::skipped(s.line, None, "stanza without a Package field");
    };
    if pkg.cut || !is_name(&pkg.value) {
        return Entry::skipped(s.line, None, "Package is not a valid package name");
    }
    let name = ascii(&pkg.value);
    if let Some(d) = s.duplicate {
        let field = String::from_utf8_lossy(FIELDS[d]);
        return Entry::skipped(s.line, Some(name), format!("field {field} appears twice"));
    }
    let Some(status) = value(s, STATUS) else {
        return Entry::skipped(s.line, Some(name), "stanza without a Status field");
    };
    let st = match state(&status.value) {
        Some(st) if !status.cut => st,
        _ => {
            return Entry::skipped(
                s.line,
                Some(name),
                "Status is not `want flag state` in dpkg's words",
            );
        }
    };
    if let Some(state) = st {
        return Entry::Other {
            name: Some(name),
            state,
        };
    }
    let version = match value(s, VERSION) {
        Some(v) if !v.cut && is_version(&v.value) => ascii(&v.value),
        Some(_) => {
            return Entry::skipped(s.line, Some(name), "Version is not a valid version");
        }
        None => {
            return Entry::skipped(s.line, Some(name), "installed package without a Version");
        }
    };
    let arch = match value(s, ARCH) {
        Some(v) if !v.cut && is_arch(&v.value) => ascii(&v.value),
        Some(_) => {
            return Entry::skipped(
                s.line,
                Some(name),
                "Architecture is not a valid architecture",
            );
        }
        None => {
            return Entry::skipped(
                s.line,
                Some(name),
                "installed package without an Architecture",
            );
        }
    };
    let mut dropped = Vec::new();
    let (mut source, mut source_version) = (None, None);
    if let Some(src) = value(s, SOURCE) {
        match parse_source(&src.value).filter(|_| !src.cut) {
            Some((n, v)) => {
                source = Some(ascii(n));
                source_version = v.map(ascii).filter(|v| *v != version);
            }
            None => dropped.push("Source is not `name` or `name (version)`"),
        }
    }
    let installed_bytes = value(s, SIZE).and_then(|v| {
        let n = size(&v.value, 1024);
        if n.is_none() {
            dropped.push("Installed-Size is not a number of KiB");
        }
        n
    });
    Entry::Installed(Package {
        name,
        version,
        arch,
        source,
        source_version,
        installed_bytes,
        maintainer: value(s, MAINTAINER).and_then(|v| text(&v.value)),
        summary: value(s, DESCRIPTION).and_then(|v| text(&v.value)),
        line: s.line,
        dropped,
    })
}

/// `name` or `name (version)`.
fn parse_source(v: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let Some(sp) = v.iter().position(|b| *b == b' ') else {
        return is_name(v).then_some((v, None));
    };
    let (name, rest) = (&v[..sp], super::stanza::trim(&v[sp..]));
    let ver = rest.strip_prefix(b"(")?.strip_suffix(b")")?;
    let ver = super::stanza::trim(ver);
    (is_name(name) && is_version(ver)).then_some((name, Some(ver)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::package::installed;

    const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/sbom/dpkg/var/lib/dpkg/status");

    #[test]
    fn the_fixture_has_every_kind_of_stanza() {
        let e = parse_status(FIXTURE);
        let ok = installed(&e);
        let names: Vec<&str> = ok.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "base-files",
                "libc6",
                "libc6",
                "libstdc++6",
                "held-pkg",
                "leaving-pkg"
            ]
        );
        let libc = ok[1];
        assert_eq!(libc.version, "2.36-9+deb12u4");
        assert_eq!(libc.arch, "amd64");
        assert_eq!(libc.source.as_deref(), Some("glibc"));
        assert_eq!(libc.source_version, None);
        assert_eq!(libc.installed_bytes, Some(12_987 * 1024));
        assert_eq!(
            libc.maintainer.as_deref(),
            Some("GNU Libc Maintainers <debian-glibc@lists.debian.org>")
        );
        assert_eq!(
            libc.summary.as_deref(),
            Some("GNU C Library: Shared libraries")
        );
        assert_eq!(ok[2].arch, "i386");
        let cxx = ok[3];
        assert_eq!(cxx.version, "12.2.0-14");
        assert_eq!(cxx.source.as_deref(), Some("gcc-12"));
        assert_eq!(cxx.source_version.as_deref(), Some("12.2.0-14+b1"));
        assert!(ok[0].dropped.is_empty());
        assert_eq!(ok[4].dropped, ["Installed-Size is not a number of KiB"]);
        assert_eq!(ok[4].installed_bytes, None);
        let others: Vec<(Option<&str>, State)> = e
            .iter()
            .filter_map(|e| match e {
                Entry::Other { name, state } => Some((name.as_deref(), *state)),
                _ => None,
            })
            .collect();
        assert_eq!(
            others,
            [
                (Some("removed-pkg"), State::ConfigFiles),
                (Some("broken-pkg"), State::HalfConfigured),
                (Some("partial-pkg"), State::HalfInstalled),
                (Some("reinst-pkg"), State::ReinstallRequired),
                (Some("trig-pkg"), State::TriggersPending),
            ]
        );
        let reasons: Vec<(u64, Option<&str>, &str)> = e
            .iter()
            .filter_map(|e| match e {
                Entry::Skipped(p) => Some((p.line, p.package.as_deref(), p.reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            [
                (94, None, "stanza without a Package field"),
                (
                    98,
                    Some("no-version"),
                    "installed package without a Version"
                ),
                (102, Some("bad-version"), "Version is not a valid version"),
                (107, Some("twice"), "field Version appears twice"),
                (113, None, "Package is not a valid package name"),
                (
                    118,
                    Some("odd-status"),
                    "Status is not `want flag state` in dpkg's words"
                ),
            ]
        );
    }

    #[test]
    fn hostile_input_is_bounded_and_total() {
        // A 10 MB field, no trailing newline.
        let mut big = b"Package: big\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nDescription: ".to_vec();
        big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        let e = parse_status(&big);
        let Entry::Installed(p) = &e[0] else {
            panic!("{e:?}")
        };
        assert_eq!(
            p.summary.as_ref().unwrap().len(),
            super::super::stanza::MAX_LINE - "Description: ".len()
        );
        // A huge version is refused, not cut.
        let mut v =
            b"Package: v\nStatus: install ok installed\nArchitecture: all\nVersion: 1".to_vec();
        v.extend(std::iter::repeat_n(b'0', 100_000));
        assert!(
            matches!(&parse_status(&v)[0], Entry::Skipped(p) if p.reason == "Version is not a valid version")
        );
        // Binary and invalid UTF-8.
        let bin: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        for e in parse_status(&bin) {
            assert!(!matches!(e, Entry::Installed(_)), "{e:?}");
        }
        let latin1 = b"Package: l\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nMaintainer: Ren\xe9\n";
        let Entry::Installed(p) = &parse_status(latin1)[0] else {
            panic!()
        };
        assert_eq!(p.maintainer.as_deref(), Some("Ren\u{fffd}"));
        // A filter-like name is not a package name.
        let dash = b"Package: -rf\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n";
        assert!(matches!(&parse_status(dash)[0], Entry::Skipped(_)));
        assert!(parse_status(b"").is_empty());
        assert!(parse_status(b"\n \n\t\n").is_empty());
    }

    #[test]
    fn sources() {
        assert_eq!(parse_source(b"glibc"), Some((&b"glibc"[..], None)));
        assert_eq!(
            parse_source(b"gcc-12 ( 12.2.0-14 )"),
            Some((&b"gcc-12"[..], Some(&b"12.2.0-14"[..])))
        );
        assert_eq!(parse_source(b"a (1"), None);
        assert_eq!(parse_source(b"-a"), None);
        assert_eq!(parse_source(b"a b"), None);
    }
}

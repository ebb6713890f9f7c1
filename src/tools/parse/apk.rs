#![forbid(unsafe_code)]
//! Alpine's installed database, `/lib/apk/db/installed` (apk-tools' "package info" format: one
//! record per package, lines of one letter, a colon and a value, records separated by an empty
//! line), read as a stream: one [`Entry`] per record, never the whole file.
//!
//! Fields used: `P` name, `V` version, `A` architecture, `o` origin (the source package),
//! `I` installed size in bytes, `m` maintainer, `T` description. Every record in this file is
//! an installed package; one without a valid `P`, `V` or `A` gives [`Entry::Skipped`].

use super::package::{
    Entry, Package, Records, StanzaFormat, ascii, is_arch, is_name, is_version, size, text, value,
};
use super::stanza::{Stanza, Syntax};

const FIELDS: &[&[u8]] = &[b"P", b"V", b"A", b"o", b"I", b"m", b"T"];
const NAME: usize = 0;
const VERSION: usize = 1;
const ARCH: usize = 2;
const ORIGIN: usize = 3;
const SIZE: usize = 4;
const MAINTAINER: usize = 5;
const DESCRIPTION: usize = 6;

/// apk's installed database, for [`Records`].
#[derive(Debug)]
pub struct Apk;

impl StanzaFormat for Apk {
    const SYNTAX: Syntax = Syntax {
        fields: FIELDS,
        deb822: false,
    };

    fn entry(s: &Stanza) -> Entry {
        entry(s)
    }
}

/// The entries of an apk installed database, one per record, in file order.
pub type Installed<R> = Records<R, Apk>;

/// Every entry of a database held in memory (tests and the fuzz target).
pub fn parse_installed(bytes: &[u8]) -> Vec<Entry> {
    Installed::new(bytes).filter_map(Result::ok).collect()
}

fn entry(s: &Stanza) -> Entry {
    let name = match value(s, NAME) {
        Some(v) if !v.cut && is_name(&v.value) => ascii(&v.value),
        Some(_) => return Entry::skipped(s.line, None, "P: is not a valid package name"),
        None => return Entry::skipped(s.line, None, "record without a P: (name) line"),
    };
    if let Some(d) = s.duplicate {
        let reason = format!("line {}: appears twice", char::from(FIELDS[d][0]));
        return Entry::skipped(s.line, Some(name), reason);
    }
    let version = match value(s, VERSION) {
        Some(v) if !v.cut && is_version(&v.value) => ascii(&v.value),
        Some(_) => return Entry::skipped(s.line, Some(name), "V: is not a valid version"),
        None => return Entry::skipped(s.line, Some(name), "record without a V: (version) line"),
    };
    let arch = match value(s, ARCH) {
        Some(v) if !v.cut && is_arch(&v.value) => ascii(&v.value),
        Some(_) => return Entry::skipped(s.line, Some(name), "A: is not a valid architecture"),
        None => {
            return Entry::skipped(
                s.line,
                Some(name),
                "record without an A: (architecture) line",
            );
        }
    };
    let mut dropped = Vec::new();
    let source = value(s, ORIGIN).and_then(|v| {
        let ok = !v.cut && is_name(&v.value);
        if !ok {
            dropped.push("o: (origin) is not a valid package name");
        }
        ok.then(|| ascii(&v.value))
    });
    let installed_bytes = value(s, SIZE).and_then(|v| {
        let n = size(&v.value, 1);
        if n.is_none() {
            dropped.push("I: (installed size) is not a number of bytes");
        }
        n
    });
    Entry::Installed(Package {
        name,
        version,
        arch,
        source,
        source_version: None,
        installed_bytes,
        maintainer: value(s, MAINTAINER).and_then(|v| text(&v.value)),
        summary: value(s, DESCRIPTION).and_then(|v| text(&v.value)),
        line: s.line,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::package::installed;

    const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/sbom/apk/lib/apk/db/installed");

    #[test]
    fn the_fixture_parses() {
        let e = parse_installed(FIXTURE);
        let ok = installed(&e);
        let names: Vec<&str> = ok.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["musl", "busybox", "libcrypto3", "py3-Pillow"]);
        let musl = ok[0];
        assert_eq!(musl.version, "1.2.4_git20230717-r4");
        assert_eq!(musl.arch, "x86_64");
        assert_eq!(musl.source.as_deref(), Some("musl"));
        assert_eq!(musl.installed_bytes, Some(622_592));
        assert_eq!(
            musl.maintainer.as_deref(),
            Some("Timo Teräs <timo.teras@iki.fi>")
        );
        assert_eq!(
            musl.summary.as_deref(),
            Some("the musl c library (libc) implementation")
        );
        assert_eq!(ok[2].source.as_deref(), Some("openssl"));
        assert_eq!(
            ok[3].dropped,
            ["I: (installed size) is not a number of bytes"]
        );
        let skipped: Vec<(u64, Option<&str>, &str)> = e
            .iter()
            .filter_map(|e| match e {
                Entry::Skipped(p) => Some((p.line, p.package.as_deref(), p.reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (46, None, "record without a P: (name) line"),
                (
                    50,
                    Some("noarch"),
                    "record without an A: (architecture) line"
                ),
                (53, Some("dup"), "line V: appears twice"),
            ]
        );
    }

    #[test]
    fn hostile_input_is_bounded_and_total() {
        let mut big = b"P:big\nV:1-r0\nA:x86_64\nT:".to_vec();
        big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        let Entry::Installed(p) = &parse_installed(&big)[0] else {
            panic!()
        };
        assert_eq!(
            p.summary.as_ref().unwrap().len(),
            super::super::stanza::MAX_LINE - 2
        );
        let bin: Vec<u8> = (0..=255u8).rev().cycle().take(100_000).collect();
        for e in parse_installed(&bin) {
            assert!(!matches!(e, Entry::Installed(_)), "{e:?}");
        }
        assert!(matches!(
            &parse_installed(b"P:-x\nV:1\nA:x\n")[0],
            Entry::Skipped(_)
        ));
        assert!(parse_installed(b"").is_empty());
    }
}

#![forbid(unsafe_code)]
//! The output of `rpm -qa --queryformat` with [`QUERY_FORMAT`]: one line per package, seven
//! tab-separated fields, read as a stream: one [`Entry`] per line.
//!
//! Only fields that rpm itself restricts to a token (no whitespace) are asked for: a free-text
//! field such as `SUMMARY` or `VENDOR` may contain a newline, and a package could then forge a
//! whole line (a package that is not installed, or hide one that is). So rpm packages have no
//! summary or maintainer here. `gpg-pubkey` records (imported signing keys) give
//! [`Entry::Other`] with [`State::SigningKey`]; a line that is not seven valid fields gives
//! [`Entry::Skipped`].

use std::io::{self, BufRead};

use super::package::{Entry, Package, State, ascii, is_arch, is_name, is_version, size};
use super::stanza::{Lines, MAX_LINE};

/// The query format rpm is run with: name, epoch (`(none)` when unset), version, release,
/// architecture (`(none)` for `gpg-pubkey`), installed size in bytes, source rpm file name.
pub const QUERY_FORMAT: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{LONGSIZE}\\t%{SOURCERPM}\\n";

/// The entries of rpm's query output, one per line, in output order.
#[derive(Debug)]
pub struct Query<R> {
    lines: Lines<R>,
}

impl<R: BufRead> Query<R> {
    pub fn new(reader: R) -> Query<R> {
        Query {
            lines: Lines::new(reader, MAX_LINE),
        }
    }
}

impl<R: BufRead> Iterator for Query<R> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<io::Result<Entry>> {
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if line.text.is_empty() {
                continue;
            }
            let (number, cut) = (line.number, line.cut);
            return Some(Ok(entry(line.text, number, cut)));
        }
    }
}

/// Every entry of query output held in memory (tests and the fuzz target).
pub fn parse_query(bytes: &[u8]) -> Vec<Entry> {
    Query::new(bytes).filter_map(Result::ok).collect()
}

const NONE: &[u8] = b"(none)";

fn entry(text: &[u8], line: u64, cut: bool) -> Entry {
    let f: Vec<&[u8]> = text.split(|b| *b == b'\t').collect();
    if cut || f.len() != 7 {
        return Entry::skipped(line, None, "not a line of seven tab-separated fields");
    }
    let (name, epoch, ver, rel, arch, sz, srpm) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    if !is_name(name) {
        return Entry::skipped(line, None, "NAME is not a valid package name");
    }
    let name = ascii(name);
    if name == "gpg-pubkey" {
        return Entry::Other {
            name: Some(name),
            state: State::SigningKey,
        };
    }
    let epoch = if epoch == NONE {
        None
    } else if epoch.len() <= 10 && !epoch.is_empty() && epoch.iter().all(u8::is_ascii_digit) {
        Some(ascii(epoch))
    } else {
        return Entry::skipped(line, Some(name), "EPOCH is not a number or (none)");
    };
    // rpm forbids `-` and `:` in a version or release (`-` separates them in N-V-R).
    let part = |b: &[u8]| is_version(b) && !b.contains(&b'-') && !b.contains(&b':');
    if !part(ver) || !part(rel) {
        return Entry::skipped(
            line,
            Some(name),
            "VERSION or RELEASE is not a valid version",
        );
    }
    if !is_arch(arch) {
        return Entry::skipped(line, Some(name), "ARCH is not a valid architecture");
    }
    let mut version = String::new();
    if let Some(e) = &epoch {
        version.push_str(e);
        version.push(':');
    }
    version.push_str(&ascii(ver));
    version.push('-');
    version.push_str(&ascii(rel));
    if !is_version(version.as_bytes()) {
        return Entry::skipped(
            line,
            Some(name),
            "EPOCH:VERSION-RELEASE is longer than 256 bytes",
        );
    }
    let mut dropped = Vec::new();
    let installed_bytes = size(sz, 1);
    if installed_bytes.is_none() {
        dropped.push("LONGSIZE is not a number of bytes");
    }
    let (mut source, mut source_version) = (None, None);
    if srpm != NONE {
        match source_rpm(srpm) {
            Some((n, v)) => {
                source = Some(ascii(n));
                source_version = Some(v);
            }
            None => dropped.push("SOURCERPM is not NAME-VERSION-RELEASE.src.rpm"),
        }
    }
    Entry::Installed(Package {
        name,
        version,
        arch: ascii(arch),
        source,
        source_version,
        installed_bytes,
        maintainer: None,
        summary: None,
        line,
        dropped,
    })
}

/// `name-version-release.src.rpm` (or `.nosrc.rpm`) → (name, `version-release`).
fn source_rpm(b: &[u8]) -> Option<(&[u8], String)> {
    let stem = b
        .strip_suffix(b".src.rpm")
        .or_else(|| b.strip_suffix(b".nosrc.rpm"))?;
    let r = stem.iter().rposition(|c| *c == b'-')?;
    let v = stem[..r].iter().rposition(|c| *c == b'-')?;
    let (name, ver, rel) = (&stem[..v], &stem[v + 1..r], &stem[r + 1..]);
    let part = |b: &[u8]| is_version(b) && !b.contains(&b':');
    (is_name(name) && part(ver) && part(rel))
        .then(|| (name, format!("{}-{}", ascii(ver), ascii(rel))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::package::installed;

    const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/sbom/rpm/query.txt");

    #[test]
    fn the_fixture_parses() {
        let e = parse_query(FIXTURE);
        let ok = installed(&e);
        let got: Vec<(&str, &str, &str)> = ok
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("bash", "5.2.26-3.fc40", "x86_64"),
                ("openssl-libs", "1:3.2.1-2.fc40", "x86_64"),
                ("libstdc++", "14.0.1-0.15.fc40", "x86_64"),
                ("kernel-core", "6.8.5-301.fc40", "x86_64"),
                ("kernel-core", "6.8.9-300.fc40", "x86_64"),
                ("perl-Text-Tabs+Wrap", "2024.001-1.fc40", "noarch"),
                ("tzdata", "2024a-5.fc40", "noarch"),
            ]
        );
        let ssl = ok[1];
        assert_eq!(ssl.source.as_deref(), Some("openssl"));
        assert_eq!(ssl.source_version.as_deref(), Some("3.2.1-2.fc40"));
        assert_eq!(ssl.installed_bytes, Some(7_884_566));
        assert_eq!(
            ok[6].dropped,
            ["SOURCERPM is not NAME-VERSION-RELEASE.src.rpm"]
        );
        assert!(e.contains(&Entry::Other {
            name: Some("gpg-pubkey".into()),
            state: State::SigningKey
        }));
        let skipped: Vec<(u64, &str)> = e
            .iter()
            .filter_map(|e| match e {
                Entry::Skipped(p) => Some((p.line, p.reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (9, "not a line of seven tab-separated fields"),
                (10, "VERSION or RELEASE is not a valid version"),
                (11, "EPOCH is not a number or (none)"),
                (12, "NAME is not a valid package name"),
            ]
        );
    }

    #[test]
    fn hostile_input_is_bounded_and_total() {
        let mut big = b"a\t(none)\t1\t1\tx86_64\t1\t".to_vec();
        big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        assert!(matches!(&parse_query(&big)[..], [Entry::Skipped(_)]));
        let bin: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        for e in parse_query(&bin) {
            assert!(!matches!(e, Entry::Installed(_)), "{e:?}");
        }
        assert!(parse_query(b"").is_empty());
        // Version and release each fit, together they do not (found by the fuzzer).
        let long = format!(
            "a\t(none)\t{}\t{}\tnoarch\t0\t(none)",
            "1".repeat(200),
            "2".repeat(200)
        );
        assert!(matches!(
            &parse_query(long.as_bytes())[..],
            [Entry::Skipped(p)] if p.reason == "EPOCH:VERSION-RELEASE is longer than 256 bytes"
        ));
        // No trailing newline.
        assert!(matches!(
            &parse_query(b"a\t(none)\t1\t2\tnoarch\t0\t(none)")[..],
            [Entry::Installed(p)] if p.version == "1-2"
        ));
    }

    #[test]
    fn source_rpms() {
        assert_eq!(
            source_rpm(b"gcc-14.0.1-0.15.fc40.src.rpm"),
            Some((&b"gcc"[..], "14.0.1-0.15.fc40".to_string()))
        );
        assert_eq!(source_rpm(b"a-b-c-1-2.nosrc.rpm").unwrap().0, b"a-b-c");
        assert_eq!(source_rpm(b"nodash.src.rpm"), None);
        assert_eq!(source_rpm(b"-1-2.src.rpm"), None);
        assert_eq!(source_rpm(b"x-1-2.rpm"), None);
    }
}

//! The property the package-database targets (apk, dpkg, rpm) share, included by each with
//! `#[path]`: one target per format, one check for all three parsers, which produce the same
//! [`Entry`] stream.

use std::io;

use sysgate::testing::tools::parse::package::{Entry, is_arch, is_name, is_version};
use sysgate::testing::tools::parse::stanza::MAX_LINE;

/// No panic (the caller has parsed already); every installed package has a valid name, version
/// and architecture, and free text no longer than a kept line; line numbers never go back; the
/// entries read through `chunked` (a tiny buffer over the same bytes) equal `all`, read from
/// memory.
pub fn check(all: &[Entry], chunked: impl Iterator<Item = io::Result<Entry>>) {
    let mut last = 0;
    for e in all {
        let line = match e {
            Entry::Installed(p) => {
                assert!(is_name(p.name.as_bytes()), "{p:?}");
                assert!(is_version(p.version.as_bytes()), "{p:?}");
                assert!(is_arch(p.arch.as_bytes()), "{p:?}");
                for t in [&p.maintainer, &p.summary].into_iter().flatten() {
                    assert!(!t.is_empty() && t.chars().count() <= MAX_LINE, "{p:?}");
                }
                p.line
            }
            Entry::Other { name, .. } => {
                assert!(name.as_ref().is_none_or(|n| is_name(n.as_bytes())));
                last
            }
            Entry::Skipped(p) => {
                assert!(!p.reason.is_empty());
                p.line
            }
        };
        assert!(line >= last, "{line} < {last}");
        last = line;
    }
    let chunked: Vec<Entry> = chunked
        .map(|e| e.expect("reading memory cannot fail"))
        .collect();
    assert_eq!(chunked, all);
}

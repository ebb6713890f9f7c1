#![forbid(unsafe_code)]
//! What the package database parsers (`dpkg`, `apk`, `rpm`) produce: one [`Entry`] per
//! database record, and the checks they share. Names, versions and architectures are checked
//! against a strict character set, so what reaches a result or a purl is a plain token; free
//! text (maintainer, summary) is only decoded (invalid UTF-8 replaced).

use std::io::{self, BufRead};
use std::marker::PhantomData;

use super::stanza::{Slot, Stanza, Stanzas, Syntax};

/// Longest package name, version or source name accepted.
pub const MAX_TOKEN: usize = 256;
/// Longest architecture accepted.
pub const MAX_ARCH: usize = 64;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// As the package manager writes it: dpkg `[epoch:]upstream[-revision]`, apk
    /// `version-rN`, rpm `[epoch:]version-release`.
    pub version: String,
    pub arch: String,
    /// The source package (dpkg `Source`, apk origin `o:`, rpm `SOURCERPM`), when recorded.
    pub source: Option<String>,
    /// The source package's version, when it is recorded and differs from `version` (dpkg) or
    /// always when known (rpm).
    pub source_version: Option<String>,
    pub installed_bytes: Option<u64>,
    pub maintainer: Option<String>,
    /// One line: dpkg's description synopsis, apk's `T:`.
    pub summary: Option<String>,
    /// Line where its record starts.
    pub line: u64,
    /// Optional fields that were present but unusable, and why (the server's words).
    pub dropped: Vec<&'static str>,
}

/// A database record of a package that is not (fully) installed. dpkg's states are those of
/// `dpkg-query(1)`; `ReinstallRequired` is dpkg's `reinstreq` flag, whatever the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotInstalled,
    ConfigFiles,
    HalfInstalled,
    Unpacked,
    HalfConfigured,
    TriggersAwaited,
    TriggersPending,
    ReinstallRequired,
    /// rpm's `gpg-pubkey` records: imported signing keys, not software.
    SigningKey,
}

impl State {
    pub const ALL: [State; 9] = [
        State::NotInstalled,
        State::ConfigFiles,
        State::HalfInstalled,
        State::Unpacked,
        State::HalfConfigured,
        State::TriggersAwaited,
        State::TriggersPending,
        State::ReinstallRequired,
        State::SigningKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::NotInstalled => "not_installed",
            State::ConfigFiles => "config_files",
            State::HalfInstalled => "half_installed",
            State::Unpacked => "unpacked",
            State::HalfConfigured => "half_configured",
            State::TriggersAwaited => "triggers_awaited",
            State::TriggersPending => "triggers_pending",
            State::ReinstallRequired => "reinstall_required",
            State::SigningKey => "signing_key",
        }
    }

    /// Some of the package's files may be on disk (so a list without it is incomplete).
    pub fn has_files(self) -> bool {
        !matches!(
            self,
            State::NotInstalled | State::ConfigFiles | State::SigningKey
        )
    }
}

/// A record that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// The record's package name, when it had a valid one.
    pub package: Option<String>,
    /// Why (the server's words, never host text).
    pub reason: String,
}

/// One database record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Installed(Package),
    Other { name: Option<String>, state: State },
    Skipped(Problem),
}

impl Entry {
    /// A record left out, at `line`, with the server's reason (the one constructor the dpkg, apk
    /// and rpm parsers share).
    pub fn skipped(line: u64, package: Option<String>, reason: impl Into<String>) -> Entry {
        Entry::Skipped(Problem {
            line,
            package,
            reason: reason.into(),
        })
    }
}

/// A package name: 1 to [`MAX_TOKEN`] bytes, an ASCII letter or digit first, then letters,
/// digits and `. _ + ~ ^ -` (what dpkg, apk and rpm names use; never a leading `-`).
pub fn is_name(b: &[u8]) -> bool {
    token(b, MAX_TOKEN, b"._+~^-")
}

/// A version: as [`is_name`], plus `:` (epochs).
pub fn is_version(b: &[u8]) -> bool {
    token(b, MAX_TOKEN, b"._+~^:-")
}

/// An architecture: letters, digits, `_` and `-`, at most [`MAX_ARCH`] bytes.
pub fn is_arch(b: &[u8]) -> bool {
    token(b, MAX_ARCH, b"_-")
}

fn token(b: &[u8], max: usize, also: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || also.contains(c))
}

/// A checked token as a `String` (checked tokens are ASCII).
pub fn ascii(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Free text, invalid UTF-8 replaced; `None` when empty.
pub fn text(b: &[u8]) -> Option<String> {
    (!b.is_empty()).then(|| String::from_utf8_lossy(b).into_owned())
}

/// A decimal size in the given unit, as bytes; `None` when not a plain number or absurd
/// (over 2^50 bytes).
pub fn size(b: &[u8], unit: u64) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    n.checked_mul(unit).filter(|v| *v <= 1 << 50)
}

/// A package database made of stanzas (dpkg status, apk installed): how its lines are spelled
/// and what one stanza gives.
pub trait StanzaFormat {
    const SYNTAX: Syntax;
    fn entry(s: &Stanza) -> Entry;
}

/// The entries of a stanza database, one per stanza, in file order, read as a stream.
#[derive(Debug)]
pub struct Records<R, F> {
    stanzas: Stanzas<R>,
    format: PhantomData<F>,
}

impl<R: BufRead, F: StanzaFormat> Records<R, F> {
    pub fn new(reader: R) -> Records<R, F> {
        Records {
            stanzas: Stanzas::new(reader, F::SYNTAX),
            format: PhantomData,
        }
    }
}

impl<R: BufRead, F: StanzaFormat> Iterator for Records<R, F> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<io::Result<Entry>> {
        match self.stanzas.next_stanza() {
            Ok(Some(s)) => Some(Ok(F::entry(s))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A wanted field of a stanza, when present with a value: an empty one counts as absent.
pub fn value(s: &Stanza, field: usize) -> Option<&Slot> {
    s.get(field).filter(|v| !v.value.is_empty())
}

/// The installed packages among `entries` (the parsers' tests).
#[cfg(test)]
pub fn installed(entries: &[Entry]) -> Vec<&Package> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Installed(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_name(b"libstdc++6"));
        assert!(is_name(b"perl-Text-Tabs+Wrap"));
        assert!(!is_name(b"-rf"));
        assert!(!is_name(b""));
        assert!(!is_name(b"a b"));
        assert!(!is_name(b"a:b"));
        assert!(!is_name("é".as_bytes()));
        assert!(!is_name(&[b'a'; 257]));
        assert!(is_name(&[b'a'; 256]));
        assert!(is_version(b"1:2.36-9+deb12u4~bpo"));
        assert!(!is_version(b":1"));
        assert!(!is_version(b"1\0"));
        assert!(is_arch(b"x86_64"));
        assert!(!is_arch(b"amd64 "));
    }

    #[test]
    fn sizes_and_text() {
        assert_eq!(size(b"12", 1024), Some(12_288));
        assert_eq!(size(b"", 1), None);
        assert_eq!(size(b"-1", 1), None);
        assert_eq!(size(b"99999999999999999999", 1024), None);
        assert_eq!(size(b"1125899906842625", 1), None);
        assert_eq!(text(b"a\xffb").unwrap(), "a\u{fffd}b");
        assert_eq!(text(b""), None);
        assert_eq!(ascii(b"abc"), "abc");
    }

    #[test]
    fn state_names_are_unique() {
        let mut n: Vec<_> = State::ALL.iter().map(|s| s.name()).collect();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), State::ALL.len());
    }
}

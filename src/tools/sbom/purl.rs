#![forbid(unsafe_code)]
//! Package URLs (the purl specification, github.com/package-url/purl-spec) for the packages of
//! the three managers: `pkg:deb/<os id>/NAME@VERSION?arch=ARCH&distro=<id>-<version id>`,
//! `pkg:apk/...` (name lowercased, as the apk type requires) and `pkg:rpm/...` (the epoch as
//! the `epoch` qualifier, the version as `VERSION-RELEASE`).
//!
//! Encoding as the reference implementation (packageurl-python) writes the canonical form:
//! every byte outside `A-Z a-z 0-9 . - _ ~` and `:` is percent-encoded (so `+` is `%2B`);
//! qualifiers are sorted by key and left out when empty.

use super::read::{Manager, Os};
use crate::tools::parse::package::Package;

/// Percent-encode `s` onto `out`.
pub fn encode(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// The purl of package `p` of manager `m` on the host `os`.
pub fn purl(m: Manager, os: &Os, p: &Package) -> String {
    let (ty, default_ns) = match m {
        Manager::Dpkg => ("deb", Some("debian")),
        Manager::Apk => ("apk", Some("alpine")),
        Manager::Rpm => ("rpm", None),
    };
    let mut out = String::with_capacity(64 + p.name.len() + p.version.len());
    out.push_str("pkg:");
    out.push_str(ty);
    out.push('/');
    if let Some(ns) = os.id.as_deref().or(default_ns) {
        encode(&mut out, ns);
        out.push('/');
    }
    let (epoch, version) = match m {
        // rpm versions and releases never contain `:`, so a `:` is the epoch's.
        Manager::Rpm => match p.version.split_once(':') {
            Some((e, v)) => (Some(e), v),
            None => (None, p.version.as_str()),
        },
        _ => (None, p.version.as_str()),
    };
    if m == Manager::Apk {
        encode(&mut out, &p.name.to_ascii_lowercase());
    } else {
        encode(&mut out, &p.name);
    }
    out.push('@');
    encode(&mut out, version);
    let distro = match (&os.id, &os.version_id) {
        (Some(id), Some(v)) => Some(format!("{id}-{v}")),
        _ => None,
    };
    let qualifiers = [
        ("arch", Some(p.arch.as_str())),
        ("distro", distro.as_deref()),
        ("epoch", epoch),
    ];
    let mut sep = '?';
    for (k, v) in qualifiers {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.push(sep);
            out.push_str(k);
            out.push('=');
            encode(&mut out, v);
            sep = '&';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str, arch: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            arch: arch.into(),
            source: None,
            source_version: None,
            installed_bytes: None,
            maintainer: None,
            summary: None,
            line: 1,
            dropped: Vec::new(),
        }
    }

    fn os(id: &str, v: Option<&str>) -> Os {
        Os {
            id: Some(id.into()),
            version_id: v.map(Into::into),
            pretty_name: None,
        }
    }

    /// Expected strings are what packageurl-python 0.17.6 writes for the same fields
    /// (`PackageURL(...).to_string()`).
    #[test]
    fn canonical_purls() {
        let deb = os("debian", Some("12"));
        assert_eq!(
            purl(
                Manager::Dpkg,
                &deb,
                &pkg("libstdc++6", "1:12.2.0-14+deb12u1~x", "amd64")
            ),
            "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14%2Bdeb12u1~x?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl(
                Manager::Apk,
                &os("alpine", Some("3.19.1")),
                &pkg("py3-Pillow", "10.2.0-r0", "x86_64")
            ),
            "pkg:apk/alpine/py3-pillow@10.2.0-r0?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            purl(
                Manager::Rpm,
                &os("fedora", Some("40")),
                &pkg("Foo_bar", "2:1.0^x-1.fc40", "x86_64")
            ),
            "pkg:rpm/fedora/Foo_bar@1.0%5Ex-1.fc40?arch=x86_64&distro=fedora-40&epoch=2"
        );
        // Debian sid has no VERSION_ID: no distro qualifier.
        assert_eq!(
            purl(Manager::Dpkg, &os("debian", None), &pkg("a", "1", "all")),
            "pkg:deb/debian/a@1?arch=all"
        );
        // No os-release: the manager's own vendor, or none for rpm.
        assert_eq!(
            purl(Manager::Dpkg, &Os::default(), &pkg("a", "1", "all")),
            "pkg:deb/debian/a@1?arch=all"
        );
        assert_eq!(
            purl(Manager::Rpm, &Os::default(), &pkg("a", "1-2", "noarch")),
            "pkg:rpm/a@1-2?arch=noarch"
        );
    }

    #[test]
    fn encoding_is_per_byte() {
        let mut s = String::new();
        encode(&mut s, "a b/é?&=#%@");
        assert_eq!(s, "a%20b%2F%C3%A9%3F%26%3D%23%25%40");
    }
}

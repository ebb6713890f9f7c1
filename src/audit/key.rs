#![forbid(unsafe_code)]
//! Secrets of the audit log: the HMAC chain key and the identity-hashing salt. Both are hex text,
//! at least 32 bytes once decoded, read from a 0600 file or from an environment variable.

use std::fmt;
use std::path::Path;

use ring::hmac;

use super::{AuditError, hex};
use crate::audit::record::ClientIdentity;

/// Fewest secret bytes accepted (the HMAC-SHA256 output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where a secret comes from (for the audit key and salt: hex text, surrounding whitespace
/// ignored).
pub use crate::secfile::SecretSource;

/// The HMAC-SHA256 key of the audit chain. `Debug` never shows it.
#[derive(Clone)]
pub struct AuditKey(hmac::Key);

impl AuditKey {
    pub fn load(source: &SecretSource) -> Result<Self, AuditError> {
        Self::load_trusting(source, None)
    }

    /// The key of the log at `log`. As root, a key file may also be owned by the service user,
    /// taken to be the owner of the log's directory (it writes there): one key, owned by the
    /// service user and mode 0600, then serves both the service and root's `audit verify`.
    /// Group and other access stay refused.
    pub fn load_for(source: &SecretSource, log: &Path) -> Result<Self, AuditError> {
        Self::load_trusting(source, service_owner(log))
    }

    fn load_trusting(
        source: &SecretSource,
        service: Option<(u32, String)>,
    ) -> Result<Self, AuditError> {
        let mut bytes = load_secret(source, service.as_ref().map(|(u, w)| (*u, w.as_str())))?;
        let key = AuditKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes));
        wipe(&mut bytes);
        Ok(key)
    }

    /// A key from raw bytes (at least 32), e.g. for tests and tooling.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        check_len(bytes.len(), "the given key bytes")?;
        Ok(AuditKey(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    pub(crate) fn hmac(&self) -> &hmac::Key {
        &self.0
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// Replaces caller identities with salted one-way hashes (`anonymize_identity`): HMAC-SHA256
/// keyed with the salt, truncated to 16 bytes, written as 32 hex digits. The same identity always
/// gives the same hash under one salt, so records of one caller can still be correlated.
#[derive(Clone)]
pub struct IdentityHasher(hmac::Key);

impl IdentityHasher {
    pub fn load(source: &SecretSource) -> Result<Self, AuditError> {
        let mut bytes = load_secret(source, None)?;
        let h = IdentityHasher(hmac::Key::new(hmac::HMAC_SHA256, &bytes));
        wipe(&mut bytes);
        Ok(h)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        check_len(bytes.len(), "the given key bytes")?;
        Ok(IdentityHasher(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    pub fn hash(&self, identity: &str) -> String {
        let tag = hmac::sign(&self.0, identity.as_bytes());
        hex(&tag.as_ref()[..16])
    }

    /// Hashes `jwt_sub`, `mtls_subject` and `peer_uid`. `transport` says nothing about who the
    /// caller is and stays; `ip` is governed by its own setting (the caller omits it or not).
    pub fn anonymize(&self, client: &mut ClientIdentity) {
        let fields = [
            &mut client.jwt_sub,
            &mut client.mtls_subject,
            &mut client.peer_uid,
        ];
        for v in fields.into_iter().flatten() {
            *v = self.hash(v);
        }
    }
}

impl fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityHasher(..)")
    }
}

/// As root: the non-root owner of `log`'s directory, with the reason it is trusted.
fn service_owner(log: &Path) -> Option<(u32, String)> {
    if crate::sys::euid() != 0 {
        return None;
    }
    let dir = match log.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir).ok()?);
    (uid != 0).then(|| {
        (
            uid,
            format!(
                "the service user: owner of the audit directory {}",
                dir.display()
            ),
        )
    })
}

fn load_secret(source: &SecretSource, service: Option<(u32, &str)>) -> Result<Vec<u8>, AuditError> {
    let mut text = match source {
        SecretSource::File(path) => read_secret_file(path, service)?,
        SecretSource::Env(name) => std::env::var_os(name)
            .ok_or_else(|| AuditError::Secret {
                source: source.to_string(),
                problem: "is not set".into(),
            })?
            .into_encoded_bytes(),
    };
    let decoded = decode_secret(&text, source);
    wipe(&mut text);
    decoded
}

/// Opened and checked on the handle by the one secure reader the config uses too (no symlink,
/// no FIFO, regular file, owner root or us, 0600 or stricter).
fn read_secret_file(path: &Path, service: Option<(u32, &str)>) -> Result<Vec<u8>, AuditError> {
    crate::secfile::secure_read_bytes_owned(
        path,
        crate::secfile::FileKind::Secret,
        crate::sys::euid(),
        service,
    )
    .map(|(bytes, _)| bytes)
    .map_err(|problems| AuditError::Secret {
        source: String::new(),
        problem: problems.join("; "),
    })
}

fn decode_secret(text: &[u8], source: &SecretSource) -> Result<Vec<u8>, AuditError> {
    let bad = |problem: String| AuditError::Secret {
        source: source.to_string(),
        problem,
    };
    let trimmed = text.trim_ascii();
    let bytes = super::unhex(trimmed).ok_or_else(|| {
        bad("is not hex (expected an even number of 0-9a-f digits, e.g. from `openssl rand -hex 32`)".into())
    })?;
    check_len(bytes.len(), &source.to_string())?;
    Ok(bytes)
}

fn check_len(len: usize, source: &str) -> Result<(), AuditError> {
    if len < MIN_SECRET_BYTES {
        return Err(AuditError::Secret {
            source: source.to_string(),
            problem: format!("holds {len} bytes; at least {MIN_SECRET_BYTES} are required"),
        });
    }
    Ok(())
}

/// Best effort: overwrite secret bytes before the buffer is freed.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "a test re-runs this test binary with environment variables set"
)]
mod tests {
    use super::*;
    use crate::audit::testdir::TempDir;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn write_key(dir: &TempDir, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn sign(k: &AuditKey) -> Vec<u8> {
        hmac::sign(k.hmac(), b"x").as_ref().to_vec()
    }

    #[test]
    fn loads_a_0600_hex_file() {
        let dir = TempDir::new("key-ok");
        let p = write_key(&dir, "k", &format!("{KEY_HEX}\n"), 0o600);
        let k = AuditKey::load(&SecretSource::File(p)).unwrap();
        let raw: Vec<u8> = (0u8..32).collect();
        assert_eq!(sign(&k), sign(&AuditKey::from_bytes(&raw).unwrap()));
        // 0400 is stricter than 0600 and accepted.
        let p = write_key(&dir, "k2", KEY_HEX, 0o400);
        assert!(AuditKey::load(&SecretSource::File(p)).is_ok());
    }

    #[test]
    fn refuses_loose_mode_naming_file_and_modes() {
        let dir = TempDir::new("key-mode");
        for mode in [0o640, 0o604, 0o660, 0o644] {
            let p = write_key(&dir, "k", KEY_HEX, mode);
            let e = AuditKey::load(&SecretSource::File(p.clone()))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&p.display().to_string()), "{e}");
            assert!(e.contains(&format!("{mode:04o}")), "{e}");
            assert!(e.contains("0600 or stricter"), "{e}");
        }
    }

    #[test]
    fn refuses_symlink_and_non_regular_files() {
        let dir = TempDir::new("key-link");
        let target = write_key(&dir, "real", KEY_HEX, 0o600);
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = AuditKey::load(&SecretSource::File(link)).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A directory inside ours: the temp dir itself sits directly in sticky /tmp, which the
        // parent rule refuses as a file's own directory.
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = AuditKey::load(&SecretSource::File(sub)).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a directory; a regular file is required"),
            "{e}"
        );
        let e = AuditKey::load(&SecretSource::File(dir.join("absent"))).unwrap_err();
        assert!(e.to_string().contains("cannot open secret file"), "{e}");
    }

    #[test]
    fn refuses_foreign_owner() {
        let dir = TempDir::new("key-owner");
        let p = write_key(&dir, "k", KEY_HEX, 0o600);
        if crate::sys::euid() != 0 {
            // Only root can give a file away; without it the case cannot be set up here.
            return;
        }
        std::os::unix::fs::chown(&p, Some(54321), None).unwrap();
        let e = AuditKey::load(&SecretSource::File(p))
            .unwrap_err()
            .to_string();
        assert!(e.contains("owned by uid 54321"), "{e}");
    }

    #[test]
    fn refuses_bad_contents() {
        let dir = TempDir::new("key-bad");
        let cases = [
            ("", "holds 0 bytes"),
            (&KEY_HEX[..62], "holds 31 bytes"),
            ("zz", "is not hex"),
            (&KEY_HEX[..63], "is not hex"),
        ];
        for (text, want) in cases {
            let p = write_key(&dir, "k", text, 0o600);
            let e = AuditKey::load(&SecretSource::File(p))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let big = "a".repeat(5000);
        let p = write_key(&dir, "k", &big, 0o600);
        let e = AuditKey::load(&SecretSource::File(p))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is 5000 bytes; the limit is 4096"), "{e}");
        assert!(AuditKey::from_bytes(&[7; 31]).is_err());
    }

    /// Environment variables cannot be set safely in a running multi-threaded test binary, so this
    /// test re-runs itself in a child process with the variables set.
    #[test]
    fn loads_from_environment() {
        const CHILD: &str = "SYSGATE_AUDIT_KEY_TEST_CHILD";
        if std::env::var_os(CHILD).is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "audit::key::tests::loads_from_environment"])
                .env(CHILD, "1")
                .env("SYSGATE_TEST_KEY", format!(" {KEY_HEX}\n"))
                .env("SYSGATE_TEST_SHORT", "abcd")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{stdout}");
            assert!(stdout.contains("1 passed"), "{stdout}");
            return;
        }
        let k = AuditKey::load(&SecretSource::Env("SYSGATE_TEST_KEY".into())).unwrap();
        let raw: Vec<u8> = (0u8..32).collect();
        assert_eq!(sign(&k), sign(&AuditKey::from_bytes(&raw).unwrap()));
        let e = AuditKey::load(&SecretSource::Env("SYSGATE_TEST_SHORT".into())).unwrap_err();
        assert!(
            e.to_string()
                .contains("environment variable SYSGATE_TEST_SHORT holds 2 bytes"),
            "{e}"
        );
        let e = AuditKey::load(&SecretSource::Env("SYSGATE_TEST_UNSET_X".into())).unwrap_err();
        assert!(e.to_string().contains("is not set"), "{e}");
    }

    #[test]
    fn anonymize_replaces_identities_deterministically() {
        let h = IdentityHasher::from_bytes(&[9; 32]).unwrap();
        let mut c = ClientIdentity::new("https")
            .ip("10.0.0.1".parse().unwrap())
            .jwt_sub("alice@example.com")
            .mtls_subject("CN=proxy")
            .peer_uid(1000);
        h.anonymize(&mut c);
        let sub = c.jwt_sub.clone().unwrap();
        assert_eq!(sub.len(), 32);
        assert!(sub.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(sub, h.hash("alice@example.com"));
        assert_ne!(sub, h.hash("bob@example.com"));
        assert_eq!(c.mtls_subject.as_deref(), Some(h.hash("CN=proxy").as_str()));
        assert_eq!(c.peer_uid.as_deref(), Some(h.hash("1000").as_str()));
        assert_eq!(c.transport.as_deref(), Some("https"));
        assert_eq!(c.ip, Some("10.0.0.1".parse().unwrap()));
        // Another salt gives unrelated hashes.
        let other = IdentityHasher::from_bytes(&[8; 32]).unwrap();
        assert_ne!(other.hash("alice@example.com"), sub);
    }
}

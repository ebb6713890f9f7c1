#![forbid(unsafe_code)]
//! The token settings (`auth.jwt`, `auth.scope_claim`, `auth.role_claim`, `auth.role_mapping`),
//! owned here and aggregated by the config, and what turns a verified token into scopes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::jwt::{Policy, Verified};
use super::keys::KeySet;
use crate::scope::ScopeSet;
use crate::secfile::{self, FileKind, SecretSource};

/// Where the verification key comes from. The key decides the algorithm (see `auth::keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// HS256: the secret's bytes (surrounding whitespace ignored), at least 32 of them.
    Secret(SecretSource),
    /// RS256, ES256 or EdDSA: `PUBLIC KEY` blocks.
    PublicKeyFile(PathBuf),
    /// A JWKS document of public keys, chosen by `kid`.
    JwksFile(PathBuf),
}

/// How tokens are verified and mapped to scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtSettings {
    pub key: KeySource,
    pub policy: Policy,
    /// Role name → the scopes it grants (meta-scopes expanded).
    pub role_mapping: BTreeMap<String, ScopeSet>,
    pub jti_cache_max_entries: usize,
    pub jti_cache_max_bytes: usize,
}

/// The `auth` section: `None` when tokens are not configured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    pub jwt: Option<JwtSettings>,
}

impl JwtSettings {
    /// Reads the configured key. Files are opened and checked on the handle (`secfile`):
    /// a secret file must be 0600, a public key file must not be writable by group or others.
    pub fn load_keys(&self, euid: u32) -> Result<KeySet, String> {
        let problems = |v: Vec<String>| v.join("; ");
        match &self.key {
            KeySource::Secret(SecretSource::File(path)) => {
                let (mut bytes, _) =
                    secfile::secure_read_bytes(path, FileKind::Secret, euid).map_err(problems)?;
                let keys = KeySet::hmac(bytes.trim_ascii())
                    .map_err(|e| format!("{}: {e}", path.display()));
                bytes.fill(0);
                keys
            }
            KeySource::Secret(SecretSource::Env(name)) => {
                let value = std::env::var_os(name)
                    .ok_or_else(|| format!("environment variable {name} is not set"))?;
                KeySet::hmac(value.as_encoded_bytes().trim_ascii())
                    .map_err(|e| format!("environment variable {name}: {e}"))
            }
            KeySource::PublicKeyFile(path) => {
                let (text, _) =
                    secfile::secure_read(path, FileKind::PublicKey, euid).map_err(problems)?;
                KeySet::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
            KeySource::JwksFile(path) => {
                let (text, _) =
                    secfile::secure_read(path, FileKind::PublicKey, euid).map_err(problems)?;
                KeySet::from_jwks(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// The scopes a verified token grants: its scope claim's names plus those of its roles under
    /// `role_mapping`. Names that are no scope (and roles with no mapping) are returned apart, to
    /// be ignored and audited.
    pub fn scopes_of(&self, token: &Verified) -> (ScopeSet, Vec<String>) {
        let mut granted = ScopeSet::EMPTY;
        let mut unknown = Vec::new();
        for name in &token.scopes {
            match ScopeSet::parse_name(name) {
                Some(s) => granted = granted.union(s),
                None => unknown.push(name.clone()),
            }
        }
        if !self.role_mapping.is_empty() {
            for role in &token.roles {
                match self.role_mapping.get(role) {
                    Some(s) => granted = granted.union(*s),
                    None => unknown.push(format!("role:{role}")),
                }
            }
        }
        (granted, unknown)
    }
}

#![forbid(unsafe_code)]
//! The `auth` section of the config file, read into `auth::Settings`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{range, scope_list, secret_source};
use crate::auth::jwt::Policy;
use crate::auth::{JwtSettings, KeySource, Settings};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAuth {
    jwt: Option<FileJwt>,
    scope_claim: Option<String>,
    role_claim: Option<String>,
    role_mapping: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJwt {
    /// Refused with its own message: a secret never lives in the config file.
    secret: Option<serde::de::IgnoredAny>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    public_key_file: Option<PathBuf>,
    jwks_file: Option<PathBuf>,
    issuer: Option<String>,
    audience: Option<String>,
    max_ttl: Option<u64>,
    clock_skew: Option<u64>,
    require_iat: Option<bool>,
    require_jti: Option<bool>,
    require_sub: Option<bool>,
    jti_cache_max_entries: Option<u64>,
    jti_cache_max_memory_mb: Option<u64>,
}

/// The typed keys of this section, for the config's quoted-value check.
pub(super) const TYPED_KEYS: &[(&str, bool)] = &[
    ("auth.jwt.max_ttl", false),
    ("auth.jwt.clock_skew", false),
    ("auth.jwt.require_iat", true),
    ("auth.jwt.require_jti", true),
    ("auth.jwt.require_sub", true),
    ("auth.jwt.jti_cache_max_entries", false),
    ("auth.jwt.jti_cache_max_memory_mb", false),
];

fn claim_name(p: &mut Vec<String>, key: &str, v: Option<String>, default: &str) -> String {
    match v {
        None => default.to_string(),
        Some(n)
            if !n.is_empty()
                && n.len() <= 64
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b)) =>
        {
            n
        }
        Some(n) => {
            p.push(format!(
                "{key}: `{n}` is not a claim name (1 to 64 letters, digits, `_`, `-`, `:`, `.`)"
            ));
            default.to_string()
        }
    }
}

fn text(p: &mut Vec<String>, key: &str, v: Option<String>) -> Option<String> {
    match v {
        Some(s) if s.is_empty() || s.len() > 256 || s.chars().any(char::is_control) => {
            p.push(format!(
                "{key}: must be 1 to 256 characters without control characters"
            ));
            None
        }
        v => v,
    }
}

pub(super) fn auth_section(p: &mut Vec<String>, a: FileAuth) -> Settings {
    let d = Policy::default();
    let scopes_claim = claim_name(p, "auth.scope_claim", a.scope_claim, &d.scopes_claim);
    let roles_claim = claim_name(p, "auth.role_claim", a.role_claim, &d.roles_claim);
    let mut role_mapping = BTreeMap::new();
    for (role, names) in a.role_mapping.unwrap_or_default() {
        let key = format!("auth.role_mapping.{role}");
        role_mapping.insert(role, scope_list(p, &key, &names));
    }
    let Some(j) = a.jwt else {
        if !role_mapping.is_empty() {
            p.push("auth.role_mapping: set only with auth.jwt (tokens carry the roles)".into());
        }
        return Settings::default();
    };
    if j.secret.is_some() {
        p.push(
            "auth.jwt.secret: a secret is never read from the config file; put it in a 0600 file \
             (auth.jwt.secret_file) or an environment variable (auth.jwt.secret_env, e.g. \
             SYSGATE_JWT_SECRET)"
                .into(),
        );
    }
    let absolute = |p: &mut Vec<String>, key: &str, path: PathBuf| {
        if path.is_absolute() {
            Some(path)
        } else {
            p.push(format!(
                "{key}: `{}` must be an absolute path",
                path.display()
            ));
            None
        }
    };
    let sources = [
        j.secret_file.is_some() || j.secret_env.is_some(),
        j.public_key_file.is_some(),
        j.jwks_file.is_some(),
    ];
    let key = match sources.iter().filter(|s| **s).count() {
        0 => {
            p.push(
                "auth.jwt: give the verification key: secret_file or secret_env (HS256), \
                 public_key_file (PEM: RS256, ES256, EdDSA) or jwks_file"
                    .into(),
            );
            None
        }
        1 => {
            if let Some(path) = j.public_key_file {
                absolute(p, "auth.jwt.public_key_file", path).map(KeySource::PublicKeyFile)
            } else if let Some(path) = j.jwks_file {
                absolute(p, "auth.jwt.jwks_file", path).map(KeySource::JwksFile)
            } else {
                let file = match j.secret_file {
                    Some(f) => absolute(p, "auth.jwt.secret_file", f),
                    None => None,
                };
                if file.is_none() && j.secret_env.is_none() {
                    None
                } else {
                    secret_source(p, "auth.jwt.secret", file, j.secret_env).map(KeySource::Secret)
                }
            }
        }
        _ => {
            p.push(
                "auth.jwt: give one key source: secret_file/secret_env, public_key_file or \
                 jwks_file (the key decides the algorithm, so there is exactly one kind)"
                    .into(),
            );
            None
        }
    };
    let policy = Policy {
        issuer: text(p, "auth.jwt.issuer", j.issuer),
        audience: text(p, "auth.jwt.audience", j.audience),
        max_ttl: range(p, "auth.jwt.max_ttl", j.max_ttl, 1, 86_400, d.max_ttl),
        skew: range(p, "auth.jwt.clock_skew", j.clock_skew, 0, 300, d.skew),
        require_iat: j.require_iat.unwrap_or(true),
        require_jti: j.require_jti.unwrap_or(true),
        require_sub: j.require_sub.unwrap_or(true),
        scopes_claim,
        roles_claim,
    };
    let entries = range(
        p,
        "auth.jwt.jti_cache_max_entries",
        j.jti_cache_max_entries,
        1,
        10_000_000,
        10_000,
    );
    let mb = range(
        p,
        "auth.jwt.jti_cache_max_memory_mb",
        j.jti_cache_max_memory_mb,
        1,
        1024,
        10,
    );
    Settings {
        jwt: key.map(|key| JwtSettings {
            key,
            policy,
            role_mapping,
            jti_cache_max_entries: entries as usize,
            jti_cache_max_bytes: (mb as usize) << 20,
        }),
    }
}

#![forbid(unsafe_code)]
//! `sysgate token mint` and `sysgate token verify`: the operator's view of bearer tokens, with
//! the keys and rules of the config in force.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

use super::stdout_write;
use crate::auth::JwtSettings;
use crate::auth::KeySource;
use crate::auth::jwt::{self, MintRequest};
use crate::config::{self, Config};
use crate::error::Error;
use crate::policy;
use crate::scope::ScopeSet;
use crate::sys;
use crate::tools::Registry;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn load(config_arg: Option<&Path>) -> Result<(Config, JwtSettings), Error> {
    let config = config::load(config_arg).map_err(|p| Error::Config(p.join("; ")))?;
    let jwt = config.auth.jwt.clone().ok_or_else(|| {
        Error::Usage("the config has no auth.jwt section: tokens are not configured".into())
    })?;
    Ok((config, jwt))
}

/// An agent name as it goes into `sub`: 1 to 128 of letters, digits and `._@:-`, not starting
/// with `-`.
fn agent_name(name: &str) -> Result<&str, Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@:-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(Error::Usage(format!(
            "--agent {name:?}: use 1 to 128 letters, digits and `._@:-`, not starting with `-`"
        )))
    }
}

pub(super) fn mint(
    config_arg: Option<&Path>,
    agent: &str,
    scopes: &str,
    ttl: Option<&str>,
) -> Result<ExitCode, Error> {
    let agent = agent_name(agent)?;
    let (config, jwt) = load(config_arg)?;
    if !matches!(jwt.key, KeySource::Secret(_)) {
        return Err(Error::Usage(
            "token mint signs HS256 tokens with auth.jwt.secret_file or secret_env; this config \
             verifies public-key tokens, which its identity provider issues"
                .into(),
        ));
    }
    let mut names = Vec::new();
    for n in scopes.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if ScopeSet::parse_name(n).is_none() {
            return Err(Error::Usage(format!(
                "--scopes: unknown scope `{n}` (known: {}, readonly, admin)",
                ScopeSet::all().names().join(", ")
            )));
        }
        names.push(n.to_string());
    }
    if names.is_empty() {
        return Err(Error::Usage(
            "--scopes: name at least one scope, e.g. --scopes core,hooks".into(),
        ));
    }
    let max = jwt.policy.max_ttl;
    let ttl = match ttl {
        None => max,
        Some(t) => jwt::parse_ttl(t).map_err(|e| Error::Usage(format!("--ttl: {e}")))?,
    };
    if ttl > max {
        return Err(Error::Usage(format!(
            "--ttl: {ttl} s is longer than auth.jwt.max_ttl ({max} s); the server would refuse it"
        )));
    }
    let keys = jwt.load_keys(sys::euid()).map_err(Error::Config)?;
    let mut id = [0u8; 16];
    SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| Error::Config("no randomness for the token id".into()))?;
    let req = MintRequest {
        agent,
        scopes: &names,
        ttl,
        issuer: jwt.policy.issuer.as_deref(),
        audience: jwt.policy.audience.as_deref(),
        jti: crate::codec::hex(&id),
        now: now(),
    };
    let token = keys
        .keys()
        .first()
        .and_then(|k| jwt::mint_hs256(k, &req))
        .ok_or_else(|| Error::Config("the configured key cannot sign HS256".into()))?;
    let not_enabled = names
        .iter()
        .filter_map(|n| ScopeSet::parse_name(n))
        .fold(ScopeSet::EMPTY, ScopeSet::union)
        .difference(config.scopes.enabled);
    if !not_enabled.is_empty() {
        crate::log::warn(&format!(
            "the token names scopes this config does not enable ({}); they grant nothing here",
            not_enabled.names().join(", ")
        ));
    }
    stdout_write(&format!("{token}\n"))?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn verify(config_arg: Option<&Path>, token: &str) -> Result<ExitCode, Error> {
    let mut token = token.to_string();
    if token == "-" {
        // From stdin, so the token need not sit in the process list or the shell history.
        token.clear();
        std::io::stdin()
            .take(jwt::MAX_TOKEN_BYTES as u64 + 2)
            .read_to_string(&mut token)
            .map_err(|e| Error::io("reading the token from stdin", e))?;
    }
    let token = token.trim();
    let (config, jwt) = load(config_arg)?;
    let keys = jwt.load_keys(sys::euid()).map_err(Error::Config)?;
    let now = now();
    let v = match jwt::verify(token, &keys, &jwt.policy, now) {
        Ok(v) => v,
        Err(e) => {
            stdout_write(&format!("invalid: {e}\n"))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let (granted, unknown) = jwt.scopes_of(&v);
    let held = granted.intersect(config.scopes.enabled);
    let registry = Registry::global().map_err(Error::Config)?;
    let tools: Vec<&str> = registry
        .iter()
        .filter(|t| {
            t.def.name == policy::ALWAYS_CALLABLE
                || held.contains(t.def.scope) && !config.scopes.denied_tools.contains(t.def.name)
        })
        .map(|t| t.def.name)
        .collect();
    let alg = v.alg.name();
    let mut out = format!(
        "valid: {alg}{}, sub {}, jti {}, expires in {} s\n",
        v.kid
            .as_deref()
            .map(|k| format!(" (kid {k})"))
            .unwrap_or_default(),
        v.sub.as_deref().unwrap_or("(none)"),
        v.jti.as_deref().unwrap_or("(none)"),
        v.exp.saturating_sub(now)
    );
    out.push_str(&format!(
        "scopes granted by the token: {}\n",
        names_or_none(granted.names())
    ));
    out.push_str(&format!(
        "scopes held under this config (enabled ones): {}\n",
        names_or_none(held.names())
    ));
    if !unknown.is_empty() {
        out.push_str(&format!(
            "ignored (no such scope or role mapping): {}\n",
            unknown.join(", ")
        ));
    }
    out.push_str(&format!(
        "tools it would reach ({}, before any transport narrows them): {}\n",
        tools.len(),
        tools.join(", ")
    ));
    stdout_write(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn names_or_none(names: Vec<&str>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

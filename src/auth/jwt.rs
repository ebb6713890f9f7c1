#![forbid(unsafe_code)]
//! JSON Web Tokens (RFC 7519) in compact JWS form, verified with `ring` and no JWT crate.
//!
//! Order of checks, cheapest and least trusting first: size (≤ [`MAX_TOKEN_BYTES`]), shape (three
//! non-empty base64url parts, strictly decoded), the header and payload as JSON objects, the key
//! the header's `kid` selects, the header's `alg` against **that key's** algorithm, the
//! signature, then the claims. Nothing is believed before the signature is checked except what
//! is needed to find the key; no crypto runs on a token that is too long or not well formed.

use std::fmt;

use serde_json::{Map, Value, json};

use super::keys::{Algorithm, Key, KeySet};
use crate::codec::{base64url, unbase64url};

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8192;
/// The longest `sub` and `jti` accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// When set, `iss` must equal it.
    pub issuer: Option<String>,
    /// When set, `aud` (a string or an array) must contain it.
    pub audience: Option<String>,
    /// The longest lifetime (`exp - iat`) accepted, in seconds.
    pub max_ttl: u64,
    /// Tolerated clock difference, in seconds, for `exp`, `iat` and `nbf`.
    pub skew: u64,
    /// The claims a token must carry; `exp` is always required.
    pub require_iat: bool,
    pub require_jti: bool,
    pub require_sub: bool,
    /// The claim that lists scopes (an array of names or a space-separated string).
    pub scopes_claim: String,
    /// The claim that lists role names (for `role_mapping`), in the same forms.
    pub roles_claim: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            issuer: None,
            audience: None,
            max_ttl: 300,
            skew: 30,
            require_iat: true,
            require_jti: true,
            require_sub: true,
            scopes_claim: "mcp_scopes".into(),
            roles_claim: "roles".into(),
        }
    }
}

/// The claims of a verified token. Only [`verify`] makes one: the private field keeps every
/// other module of the crate from building one (`#[non_exhaustive]` would not).
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::manual_non_exhaustive,
    reason = "the private field is the point: non_exhaustive does not bind inside the crate"
)]
pub struct Verified {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub sub: Option<String>,
    pub jti: Option<String>,
    pub iss: Option<String>,
    pub exp: u64,
    pub iat: Option<u64>,
    /// Scope names as the token spells them; the caller maps them (unknown names are ignored
    /// there and audited).
    pub scopes: Vec<String>,
    /// The roles claim's names, for `role_mapping`.
    pub roles: Vec<String>,
    _checked: (),
}

/// Why a token was refused. The text is safe to show the caller and to audit: it never
/// echoes the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    TooLong(usize),
    Malformed(&'static str),
    /// The header's `alg` is not the configured key's (this covers `none` and HS/RS confusion).
    Algorithm {
        token: String,
        key: Algorithm,
    },
    Key(&'static str),
    Signature,
    MissingClaim(&'static str),
    BadClaim(&'static str),
    Expired {
        exp: u64,
        now: u64,
    },
    NotYetValid,
    IssuedInFuture,
    LifetimeTooLong {
        ttl: u64,
        max: u64,
    },
    Issuer,
    Audience,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::TooLong(n) => {
                write!(
                    f,
                    "token is {n} bytes; at most {MAX_TOKEN_BYTES} are accepted"
                )
            }
            Rejection::Malformed(why) => write!(f, "malformed token: {why}"),
            Rejection::Algorithm { token, key } => write!(
                f,
                "token algorithm {token:?} is not the configured key's ({})",
                key.name()
            ),
            Rejection::Key(why) => write!(f, "no key for this token: {why}"),
            Rejection::Signature => f.write_str("signature does not verify"),
            Rejection::MissingClaim(c) => write!(f, "required claim `{c}` is missing"),
            Rejection::BadClaim(why) => write!(f, "bad claim: {why}"),
            Rejection::Expired { exp, now } => {
                write!(f, "token expired {} s ago", now.saturating_sub(*exp))
            }
            Rejection::NotYetValid => f.write_str("token is not valid yet (`nbf`)"),
            Rejection::IssuedInFuture => f.write_str("token is issued in the future (`iat`)"),
            Rejection::LifetimeTooLong { ttl, max } => write!(
                f,
                "token lifetime is {ttl} s; at most {max} s (`max_ttl`) is accepted"
            ),
            Rejection::Issuer => f.write_str("`iss` is not the configured issuer"),
            Rejection::Audience => f.write_str("`aud` does not name the configured audience"),
        }
    }
}

/// Verifies `token` at time `now` (seconds since the epoch).
pub fn verify(
    token: &str,
    keys: &KeySet,
    policy: &Policy,
    now: u64,
) -> Result<Verified, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::TooLong(token.len()));
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed("not three dot-separated parts"));
    };
    if h64.is_empty() || p64.is_empty() || s64.is_empty() {
        return Err(Rejection::Malformed("an empty part"));
    }
    let decode = |part: &str, what| unbase64url(part.as_bytes()).ok_or(Rejection::Malformed(what));
    let header = decode(h64, "the header is not base64url")?;
    let payload = decode(p64, "the payload is not base64url")?;
    let sig = decode(s64, "the signature is not base64url")?;
    let header = object(&header, "the header is not a JSON object")?;
    let claims = object(&payload, "the payload is not a JSON object")?;

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Rejection::Malformed("the header has no `alg`"))?;
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
        return Err(Rejection::Malformed("the header has `crit` extensions"));
    }
    if let Some(typ) = header.get("typ") {
        let ok = typ
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("at+jwt"));
        if !ok {
            return Err(Rejection::Malformed("`typ` is not JWT"));
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(Rejection::Malformed("`kid` is not a string")),
    };
    let key: &Key = keys.select(kid).map_err(Rejection::Key)?;
    if alg != key.algorithm().name() {
        return Err(Rejection::Algorithm {
            token: alg.chars().take(16).collect(),
            key: key.algorithm(),
        });
    }
    let signed = &token[..h64.len() + 1 + p64.len()];
    if !key.verify(signed.as_bytes(), &sig) {
        return Err(Rejection::Signature);
    }
    check_claims(&claims, key, kid, policy, now)
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, Rejection> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Rejection::Malformed(what)),
    }
}

fn check_claims(
    c: &Map<String, Value>,
    key: &Key,
    kid: Option<&str>,
    policy: &Policy,
    now: u64,
) -> Result<Verified, Rejection> {
    let time = |name: &'static str| -> Result<Option<u64>, Rejection> {
        match c.get(name) {
            None => Ok(None),
            // NumericDate may carry a fraction; whole seconds are what we compare.
            Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
                (Some(v), _) => Ok(Some(v)),
                (None, Some(f)) if (0.0..1e15).contains(&f) => Ok(Some(f as u64)),
                _ => Err(Rejection::BadClaim(
                    "a time claim is not a non-negative number",
                )),
            },
            Some(_) => Err(Rejection::BadClaim("a time claim is not a number")),
        }
    };
    let id = |name: &'static str, required: bool| -> Result<Option<String>, Rejection> {
        match c.get(name) {
            None if required => Err(Rejection::MissingClaim(name)),
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_BYTES => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(Rejection::BadClaim(
                "`sub`, `jti` and `iss` must be strings of 1 to 256 bytes",
            )),
        }
    };
    let exp = time("exp")?.ok_or(Rejection::MissingClaim("exp"))?;
    let iat = time("iat")?;
    if policy.require_iat && iat.is_none() {
        return Err(Rejection::MissingClaim("iat"));
    }
    let sub = id("sub", policy.require_sub)?;
    let jti = id("jti", policy.require_jti)?;
    let iss = id("iss", policy.issuer.is_some())?;

    if now > exp.saturating_add(policy.skew) {
        return Err(Rejection::Expired { exp, now });
    }
    if let Some(nbf) = time("nbf")?
        && nbf > now.saturating_add(policy.skew)
    {
        return Err(Rejection::NotYetValid);
    }
    if let Some(iat) = iat {
        if iat > now.saturating_add(policy.skew) {
            return Err(Rejection::IssuedInFuture);
        }
        let ttl = exp.saturating_sub(iat);
        if ttl > policy.max_ttl {
            return Err(Rejection::LifetimeTooLong {
                ttl,
                max: policy.max_ttl,
            });
        }
    } else if exp.saturating_sub(now) > policy.max_ttl.saturating_add(policy.skew) {
        // Without `iat` the lifetime left is what can be bounded.
        return Err(Rejection::LifetimeTooLong {
            ttl: exp.saturating_sub(now),
            max: policy.max_ttl,
        });
    }
    if let Some(want) = &policy.issuer
        && iss.as_deref() != Some(want.as_str())
    {
        return Err(Rejection::Issuer);
    }
    if let Some(want) = &policy.audience {
        let ok = match c.get("aud") {
            Some(Value::String(a)) => a == want,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(want.as_str())),
            _ => false,
        };
        if !ok {
            return Err(Rejection::Audience);
        }
    }
    Ok(Verified {
        alg: key.algorithm(),
        kid: kid.map(str::to_string),
        sub,
        jti,
        iss,
        exp,
        iat,
        scopes: names(c.get(&policy.scopes_claim)),
        roles: names(c.get(&policy.roles_claim)),
        _checked: (),
    })
}

/// An array of strings, or one space-separated string (the OAuth `scope` form). Anything else
/// gives no names; at most 64 names of at most 64 bytes each are kept.
fn names(v: Option<&Value>) -> Vec<String> {
    let keep = |s: &str| !s.is_empty() && s.len() <= 64;
    let list: Vec<String> = match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| keep(s))
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| keep(s))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    list.into_iter().take(64).collect()
}

/// What `sysgate token mint` puts in a token.
#[derive(Debug, Clone)]
pub struct MintRequest<'a> {
    pub agent: &'a str,
    pub scopes: &'a [String],
    pub ttl: u64,
    pub issuer: Option<&'a str>,
    pub audience: Option<&'a str>,
    /// 16 random bytes, hex-encoded by the caller's random source.
    pub jti: String,
    pub now: u64,
}

/// Signs an HS256 token; `None` unless `key` is an HS256 secret.
pub fn mint_hs256(key: &Key, req: &MintRequest<'_>) -> Option<String> {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let mut claims = json!({
        "sub": req.agent,
        "jti": req.jti,
        "iat": req.now,
        "exp": req.now.saturating_add(req.ttl),
        "mcp_scopes": req.scopes,
    });
    if let Some(iss) = req.issuer {
        claims["iss"] = json!(iss);
    }
    if let Some(aud) = req.audience {
        claims["aud"] = json!(aud);
    }
    let mut text = base64url(header.to_string().as_bytes());
    text.push('.');
    text.push_str(&base64url(claims.to_string().as_bytes()));
    let sig = key.sign_hs256(text.as_bytes())?;
    text.push('.');
    text.push_str(&base64url(&sig));
    Some(text)
}

/// Parses a lifetime: a positive integer and a unit `s`, `m`, `h` or `d` (`30m`, `12h`).
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a lifetime like 300s, 30m, 12h or 1d");
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(mult) {
        Some(0) | None => Err(bad()),
        Some(s) => Ok(s),
    }
}

#[cfg(test)]
mod tests;

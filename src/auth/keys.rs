#![forbid(unsafe_code)]
//! Token verification keys: an HS256 secret, or public keys read from PEM (`PUBLIC KEY`, that is
//! SubjectPublicKeyInfo) or a JWKS document. **The key decides the algorithm**: each key carries
//! the one algorithm its type allows, and a token whose header names another is refused, so
//! neither `alg: none` nor HS256 signed with an RSA public key as the secret can verify.
//!
//! The DER reader below understands exactly the SubjectPublicKeyInfo shapes of RSA, P-256 and
//! Ed25519 keys and nothing else; anything unexpected is an error, never a guess.

use ring::hmac;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

use crate::codec::{unbase64, unbase64url};

/// The JWS algorithms we verify. There is no `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Rs256,
    Es256,
    EdDsa,
}

impl Algorithm {
    /// The header's spelling (RFC 7518, RFC 8037).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }
}

/// The shortest HS256 secret accepted: 256 bits, the size of the hash (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The most keys one PEM or JWKS file may hold.
pub const MAX_KEYS: usize = 64;

enum Material {
    Hmac(hmac::Key),
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point (`04 || x || y`).
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// One verification key.
pub struct Key {
    kid: Option<String>,
    material: Material,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm().name())
            .finish()
    }
}

impl Key {
    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            Material::Hmac(_) => Algorithm::Hs256,
            Material::Rsa { .. } => Algorithm::Rs256,
            Material::P256(_) => Algorithm::Es256,
            Material::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Checks `signature` over `message`. HMAC tags are compared in constant time by ring.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(k) => hmac::verify(k, message, sig).is_ok(),
            Material::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            Material::Ed25519(k) => UnparsedPublicKey::new(&signature::ED25519, k)
                .verify(message, sig)
                .is_ok(),
        }
    }

    /// Signs with an HS256 secret (`sysgate token mint`); `None` for a public key.
    pub fn sign_hs256(&self, message: &[u8]) -> Option<Vec<u8>> {
        match &self.material {
            Material::Hmac(k) => Some(hmac::sign(k, message).as_ref().to_vec()),
            _ => None,
        }
    }
}

/// The configured keys: one secret, or the public keys of a PEM or JWKS file.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl KeySet {
    /// An HS256 secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn hmac(secret: &[u8]) -> Result<KeySet, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the HS256 secret is {} bytes; at least {MIN_SECRET_BYTES} are required",
                secret.len()
            ));
        }
        Ok(KeySet {
            keys: vec![Key {
                kid: None,
                material: Material::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)),
            }],
        })
    }

    /// Every `-----BEGIN PUBLIC KEY-----` block of `text` (RSA of 2048 bits or more, P-256,
    /// Ed25519). Other block types (certificates, private keys) are refused, not skipped: a
    /// private key in the verifier's file is a deployment mistake worth stopping for.
    pub fn from_pem(text: &str) -> Result<KeySet, String> {
        let mut keys = Vec::new();
        let mut lines = text.lines().enumerate();
        while let Some((i, line)) = lines.next() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some(label) = line
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
            else {
                return Err(format!(
                    "line {}: expected a `-----BEGIN PUBLIC KEY-----` line",
                    i + 1
                ));
            };
            if label != "PUBLIC KEY" {
                return Err(format!(
                    "line {}: a `{label}` block; only `PUBLIC KEY` blocks are accepted",
                    i + 1
                ));
            }
            let mut body = Vec::new();
            let mut ended = false;
            for (_, l) in lines.by_ref() {
                let l = l.trim();
                if l == "-----END PUBLIC KEY-----" {
                    ended = true;
                    break;
                }
                body.extend_from_slice(l.as_bytes());
            }
            if !ended {
                return Err(format!("line {}: the block has no END line", i + 1));
            }
            let der = unbase64(&body)
                .ok_or_else(|| format!("line {}: the block is not valid base64", i + 1))?;
            let material = spki(&der).map_err(|e| format!("line {}: {e}", i + 1))?;
            keys.push(Key {
                kid: None,
                material,
            });
            if keys.len() > MAX_KEYS {
                return Err(format!("more than {MAX_KEYS} keys"));
            }
        }
        if keys.is_empty() {
            return Err("no PUBLIC KEY block".into());
        }
        Ok(KeySet { keys })
    }

    /// A JWKS document (`{"keys": [...]}`) of RSA, EC P-256 and OKP Ed25519 public keys. A key
    /// whose `alg` or `use` contradicts its type, a symmetric (`oct`) key, or a private member
    /// (`d`) is an error.
    pub fn from_jwks(text: &str) -> Result<KeySet, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let list = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no `keys` array")?;
        if list.is_empty() {
            return Err("the `keys` array is empty".into());
        }
        if list.len() > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} keys"));
        }
        let mut keys = Vec::new();
        for (i, k) in list.iter().enumerate() {
            let key = jwk(k).map_err(|e| format!("key {i}: {e}"))?;
            if let Some(kid) = &key.kid
                && keys.iter().any(|o: &Key| o.kid.as_deref() == Some(kid))
            {
                return Err(format!("key {i}: `kid` {kid:?} appears twice"));
            }
            keys.push(key);
        }
        if keys.len() > 1 && keys.iter().any(|k| k.kid.is_none()) {
            return Err("with several keys, every key needs a `kid`".into());
        }
        Ok(KeySet { keys })
    }

    /// The key a token's `kid` selects. With a `kid`, the key of that id (a `kid` that names no
    /// key is refused, never answered with another key); without, the only key there is.
    pub fn select(&self, kid: Option<&str>) -> Result<&Key, &'static str> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or("unknown `kid`"),
            None if self.keys.len() == 1 => Ok(&self.keys[0]),
            None => Err("the token has no `kid` and several keys are configured"),
        }
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }
}

fn jwk(k: &Value) -> Result<Key, String> {
    let field = |name: &str| k.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("no `{name}`"))?;
        unbase64url(text.as_bytes()).ok_or_else(|| format!("`{name}` is not base64url"))
    };
    if k.get("d").is_some() {
        return Err("holds a private key (`d`); publish only public keys".into());
    }
    if let Some(u) = k.get("use")
        && u.as_str() != Some("sig")
    {
        return Err("`use` is not `sig`".into());
    }
    let material = match field("kty") {
        Some("RSA") => Material::Rsa {
            n: rsa_modulus(strip_zeros(bytes("n")?))?,
            e: strip_zeros(bytes("e")?),
        },
        Some("EC") => {
            if field("crv") != Some("P-256") {
                return Err("only the EC curve P-256 is supported".into());
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes each".into());
            }
            let mut point = vec![4];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        Some("OKP") => {
            if field("crv") != Some("Ed25519") {
                return Err("only the OKP curve Ed25519 is supported".into());
            }
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key must be 32 bytes".into());
            }
            Material::Ed25519(x)
        }
        Some("oct") => {
            return Err(
                "symmetric (`oct`) keys are not read from JWKS; use the HS256 secret file".into(),
            );
        }
        Some(other) => return Err(format!("unsupported `kty` {other:?}")),
        None => return Err("no `kty`".into()),
    };
    let kid = match k.get("kid") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
        Some(_) => return Err("`kid` must be a string of 1 to 256 characters".into()),
    };
    let key = Key { kid, material };
    if let Some(alg) = k.get("alg")
        && alg.as_str() != Some(key.algorithm().name())
    {
        return Err(format!(
            "`alg` {alg} does not match the key type, which allows only {}",
            key.algorithm().name()
        ));
    }
    Ok(key)
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|&&b| b == 0).count();
    v.drain(..zeros);
    v
}

fn rsa_modulus(n: Vec<u8>) -> Result<Vec<u8>, String> {
    if n.len() < 256 {
        return Err(format!(
            "the RSA modulus is {} bits; at least 2048 are required",
            n.len() * 8
        ));
    }
    Ok(n)
}

// DER object identifiers (content bytes only).
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A minimal DER reader: definite lengths only, at most 4 length bytes, no trailing bytes.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn read(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let (&t, rest) = self.0.split_first().ok_or("truncated DER")?;
        if t != tag {
            return Err(format!("DER: expected tag {tag:#04x}, found {t:#04x}"));
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated DER")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err("DER: bad length".into());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            // Shortest form only (DER), so one key has one encoding.
            if len < 0x80 || rest[0] == 0 {
                return Err("DER: non-minimal length".into());
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err("truncated DER".into());
        }
        let (value, after) = rest.split_at(len);
        self.0 = after;
        Ok(value)
    }

    fn end(&self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("DER: trailing bytes".into())
        }
    }
}

/// SubjectPublicKeyInfo → key material.
fn spki(der: &[u8]) -> Result<Material, String> {
    let mut outer = Der(der);
    let mut spki = Der(outer.read(0x30)?);
    outer.end()?;
    let mut alg = Der(spki.read(0x30)?);
    let bits = spki.read(0x03)?;
    spki.end()?;
    let oid = alg.read(0x06)?;
    let (&unused, key) = bits.split_first().ok_or("empty BIT STRING")?;
    if unused != 0 {
        return Err("BIT STRING with unused bits".into());
    }
    let material = if oid == OID_RSA {
        // Parameters: NULL.
        if !alg.read(0x05)?.is_empty() {
            return Err("RSA parameters are not NULL".into());
        }
        let mut outer = Der(key);
        let mut rsa = Der(outer.read(0x30)?);
        outer.end()?;
        let n = rsa_modulus(strip_zeros(rsa.read(0x02)?.to_vec()))?;
        let e = strip_zeros(rsa.read(0x02)?.to_vec());
        rsa.end()?;
        Material::Rsa { n, e }
    } else if oid == OID_EC {
        if alg.read(0x06)? != OID_P256 {
            return Err("only the EC curve P-256 is supported".into());
        }
        if key.len() != 65 || key[0] != 4 {
            return Err("a P-256 key must be an uncompressed point".into());
        }
        Material::P256(key.to_vec())
    } else if oid == OID_ED25519 {
        if key.len() != 32 {
            return Err("an Ed25519 key must be 32 bytes".into());
        }
        Material::Ed25519(key.to_vec())
    } else {
        return Err("unsupported key type (RSA, P-256 and Ed25519 are)".into());
    };
    alg.end()?;
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused() {
        assert!(KeySet::hmac(&[7; 31]).unwrap_err().contains("at least 32"));
        assert_eq!(
            KeySet::hmac(&[7; 32]).unwrap().keys[0].algorithm(),
            Algorithm::Hs256
        );
    }

    #[test]
    fn pem_refuses_what_is_not_a_public_key() {
        // (text, what the error says)
        let cases = [
            ("", "no PUBLIC KEY"),
            ("hello\n", "expected a `-----BEGIN"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "only `PUBLIC KEY`",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "only `PUBLIC KEY`",
            ),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n", "no END line"),
            (
                "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
                "not valid base64",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
                "truncated DER",
            ),
        ];
        for (text, want) in cases {
            let e = KeySet::from_pem(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn jwks_refuses_private_symmetric_and_contradictory_keys() {
        let x = crate::codec::base64url(&[1; 32]);
        let cases = [
            ("{}".to_string(), "no `keys`"),
            (r#"{"keys": []}"#.to_string(), "empty"),
            (
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}"}}]}}"#),
                "private key",
            ),
            (
                r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#.to_string(),
                "symmetric",
            ),
            (
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","alg":"HS256"}}]}}"#),
                "does not match",
            ),
            (
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"enc"}}]}}"#),
                "`use`",
            ),
            (
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"X25519","x":"{x}"}}]}}"#),
                "Ed25519",
            ),
            (
                r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#.to_string(),
                "2048",
            ),
            (
                format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}}]}}"#
                ),
                "twice",
            ),
            (
                format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}]}}"#
                ),
                "every key needs a `kid`",
            ),
        ];
        for (text, want) in cases {
            let e = KeySet::from_jwks(&text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn select_never_falls_back_to_another_key() {
        let x = crate::codec::base64url(&[1; 32]);
        let set = KeySet::from_jwks(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"b"}}]}}"#
        ))
        .unwrap();
        assert_eq!(set.select(Some("b")).unwrap().kid(), Some("b"));
        assert_eq!(set.select(Some("c")).unwrap_err(), "unknown `kid`");
        assert!(set.select(None).unwrap_err().contains("no `kid`"));
        let one = KeySet::hmac(&[1; 32]).unwrap();
        assert!(one.select(None).is_ok());
        assert_eq!(one.select(Some("x")).unwrap_err(), "unknown `kid`");
    }

    #[test]
    fn der_lengths_must_be_minimal_and_exact() {
        // (bytes, ok)
        let cases: &[(&[u8], bool)] = &[
            (&[0x30, 0x00], true),
            (&[0x30, 0x81, 0x01, 0x00], false),
            (&[0x30, 0x82, 0x00, 0x80], false),
            (&[0x30, 0x01], false),
            (&[0x30, 0x00, 0x00], false),
            (&[0x30, 0x85, 1, 1, 1, 1, 1], false),
        ];
        for (bytes, ok) in cases {
            let mut d = Der(bytes);
            let r = d.read(0x30).and_then(|_| d.end());
            assert_eq!(r.is_ok(), *ok, "{bytes:?}: {r:?}");
        }
    }
}

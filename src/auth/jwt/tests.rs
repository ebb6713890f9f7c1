#![forbid(unsafe_code)]
//! Token verification as a decision table: one line per case, each token built here and signed
//! by ring with a key of the right (or deliberately wrong) kind.
#![expect(
    clippy::disallowed_methods,
    reason = "openssl makes the RSA test key: ring cannot generate RSA keys"
)]

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

use super::*;
use crate::codec::{base64url, unbase64};

const NOW: u64 = 1_800_000_000;
const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn claims() -> Value {
    json!({"sub": "agent-1", "jti": "j-1", "iat": NOW - 10, "exp": NOW + 200, "mcp_scopes": ["core", "hooks"]})
}

fn assemble(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let mut t = base64url(header.to_string().as_bytes());
    t.push('.');
    t.push_str(&base64url(claims.to_string().as_bytes()));
    let sig = sign(t.as_bytes());
    t.push('.');
    t.push_str(&base64url(&sig));
    t
}

fn hs(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    assemble(header, claims, |m| {
        ring::hmac::sign(&key, m).as_ref().to_vec()
    })
}

fn spki_pem(der: &[u8]) -> String {
    // Standard base64 from the base64url encoder: swap the two letters, pad to 4.
    let mut b64: String = base64url(der)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// SubjectPublicKeyInfo for a raw EC point or Ed25519 key (fixed DER prefixes).
fn spki_of(prefix: &[u8], key: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(key);
    v
}

const P256_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const ED25519_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

struct Rsa {
    pair: RsaKeyPair,
    pem: String,
}

fn rsa() -> Rsa {
    let dir = crate::testdir::TempDir::new("jwt-rsa");
    let key = dir.join("k.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let pub_pem = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    let pkcs8 = std::fs::read_to_string(&key).unwrap();
    let body: String = pkcs8.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = unbase64(body.as_bytes()).unwrap();
    Rsa {
        pair: RsaKeyPair::from_pkcs8(&der).unwrap(),
        pem: String::from_utf8(pub_pem.stdout).unwrap(),
    }
}

fn rs(pair: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    assemble(header, claims, |m| {
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            m,
            &mut sig,
        )
        .unwrap();
        sig
    })
}

fn es_pair() -> EcdsaKeyPair {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap()
}

fn es(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
    assemble(header, claims, |m| {
        pair.sign(&SystemRandom::new(), m)
            .unwrap()
            .as_ref()
            .to_vec()
    })
}

fn ed_pair() -> Ed25519KeyPair {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

fn ed(pair: &Ed25519KeyPair, header: &Value, claims: &Value) -> String {
    assemble(header, claims, |m| pair.sign(m).as_ref().to_vec())
}

fn with(mut c: Value, key: &str, v: Value) -> Value {
    if v.is_null() {
        c.as_object_mut().unwrap().remove(key);
    } else {
        c[key] = v;
    }
    c
}

/// `Ok(())` or the start of the rejection's text.
fn outcome(token: &str, keys: &KeySet, policy: &Policy) -> Result<(), String> {
    verify(token, keys, policy, NOW)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn hs256_decision_table() {
    let keys = KeySet::hmac(SECRET).unwrap();
    let p = Policy::default();
    let no_iat = Policy {
        require_iat: false,
        ..Policy::default()
    };
    let aud = Policy {
        audience: Some("sysgate".into()),
        issuer: Some("https://issuer".into()),
        ..Policy::default()
    };
    let h = json!({"alg": "HS256", "typ": "JWT"});
    let good = hs(&h, &claims(), SECRET);
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        parts[1] = base64url(with(claims(), "sub", json!("root")).to_string().as_bytes());
        parts.join(".")
    };
    // (case, token, policy, expected: Ok or the rejection's leading text)
    let cases: Vec<(&str, String, &Policy, Result<(), &str>)> = vec![
        ("valid", good.clone(), &p, Ok(())),
        (
            "tampered payload",
            tampered,
            &p,
            Err("signature does not verify"),
        ),
        (
            "other secret",
            hs(&h, &claims(), b"another secret of thirty-two byte"),
            &p,
            Err("signature does not verify"),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                base64url(br#"{"alg":"none"}"#),
                base64url(claims().to_string().as_bytes())
            ),
            &p,
            Err("malformed token: an empty part"),
        ),
        (
            "alg none signed",
            hs(&json!({"alg": "none"}), &claims(), SECRET),
            &p,
            Err("token algorithm \"none\""),
        ),
        (
            "alg RS256 on an HMAC key",
            hs(&json!({"alg": "RS256"}), &claims(), SECRET),
            &p,
            Err("token algorithm \"RS256\""),
        ),
        (
            "alg lower-case",
            hs(&json!({"alg": "hs256"}), &claims(), SECRET),
            &p,
            Err("token algorithm"),
        ),
        (
            "no alg",
            hs(&json!({"typ": "JWT"}), &claims(), SECRET),
            &p,
            Err("malformed token: the header has no `alg`"),
        ),
        (
            "crit",
            hs(&json!({"alg": "HS256", "crit": ["x"]}), &claims(), SECRET),
            &p,
            Err("malformed token: the header has `crit`"),
        ),
        (
            "typ other",
            hs(&json!({"alg": "HS256", "typ": "JWE"}), &claims(), SECRET),
            &p,
            Err("malformed token: `typ`"),
        ),
        (
            "unknown kid",
            hs(&json!({"alg": "HS256", "kid": "k9"}), &claims(), SECRET),
            &p,
            Err("no key for this token: unknown `kid`"),
        ),
        (
            "two parts",
            "a.b".into(),
            &p,
            Err("malformed token: not three"),
        ),
        (
            "four parts",
            format!("{good}.x"),
            &p,
            Err("malformed token: not three"),
        ),
        (
            "padding",
            good.replacen('.', "=.", 1),
            &p,
            Err("malformed token: the header is not base64url"),
        ),
        (
            "header not JSON",
            format!(
                "{}.{}",
                base64url(b"{nope"),
                good.split_once('.').unwrap().1
            ),
            &p,
            Err("malformed token: the header is not a JSON object"),
        ),
        (
            "payload an array",
            hs(&h, &json!([1]), SECRET),
            &p,
            Err("malformed token: the payload is not a JSON object"),
        ),
        (
            "oversized",
            format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES)),
            &p,
            Err("token is"),
        ),
        (
            "expired",
            hs(
                &h,
                &with(
                    with(claims(), "exp", json!(NOW - 31)),
                    "iat",
                    json!(NOW - 100),
                ),
                SECRET,
            ),
            &p,
            Err("token expired 31 s ago"),
        ),
        (
            "expired within skew",
            hs(
                &h,
                &with(
                    with(claims(), "exp", json!(NOW - 30)),
                    "iat",
                    json!(NOW - 100),
                ),
                SECRET,
            ),
            &p,
            Ok(()),
        ),
        (
            "future iat",
            hs(&h, &with(claims(), "iat", json!(NOW + 31)), SECRET),
            &p,
            Err("token is issued in the future"),
        ),
        (
            "nbf ahead",
            hs(&h, &with(claims(), "nbf", json!(NOW + 60)), SECRET),
            &p,
            Err("token is not valid yet"),
        ),
        (
            "too long-lived",
            hs(&h, &with(claims(), "exp", json!(NOW + 291)), SECRET),
            &p,
            Err("token lifetime is 301 s"),
        ),
        (
            "no iat, long exp",
            hs(
                &h,
                &with(with(claims(), "iat", Value::Null), "exp", json!(NOW + 1000)),
                SECRET,
            ),
            &no_iat,
            Err("token lifetime"),
        ),
        (
            "no exp",
            hs(&h, &with(claims(), "exp", Value::Null), SECRET),
            &p,
            Err("required claim `exp`"),
        ),
        (
            "no iat",
            hs(&h, &with(claims(), "iat", Value::Null), SECRET),
            &p,
            Err("required claim `iat`"),
        ),
        (
            "no jti",
            hs(&h, &with(claims(), "jti", Value::Null), SECRET),
            &p,
            Err("required claim `jti`"),
        ),
        (
            "no sub",
            hs(&h, &with(claims(), "sub", Value::Null), SECRET),
            &p,
            Err("required claim `sub`"),
        ),
        (
            "exp a string",
            hs(&h, &with(claims(), "exp", json!("soon")), SECRET),
            &p,
            Err("bad claim"),
        ),
        (
            "sub too long",
            hs(&h, &with(claims(), "sub", json!("x".repeat(257))), SECRET),
            &p,
            Err("bad claim"),
        ),
        (
            "aud and iss right",
            hs(
                &h,
                &with(
                    with(claims(), "aud", json!(["x", "sysgate"])),
                    "iss",
                    json!("https://issuer"),
                ),
                SECRET,
            ),
            &aud,
            Ok(()),
        ),
        (
            "aud wrong",
            hs(
                &h,
                &with(
                    with(claims(), "aud", json!("other")),
                    "iss",
                    json!("https://issuer"),
                ),
                SECRET,
            ),
            &aud,
            Err("`aud` does not name"),
        ),
        (
            "aud missing",
            hs(&h, &with(claims(), "iss", json!("https://issuer")), SECRET),
            &aud,
            Err("`aud` does not name"),
        ),
        (
            "iss wrong",
            hs(
                &h,
                &with(
                    with(claims(), "aud", json!("sysgate")),
                    "iss",
                    json!("https://evil"),
                ),
                SECRET,
            ),
            &aud,
            Err("`iss` is not"),
        ),
        (
            "iss missing",
            hs(&h, &with(claims(), "aud", json!("sysgate")), SECRET),
            &aud,
            Err("required claim `iss`"),
        ),
    ];
    for (case, token, policy, want) in cases {
        let got = outcome(&token, &keys, policy);
        match (&got, want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(w)) if e.starts_with(w) => {}
            _ => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn the_scopes_claim_and_roles_are_read_as_names() {
    let keys = KeySet::hmac(SECRET).unwrap();
    let h = json!({"alg": "HS256"});
    let v = verify(&hs(&h, &claims(), SECRET), &keys, &Policy::default(), NOW).unwrap();
    assert_eq!(v.scopes, ["core", "hooks"]);
    assert_eq!(v.sub.as_deref(), Some("agent-1"));
    let spaced = with(
        with(claims(), "mcp_scopes", json!("core  sbom")),
        "roles",
        json!(["ops", 7]),
    );
    let v = verify(&hs(&h, &spaced, SECRET), &keys, &Policy::default(), NOW).unwrap();
    assert_eq!(v.scopes, ["core", "sbom"]);
    assert_eq!(v.roles, ["ops"]);
    let custom = Policy {
        scopes_claim: "scope".into(),
        ..Policy::default()
    };
    let v = verify(
        &hs(&h, &with(claims(), "scope", json!("logs_system")), SECRET),
        &keys,
        &custom,
        NOW,
    )
    .unwrap();
    assert_eq!(v.scopes, ["logs_system"]);
}

#[test]
fn public_key_algorithms_verify_and_refuse_confusion() {
    let p = Policy::default();
    let rsa = rsa();
    let rs_keys = KeySet::from_pem(&rsa.pem).unwrap();
    let esp = es_pair();
    let es_keys =
        KeySet::from_pem(&spki_pem(&spki_of(P256_PREFIX, esp.public_key().as_ref()))).unwrap();
    let edp = ed_pair();
    let ed_keys = KeySet::from_pem(&spki_pem(&spki_of(
        ED25519_PREFIX,
        edp.public_key().as_ref(),
    )))
    .unwrap();
    let c = claims();
    // The RSA public key's PEM text as an HMAC secret: the classic confusion attack.
    let confused = hs(&json!({"alg": "HS256"}), &c, rsa.pem.as_bytes());
    let cases: Vec<(&str, String, &KeySet, Result<(), &str>)> = vec![
        (
            "RS256",
            rs(&rsa.pair, &json!({"alg": "RS256"}), &c),
            &rs_keys,
            Ok(()),
        ),
        (
            "ES256",
            es(&esp, &json!({"alg": "ES256"}), &c),
            &es_keys,
            Ok(()),
        ),
        (
            "EdDSA",
            ed(&edp, &json!({"alg": "EdDSA"}), &c),
            &ed_keys,
            Ok(()),
        ),
        (
            "HS256 signed with the RSA public key",
            confused,
            &rs_keys,
            Err("token algorithm \"HS256\" is not the configured key's (RS256)"),
        ),
        (
            "ES256 token, RSA key",
            es(&esp, &json!({"alg": "ES256"}), &c),
            &rs_keys,
            Err("token algorithm \"ES256\""),
        ),
        (
            "ES256 claimed as RS256",
            es(&esp, &json!({"alg": "RS256"}), &c),
            &rs_keys,
            Err("signature does not verify"),
        ),
        (
            "EdDSA token, P-256 key",
            ed(&edp, &json!({"alg": "EdDSA"}), &c),
            &es_keys,
            Err("token algorithm"),
        ),
        (
            "other Ed25519 key",
            ed(&ed_pair(), &json!({"alg": "EdDSA"}), &c),
            &ed_keys,
            Err("signature does not verify"),
        ),
        (
            "alg none on RSA",
            format!(
                "{}.{}.x",
                base64url(br#"{"alg":"none"}"#),
                base64url(c.to_string().as_bytes())
            ),
            &rs_keys,
            Err("malformed token: the signature is not base64url"),
        ),
    ];
    for (case, token, keys, want) in cases {
        let got = outcome(&token, keys, &p);
        match (&got, want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(w)) if e.starts_with(w) => {}
            _ => panic!("{case}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn jwks_keys_are_chosen_by_kid() {
    let a = ed_pair();
    let b = es_pair();
    let point = b.public_key().as_ref();
    let jwks = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": base64url(a.public_key().as_ref())},
        {"kty": "EC", "crv": "P-256", "kid": "b", "alg": "ES256", "use": "sig",
         "x": base64url(&point[1..33]), "y": base64url(&point[33..])},
    ]});
    let keys = KeySet::from_jwks(&jwks.to_string()).unwrap();
    let p = Policy::default();
    let c = claims();
    assert_eq!(
        outcome(&ed(&a, &json!({"alg": "EdDSA", "kid": "a"}), &c), &keys, &p),
        Ok(())
    );
    assert_eq!(
        outcome(&es(&b, &json!({"alg": "ES256", "kid": "b"}), &c), &keys, &p),
        Ok(())
    );
    // Right key type, wrong kid: the other key's algorithm decides.
    let e = outcome(&es(&b, &json!({"alg": "ES256", "kid": "a"}), &c), &keys, &p).unwrap_err();
    assert!(e.contains("(EdDSA)"), "{e}");
    let e = outcome(&ed(&a, &json!({"alg": "EdDSA"}), &c), &keys, &p).unwrap_err();
    assert!(e.contains("no `kid`"), "{e}");
    let e = outcome(
        &ed(&a, &json!({"alg": "EdDSA", "kid": "zz"}), &c),
        &keys,
        &p,
    )
    .unwrap_err();
    assert!(e.contains("unknown `kid`"), "{e}");
    let e = outcome(&ed(&a, &json!({"alg": "EdDSA", "kid": 7}), &c), &keys, &p).unwrap_err();
    assert!(e.contains("`kid` is not a string"), "{e}");
}

#[test]
fn minted_tokens_verify_and_carry_what_was_asked() {
    let keys = KeySet::hmac(SECRET).unwrap();
    let scopes = vec!["core".to_string(), "hooks".to_string()];
    let req = MintRequest {
        agent: "ci-bot",
        scopes: &scopes,
        ttl: 120,
        issuer: Some("sysgate"),
        audience: Some("host-a"),
        jti: "0123abcd".into(),
        now: NOW,
    };
    let t = mint_hs256(&keys.keys()[0], &req).unwrap();
    let policy = Policy {
        issuer: Some("sysgate".into()),
        audience: Some("host-a".into()),
        ..Policy::default()
    };
    let v = verify(&t, &keys, &policy, NOW + 5).unwrap();
    assert_eq!(v.sub.as_deref(), Some("ci-bot"));
    assert_eq!(v.jti.as_deref(), Some("0123abcd"));
    assert_eq!(v.exp, NOW + 120);
    assert_eq!(v.scopes, scopes);
    assert!(verify(&t, &keys, &policy, NOW + 151).is_err());
}

#[test]
fn ttl_grammar() {
    // (text, seconds or error)
    let cases: &[(&str, Option<u64>)] = &[
        ("30s", Some(30)),
        ("30m", Some(1800)),
        ("12h", Some(43_200)),
        ("1d", Some(86_400)),
        ("0s", None),
        ("5", None),
        ("m", None),
        ("-5m", None),
        ("5M", None),
        ("1.5h", None),
        ("9999999999d", None),
        ("", None),
        (" 5m", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_ttl(text).ok(), *want, "{text:?}");
    }
}

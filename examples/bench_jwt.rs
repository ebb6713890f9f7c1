//! Token verification cost against its targets: HS256 ≤ 5 µs and ES256 ≤ 150 µs per token
//! (RS256 and EdDSA timed for information), each a whole `verify` (split, decode, JSON, key
//! choice, signature, claims) of a typical token. The replay cache's insert is timed too.
//!
//! Run: `cargo run --release --locked --example bench_jwt` (optionally `-- ROUNDS`, default 31;
//! each round times a batch of verifications). Prints the median per token (and min/max over
//! rounds); exits non-zero if a target is missed. RS256 needs `openssl` for its key.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(
    clippy::disallowed_methods,
    reason = "openssl makes the RSA key; ring cannot generate one"
)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::json;
use sysgate::testing::auth::jwt::{Policy, verify};
use sysgate::testing::auth::keys::KeySet;
use sysgate::testing::auth::replay::ReplayCache;
use sysgate::testing::codec::{base64url as b64, unbase64};

fn token(alg: &str, kid: Option<&str>, now: u64, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let claims = json!({
        "sub": "agent-ci-7", "jti": "5f0c1e2d3c4b5a69", "iat": now, "exp": now + 240,
        "iss": "https://idp.example", "aud": "sysgate", "mcp_scopes": ["core", "logs_system", "hooks"],
    });
    let mut t = b64(header.to_string().as_bytes());
    t.push('.');
    t.push_str(&b64(claims.to_string().as_bytes()));
    let sig = sign(t.as_bytes());
    t.push('.');
    t.push_str(&b64(&sig));
    t
}

fn pem(der: &[u8]) -> String {
    let std: String = b64(der)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let pad = "=".repeat((4 - std.len() % 4) % 4);
    format!("-----BEGIN PUBLIC KEY-----\n{std}{pad}\n-----END PUBLIC KEY-----\n")
}

/// Median, min and max time per call.
type Spread = (Duration, Duration, Duration);

/// Median, min and max time per call over `rounds` rounds of `batch` calls.
fn time(rounds: usize, batch: usize, mut f: impl FnMut()) -> Spread {
    for _ in 0..batch {
        f();
    }
    let mut per: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed() / batch as u32
        })
        .collect();
    per.sort();
    (per[per.len() / 2], per[0], per[per.len() - 1])
}

fn main() -> ExitCode {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31usize);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let policy = Policy {
        issuer: Some("https://idp.example".into()),
        audience: Some("sysgate".into()),
        ..Policy::default()
    };
    let rng = SystemRandom::new();
    let secret = [0x42u8; 32];
    let hs_keys = KeySet::hmac(&secret).expect("32-byte secret");
    let hkey = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    let hs = token("HS256", None, now, |m| {
        ring::hmac::sign(&hkey, m).as_ref().to_vec()
    });

    let p8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("key");
    let ec = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        p8.as_ref(),
        &rng,
    )
    .expect("key");
    let point = ec.public_key().as_ref();
    let es_keys = KeySet::from_jwks(
        &json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "e1",
            "x": b64(&point[1..33]), "y": b64(&point[33..])}]})
        .to_string(),
    )
    .expect("jwks");
    let es = token("ES256", Some("e1"), now, |m| {
        ec.sign(&rng, m).expect("sign").as_ref().to_vec()
    });

    let p8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let edk = Ed25519KeyPair::from_pkcs8(p8.as_ref()).expect("key");
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(edk.public_key().as_ref());
    let ed_keys = KeySet::from_pem(&pem(&spki)).expect("pem");
    let ed = token("EdDSA", None, now, |m| edk.sign(m).as_ref().to_vec());

    let rsa = rsa_key();

    let mut rows: Vec<(&str, Option<f64>, Spread)> = Vec::new();
    let mut check = |name, target, keys: &KeySet, t: &str, batch| {
        assert!(
            verify(t, keys, &policy, now).is_ok(),
            "{name} does not verify"
        );
        let r = time(rounds, batch, || {
            black_box(verify(black_box(t), keys, &policy, now).is_ok());
        });
        rows.push((name, target, r));
    };
    check("HS256", Some(5.0), &hs_keys, &hs, 2000);
    check("ES256", Some(150.0), &es_keys, &es, 200);
    check("EdDSA", None, &ed_keys, &ed, 200);
    if let Some((pair, keys)) = &rsa {
        let t = token("RS256", None, now, |m| {
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(&signature::RSA_PKCS1_SHA256, &rng, m, &mut sig)
                .expect("sign");
            sig
        });
        check("RS256 (2048-bit)", None, keys, &t, 200);
    }
    let mut cache = ReplayCache::new(1_000_000, 256 << 20);
    let mut i = 0u64;
    let insert = time(rounds, 2000, || {
        i += 1;
        black_box(
            cache
                .check_and_insert(&format!("{i:016x}"), now + 300, now)
                .is_ok(),
        );
    });
    rows.push(("replay cache insert", None, insert));

    println!("# sysgate token verification ({rounds} rounds; time per token)");
    let mut failed = false;
    for (name, target, (median, min, max)) in rows {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let verdict = match target {
            Some(t) if us(median) <= t => format!("target <= {t} µs: met"),
            Some(t) => {
                failed = true;
                format!("target <= {t} µs: MISSED")
            }
            None => "for information".into(),
        };
        println!(
            "{name}: median {:.2} µs (min {:.2}, max {:.2}); {verdict}",
            us(median),
            us(min),
            us(max)
        );
    }
    if rsa.is_none() {
        println!("RS256: skipped (openssl not found)");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn rsa_key() -> Option<(RsaKeyPair, KeySet)> {
    let dir = std::env::temp_dir().join(format!("sysgate-bench-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let key = dir.join("k.pem");
    let made = std::process::Command::new("openssl")
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
        .ok()?;
    let public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .ok()?;
    let text = std::fs::read_to_string(&key).ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !made.status.success() || !public.status.success() {
        return None;
    }
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = unbase64(body.as_bytes())?;
    let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
    let keys = KeySet::from_pem(std::str::from_utf8(&public.stdout).ok()?).ok()?;
    Some((pair, keys))
}

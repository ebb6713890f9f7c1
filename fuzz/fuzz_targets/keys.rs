//! Arbitrary bytes as a public-key file, read both as PEM and as JWKS. Property: no panic; what
//! loads holds 1 to 64 keys, each with the one algorithm its type allows, and with several keys
//! every JWKS key has a distinct `kid`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::auth::keys::{Algorithm, KeySet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (set, jwks) in [
        (KeySet::from_pem(&text), false),
        (KeySet::from_jwks(&text), true),
    ] {
        let Ok(set) = set else { continue };
        let keys = set.keys();
        assert!(!keys.is_empty() && keys.len() <= 64);
        for (i, k) in keys.iter().enumerate() {
            assert_ne!(
                k.algorithm(),
                Algorithm::Hs256,
                "a public-key file gave an HMAC key"
            );
            if jwks && keys.len() > 1 {
                let kid = k.kid().expect("every key has a kid");
                assert!(keys[..i].iter().all(|o| o.kid() != Some(kid)));
            }
        }
    }
});

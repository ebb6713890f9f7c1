//! Arbitrary bytes as a bearer token, verified against an HS256 secret and an Ed25519 key.
//! Property: no panic, and nothing verifies: without the secret or the private key no input can
//! be accepted, so an `Ok` here would be a forgery. Rejections never echo the token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::auth::jwt::{MAX_TOKEN_BYTES, Policy, Rejection, verify};
use sysgate::testing::auth::keys::KeySet;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let hs = KeySet::hmac(b"fuzzing secret, thirty-two bytes").expect("32 bytes");
    let ed = KeySet::from_jwks(
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
    )
    .expect("a valid JWKS");
    for keys in [&hs, &ed] {
        for now in [0, 1_800_000_000, u64::MAX] {
            match verify(&token, keys, &Policy::default(), now) {
                Ok(v) => panic!("forged token accepted: {v:?}"),
                Err(e) => {
                    if token.len() > MAX_TOKEN_BYTES {
                        assert!(matches!(e, Rejection::TooLong(_)), "{e}");
                    }
                    let text = e.to_string();
                    assert!(text.len() < 200, "{text}");
                }
            }
        }
    }
});

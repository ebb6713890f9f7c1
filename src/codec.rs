#![forbid(unsafe_code)]
//! Text encodings of bytes, one copy each: hex, base64url (JWTs) and standard base64 (PEM). A
//! leaf. Decoders are strict: one spelling per byte string, so a token cannot be re-encoded into
//! a second form that still verifies.

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    hex_into(bytes, &mut out);
    // Only ASCII hex digits were pushed.
    String::from_utf8(out).unwrap_or_default()
}

pub fn hex_into(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// Decodes hex (either case); `None` for odd length or a non-hex digit.
pub fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// base64url without padding (RFC 7515 §2).
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url. `None` for padding, any byte outside the alphabet, a length of
/// 1 mod 4, or non-zero bits after the last byte (so each byte string has exactly one encoding).
pub fn unbase64url(text: &[u8]) -> Option<Vec<u8>> {
    decode64(text, B64URL)
}

/// Decodes standard base64 with optional `=` padding (the body of a PEM block, whitespace
/// removed). Same strictness as [`unbase64url`] otherwise.
pub fn unbase64(text: &[u8]) -> Option<Vec<u8>> {
    let body = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
    match body {
        Some(b) if !text.len().is_multiple_of(4) || b.len().is_multiple_of(4) => None,
        Some(b) => decode64(b, B64STD),
        None if !text.len().is_multiple_of(4) => None,
        None => decode64(text, B64STD),
    }
}

/// Byte → 6-bit value (`INVALID` outside the alphabet), built at compile time.
const fn inverse(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}
const INVALID: u8 = 0xff;
const INV_URL: [u8; 256] = inverse(B64URL);
const INV_STD: [u8; 256] = inverse(B64STD);

fn decode64(text: &[u8], alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let table = if alphabet == B64URL {
        &INV_URL
    } else {
        &INV_STD
    };
    let value = |c: u8| match table[usize::from(c)] {
        INVALID => None,
        v => Some(u32::from(v)),
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.len() - 1;
        // The bits below the last whole byte must be zero (canonical encoding).
        if keep < 3 && bytes[keep..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

/// The deepest nesting the JSON parser (serde_json) accepts: it refuses a document at its 128th
/// level of arrays/objects with a generic parse error, so `limits.max_json_depth` stops one below
/// it and every deeper message gets the depth error instead. Here, in a leaf, because both the
/// config (the setting's range) and the protocol (the pre-scan) need it.
pub const JSON_PARSER_MAX_DEPTH: usize = 127;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..40 {
            let enc = base64url(&data[..n]);
            assert!(!enc.contains('='), "{enc}");
            assert_eq!(
                unbase64url(enc.as_bytes()).as_deref(),
                Some(&data[..n]),
                "{n}"
            );
        }
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn decoders_refuse_every_other_spelling() {
        // (input, base64url, standard base64)
        type Case = (&'static str, Option<&'static [u8]>, Option<&'static [u8]>);
        let cases: &[Case] = &[
            ("", Some(b""), Some(b"")),
            ("TQ", Some(b"M"), None),
            ("TQ==", None, Some(b"M")),
            ("TR", None, None),
            ("TR==", None, None),
            ("T", None, None),
            ("TWE", Some(b"Ma"), None),
            ("TWE=", None, Some(b"Ma")),
            ("TWF=", None, None),
            ("TQ=", None, None),
            ("TQ===", None, None),
            ("T===", None, None),
            ("TWFu", Some(b"Man"), Some(b"Man")),
            ("-_8", Some(b"\xfb\xff"), None),
            ("+/8=", None, Some(b"\xfb\xff")),
            ("TW Fu", None, None),
            ("TWFu\n", None, None),
        ];
        for (input, url, std) in cases {
            assert_eq!(
                unbase64url(input.as_bytes()).as_deref(),
                *url,
                "url {input:?}"
            );
            assert_eq!(unbase64(input.as_bytes()).as_deref(), *std, "std {input:?}");
        }
    }
}

#![forbid(unsafe_code)]
//! Text encodings of bytes, one copy each (hex today; base64url when tokens need it). A leaf.

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

/// The deepest nesting the JSON parser (serde_json) accepts: it refuses a document at its 128th
/// level of arrays/objects with a generic parse error, so `limits.max_json_depth` stops one below
/// it and every deeper message gets the depth error instead. Here, in a leaf, because both the
/// config (the setting's range) and the protocol (the pre-scan) need it.
pub const JSON_PARSER_MAX_DEPTH: usize = 127;

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5), as in log cursors.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` for any other character, a length no encoding has, or
/// nonzero unused bits (so every byte string has exactly one accepted text).
pub fn unbase64url(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        B64URL.iter().position(|x| *x == c).map(|v| v as u32)
    }
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        let used = n.to_be_bytes();
        // The bits after the last whole byte must be zero.
        if bytes < 3 && n & (0xff_ffff >> (8 * bytes)) != 0 {
            return None;
        }
        out.extend_from_slice(&used[1..1 + bytes]);
    }
    Some(out)
}

#[cfg(test)]
mod base64_tests {
    use super::{base64url, unbase64url};

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            assert_eq!(unbase64url(base64url(&bytes).as_bytes()), Some(bytes));
        }
        assert_eq!(unbase64url(b"Zh"), None, "unused bits set");
        assert_eq!(unbase64url(b"Z"), None);
        assert_eq!(unbase64url(b"Zm9v="), None);
        assert_eq!(unbase64url(b"Zm+v"), None);
    }
}

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

#![forbid(unsafe_code)]
//! The MAC chain, shared by the writer and the verifier.
//!
//! A line is `CANONICAL` with its closing `}` replaced by `,"mac":"<64 hex>"}`, then `\n`.
//! `CANONICAL` is the record as compact JSON with keys in sorted order, including `seq` and
//! `prev` (the hex MAC of the record before it, or 64 zeros at the start of a chain), and
//! `mac = HMAC-SHA256(key, CANONICAL)`. Because `prev` is inside what is signed, every MAC covers
//! the previous MAC, and a segment that starts mid-chain (after rotation) can still be checked.
//!
//! The verifier recovers `CANONICAL` from the line's bytes (cut the `,"mac":"..."` suffix, put
//! back `}`) instead of re-serialising parsed JSON, so number formatting or key order in another
//! JSON implementation can never make an intact line fail.

use ring::hmac;
use serde_json::{Map, Value};

use super::key::AuditKey;
use super::{hex_into, unhex};

pub const MAC_LEN: usize = 32;
/// `prev` of the first record of a chain.
pub const GENESIS: [u8; MAC_LEN] = [0; MAC_LEN];

const MAC_FIELD: &[u8] = b",\"mac\":\"";
/// `,"mac":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = MAC_FIELD.len() + 2 * MAC_LEN + 2;

/// Signs `canonical` (a compact JSON object with at least one key) and returns the full line,
/// newline included, and its MAC.
pub fn seal(key: &AuditKey, canonical: &[u8]) -> (Vec<u8>, [u8; MAC_LEN]) {
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(hmac::sign(key.hmac(), canonical).as_ref());
    let body = canonical.strip_suffix(b"}").unwrap_or(canonical);
    let mut line = Vec::with_capacity(body.len() + SUFFIX_LEN + 1);
    line.extend_from_slice(body);
    line.extend_from_slice(MAC_FIELD);
    hex_into(&mac, &mut line);
    line.extend_from_slice(b"\"}\n");
    (line, mac)
}

/// What a line says about its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub seq: u64,
    pub prev: [u8; MAC_LEN],
    pub mac: [u8; MAC_LEN],
    /// Whether `mac` is the HMAC of the line's content under the key.
    pub authentic: bool,
    /// Set for an `audit_gap` record: what it says the files held before it.
    pub gap: Option<GapClaim>,
}

/// What a gap record says (see `head::Gap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapClaim {
    /// `seq` of the last record the files held when the gap was found (`None`: none).
    pub after_seq: Option<u64>,
    pub cause: String,
}

/// Parses one line (without its newline). `Err` says why it is not an audit record at all.
pub fn open(key: &AuditKey, line: &[u8]) -> Result<Opened, String> {
    if line.len() < SUFFIX_LEN + 2 || !line.ends_with(b"\"}") {
        return Err("does not end with a \"mac\" field".into());
    }
    let cut = line.len() - SUFFIX_LEN;
    if &line[cut..cut + MAC_FIELD.len()] != MAC_FIELD {
        return Err("does not end with a \"mac\" field".into());
    }
    let mac_hex = &line[cut + MAC_FIELD.len()..line.len() - 2];
    let mac: [u8; MAC_LEN] = unhex(mac_hex)
        .and_then(|v| v.try_into().ok())
        .ok_or("\"mac\" is not 64 hex digits")?;
    let mut canonical = Vec::with_capacity(cut + 1);
    canonical.extend_from_slice(&line[..cut]);
    canonical.push(b'}');
    let fields: Map<String, Value> =
        serde_json::from_slice(&canonical).map_err(|e| format!("not a JSON object: {e}"))?;
    let seq = fields
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("no numeric \"seq\"")?;
    let prev: [u8; MAC_LEN] = fields
        .get("prev")
        .and_then(Value::as_str)
        .and_then(|s| unhex(s.as_bytes()))
        .and_then(|v| v.try_into().ok())
        .ok_or("\"prev\" is not 64 hex digits")?;
    let authentic = hmac::verify(key.hmac(), &canonical, &mac).is_ok();
    let gap = (fields.get("event").and_then(Value::as_str) == Some("audit_gap")).then(|| {
        let detail = fields.get("detail");
        GapClaim {
            after_seq: detail
                .and_then(|d| d.get("after_seq"))
                .and_then(Value::as_u64),
            cause: detail
                .and_then(|d| d.get("cause"))
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
        }
    });
    Ok(Opened {
        seq,
        prev,
        mac,
        authentic,
        gap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AuditKey {
        AuditKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips() {
        let canonical = format!(
            r#"{{"event":"query","prev":"{}","seq":7,"ts":"2024-12-12T10:30:45.123Z"}}"#,
            "ab".repeat(32)
        );
        let (line, mac) = seal(&key(1), canonical.as_bytes());
        assert!(line.ends_with(b"\"}\n"));
        let text = std::str::from_utf8(&line).unwrap();
        // The whole line is JSON too, and its mac field is the returned MAC.
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["mac"], super::super::hex(&mac));
        let o = open(&key(1), &line[..line.len() - 1]).unwrap();
        assert_eq!(o.seq, 7);
        assert_eq!(o.prev, [0xab; 32]);
        assert_eq!(o.mac, mac);
        assert!(o.authentic);
        // Another key: parses, but is not authentic.
        assert!(!open(&key(2), &line[..line.len() - 1]).unwrap().authentic);
    }

    /// The example line in the module docs, checked so the docs cannot drift from the format.
    #[test]
    fn documented_example_line_verifies() {
        let line = concat!(
            r#"{"client":{"peer_uid":"1000","transport":"stdio"},"duration_ms":12,"event":"query","#,
            r#""output_bytes":2048,"params":{"per_cpu":true},"prev":"0000000000000000000000000000"#,
            r#"000000000000000000000000000000000000","redactions":0,"request_id":"42","result":"su"#,
            r#"ccess","scopes":["core"],"seq":0,"tool":"get_cpu_info","ts":"2024-12-12T10:50:45.1"#,
            r#"23Z","mac":"541f48a663fc71c3a547912040f0233e03c3288b4e5a8539d1a66210b1e34cd1"}"#
        );
        let docs = include_str!("mod.rs");
        assert!(docs.contains(line), "module docs no longer show this line");
        let key: Vec<u8> = (0..32).collect();
        let o = open(&AuditKey::from_bytes(&key).unwrap(), line.as_bytes()).unwrap();
        assert!(o.authentic);
        assert_eq!((o.seq, o.prev), (0, GENESIS));
    }

    #[test]
    fn mac_covers_every_byte_of_the_content() {
        let canonical = format!(r#"{{"prev":"{}","seq":0,"x":"abc"}}"#, "00".repeat(32));
        let (line, _) = seal(&key(1), canonical.as_bytes());
        let body = &line[..line.len() - 1];
        let edited = String::from_utf8(body.to_vec())
            .unwrap()
            .replace("abc", "abd");
        let o = open(&key(1), edited.as_bytes()).unwrap();
        assert!(!o.authentic);
    }

    #[test]
    fn rejects_lines_that_are_not_records() {
        let k = key(1);
        let good_mac = "0".repeat(64);
        let cases = [
            String::new(),
            "{}".to_string(),
            "not json at all, but long enough to hold a mac suffix .........................."
                .into(),
            format!(
                r#"{{"seq":1,"prev":"{good_mac}","mac":"{}"}}"#,
                "g".repeat(64)
            ),
            format!(
                r#"{{"seq":1,"prev":"{good_mac}","mac":"{}"}}"#,
                "0".repeat(62)
            ),
            format!(r#"{{"prev":"{good_mac}","mac":"{good_mac}"}}"#),
            format!(r#"{{"seq":-1,"prev":"{good_mac}","mac":"{good_mac}"}}"#),
            format!(r#"{{"seq":1,"prev":"00","mac":"{good_mac}"}}"#),
            format!(r#"["seq",1,"prev","x","mac":"{good_mac}"}}"#),
            format!(r#"{{"seq":1,"prev":"{good_mac}","mac" : "{good_mac}"}}"#),
        ];
        for c in cases {
            assert!(open(&k, c.as_bytes()).is_err(), "accepted {c:?}");
        }
    }
}

#![forbid(unsafe_code)]
//! The order of an object's fields in a result's text block (JSON and TOON alike), decided here
//! once for every tool, by key name alone (plus whether the value is nested), so that a table
//! reads left to right the way a person scans it: what the row is first, long text last.
//!
//! 1. identity keys, in [`FIRST`]'s order (`pid`, `ppid`, `name`, `user`, ...);
//! 2. every other key whose value is a number, string, boolean or null, alphabetically;
//! 3. every other key whose value is an array or object, alphabetically (a nested table after the
//!    scalars that describe it, e.g. the counts before the list);
//! 4. keys ending in `_reason`, alphabetically (why a value is missing);
//! 5. long free text, in [`LAST`]'s order (`description`, `message`, ..., `cmdline` last), then
//!    the `truncated` marker.
//!
//! `structuredContent` is untouched (its order carries no meaning in JSON); the text block is the
//! same value with its fields in this order, so it still decodes to exactly `structuredContent`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// Keys that come first, in this order: what names the thing a row describes.
pub const FIRST: &[&str] = &[
    "pid",
    "ppid",
    "id",
    "name",
    "user",
    "uid",
    "gid",
    "hostname",
    "mount_point",
    "device",
    "state",
];

/// Keys that come last, in this order: long free text, the command line last of all (its
/// truncation flag just before it, where a table row can still be read), then the `truncated`
/// marker of the whole result.
pub const LAST: &[&str] = &[
    "description",
    "error",
    "message",
    "command",
    "cmdline_truncated",
    "cmdline",
    "truncated",
];

/// The sort key of a field: (group, position in [`FIRST`] or [`LAST`]). Within a group of equal
/// keys the order is the map's (alphabetical).
fn rank(key: &str, value: &Value) -> (u8, u8) {
    if let Some(i) = FIRST.iter().position(|k| *k == key) {
        return (0, i as u8);
    }
    if let Some(i) = LAST.iter().position(|k| *k == key) {
        return (4, i as u8);
    }
    if key.ends_with("_reason") {
        return (3, 0);
    }
    match value {
        Value::Array(_) | Value::Object(_) => (2, 0),
        _ => (1, 0),
    }
}

/// The fields of `map` in display order.
pub fn entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<((u8, u8), &String, &Value)> =
        map.iter().map(|(k, x)| (rank(k, x), k, x)).collect();
    // Stable: equal ranks keep the map's (alphabetical) order.
    v.sort_by_key(|e| e.0);
    v.into_iter().map(|(_, k, x)| (k, x)).collect()
}

/// `value` serialized with every object's fields in display order (serde_json's own `Value`
/// writes them alphabetically). Any `Formatter` works, so the fence's escaping one does.
#[derive(Debug, Clone, Copy)]
pub struct Ordered<'a>(pub &'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in entries(map) {
                    m.serialize_entry(k, &Ordered(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Ordered(v))?;
                }
                seq.end()
            }
            primitive => primitive.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<&str> {
        entries(v.as_object().unwrap())
            .into_iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    #[test]
    fn identity_first_long_text_last() {
        let v = json!({
            "cmdline": "x", "cmdline_truncated": false, "cpu_percent": 1, "io": {"a": 1},
            "io_reason": "r", "name": "n", "pid": 1, "ppid": 0, "state": "S", "tty": null,
            "uid": 0, "user": "root", "zzz": [1], "description": "d", "truncated": {},
        });
        assert_eq!(
            keys(&v),
            [
                "pid",
                "ppid",
                "name",
                "user",
                "uid",
                "state",
                "cpu_percent",
                "tty",
                "io",
                "zzz",
                "io_reason",
                "description",
                "cmdline_truncated",
                "cmdline",
                "truncated"
            ]
        );
    }

    #[test]
    fn ordered_json_is_the_same_value() {
        let v = json!({"b": [{"cmdline": "c", "pid": 2, "a": {"name": "x", "a": 1}}], "pid": 1, "a": null});
        let text = serde_json::to_string(&Ordered(&v)).unwrap();
        assert_eq!(
            text,
            r#"{"pid":1,"a":null,"b":[{"pid":2,"a":{"name":"x","a":1},"cmdline":"c"}]}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }
}

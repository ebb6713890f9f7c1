#![forbid(unsafe_code)]
//! A TOON encoder (Token-Oriented Object Notation, format 4.x as implemented by the reference
//! `@toon-format/toon` 4.4.0): the compact text rendering of a result, for `format: "toon"`.
//!
//! [`encode`] turns any `serde_json::Value` into a TOON document that the reference decoder (in its
//! default strict mode) decodes back to an equal value. It emits a deliberately small subset of
//! the format, the forms whose meaning is unambiguous:
//!
//! * objects: `key: value` lines; a nested object is `key:` with its fields indented 2 spaces
//!   (an empty one is `key:` alone; an empty root object is the empty document);
//! * arrays of primitives: `key[N]: a,b,c`; an empty array: `key: []` (`[]` at the root, `- [0]:`
//!   as a list item);
//! * tabular arrays (all items objects with the same keys and only primitive values):
//!   `key[N]{f1,f2}:` and one comma-separated row per item, indented;
//! * every other array: `key[N]:` and one `- ` list item per element; an object as a list item
//!   has its first field on the hyphen line and the rest indented below it (`-` alone if empty).
//!
//! Not emitted (all optional in the format): keyed tabular objects (`[N:]`), nested field groups,
//! tab or pipe delimiters, key folding.
//!
//! Strings are quoted when they would otherwise read as something else: empty, leading or
//! trailing whitespace, `true`/`false`/`null`, number-like, containing `: " \ [ ] { } ,` or a
//! control character, starting with `-` or `#` (or a byte-order mark). Inside quotes only `\\`,
//! `\"`, `\n`, `\r`, `\t` and `\uXXXX` escapes are used; `\uXXXX` for control characters and for
//! `<` and its look-alikes (`fence::is_lt_like`), so that no string can open a tag look-alike inside a
//! fence (a string holding one is always quoted). Keys are bare only when they match
//! `[A-Za-z_][A-Za-z0-9_.]*`. Numbers are written as JavaScript's `String(n)` writes them (`1`, not
//! `1.0`; `1e+21`; `1e-7`; `-0` as `0`); 64-bit integers are written exactly, and a decoder
//! reading them as doubles loses the same precision `JSON.parse` would. Fields come out in the
//! display order of [`super::order`] (identity first, long text last), as in the JSON text.
//!
//! The output has no trailing newline and no trailing spaces. Its correctness is checked against
//! the reference decoder by `tests/toon_reference.rs` (see `tests/toon/check.mjs`).
//!
//! ```
//! use serde_json::json;
//! let doc = sysgate::testing::output::toon::encode(&json!({
//!     "host": "web-01",
//!     "procs": [{"pid": 1, "name": "init"}, {"pid": 42, "name": "sshd: root"}],
//!     "tags": ["a", "b"],
//! }));
//! assert_eq!(doc, "host: web-01\nprocs[2]{pid,name}:\n  1,init\n  42,\"sshd: root\"\ntags[2]: a,b");
//! ```

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use super::{fence, order};

/// Spaces per indentation level.
const INDENT: usize = 2;

/// Encodes `value` as a TOON document.
pub fn encode(value: &Value) -> String {
    let mut out = String::new();
    encode_into(&mut out, value);
    out
}

/// Appends the TOON document of `value` to `out`.
pub fn encode_into(out: &mut String, value: &Value) {
    let mut w = Writer {
        out: std::mem::take(out),
        started: false,
    };
    match value {
        Value::Array(items) => w.array(None, items, 0),
        Value::Object(map) => w.fields(map, 0),
        primitive => {
            w.line(0);
            w.primitive(primitive);
        }
    }
    *out = w.out;
}

struct Writer {
    out: String,
    /// Whether a line has been written (lines are separated, not terminated, by `\n`).
    started: bool,
}

impl Writer {
    /// Starts a new line at `depth`.
    fn line(&mut self, depth: usize) {
        if self.started {
            self.out.push('\n');
        }
        self.started = true;
        for _ in 0..depth * INDENT {
            self.out.push(' ');
        }
    }

    /// Starts a list item line: `- ` at `depth`.
    fn item(&mut self, depth: usize) {
        self.line(depth);
        self.out.push_str("- ");
    }

    fn fields(&mut self, map: &Map<String, Value>, depth: usize) {
        for (key, value) in order::entries(map) {
            self.field(key, value, depth);
        }
    }

    /// `key: value`, `key:` plus nested fields, or an array under `key`, at `depth`.
    fn field(&mut self, key: &str, value: &Value, depth: usize) {
        match value {
            Value::Array(items) => self.array(Some(key), items, depth),
            Value::Object(map) => {
                self.line(depth);
                self.key(key);
                self.out.push(':');
                self.fields(map, depth + 1);
            }
            primitive => {
                self.line(depth);
                self.key(key);
                self.out.push_str(": ");
                self.primitive(primitive);
            }
        }
    }

    /// An array as a field (`key` set) or the root, its header line at `depth`.
    fn array(&mut self, key: Option<&str>, items: &[Value], depth: usize) {
        self.line(depth);
        if let Some(key) = key {
            self.key(key);
        }
        if items.is_empty() {
            self.out.push_str(if key.is_some() { ": []" } else { "[]" });
            return;
        }
        self.array_after_key(items, depth + 1);
    }

    /// Writes `[N]…` after a key (or hyphen) already on the line; rows or items go at `inner`.
    /// `items` is not empty.
    fn array_after_key(&mut self, items: &[Value], inner: usize) {
        if items.iter().all(is_primitive) {
            self.inline_primitives(items);
        } else if let Some(columns) = tabular_columns(items) {
            self.header(items.len());
            self.out.push('{');
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.key(column);
            }
            self.out.push_str("}:");
            for row in items {
                self.line(inner);
                let Value::Object(map) = row else { continue };
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.primitive(map.get(column.as_str()).unwrap_or(&Value::Null));
                }
            }
        } else {
            self.header(items.len());
            self.out.push(':');
            for item in items {
                self.list_item(item, inner);
            }
        }
    }

    fn header(&mut self, len: usize) {
        let _ = write!(self.out, "[{len}]");
    }

    /// `[N]: a,b,c` (`[0]:` when empty).
    fn inline_primitives(&mut self, items: &[Value]) {
        self.header(items.len());
        self.out.push(':');
        for (i, item) in items.iter().enumerate() {
            self.out.push(if i == 0 { ' ' } else { ',' });
            self.primitive(item);
        }
    }

    /// One `- ` item of a list array, at `depth`.
    fn list_item(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Array(items) => {
                self.item(depth);
                if items.is_empty() || items.iter().all(is_primitive) {
                    self.inline_primitives(items);
                } else {
                    // Nested arrays of non-primitives are always lists here, never tables.
                    self.header(items.len());
                    self.out.push(':');
                    for item in items {
                        self.list_item(item, depth + 1);
                    }
                }
            }
            Value::Object(map) => self.object_item(map, depth),
            primitive => {
                self.item(depth);
                self.primitive(primitive);
            }
        }
    }

    /// An object as a list item: its first field on the hyphen line, the rest at `depth + 1`.
    fn object_item(&mut self, map: &Map<String, Value>, depth: usize) {
        let mut fields = order::entries(map).into_iter();
        let Some((key, first)) = fields.next() else {
            self.line(depth);
            self.out.push('-');
            return;
        };
        self.item(depth);
        self.key(key);
        match first {
            Value::Array(items) if items.is_empty() => self.out.push_str(": []"),
            // The first field's rows or items sit one level below its siblings.
            Value::Array(items) => self.array_after_key(items, depth + 2),
            Value::Object(inner) => {
                self.out.push(':');
                self.fields(inner, depth + 2);
            }
            primitive => {
                self.out.push_str(": ");
                self.primitive(primitive);
            }
        }
        for (key, value) in fields {
            self.field(key, value, depth + 1);
        }
    }

    fn key(&mut self, key: &str) {
        if is_bare_key(key) {
            self.out.push_str(key);
        } else {
            self.quoted(key);
        }
    }

    fn primitive(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => push_number(&mut self.out, n),
            Value::String(s) if needs_quotes(s) => self.quoted(s),
            Value::String(s) => self.out.push_str(s),
            // Callers only pass primitives; anything else renders as null rather than panicking.
            Value::Array(_) | Value::Object(_) => self.out.push_str("null"),
        }
    }

    fn quoted(&mut self, s: &str) {
        self.out.push('"');
        // Copy runs of plain text at once. Escaped characters are ASCII except the `<`
        // look-alikes, which are only looked for at the first byte of a multi-byte character.
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            if i < start {
                continue; // inside a character already written as an escape
            }
            let escape = match b {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                // Control characters and everything that could open a tag look-alike inside a
                // fence (`fence::is_lt_like`): the reference decoder reads `\uXXXX` back.
                0..=0x1f | b'<' => "",
                0xc0..=0xff if s[i..].chars().next().is_some_and(fence::is_lt_like) => "",
                _ => continue,
            };
            self.out.push_str(&s[start..i]);
            if escape.is_empty() {
                let c = s[i..].chars().next().unwrap_or('\u{fffd}');
                let _ = write!(self.out, "\\u{:04x}", u32::from(c));
                start = i + c.len_utf8();
            } else {
                self.out.push_str(escape);
                start = i + 1;
            }
        }
        self.out.push_str(&s[start..]);
        self.out.push('"');
    }
}

fn is_primitive(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The column names, in display order ([`order`]), when `items` can be a table: all objects, with
/// the same non-empty key set, and only primitive values (so the order depends on the names alone
/// and is the same for every row).
fn tabular_columns(items: &[Value]) -> Option<Vec<&String>> {
    let Some(Value::Object(first)) = items.first() else {
        return None;
    };
    if first.is_empty() {
        return None;
    }
    for item in items {
        let Value::Object(map) = item else {
            return None;
        };
        let same = map.len() == first.len()
            && if map.keys().eq(first.keys()) {
                map.values().all(is_primitive)
            } else {
                first
                    .keys()
                    .all(|c| map.get(c.as_str()).is_some_and(is_primitive))
            };
        if !same {
            return None;
        }
    }
    Some(order::entries(first).into_iter().map(|(k, _)| k).collect())
}

/// `[A-Za-z_][A-Za-z0-9_.]*`
fn is_bare_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Whether a string value must be quoted to read back as the same string.
fn needs_quotes(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().next_back()) else {
        return true; // empty
    };
    // Decoders trim spaces around tokens (some trim more); a BOM may be stripped.
    first.is_whitespace()
        || last.is_whitespace()
        || matches!(first, '\u{feff}' | '-' | '#')
        || s.bytes().any(|b| {
            matches!(b, b':' | b'"' | b'\\' | b'[' | b']' | b'{' | b'}' | b',' | b'<') || b < 0x20
        })
        || matches!(s, "true" | "false" | "null")
        || (matches!(first, '0'..='9' | '+') && is_numeric_like(s))
        // A `<` look-alike is written as an escape, which needs quotes (see `quoted`).
        || (!s.is_ascii() && s.contains(fence::is_lt_like))
}

/// `^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$` (case-insensitive): strings a reader could take for a number.
fn is_numeric_like(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Writes a number the way JavaScript's `String(n)` does.
fn push_number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        push_u64(out, u);
    } else if let Some(i) = n.as_i64() {
        out.push('-');
        push_u64(out, i.unsigned_abs());
    } else if let Some(f) = n.as_f64() {
        push_js_double(out, f);
    } else {
        out.push_str("null");
    }
}

/// Decimal digits of `u` (without going through `fmt`, which dominated encoding time).
fn push_u64(out: &mut String, mut u: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or("0"));
}

/// ECMAScript Number::toString for a double: the shortest round-trip digits (which Rust's `{:e}`
/// also produces), laid out plainly for decimal exponents in [-7, 21) and as `d.ddde±x` otherwise.
fn push_js_double(out: &mut String, f: f64) {
    if !f.is_finite() {
        out.push_str("null");
        return;
    }
    if f == 0.0 {
        out.push('0'); // also -0
        return;
    }
    let mut sci = ShortBuf::default();
    let _ = write!(sci, "{:e}", f.abs());
    let sci = sci.as_str();
    // `{:e}` gives `d` or `d.ddd`, then `e` and the exponent.
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (lead, rest) = mantissa.split_at(1);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    // All the significant digits are `lead` then `rest`, k of them; the value is 0.d1d2… × 10^n.
    let k = 1 + rest.len() as i32;
    let n = exp + 1;
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(lead);
        out.push_str(rest);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let split = (n - 1) as usize;
        out.push_str(lead);
        out.push_str(&rest[..split]);
        out.push('.');
        out.push_str(&rest[split..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(lead);
        out.push_str(rest);
    } else {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{}", if n > 0 { '+' } else { '-' }, (n - 1).abs());
    }
}

/// A stack buffer for one formatted double (`{:e}` of an f64 is at most 24 bytes).
#[derive(Default)]
struct ShortBuf {
    buf: [u8; 32],
    len: usize,
}

impl ShortBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }
}

impl std::fmt::Write for ShortBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn js(f: f64) -> String {
        let mut s = String::new();
        push_js_double(&mut s, f);
        s
    }

    #[test]
    fn numbers_follow_javascript_string() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-0.0, "0"),
            (0.5, "0.5"),
            (-1.25, "-1.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e6, "1000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-6, "0.000001"),
            (1.5e-6, "0.0000015"),
            (1e-7, "1e-7"),
            (-2.5e-8, "-2.5e-8"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ];
        for (f, want) in cases {
            assert_eq!(js(*f), *want, "{f:e}");
        }
        assert_eq!(encode(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(encode(&json!(i64::MIN)), "-9223372036854775808");
        assert_eq!(encode(&json!(2.0)), "2");
    }

    #[test]
    fn strings_are_quoted_only_when_ambiguous() {
        let quoted = [
            "",
            " x",
            "x ",
            "\tx",
            "true",
            "false",
            "null",
            "42",
            "-1",
            "+1",
            "05",
            "1.5",
            "1e5",
            "1E-3",
            "-x",
            "#x",
            "a: b",
            "a:b",
            "say \"hi\"",
            "back\\slash",
            "[x]",
            "{x}",
            "a,b",
            "line\nbreak",
            "cr\r",
            "bell\u{7}",
            "\u{feff}bom",
            "\u{a0}nbsp",
        ];
        for s in quoted {
            assert!(needs_quotes(s), "{s:?} should be quoted");
        }
        let bare = [
            "x",
            "TRUE",
            "Null",
            "hello world",
            "x-y",
            "a|b",
            "2025-01-01",
            "ünï",
            "😀",
            ".5",
            "1.",
            "0x10",
            "1_000",
            "Infinity",
            "NaN",
            "a#b",
            "a\u{7f}",
            "/usr/bin/x",
        ];
        for s in bare {
            assert!(!needs_quotes(s), "{s:?} should stay bare");
        }
    }

    #[test]
    fn escapes_in_quoted_strings() {
        assert_eq!(
            encode(&json!("a\"b\\c\nd\re\tf\u{1}g\u{1f}")),
            r#""a\"b\\c\nd\re\tf\u0001g\u001f""#
        );
        // `<` and its look-alikes: always quoted and escaped, in values and in keys.
        assert_eq!(encode(&json!("a<b")), r#""a\u003cb""#);
        assert_eq!(encode(&json!("\u{ff1c}/x")), r#""\uff1c/x""#);
        assert_eq!(encode(&json!({"<k": 1})), r#""\u003ck": 1"#);
    }

    #[test]
    fn keys_are_bare_only_when_identifier_like() {
        let v = json!({"a.b": 1, "_x9": 2, "my-key": 3, "1x": 4, "": 5, "ünï": 6, "sp ace": 7, "q\"": 8});
        assert_eq!(
            encode(&v),
            "\"\": 5\n\"1x\": 4\n_x9: 2\na.b: 1\n\"my-key\": 3\n\"q\\\"\": 8\n\"sp ace\": 7\n\"ünï\": 6"
        );
    }

    #[test]
    fn roots() {
        assert_eq!(encode(&json!({})), "");
        assert_eq!(encode(&json!([])), "[]");
        assert_eq!(encode(&json!("")), "\"\"");
        assert_eq!(encode(&json!("plain")), "plain");
        assert_eq!(encode(&json!(null)), "null");
        assert_eq!(encode(&json!([1, "a", true])), "[3]: 1,a,true");
        assert_eq!(encode(&json!([{"a": 1}, {"a": 2}])), "[2]{a}:\n  1\n  2");
    }

    #[test]
    fn nested_objects_and_empty_values() {
        // Scalars before nested values (the display order of `order`).
        let v = json!({"a": {"b": {"c": 1}, "e": {}}, "l": [], "z": null});
        assert_eq!(encode(&v), "z: null\na:\n  b:\n    c: 1\n  e:\nl: []");
    }

    #[test]
    fn tabular_only_for_uniform_primitive_rows() {
        let table = json!({"t": [{"a": 1, "b": "x y"}, {"a": 2, "b": "p,q"}]});
        assert_eq!(encode(&table), "t[2]{a,b}:\n  1,x y\n  2,\"p,q\"");
        // A missing key, a nested value, or an empty object each force the list form.
        let ragged = json!({"t": [{"a": 1}, {"b": 2}]});
        assert_eq!(encode(&ragged), "t[2]:\n  - a: 1\n  - b: 2");
        let nested = json!({"t": [{"a": [1]}, {"a": [2]}]});
        assert_eq!(encode(&nested), "t[2]:\n  - a[1]: 1\n  - a[1]: 2");
        let empty = json!({"t": [{}, {}]});
        assert_eq!(encode(&empty), "t[2]:\n  -\n  -");
    }

    #[test]
    fn list_items_of_every_kind() {
        let v = json!({"m": [1, [2, 3], [], {"k": "v", "o": 1}, [[4], {"x": 1}], {}]});
        assert_eq!(
            encode(&v),
            "m[6]:\n  - 1\n  - [2]: 2,3\n  - [0]:\n  - k: v\n    o: 1\n  - [2]:\n    - [1]: 4\n    - x: 1\n  -"
        );
    }

    #[test]
    fn list_item_objects_whose_first_field_is_complex() {
        // Every field nested (scalars would come first in the display order).
        let v = json!({"m": [
            {"a": [{"p": 1}, {"p": 2}], "z": [0]},
            {"a": {"deep": {"x": 1}}, "z": [1]},
            {"a": [[1], {"q": 2}], "z": [2]},
            {"a": [], "z": [3]},
            {"a": {}, "z": [4]},
            1
        ]});
        assert_eq!(
            encode(&v),
            "m[6]:\n  - a[2]{p}:\n      1\n      2\n    z[1]: 0\n  - a:\n      deep:\n        x: 1\n    z[1]: 1\n  - a[2]:\n      - [1]: 1\n      - q: 2\n    z[1]: 2\n  - a: []\n    z[1]: 3\n  - a:\n    z[1]: 4\n  - 1"
        );
    }

    #[test]
    fn no_trailing_whitespace_or_newline() {
        let v = json!({"a": [{"b": ""}, {"b": " "}], "c": {"d": []}, "e": [[], [[]]]});
        let doc = encode(&v);
        assert!(!doc.ends_with('\n'));
        for line in doc.lines() {
            assert_eq!(line, line.trim_end(), "{doc}");
        }
    }

    #[test]
    fn numeric_like_matches_the_reference_pattern() {
        for s in ["0", "-0", "+5", "007", "1.25", "1e9", "1E+9", "2.5e-3"] {
            assert!(is_numeric_like(s), "{s}");
        }
        for s in ["", "-", "1.", ".5", "1e", "1e+", "1.e5", "0x1", "1 ", "١"] {
            assert!(!is_numeric_like(s), "{s}");
        }
    }
}

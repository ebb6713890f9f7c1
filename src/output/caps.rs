#![forbid(unsafe_code)]
//! Caps on a result's size, applied after redaction: array items, lines of text, and bytes of the
//! serialized compact JSON.
//!
//! A capped result keeps the **same shape**: only arrays get shorter (cut from the end) and strings
//! get shorter (a cut string ends in [`CUT_MARKER`]); no key is removed and no type changes, so it
//! still validates against the tool's output schema (as long as that schema sets no minimum array
//! length or string pattern on the cut parts). What was cut is reported in a [`Truncation`].
//!
//! # What each limit means
//!
//! * `max_array_items`: every array, at any depth, keeps at most this many items.
//! * `max_lines`: the total number of lines of text in all string values. A non-empty string has
//!   one line plus one per `'\n'` that is followed by more text (`"a"` → 1, `"a\nb"` → 2,
//!   `"a\n"` → 1); an empty string has none. Keys do not count. Meant for log-like results; keep it
//!   well above `max_array_items` × (string fields per item) so structured lists are not cut by it.
//! * `max_bytes`: the size of `serde_json::to_vec(&value)` (compact JSON). Exact: the capped value
//!   never serializes to more.
//!
//! # How a result is shrunk
//!
//! First every array is cut to `max_array_items`. Then, for lines and then for bytes, if the result
//! is over the limit, in this order until it fits:
//!
//! 1. long strings are shortened, all to the same length (the largest that fits), but not below a
//!    floor ([`STRING_FLOOR_LINES`] lines, [`STRING_FLOOR_BYTES`] bytes);
//! 2. arrays are cut, all to the same item count (the largest that fits), so the longest arrays
//!    lose items first and short ones stay whole;
//! 3. only when every array is empty, strings are shortened below the floor.
//!
//! If even empty arrays and empty strings exceed `max_bytes`, the result cannot keep its shape
//! within the limit and [`cap`] returns [`CapError::CannotFit`].
//!
//! # Using it
//!
//! [`cap_and_mark`] is the call the pipeline wants: it caps, and when anything was cut and the
//! result is an object, adds a top-level `truncated` property (see [`Truncation::marker`]; output
//! schemas allow it) while still keeping the whole result within `max_bytes`. The key `truncated`
//! at the top level is reserved for this. [`Truncation::hint`] is a line for the text block that
//! says what was cut and how to ask for less.
//!
//! ```
//! use sysgate::testing::output::caps::{cap_and_mark, Limits};
//! use serde_json::json;
//!
//! let limits = Limits { max_array_items: 2, ..Limits::default() };
//! let capped = cap_and_mark(&json!({"items": [1, 2, 3]}), &limits).expect("fits");
//! assert_eq!(capped.value["items"], json!([1, 2]));
//! assert_eq!(capped.value["truncated"]["arrays"][0], json!({"path": "/items", "kept": 2, "total": 3}));
//! assert!(capped.truncation.hint().contains("/items kept 2 of 3"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::Serialize;
use serde_json::{Map, Number, Value, json};

/// Appended to a shortened string.
pub const CUT_MARKER: &str = "…";

/// Strings are not shortened below this many lines while arrays can still be cut.
pub const STRING_FLOOR_LINES: usize = 8;

/// Strings are not shortened below this many bytes while arrays can still be cut.
pub const STRING_FLOOR_BYTES: usize = 256;

/// The serialized `truncated` marker (with its key) is never larger than this.
pub const MARKER_MAX_BYTES: usize = 4096;

/// Arrays listed by name in the marker; the rest are counted.
const MARKER_ARRAYS: usize = 8;

/// Longest array path in the marker, in bytes (longer ones are shortened).
const MARKER_PATH_BYTES: usize = 64;

/// The caps. `Default` is the seed's: 1000 items, 10 000 lines, 1 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_array_items: usize,
    pub max_lines: usize,
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_array_items: 1000,
            max_lines: 10_000,
            max_bytes: 1024 * 1024,
        }
    }
}

/// An array cut from the end. `path` is a JSON Pointer (RFC 6901; `""` is the root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrayCut {
    pub path: String,
    pub kept: usize,
    pub total: usize,
}

/// A shortened string: `kept_bytes` of its original `total_bytes` remain (before the marker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringCut {
    pub path: String,
    pub kept_bytes: usize,
    pub total_bytes: usize,
}

/// A measure (lines or bytes) before and after capping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reduced {
    pub before: usize,
    pub after: usize,
}

/// What capping cut. Empty when the result was within every limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// The limits that were applied.
    pub limits: Limits,
    /// Arrays that lost items, sorted by path; `total` is the original length.
    pub arrays: Vec<ArrayCut>,
    /// Strings that were shortened, sorted by path; `total_bytes` is the original length.
    pub strings: Vec<StringCut>,
    /// Set when the lines cap had to cut something.
    pub lines: Option<Reduced>,
    /// Set when the bytes cap had to cut something.
    pub bytes: Option<Reduced>,
}

/// A capped value and what was cut from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Capped {
    pub value: Value,
    pub truncation: Truncation,
}

/// Why a result could not be capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapError {
    /// Even with every array and string emptied the result is `min_bytes` long.
    CannotFit { max_bytes: usize, min_bytes: usize },
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapError::CannotFit {
                max_bytes,
                min_bytes,
            } => write!(
                f,
                "the result cannot be cut below {min_bytes} bytes without changing its shape, and the output limit is {max_bytes} bytes"
            ),
        }
    }
}

impl std::error::Error for CapError {}

impl Truncation {
    fn new(limits: Limits) -> Self {
        Truncation {
            limits,
            arrays: Vec::new(),
            strings: Vec::new(),
            lines: None,
            bytes: None,
        }
    }

    /// Nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty() && self.strings.is_empty()
    }

    /// The `truncated` object for the result: a bounded summary (at most [`MARKER_MAX_BYTES`]
    /// serialized, with its key), e.g.
    /// `{"arrays":[{"path":"/processes","kept":300,"total":500}],"strings":2,"bytes":{"before":..,"after":..}}`.
    /// At most 8 arrays are listed, shallowest first; `arrays_not_listed` counts the rest.
    pub fn marker(&self) -> Value {
        let mut arrays: Vec<&ArrayCut> = self.arrays.iter().collect();
        arrays.sort_by_key(|a| (a.path.matches('/').count(), a.path.as_str()));
        let listed: Vec<Value> = arrays
            .iter()
            .take(MARKER_ARRAYS)
            .map(|a| json!({"path": short_path(&a.path), "kept": a.kept, "total": a.total}))
            .collect();
        let mut m = Map::new();
        m.insert("arrays".into(), Value::Array(listed));
        if arrays.len() > MARKER_ARRAYS {
            m.insert(
                "arrays_not_listed".into(),
                json!(arrays.len() - MARKER_ARRAYS),
            );
        }
        m.insert("strings".into(), json!(self.strings.len()));
        if let Some(r) = self.lines {
            m.insert(
                "lines".into(),
                json!({"before": r.before, "after": r.after}),
            );
        }
        if let Some(r) = self.bytes {
            m.insert(
                "bytes".into(),
                json!({"before": r.before, "after": r.after}),
            );
        }
        Value::Object(m)
    }

    /// One line for the text block: what was cut and how to ask for less. Empty when nothing was.
    pub fn hint(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let l = &self.limits;
        let mut parts = Vec::new();
        let mut arrays: Vec<&ArrayCut> = self.arrays.iter().collect();
        arrays.sort_by_key(|a| (a.path.matches('/').count(), a.path.as_str()));
        for a in arrays.iter().take(3) {
            let path = if a.path.is_empty() { "/" } else { &a.path };
            parts.push(format!(
                "{} kept {} of {}",
                short_path(path),
                a.kept,
                a.total
            ));
        }
        if arrays.len() > 3 {
            parts.push(format!("{} more arrays cut", arrays.len() - 3));
        }
        if !self.strings.is_empty() {
            parts.push(format!(
                "{} strings shortened (ending in …)",
                self.strings.len()
            ));
        }
        format!(
            "Output truncated to the server's limits ({} items per array, {} lines, {} bytes): {}. Ask for less data, e.g. a smaller `limit`, a narrower filter or time window.",
            l.max_array_items,
            l.max_lines,
            l.max_bytes,
            parts.join("; ")
        )
    }
}

/// Shortens a path for the marker and the hint, which must stay small.
fn short_path(path: &str) -> String {
    if path.len() <= MARKER_PATH_BYTES {
        return path.to_owned();
    }
    let mut end = MARKER_PATH_BYTES - CUT_MARKER.len();
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARKER}", &path[..end])
}

/// Applies the limits; see the module docs. The input is not changed.
pub fn cap(value: &Value, limits: &Limits) -> Result<Capped, CapError> {
    let mut state = Cuts::default();
    let mut current: Option<Value> = None;

    // 1. Items per array.
    if longest_array(value) > limits.max_array_items {
        let shape = Shape {
            array_items: limits.max_array_items,
            string: usize::MAX,
        };
        current = Some(apply(
            value,
            shape,
            Unit::Bytes,
            &mut String::new(),
            &mut state,
        ));
    }
    // 2. Lines, then 3. bytes.
    let mut lines = None;
    let v = current.as_ref().unwrap_or(value);
    let before = measure(v, NO_CUT, Unit::Lines);
    if before > limits.max_lines {
        let shape = fit(v, Unit::Lines, limits.max_lines)?;
        let next = apply(v, shape, Unit::Lines, &mut String::new(), &mut state);
        lines = Some(Reduced {
            before,
            after: measure(&next, NO_CUT, Unit::Lines),
        });
        current = Some(next);
    }
    let mut bytes = None;
    let v = current.as_ref().unwrap_or(value);
    let mut size = json_size(v);
    if size > limits.max_bytes {
        let shape = fit(v, Unit::Bytes, limits.max_bytes)?;
        let next = apply(v, shape, Unit::Bytes, &mut String::new(), &mut state);
        let after = json_size(&next);
        bytes = Some(Reduced {
            before: size,
            after,
        });
        size = after;
        current = Some(next);
    }

    let mut truncation = Truncation::new(*limits);
    truncation.arrays = state
        .arrays
        .into_iter()
        .map(|(path, (kept, total))| ArrayCut { path, kept, total })
        .collect();
    truncation.strings = state
        .strings
        .into_iter()
        .map(|(path, (kept_bytes, total_bytes))| StringCut {
            path,
            kept_bytes,
            total_bytes,
        })
        .collect();
    truncation.lines = lines;
    truncation.bytes = bytes;
    let value = current.unwrap_or_else(|| value.clone());
    // `fit` and `apply` agree by construction; this guards that against a future mistake.
    if size > limits.max_bytes {
        return Err(CapError::CannotFit {
            max_bytes: limits.max_bytes,
            min_bytes: size,
        });
    }
    Ok(Capped { value, truncation })
}

/// [`cap_and_mark`] for an owned value: when nothing needs cutting (the common case) the value is
/// returned as it is, without the copy `cap` makes to leave its input unchanged.
pub fn cap_and_mark_owned(value: Value, limits: &Limits) -> Result<Capped, CapError> {
    if longest_array(&value) <= limits.max_array_items
        && measure(&value, NO_CUT, Unit::Lines) <= limits.max_lines
        && json_size(&value) <= limits.max_bytes
    {
        return Ok(Capped {
            value,
            truncation: Truncation::new(*limits),
        });
    }
    cap_and_mark(&value, limits)
}

/// [`cap`], then, when something was cut and the result is an object, the `truncated` marker is
/// set at its top level; the marked result still serializes to at most `max_bytes`. A non-object
/// result is returned unmarked (put [`Truncation::hint`] in the text block either way).
pub fn cap_and_mark(value: &Value, limits: &Limits) -> Result<Capped, CapError> {
    let mut attempt = cap(value, limits)?;
    if attempt.truncation.is_empty() || !attempt.value.is_object() {
        return Ok(attempt);
    }
    // Make room for the marker: by the overshoot measured, growing by at least half each round
    // since the marker can grow as more is cut, and in the last round by its upper bound, which
    // always suffices when anything does.
    const ROUNDS: usize = 8;
    let mut reserve = 0;
    let mut size = 0;
    for round in 0..=ROUNDS {
        let marker = attempt.truncation.marker();
        if let Value::Object(map) = &mut attempt.value {
            map.insert("truncated".into(), marker);
        }
        size = json_size(&attempt.value);
        if size <= limits.max_bytes {
            return Ok(attempt);
        }
        if round == ROUNDS {
            break;
        }
        reserve = if round < ROUNDS - 1 {
            (reserve + (size - limits.max_bytes)).max(reserve + reserve / 2)
        } else {
            MARKER_MAX_BYTES
        };
        let tighter = Limits {
            max_bytes: limits.max_bytes.saturating_sub(reserve),
            ..*limits
        };
        // Report the caller's limit, and the room the marker needs on top of the minimum.
        attempt = cap(value, &tighter).map_err(|CapError::CannotFit { min_bytes, .. }| {
            CapError::CannotFit {
                max_bytes: limits.max_bytes,
                min_bytes: min_bytes + reserve,
            }
        })?;
        attempt.truncation.limits = *limits;
    }
    Err(CapError::CannotFit {
        max_bytes: limits.max_bytes,
        min_bytes: size,
    })
}

/// The size of `serde_json::to_vec(value)`, computed without serializing.
pub fn json_size(value: &Value) -> usize {
    measure(value, NO_CUT, Unit::Bytes)
}

/// Lines of text in a string (see the module docs).
pub fn line_count(s: &str) -> usize {
    newlines(s) + usize::from(!s.is_empty() && !s.ends_with('\n'))
}

fn newlines(s: &str) -> usize {
    s.bytes().filter(|b| *b == b'\n').count()
}

/// Which measure a phase works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Lines,
    Bytes,
}

/// Uniform caps: every array keeps at most `array_items`; every string at most `string` units
/// (lines or bytes, by the phase). `usize::MAX` means no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    array_items: usize,
    string: usize,
}

const NO_CUT: Shape = Shape {
    array_items: usize::MAX,
    string: usize::MAX,
};

/// The cuts so far, by path: (kept, original total).
#[derive(Debug, Default)]
struct Cuts {
    arrays: BTreeMap<String, (usize, usize)>,
    strings: BTreeMap<String, (usize, usize)>,
}

/// The largest uniform shape that brings `v` within `budget` (see the module docs).
fn fit(v: &Value, unit: Unit, budget: usize) -> Result<Shape, CapError> {
    let fits = |s: Shape| measure_upto(v, s, unit, budget) <= budget;
    let longest_string = longest_string(v, unit);
    let floor = match unit {
        Unit::Lines => STRING_FLOOR_LINES,
        Unit::Bytes => STRING_FLOOR_BYTES,
    }
    .min(longest_string);
    // 1. Strings, down to the floor.
    if let Some(l) = largest(floor, longest_string, |l| {
        fits(Shape {
            array_items: usize::MAX,
            string: l,
        })
    }) {
        return Ok(Shape {
            array_items: usize::MAX,
            string: l,
        });
    }
    // 2. Arrays, strings at the floor.
    if let Some(k) = largest(0, longest_array(v), |k| {
        fits(Shape {
            array_items: k,
            string: floor,
        })
    }) {
        return Ok(Shape {
            array_items: k,
            string: floor,
        });
    }
    // 3. Strings below the floor, arrays empty.
    if let Some(l) = largest(0, floor, |l| {
        fits(Shape {
            array_items: 0,
            string: l,
        })
    }) {
        return Ok(Shape {
            array_items: 0,
            string: l,
        });
    }
    Err(CapError::CannotFit {
        max_bytes: budget,
        min_bytes: measure(
            v,
            Shape {
                array_items: 0,
                string: 0,
            },
            unit,
        ),
    })
}

/// The largest `x` in `lo..=hi` with `ok(x)`, for an `ok` that is true up to some point and false
/// after; `None` if `ok(lo)` is false.
fn largest(lo: usize, hi: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    if lo > hi || !ok(lo) {
        return None;
    }
    if ok(hi) {
        return Some(hi);
    }
    // Invariant: ok(good) and !ok(bad).
    let (mut good, mut bad) = (lo, hi);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if ok(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

fn longest_array(v: &Value) -> usize {
    match v {
        Value::Array(items) => items
            .iter()
            .map(longest_array)
            .fold(items.len(), usize::max),
        Value::Object(map) => map.values().map(longest_array).max().unwrap_or(0),
        _ => 0,
    }
}

fn longest_string(v: &Value, unit: Unit) -> usize {
    match v {
        Value::String(s) => match unit {
            Unit::Lines => line_count(s),
            Unit::Bytes => s.len(),
        },
        Value::Array(items) => items
            .iter()
            .map(|i| longest_string(i, unit))
            .max()
            .unwrap_or(0),
        Value::Object(map) => map
            .values()
            .map(|i| longest_string(i, unit))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// The part of `s` kept under a cap of `cap` units, and whether the marker follows it.
fn cut(s: &str, cap: usize, unit: Unit) -> (&str, bool) {
    match unit {
        Unit::Bytes => {
            if s.len() <= cap {
                (s, false)
            } else if cap < CUT_MARKER.len() {
                ("", false)
            } else {
                let mut end = cap - CUT_MARKER.len();
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                (&s[..end], true)
            }
        }
        Unit::Lines => {
            if line_count(s) <= cap {
                (s, false)
            } else if cap == 0 {
                ("", false)
            } else {
                // End just before the `cap`-th newline; the marker then ends line `cap`.
                let end = s
                    .match_indices('\n')
                    .nth(cap - 1)
                    .map_or(s.len(), |(i, _)| i);
                (&s[..end], true)
            }
        }
    }
}

/// The measure of `v` as if `shape` were applied (nothing is built).
fn measure(v: &Value, shape: Shape, unit: Unit) -> usize {
    measure_upto(v, shape, unit, usize::MAX)
}

/// [`measure`], except that once the measure is known to exceed `limit` it stops early and returns
/// some value above `limit`: a probe only needs to know whether a shape fits.
fn measure_upto(v: &Value, shape: Shape, unit: Unit, limit: usize) -> usize {
    let bytes = unit == Unit::Bytes;
    match v {
        Value::String(s) => {
            let (kept, marked) = cut(s, shape.string, unit);
            // The marker ends the last kept line and needs no escaping.
            match unit {
                Unit::Lines if marked => newlines(kept) + 1,
                Unit::Lines => line_count(kept),
                Unit::Bytes if marked => 2 + escaped_len(kept) + CUT_MARKER.len(),
                Unit::Bytes => 2 + escaped_len(kept),
            }
        }
        Value::Array(items) => {
            let n = items.len().min(shape.array_items);
            // Brackets and commas.
            let mut total = if bytes { 2 + n.saturating_sub(1) } else { 0 };
            for item in &items[..n] {
                if total > limit {
                    break;
                }
                total += measure_upto(item, shape, unit, limit - total);
            }
            total
        }
        Value::Object(map) => {
            // Braces and commas, then per field the quoted key and a colon.
            let mut total = if bytes {
                2 + map.len().saturating_sub(1)
            } else {
                0
            };
            for (key, item) in map {
                if bytes {
                    total += escaped_len(key) + 3;
                }
                if total > limit {
                    break;
                }
                total += measure_upto(item, shape, unit, limit - total);
            }
            total
        }
        _ if bytes => scalar_len(v),
        _ => 0,
    }
}

/// Builds `v` with `shape` applied, recording what was cut under `path`.
fn apply(v: &Value, shape: Shape, unit: Unit, path: &mut String, cuts: &mut Cuts) -> Value {
    match v {
        Value::String(s) => {
            let (kept, marked) = cut(s, shape.string, unit);
            if kept.len() == s.len() {
                return v.clone();
            }
            cuts.strings
                .entry(path.clone())
                .and_modify(|e| e.0 = kept.len())
                .or_insert((kept.len(), s.len()));
            let mut out = String::with_capacity(kept.len() + CUT_MARKER.len());
            out.push_str(kept);
            if marked {
                out.push_str(CUT_MARKER);
            }
            Value::String(out)
        }
        Value::Array(items) => {
            let n = items.len().min(shape.array_items);
            if n < items.len() {
                cuts.arrays
                    .entry(path.clone())
                    .and_modify(|e| e.0 = n)
                    .or_insert((n, items.len()));
            }
            let len = path.len();
            let out = items[..n]
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    path.push('/');
                    path.push_str(&i.to_string());
                    let out = apply(item, shape, unit, path, cuts);
                    path.truncate(len);
                    out
                })
                .collect();
            Value::Array(out)
        }
        Value::Object(map) => {
            let len = path.len();
            let out = map
                .iter()
                .map(|(k, item)| {
                    path.push('/');
                    // RFC 6901 escaping.
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    let out = apply(item, shape, unit, path, cuts);
                    path.truncate(len);
                    (k.clone(), out)
                })
                .collect();
            Value::Object(out)
        }
        _ => v.clone(),
    }
}

/// The serialized length of a string's contents (without quotes), matching `serde_json`'s escapes:
/// `\"` `\\` `\b` `\f` `\n` `\r` `\t` take 2 bytes, other control characters 6 (`\u00XX`).
fn escaped_len(s: &str) -> usize {
    // Sizing dominates the cap's run time, and most strings need no escapes: a branch-free OR
    // over the bytes (which vectorizes) settles those before any counting.
    let bytes = s.as_bytes();
    let special = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    if !bytes.iter().fold(false, |any, &b| any | special(b)) {
        return bytes.len();
    }
    let extra: usize = bytes
        .iter()
        .map(|&b| usize::from(ESCAPE_EXTRA[usize::from(b)]))
        .sum();
    bytes.len() + extra
}

/// Bytes an escape adds, per input byte.
const ESCAPE_EXTRA: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = 5;
        b += 1;
    }
    table[0x08] = 1;
    table[0x09] = 1;
    table[0x0a] = 1;
    table[0x0c] = 1;
    table[0x0d] = 1;
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    table
};

fn scalar_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        _ => 0,
    }
}

fn number_len(n: &Number) -> usize {
    if let Some(u) = n.as_u64() {
        return digits(u);
    }
    if let Some(i) = n.as_i64() {
        return 1 + digits(i.unsigned_abs());
    }
    // Floats: let serde_json format it, so the length matches whatever algorithm it uses.
    let mut count = Counter(0);
    match serde_json::to_writer(&mut count, n) {
        Ok(()) => count.0,
        // Cannot happen with a counting writer; over-estimating keeps the cap safe.
        Err(_) => 32,
    }
}

fn digits(mut u: u64) -> usize {
    let mut d = 1;
    while u >= 10 {
        u /= 10;
        d += 1;
    }
    d
}

/// An `io::Write` that only counts.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod owned_tests {
    use super::*;

    #[test]
    fn owned_variant_agrees_with_the_borrowing_one() {
        let small = json!({"a": [1, 2, 3], "s": "x"});
        let limits = Limits {
            max_array_items: 3,
            max_lines: 100,
            max_bytes: 1000,
        };
        let o = cap_and_mark_owned(small.clone(), &limits).unwrap();
        assert!(o.truncation.is_empty());
        assert_eq!(o.value, small);
        let tight = Limits {
            max_array_items: 2,
            ..limits
        };
        let a = cap_and_mark_owned(small.clone(), &tight).unwrap();
        let b = cap_and_mark(&small, &tight).unwrap();
        assert_eq!(a.value, b.value);
        assert!(!a.truncation.is_empty());
        assert_eq!(a.value["truncated"]["arrays"][0]["kept"], 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(items: usize, lines: usize, bytes: usize) -> Limits {
        Limits {
            max_array_items: items,
            max_lines: lines,
            max_bytes: bytes,
        }
    }

    fn bytes_only(max: usize) -> Limits {
        limits(usize::MAX, usize::MAX, max)
    }

    fn size(v: &Value) -> usize {
        serde_json::to_vec(v).unwrap().len()
    }

    /// `small` has `big`'s shape: same types and keys, arrays no longer, strings no longer (a cut
    /// string is a prefix of the original plus the marker).
    fn assert_same_shape(small: &Value, big: &Value) {
        match (small, big) {
            (Value::Object(a), Value::Object(b)) => {
                assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
                for (k, v) in a {
                    assert_same_shape(v, &b[k]);
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                assert!(a.len() <= b.len());
                for (x, y) in a.iter().zip(b) {
                    assert_same_shape(x, y);
                }
            }
            (Value::String(a), Value::String(b)) => {
                let kept = a.strip_suffix(CUT_MARKER).filter(|_| a != b).unwrap_or(a);
                assert!(b.starts_with(kept), "{a:?} is not a cut of {b:?}");
            }
            (a, b) => assert_eq!(a, b),
        }
    }

    fn sample() -> Value {
        json!({
            "host": "web-01",
            "processes": (0..40).map(|i| json!({
                "pid": i, "cpu": i as f64 / 3.0, "cmd": format!("/usr/bin/worker --id {i} \"q\"\t\u{1}é"),
                "tags": ["a", "b"]
            })).collect::<Vec<_>>(),
            "log": "line one\nline two\nline three\n",
            "mounts": [{"path": "/", "ro": false}, {"path": "/boot", "ro": true}],
            "empty": {}, "none": null
        })
    }

    #[test]
    fn json_size_matches_serde_json() {
        let values = [
            sample(),
            json!(["\u{0}\u{1f}\u{7f}\u{8}\u{c}\r\n\t\"\\/", "ünï😀", ""]),
            json!([
                0,
                -1,
                u64::MAX,
                i64::MIN,
                1.5,
                -0.0,
                0.1,
                1e300,
                1e-7,
                123456789.125,
                f64::MAX
            ]),
            json!({"k\"ey\n": true, "": false, "x": null}),
            json!([[], {}, [[]], [{}]]),
            json!("top"),
            json!(null),
        ];
        for v in values {
            assert_eq!(json_size(&v), size(&v), "{v}");
        }
    }

    #[test]
    fn line_count_rules() {
        assert_eq!(line_count(""), 0);
        assert_eq!(line_count("a"), 1);
        assert_eq!(line_count("a\n"), 1);
        assert_eq!(line_count("a\nb"), 2);
        assert_eq!(line_count("\n"), 1);
        assert_eq!(line_count("a\n\nb\n"), 3);
    }

    #[test]
    fn within_limits_nothing_changes() {
        let v = sample();
        let out = cap(&v, &Limits::default()).unwrap();
        assert_eq!(out.value, v);
        assert!(out.truncation.is_empty());
        assert_eq!(out.truncation.hint(), "");
        let marked = cap_and_mark(&v, &Limits::default()).unwrap();
        assert_eq!(marked.value, v);
    }

    #[test]
    fn array_items_at_the_exact_boundary() {
        let v = json!({"a": [1, 2, 3], "b": [[1, 2, 3, 4], []]});
        let out = cap(&v, &limits(4, usize::MAX, usize::MAX)).unwrap();
        assert_eq!(out.value, v);
        assert!(out.truncation.is_empty());
        let out = cap(&v, &limits(3, usize::MAX, usize::MAX)).unwrap();
        assert_eq!(out.value, json!({"a": [1, 2, 3], "b": [[1, 2, 3], []]}));
        assert_eq!(
            out.truncation.arrays,
            vec![ArrayCut {
                path: "/b/0".into(),
                kept: 3,
                total: 4
            }]
        );
        let out = cap(&json!([1, 2]), &limits(0, usize::MAX, usize::MAX)).unwrap();
        assert_eq!(out.value, json!([]));
        assert_eq!(out.truncation.arrays[0].path, "");
    }

    #[test]
    fn lines_cut_a_log_array_at_the_exact_boundary() {
        let v = json!({"unit": "nginx", "lines": ["l1", "l2", "l3", "l4", "l5"]});
        // 6 lines in all ("nginx" counts as one).
        let out = cap(&v, &limits(usize::MAX, 6, usize::MAX)).unwrap();
        assert_eq!(out.value, v);
        let out = cap(&v, &limits(usize::MAX, 5, usize::MAX)).unwrap();
        assert_eq!(
            out.value,
            json!({"unit": "nginx", "lines": ["l1", "l2", "l3", "l4"]})
        );
        assert_eq!(
            out.truncation.lines,
            Some(Reduced {
                before: 6,
                after: 5
            })
        );
        assert_eq!(
            out.truncation.arrays[0],
            ArrayCut {
                path: "/lines".into(),
                kept: 4,
                total: 5
            }
        );
        assert!(out.truncation.strings.is_empty());
    }

    #[test]
    fn lines_cut_a_long_text_to_whole_lines() {
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let v = json!({"path": "/etc/x", "content": text});
        let out = cap(&v, &limits(usize::MAX, 11, usize::MAX)).unwrap();
        // "/etc/x" is one line, so the content keeps ten, the marker ending the tenth.
        let want: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        let want = format!("{}{CUT_MARKER}", want.trim_end_matches('\n'));
        assert_eq!(out.value["content"], json!(want));
        assert_eq!(line_count(&want), 10);
        assert_eq!(
            out.truncation.lines,
            Some(Reduced {
                before: 21,
                after: 11
            })
        );
        let cut = &out.truncation.strings[0];
        assert_eq!(
            (cut.path.as_str(), cut.total_bytes),
            ("/content", text.len())
        );
    }

    #[test]
    fn lines_prefer_cutting_arrays_to_shortening_short_texts() {
        // Each entry has a 3-line message: entries are dropped, messages stay whole.
        let v = json!({"entries": (0..10).map(|i| json!({"msg": format!("{i}a\n{i}b\n{i}c")})).collect::<Vec<_>>()});
        let out = cap(&v, &limits(usize::MAX, 16, usize::MAX)).unwrap();
        assert_eq!(out.value["entries"].as_array().unwrap().len(), 5);
        assert_eq!(out.value["entries"][4]["msg"], json!("4a\n4b\n4c"));
        assert!(out.truncation.strings.is_empty());
    }

    #[test]
    fn bytes_exactly_hit_or_one_over() {
        let v = sample();
        let full = size(&v);
        let out = cap(&v, &bytes_only(full)).unwrap();
        assert_eq!(out.value, v);
        assert!(out.truncation.is_empty());
        let out = cap(&v, &bytes_only(full - 1)).unwrap();
        assert!(size(&out.value) < full);
        assert!(!out.truncation.is_empty());
        assert_eq!(out.truncation.bytes.unwrap().before, full);
        assert_eq!(out.truncation.bytes.unwrap().after, size(&out.value));
        assert_same_shape(&out.value, &v);
    }

    #[test]
    fn bytes_cap_can_be_hit_exactly() {
        let v = json!([1, 1, 1, 1, 1]);
        // `[1,1,1]` is 7 bytes: it fits a 7-byte limit exactly, and a 6-byte limit keeps two.
        let out = cap(&v, &bytes_only(7)).unwrap();
        assert_eq!(out.value, json!([1, 1, 1]));
        assert_eq!(
            out.truncation.bytes,
            Some(Reduced {
                before: 11,
                after: 7
            })
        );
        let out = cap(&v, &bytes_only(6)).unwrap();
        assert_eq!(out.value, json!([1, 1]));
        let out = cap(&json!({"s": "abcdefghij"}), &bytes_only(12)).unwrap();
        // `{"s":""}` is 8 bytes; 4 bytes of string room hold one char and the 3-byte marker.
        assert_eq!(out.value, json!({"s": "a…"}));
        assert_eq!(size(&out.value), 12);
    }

    #[test]
    fn bytes_cap_holds_for_every_limit_and_keeps_the_shape() {
        let v = sample();
        let min = size(&json!({
            "host": "", "processes": [], "log": "", "mounts": [], "empty": {}, "none": null
        }));
        let full = size(&v);
        for max in (0..=min + 300)
            .chain((min + 300..=full + 1).step_by(13))
            .chain([full - 1, full, full + 1])
        {
            match cap(&v, &bytes_only(max)) {
                Ok(out) => {
                    assert!(max >= min, "{max}");
                    let got = size(&out.value);
                    assert!(got <= max, "max {max}: got {got}");
                    assert_same_shape(&out.value, &v);
                }
                Err(CapError::CannotFit { min_bytes, .. }) => {
                    assert!(max < min, "{max}");
                    assert_eq!(min_bytes, min);
                }
            }
        }
    }

    #[test]
    fn bytes_shorten_long_strings_before_cutting_arrays() {
        let big = "x".repeat(10_000);
        let v = json!({"content": big, "items": [1, 2, 3]});
        let out = cap(&v, &bytes_only(2000)).unwrap();
        assert_eq!(out.value["items"], json!([1, 2, 3]));
        let content = out.value["content"].as_str().unwrap();
        assert!(
            content.ends_with(CUT_MARKER) && content.len() > 1900,
            "{}",
            content.len()
        );
        assert!(size(&out.value) <= 2000);
        assert_eq!(out.truncation.strings[0].total_bytes, 10_000);
    }

    #[test]
    fn bytes_cut_the_longest_arrays_first() {
        let v = json!({"big": (0..1000).collect::<Vec<_>>(), "small": [1, 2, 3], "name": "n"});
        let out = cap(&v, &bytes_only(500)).unwrap();
        assert_eq!(out.value["small"], json!([1, 2, 3]));
        assert_eq!(out.value["name"], json!("n"));
        let kept = out.value["big"].as_array().unwrap().len();
        assert!(kept > 50 && kept < 1000, "{kept}");
        assert!(size(&out.value) <= 500);
        // One more item would not have fitted.
        let mut more = out.value.clone();
        more["big"].as_array_mut().unwrap().push(json!(kept));
        assert!(size(&more) > 500);
    }

    #[test]
    fn strings_go_below_the_floor_only_when_arrays_are_empty() {
        let v = json!({"a": "y".repeat(1000), "list": ["z".repeat(300), "w".repeat(300)]});
        // Fits with the strings at the floor and no items.
        let out = cap(&v, &bytes_only(280)).unwrap();
        assert_eq!(out.value["list"], json!([]));
        assert_eq!(out.value["a"].as_str().unwrap().len(), STRING_FLOOR_BYTES);
        let out = cap(&v, &bytes_only(100)).unwrap();
        assert_eq!(out.value["list"], json!([]));
        assert!(size(&out.value) <= 100);
        assert!(out.value["a"].as_str().unwrap().ends_with(CUT_MARKER));
    }

    #[test]
    fn cut_strings_never_split_characters_or_escapes() {
        let v = json!({"s": "é\"\u{1}😀".repeat(200)});
        for max in 10..200 {
            let out = cap(&v, &bytes_only(max)).unwrap();
            assert!(size(&out.value) <= max);
            assert_same_shape(&out.value, &v);
        }
    }

    #[test]
    fn cannot_fit_names_both_sizes() {
        let err = cap(&json!({"a": "x", "b": [1]}), &bytes_only(14)).unwrap_err();
        assert_eq!(
            err,
            CapError::CannotFit {
                max_bytes: 14,
                min_bytes: 15
            }
        );
        assert!(err.to_string().contains("15 bytes"), "{err}");
        assert!(cap(&json!({"a": "x", "b": [1]}), &bytes_only(15)).is_ok());
    }

    #[test]
    fn a_later_phase_keeps_the_original_totals() {
        let v = json!({"l": (0..10).map(|i| format!("entry {i} {}", "p".repeat(50))).collect::<Vec<_>>()});
        let out = cap(&v, &limits(8, 6, 150)).unwrap();
        let arr = &out.truncation.arrays[0];
        assert_eq!((arr.path.as_str(), arr.total), ("/l", 10));
        assert_eq!(arr.kept, out.value["l"].as_array().unwrap().len());
        assert!(arr.kept <= 6);
        assert!(size(&out.value) <= 150);
    }

    #[test]
    fn paths_are_json_pointers() {
        let v = json!({"a/b": {"m~n": [1, 2]}});
        let out = cap(&v, &limits(1, usize::MAX, usize::MAX)).unwrap();
        assert_eq!(out.truncation.arrays[0].path, "/a~1b/m~0n");
    }

    #[test]
    fn marked_result_stays_within_the_byte_limit() {
        let v = sample();
        let full = size(&v);
        let mut marked_any = false;
        for max in (100..full).step_by(7) {
            let out = match cap_and_mark(&v, &bytes_only(max)) {
                Ok(out) => out,
                Err(CapError::CannotFit {
                    max_bytes,
                    min_bytes,
                }) => {
                    // Only when the minimal shape plus the marker cannot fit.
                    assert_eq!(max_bytes, max);
                    assert!(min_bytes > max && max < 300, "{max}: {min_bytes}");
                    continue;
                }
            };
            assert!(size(&out.value) <= max, "{max}");
            let marker = &out.value["truncated"];
            assert!(marker.is_object(), "{max}");
            assert_eq!(marker, &out.truncation.marker());
            marked_any = true;
            let mut without = out.value.clone();
            without.as_object_mut().unwrap().remove("truncated");
            assert_same_shape(&without, &v);
        }
        assert!(marked_any);
    }

    #[test]
    fn marker_and_hint_say_what_was_cut() {
        let v = json!({"processes": (0..500).collect::<Vec<_>>(), "note": "n".repeat(600)});
        let out = cap_and_mark(&v, &limits(300, usize::MAX, 1500)).unwrap();
        let m = &out.value["truncated"];
        assert_eq!(m["arrays"][0]["path"], json!("/processes"));
        assert_eq!(m["arrays"][0]["total"], json!(500));
        assert_eq!(m["strings"], json!(1));
        assert_eq!(
            m["bytes"]["before"],
            json!(size(
                &json!({"processes": (0..300).collect::<Vec<_>>(), "note": "n".repeat(600)})
            ))
        );
        let hint = out.truncation.hint();
        assert!(hint.contains("/processes kept"), "{hint}");
        assert!(hint.contains("1 strings shortened"), "{hint}");
        assert!(hint.contains("300 items per array"), "{hint}");
    }

    #[test]
    fn marker_is_bounded_even_for_hostile_paths() {
        let key: String = "\u{1}".repeat(200);
        let mut t = Truncation::new(Limits::default());
        for i in 0..20 {
            t.arrays.push(ArrayCut {
                path: format!("/{key}{i}"),
                kept: usize::MAX,
                total: usize::MAX,
            });
        }
        t.strings = vec![
            StringCut {
                path: String::new(),
                kept_bytes: 0,
                total_bytes: 1
            };
            3
        ];
        t.lines = Some(Reduced {
            before: usize::MAX,
            after: usize::MAX,
        });
        t.bytes = Some(Reduced {
            before: usize::MAX,
            after: usize::MAX,
        });
        let marker = t.marker();
        assert_eq!(marker["arrays"].as_array().unwrap().len(), 8);
        assert_eq!(marker["arrays_not_listed"], json!(12));
        let with_key = size(&json!({"a": 1, "truncated": marker})) - size(&json!({"a": 1}));
        assert!(with_key <= MARKER_MAX_BYTES, "{with_key}");
    }

    #[test]
    fn non_object_results_are_capped_but_not_marked() {
        let out = cap_and_mark(&json!([1, 2, 3]), &limits(2, 100, 100)).unwrap();
        assert_eq!(out.value, json!([1, 2]));
        assert!(!out.truncation.is_empty());
    }

    #[test]
    fn a_tool_supplied_truncated_key_is_replaced() {
        let v = json!({"truncated": true, "items": [1, 2, 3]});
        let out = cap_and_mark(&v, &limits(1, 100, 1000)).unwrap();
        assert_eq!(out.value["truncated"]["arrays"][0]["path"], json!("/items"));
    }

    #[test]
    fn largest_finds_the_boundary() {
        for edge in 0..20 {
            assert_eq!(largest(0, 19, |x| x <= edge), Some(edge));
            assert_eq!(largest(3, 19, |x| x <= edge), (edge >= 3).then_some(edge));
        }
        assert_eq!(largest(5, 4, |_| true), None);
    }
}

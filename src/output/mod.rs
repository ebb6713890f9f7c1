#![forbid(unsafe_code)]
//! The output pipeline: a tool's typed result becomes `structuredContent` plus one text block
//! rendering the same data.
//!
//! The building blocks are pure (no I/O, no config reading) and are meant to run in this order:
//!
//! 1. [`redact`]: a [`redact::Redactor`] is built once at startup from the redaction settings
//!    (an invalid glob or pattern is an error naming it: refuse to start). Per call,
//!    `redactor.redact(value)` returns the redacted value and a [`redact::RedactionReport`] of
//!    counts for the audit (never values). With `fail_action: error` it can fail the call.
//! 2. [`caps`]: `caps::cap_and_mark(&value, &limits)` cuts arrays and strings (keeping the shape,
//!    so the output schema still validates), adds a top-level `truncated` object when anything was
//!    cut, and guarantees the compact JSON is at most `max_bytes`. Its [`caps::Truncation::hint`]
//!    goes into the text block. [`caps::CapError`] means the result cannot fit at all.
//! 3. Rendering of the text block, from the same capped value: compact JSON, or
//!    [`toon::encode`] for `format: "toon"`.
//! 4. [`fence`]: text from outside the server's control is wrapped with a per-response
//!    [`fence::Fence`] (`Fence::new()` once per response, `fence.wrap(source, text)` or
//!    `fence.wrap_with(source, fill)` for each untrusted part). `Fence::new` failing means the
//!    call must fail rather than go out unfenced.
//!
//! [`render`] runs the pipeline for a tool result; [`failure`] builds an error result.

pub mod caps;
pub mod fence;
pub mod redact;
pub mod toon;

use serde_json::{Value, json};

use crate::config::{Format, Output};
use crate::error::ToolError;
use crate::tools::Tool;

/// A rendered `tools/call` result and what the audit needs to know about it.
#[derive(Debug)]
pub struct Rendered {
    pub result: Value,
    /// Size of the serialized result.
    pub output_bytes: u64,
    pub redactions: redact::RedactionReport,
    /// What the caps cut (`None`: nothing).
    pub truncation: Option<Value>,
}

/// The pipeline: redact → cap (with a `truncated` marker) → render the text block (JSON or
/// TOON) → fence untrusted text. `structuredContent` and the text block carry the same data.
pub fn render(
    output: &Output,
    tool: &Tool,
    value: Value,
    format: Format,
) -> Result<Rendered, ToolError> {
    let redacted = output.redactor().redact(value).map_err(|e| {
        ToolError::Failed(format!(
            "the result could not be redacted safely ({e}); ask for less (e.g. a smaller `limit`)"
        ))
    })?;
    let mut capped = caps::cap_and_mark_owned(redacted.value, output.caps_for(tool.def.impact))
        .map_err(|e| {
            ToolError::Failed(format!(
                "the result does not fit the output limits ({e}); ask for less"
            ))
        })?;
    if !capped.truncation.is_empty() {
        recount(&mut capped.value);
    }
    // The text is written once, straight into its final string (inside the fence when the tool's
    // output comes from outside the server): a large answer is not rendered and then copied.
    let mut text = if tool.def.untrusted_output {
        // A fresh nonce per response; without randomness the text must not go out unfenced.
        let fence = fence::Fence::new().map_err(|_| {
            ToolError::Failed("no randomness available to fence the result; try again".into())
        })?;
        fence.wrap_with(tool.def.name, |out| write_text(out, &capped.value, format))
    } else {
        let mut out = String::new();
        write_text(&mut out, &capped.value, format);
        out
    };
    let truncation = (!capped.truncation.is_empty()).then(|| capped.truncation.marker());
    if truncation.is_some() {
        // Our own words, outside the fence.
        text.push('\n');
        text.push_str(&capped.truncation.hint());
    }
    // Values are moved in, not interpolated with `json!`, which would deep-copy a large answer.
    let mut block = json!({"type": "text"});
    block["text"] = Value::String(text);
    let mut result = json!({"isError": false});
    result["content"] = Value::Array(vec![block]);
    result["structuredContent"] = capped.value;
    let output_bytes = caps::json_size(&result) as u64;
    Ok(Rendered {
        result,
        output_bytes,
        redactions: redacted.report,
        truncation,
    })
}

/// Result fields that count a top-level array of the same result: (counter, array). A tool
/// result's counters describe what it returns, so after the caps cut an array its counter is set
/// to the items kept, and `more_not_listed` (where the result has it) becomes true. Neither change
/// makes the JSON longer, so the byte cap still holds. A test checks every tool's output schema
/// against this table.
pub const COUNTERS: &[(&str, &str)] = &[
    ("returned", "processes"),
    ("count", "filesystems"),
    ("count", "interfaces"),
    ("count", "sensors"),
];

/// Make the counters of a capped result agree with its arrays (see [`COUNTERS`]).
fn recount(value: &mut Value) {
    let Value::Object(m) = value else { return };
    for (counter, array) in COUNTERS {
        let Some(kept) = m.get(*array).and_then(Value::as_array).map(Vec::len) else {
            continue;
        };
        let Some(c) = m.get_mut(*counter).filter(|c| c.is_u64()) else {
            continue;
        };
        if c.as_u64() != Some(kept as u64) {
            *c = Value::from(kept);
            if let Some(more) = m.get_mut("more_not_listed").filter(|v| v.is_boolean()) {
                *more = Value::Bool(true);
            }
        }
    }
}

/// Bytes reserved after a JSON text block for what follows it (see [`write_text`]).
const TEXT_TAIL_ROOM: usize = 512;

/// Appends the text rendering of `value` to `out`.
fn write_text(out: &mut String, value: &Value, format: Format) {
    match format {
        Format::Json => {
            // Sized up front (with room for the fence's closing line and a short truncation
            // hint), so a large answer is never reallocated while or after it is written.
            let mut bytes = std::mem::take(out).into_bytes();
            bytes.reserve_exact(caps::json_size(value) + TEXT_TAIL_ROOM);
            // Writing into a Vec cannot fail, and serde_json writes UTF-8.
            let _ = serde_json::to_writer(&mut bytes, value);
            *out = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        }
        Format::Toon => toon::encode_into(out, value),
    }
}

/// A failed `tools/call` result: the message tells the caller what to change.
pub fn failure(err: &ToolError) -> Value {
    json!({
        "content": [{"type": "text", "text": err.to_string()}],
        "isError": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recount_makes_counters_describe_the_kept_items() {
        // (result after the caps, what recount makes of it)
        let cases = [
            (
                json!({"processes": [1, 2], "returned": 5, "matched": 9}),
                json!({"processes": [1, 2], "returned": 2, "matched": 9}),
            ),
            (
                json!({"filesystems": [1], "count": 3, "more_not_listed": false}),
                json!({"filesystems": [1], "count": 1, "more_not_listed": true}),
            ),
            (
                json!({"interfaces": [], "count": 2, "address_errors": ["x"]}),
                json!({"interfaces": [], "count": 0, "address_errors": ["x"]}),
            ),
            // Nothing cut from the counted array: nothing changes.
            (
                json!({"sensors": [1, 2], "count": 2, "more_not_listed": false}),
                json!({"sensors": [1, 2], "count": 2, "more_not_listed": false}),
            ),
            // Not a counter this table knows: left alone.
            (
                json!({"per_cpu": [1], "count": 4}),
                json!({"per_cpu": [1], "count": 4}),
            ),
            (json!([1, 2]), json!([1, 2])),
        ];
        for (mut got, want) in cases {
            recount(&mut got);
            assert_eq!(got, want);
        }
    }
}

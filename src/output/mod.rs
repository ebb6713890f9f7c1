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
//!    [`fence::Fence`] (`Fence::new()` once per response, `fence.wrap(source, text)` for each
//!    untrusted part). `Fence::new` failing means the call must fail rather than go out unfenced.
//!
//! [`success`] and [`failure`] build the `tools/call` result; they do not run the pipeline yet.

pub mod caps;
pub mod fence;
pub mod redact;
pub mod toon;

use serde_json::{Value, json};

use crate::error::ToolError;

/// A successful `tools/call` result.
pub fn success(structured: Value) -> Value {
    let text = serde_json::to_string(&structured).unwrap_or_default();
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": structured,
        "isError": false,
    })
}

/// A failed `tools/call` result: the message tells the caller what to change.
pub fn failure(err: &ToolError) -> Value {
    json!({
        "content": [{"type": "text", "text": err.to_string()}],
        "isError": true,
    })
}
